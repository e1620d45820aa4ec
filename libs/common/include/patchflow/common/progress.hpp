// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pf::progress {

enum class Unit { items, bytes };

/// A one-line progress display for long work (imports, scans), drawn on stderr only when it
/// is a terminal, at most ten times a second, and erased when done. Not thread-safe.
class Bar {
 public:
  /// `total` 0 means unknown (no percentage). `fd` is where to draw; `force` draws even when
  /// `fd` is not a terminal (for tests).
  Bar(std::string label, std::int64_t total, Unit unit = Unit::items, int fd = 2,
      bool force = false);
  Bar(const Bar&) = delete;
  Bar& operator=(const Bar&) = delete;
  ~Bar();

  void advance(std::int64_t n = 1);
  void set(std::int64_t done);
  void set_total(std::int64_t total);
  /// Erases the line. Called by the destructor too.
  void finish();

  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  [[nodiscard]] std::int64_t done() const noexcept { return done_; }

  /// The text drawn for the current state (without the leading carriage return).
  [[nodiscard]] std::string line() const;

 private:
  void maybe_draw();

  std::string label_;
  std::int64_t total_;
  std::int64_t done_{0};
  Unit unit_;
  int fd_;
  bool enabled_;
  bool drawn_{false};
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace pf::progress
