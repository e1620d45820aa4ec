// SPDX-License-Identifier: Apache-2.0
// Private helpers shared by the schedule sources.
#pragma once

#include <chrono>
#include <string>

#include "patchflow/common/error.hpp"

namespace pf::schedule::detail {

/// Instants the component computes with: years 1900..2399, far from any overflow.
[[nodiscard]] inline bool in_range(std::chrono::sys_seconds t) noexcept {
  using namespace std::chrono;
  constexpr auto lo = sys_days{year{1900} / January / 1};
  constexpr auto hi = sys_days{year{2400} / January / 1};
  return t >= lo && t < hi;
}

[[nodiscard]] inline Unexpected out_of_range(const char* where) {
  return make_error(Errc::invalid_input, "time outside the years 1900..2399", where);
}

/// The local date and time of day of a local time.
struct LocalParts {
  std::chrono::local_days day;
  std::chrono::seconds time;
};

[[nodiscard]] inline LocalParts split(std::chrono::local_seconds t) noexcept {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  return {day, t - day};
}

}  // namespace pf::schedule::detail
