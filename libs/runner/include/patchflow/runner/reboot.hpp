// SPDX-License-Identifier: Apache-2.0
// Reboot providers: the real one (systemd or shutdown) and the lab one that gives a simulated
// host a new boot id and restarts the agent process.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::runner {

class RebootProvider {
 public:
  virtual ~RebootProvider() = default;
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// Asks for the reboot. The system provider returns once the request is accepted (the
  /// machine goes down soon after); the lab provider does not return when it succeeds (the
  /// process is replaced).
  [[nodiscard]] virtual Result<void> reboot(std::string_view reason) = 0;
};

/// The command the system provider runs: with systemd, `systemctl reboot --message=REASON`
/// (logged by systemd); without, `shutdown -r +1 REASON` (one minute, the reason broadcast).
[[nodiscard]] std::vector<std::string> system_reboot_command(bool systemd_running,
                                                             std::string_view reason);

/// True when systemd is PID 1 (/run/systemd/system exists under `run_dir`).
[[nodiscard]] bool systemd_running(const std::filesystem::path& run_dir = "/run");

[[nodiscard]] std::unique_ptr<RebootProvider> make_system_reboot();

/// The lab provider: writes a new random boot id to `boot_id_file`, removes the root's
/// run/reboot-required and run/reboot-required.pkgs (a real boot empties /run), then
/// execv("/proc/self/exe", argv): a real restart of the process with the same arguments.
/// `argv` is the process's own.
[[nodiscard]] std::unique_ptr<RebootProvider> make_lab_reboot(std::filesystem::path boot_id_file,
                                                              std::filesystem::path root,
                                                              std::vector<std::string> argv);

}  // namespace pf::runner
