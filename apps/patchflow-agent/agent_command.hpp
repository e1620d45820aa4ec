// SPDX-License-Identifier: Apache-2.0
// Wiring shared by the patchflow-agent subcommands.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/pkg/backend.hpp"

namespace CLI {
class App;
}

namespace pf::agent_cli {

/// Exit codes of patchflow-agent (docs/agent.md).
enum ExitCode : int {
  kExitOk = 0,          ///< done as asked (applied, nothing to do, listed)
  kExitNotApplied = 1,  ///< the run ended, but a selected package is not applied (refused by
                        ///< the resolver, held, in no repository, ...); nothing is broken
  kExitUsage = 2,       ///< usage or input error (a bad selection, a root without a database)
  kExitPackageManager = 3,  ///< the package manager could not act: lock held, interrupted
                            ///< database, unreachable repository, tool failure, timeout
  kExitInternal = 4,
};

/// The exit code for an error that stopped a command.
[[nodiscard]] int exit_code_for(const Error& error) noexcept;

/// Options every package-manager command takes (--root, --backend, --lock-timeout, ...).
struct BackendFlags {
  std::string root{"/"};
  std::string backend{"auto"};  ///< auto, apt, dnf
  std::string releasever;
  std::string rpm_dbpath{"/var/lib/rpm"};
  std::string conffiles{"keep-old"};
  unsigned lock_timeout_s{300};
  unsigned tool_timeout_s{3600};
  bool no_repair{false};
};

/// Adds the flags above to a subcommand; without `with_root`, --root and --rpm-dbpath are left
/// to the caller (commands that also collect the inventory take them once, for both).
void add_backend_flags(CLI::App& command, BackendFlags& flags, bool for_changes,
                       bool with_root = true);

/// The family of the package database under `root`: deb when var/lib/dpkg/status exists, rpm
/// when the rpm database directory does; Errc::not_found naming both paths otherwise.
[[nodiscard]] Result<pkg::Family> detect_family(const std::string& root,
                                                const std::string& rpm_dbpath);

/// The backend the flags choose (registered explicitly here: apt and dnf).
[[nodiscard]] Result<std::unique_ptr<pkg::PackageBackend>> open_backend(const BackendFlags& flags);

/// Prints "patchflow-agent: <where>: <message>" on stderr and returns exit_code_for(error).
int fail(const Error& error);

void add_inventory_command(CLI::App& root, int& exit_code);
void add_package_commands(CLI::App& root, int& exit_code);
/// `enroll` and `run`: the agent protocol (enroll_command.cpp, run_command.cpp).
void add_enroll_command(CLI::App& root, int& exit_code);
void add_run_command(CLI::App& root, int& exit_code);

/// The process's own argv (from /proc/self/cmdline), for the lab reboot provider's restart of
/// the agent (job_command.cpp).
[[nodiscard]] std::vector<std::string> own_argv();

}  // namespace pf::agent_cli
