// SPDX-License-Identifier: Apache-2.0
// Running the packaging tools for the fixtures: found in PATH, run through pf::process.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/common/process.hpp"

namespace pf::lab {

/// Every tool run by the lab gets this limit.
inline constexpr std::chrono::seconds kToolTimeout{300};

/// The full path of `program` in PATH, or Errc::not_found naming the Debian package that
/// ships it ("apt-ftparchive is not in PATH: install the Debian package 'apt-utils'").
[[nodiscard]] Result<std::string> find_tool(const std::string& program,
                                            const std::string& debian_package);

/// Runs argv (LC_ALL=C plus `env`, kToolTimeout). A non-zero exit, a signal or a timeout is
/// Errc::backend_failed (Errc::timeout) whose message quotes the command and its stderr.
[[nodiscard]] Result<process::Outcome> run_checked(std::vector<std::string> argv,
                                                   std::vector<std::string> env = {},
                                                   std::string cwd = {});

/// Writes `data` to `file` (creating parent directories) with permissions `mode`.
[[nodiscard]] Result<void> write_file(const std::filesystem::path& file, std::string_view data,
                                      std::filesystem::perms mode = std::filesystem::perms(0644));

}  // namespace pf::lab
