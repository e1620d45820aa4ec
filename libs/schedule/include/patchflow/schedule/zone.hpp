// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::schedule {

/// An IANA time zone from the system database (/usr/share/zoneinfo). A default-constructed
/// Zone is UTC. Cheap to copy: it refers to the process-wide database, which is read once.
class Zone {
 public:
  Zone() = default;

  /// Looks a zone up by its IANA name ("America/New_York", "UTC"). Unknown names, and names
  /// longer than 64 bytes, are invalid_input with where = "zone".
  [[nodiscard]] static Result<Zone> find(std::string_view name);

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// The wall-clock time at t.
  [[nodiscard]] std::chrono::local_seconds to_local(std::chrono::sys_seconds t) const;

  /// The instant a wall-clock time denotes (docs/windows.md, "Wall-clock rules"): a time that
  /// does not exist (the gap when clocks spring forward) is the first instant after the gap;
  /// an ambiguous one (the repeated hour when clocks fall back) is its first occurrence.
  [[nodiscard]] std::chrono::sys_seconds to_sys(std::chrono::local_seconds t) const;

  /// The zone's abbreviation in force at t ("EST", "CEST", "+1030").
  [[nodiscard]] std::string abbreviation(std::chrono::sys_seconds t) const;

  friend bool operator==(const Zone& a, const Zone& b) noexcept { return a.name_ == b.name_; }

 private:
  const void* tz_{nullptr};  // const date::time_zone*; nullptr is UTC
  std::string name_{"UTC"};
};

}  // namespace pf::schedule
