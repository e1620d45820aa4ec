// SPDX-License-Identifier: Apache-2.0
// What `enroll` and `run` share: exit codes for failed calls, logging, and the stop signals.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "patchflow/agent_client/https_client.hpp"

namespace pf::agent_cli {

/// 3 when the server is unreachable, refuses the agent (401/403), fails (5xx) or answers
/// nonsense; 2 when it refuses the request's content (another 4xx); 4 for local failures.
[[nodiscard]] int exit_code_for(const agent_client::CallError& error) noexcept;

/// Prints "patchflow-agent: <what>: <error>" on stderr and returns exit_code_for(error).
int fail(std::string_view what, const agent_client::CallError& error);

/// One log line on stderr: "patchflow-agent: <line>".
void log_line(std::string_view line);

/// SIGTERM and SIGINT set a flag (and wake stop_aware_sleep) instead of ending the process;
/// SIGPIPE is ignored (a closed connection is an error value, not a signal).
void install_stop_handlers();
[[nodiscard]] bool stop_requested() noexcept;
/// Sleeps `duration` or until a stop signal arrives; false when stopped.
bool stop_aware_sleep(std::chrono::milliseconds duration);

/// "1.5 s", "3 min 20 s": a wait as a person reads it.
[[nodiscard]] std::string format_wait(std::chrono::milliseconds wait);

}  // namespace pf::agent_cli
