// SPDX-License-Identifier: Apache-2.0
// File and text helpers shared by the collectors (private to pf::agent).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"
#include "patchflow/common/files.hpp"
#include "patchflow/common/process.hpp"

namespace pf::agent::detail {

// Bounded reads and paths inside a root come from patchflow/common/files.hpp.
using files::is_host_root;
using files::read_at_most;
using files::resolve_in_root;

/// "<name>:<line>"
[[nodiscard]] inline std::string at(std::string_view name, std::size_t line) {
  return files::at_line(name, line);
}

/// Trailing "\n", "\r", spaces and tabs removed, then leading spaces and tabs.
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;

/// The index of the first byte < 0x20 (other than tab) or 0x7f, or npos.
[[nodiscard]] std::size_t find_control(std::string_view s) noexcept;

/// The last `n` bytes of `s` without trailing white space (for error messages).
[[nodiscard]] std::string tail_of(std::string_view s, std::size_t n);

/// Unix seconds as RFC 3339 UTC ("2026-01-02T03:04:05Z").
[[nodiscard]] std::string rfc3339(std::chrono::sys_seconds t);

/// Runs a tool through pf::process (LC_ALL=C) and turns every way it can go wrong into an
/// Error: cannot start (backend_failed), timeout (timeout), non-zero exit or signal
/// (backend_failed with the tail of stderr), output over `max_output` (backend_failed).
/// `what` names the tool in messages.
[[nodiscard]] Result<process::Outcome> run_tool(process::Spec spec, const std::string& what);

}  // namespace pf::agent::detail
