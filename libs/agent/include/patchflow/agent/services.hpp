// SPDX-License-Identifier: Apache-2.0
// systemd services and failed units, where systemd runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::agent {

/// One line of `systemctl list-units --plain --no-legend`.
struct ServiceUnit {
  std::string unit;         ///< "cron.service"
  std::string load;         ///< "loaded", "not-found", "masked", ...
  std::string active;       ///< "active", "inactive", "failed", ...
  std::string sub;          ///< "running", "exited", "dead", "failed", ...
  std::string description;  ///< may be empty
};

struct UnitListLimits {
  std::size_t max_line{4096};
  std::size_t max_units{20000};
};

/// Parses `systemctl list-units --plain --no-legend` output: UNIT LOAD ACTIVE SUB separated by
/// white space, then the description (the rest of the line, trimmed). A leading status bullet
/// ("●" or "*", printed by some systemd versions for failed units) is skipped; blank lines too.
/// Errors (where = "<name>:<line>"): fewer than four fields, a control byte, a line over
/// limits.max_line, more than limits.max_units units.
[[nodiscard]] Result<std::vector<ServiceUnit>> parse_systemctl_units(
    std::string_view text, std::string_view name = "systemctl list-units",
    const UnitListLimits& limits = {});

/// True only when `root` is "/" and `marker_dir` (systemd creates /run/systemd/system when it
/// boots as PID 1; sd_booted(3) checks the same) is a directory.
[[nodiscard]] bool systemd_running(const std::filesystem::path& root,
                                   const std::filesystem::path& marker_dir = "/run/systemd/system");

struct ServicesOptions {
  std::filesystem::path root{"/"};
  std::filesystem::path marker_dir{"/run/systemd/system"};
  /// The systemctl program (looked up in PATH when it has no '/').
  std::string systemctl{"systemctl"};
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::size_t max_output{std::size_t{16} << 20};
  UnitListLimits limits;
};

struct ServiceState {
  bool systemd_running{false};
  /// "systemd: running", or "systemd: not running" with why (a root that is not "/", no
  /// marker directory).
  std::string status;
  /// Every service unit systemd knows (list-units --type=service --all).
  std::vector<ServiceUnit> services;
  /// Failed units of every type (list-units --state=failed --all).
  std::vector<ServiceUnit> failed;
};

/// When systemd runs, lists its services and failed units with systemctl (through
/// pf::process, LC_ALL=C); otherwise an empty state whose status says "systemd: not running"
/// (not an error). Errors: systemctl missing, failing, timing out or printing malformed or too
/// much output.
[[nodiscard]] Result<ServiceState> collect_services(const ServicesOptions& options = {});

}  // namespace pf::agent
