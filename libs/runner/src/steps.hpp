// SPDX-License-Identifier: Apache-2.0
// Running one step: a command, a built-in check, or a wait_for that polls a check.
#pragma once

#include <string>
#include <string_view>

#include "patchflow/jobs/job.hpp"
#include "patchflow/runner/runner.hpp"

namespace pf::runner::detail {

inline constexpr std::size_t kOutputTail = 8 * 1024;

/// What a check saw.
struct CheckOutcome {
  bool ok{false};
  bool timed_out{false};
  int exit_code{0};
  std::string detail;
};

[[nodiscard]] CheckOutcome evaluate_check(const jobs::Check& check, std::chrono::seconds timeout,
                                          const RunOptions& options);

/// Runs the step; `phase` and `attempt` are copied into the result.
[[nodiscard]] StepResult execute_step(const jobs::Step& step, std::string_view phase, int attempt,
                                      const RunOptions& options);

/// The last kOutputTail bytes of `text`.
[[nodiscard]] std::string tail(std::string_view text, std::size_t limit = kOutputTail);

[[nodiscard]] std::chrono::system_clock::time_point now(const RunOptions& options);
void sleep_for(const RunOptions& options, std::chrono::milliseconds d);
[[nodiscard]] std::string rfc3339_now(const RunOptions& options);

}  // namespace pf::runner::detail
