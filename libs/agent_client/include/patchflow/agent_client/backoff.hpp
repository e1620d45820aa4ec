// SPDX-License-Identifier: Apache-2.0
// How long the agent waits after a failed check-in: exponential backoff with full jitter.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace pf::agent_client {

/// After the n-th failure in a row (n = 1, 2, ...) the wait is uniform in [0, ceiling(n)],
/// ceiling(n) = min(cap, base * 2^(n-1)): 1 s, 2 s, 4 s, ... up to 5 min by default. A success
/// resets the count. Full jitter spreads a fleet that lost its server at the same moment.
class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds base = std::chrono::seconds(1),
                   std::chrono::milliseconds cap = std::chrono::minutes(5));

  /// Counts one more failure and returns the wait before the next attempt; `unit` in [0, 1)
  /// picks the point in [0, ceiling] (the member random generator when not given).
  [[nodiscard]] std::chrono::milliseconds next(double unit);
  [[nodiscard]] std::chrono::milliseconds next();
  /// The upper bound of the wait after `failures` failures in a row (0 for none).
  [[nodiscard]] std::chrono::milliseconds ceiling(std::uint32_t failures) const;
  /// Failures counted since the last reset.
  [[nodiscard]] std::uint32_t failures() const noexcept { return failures_; }
  void reset() noexcept { failures_ = 0; }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  std::uint32_t failures_{0};
  std::mt19937_64 rng_;
};

}  // namespace pf::agent_client
