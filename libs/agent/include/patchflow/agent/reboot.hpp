// SPDX-License-Identifier: Apache-2.0
// Whether a host needs a reboot to finish its updates, and why.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::agent {

struct RebootState {
  bool required{false};
  /// For a person: "*** System restart required ***", "running kernel X, newest installed Y
  /// (kernel-core)", "glibc updated since boot (installed 2026-01-02T03:04:05Z)".
  std::vector<std::string> reasons;
  /// The packages that asked for it, each once, in the order first named.
  std::vector<std::string> packages;
};

/// Which package manager's conventions decide.
enum class PackageFamily {
  detect,  ///< deb when ROOT/var/lib/dpkg/status exists, else rpm when ROOT/<dbpath> exists
  deb,     ///< the reboot-required flag file of Debian and Ubuntu
  rpm,     ///< `needs-restarting -r` semantics
};

struct RebootOptions {
  std::filesystem::path root{"/"};
  PackageFamily family{PackageFamily::detect};

  // The rpm family.
  /// The rpm program (looked up in PATH when it has no '/').
  std::string rpm{"rpm"};
  /// The database inside the root, passed as --dbpath (Debian's rpm defaults to ~/.rpmdb).
  std::string dbpath{"/var/lib/rpm"};
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  std::size_t max_output{std::size_t{64} << 20};
  /// The running kernel as uname -r prints it ("5.14.0-362.8.1.el9_3.x86_64"); uname(2) unless
  /// set.
  std::optional<std::string> running_kernel;
  /// When the host booted; read_boot_info(proc_dir) unless set.
  std::optional<std::chrono::sys_seconds> boot_time;
  std::filesystem::path proc_dir{"/proc"};
  /// The packages whose newest installed version is the kernel a reboot would start.
  std::vector<std::string> kernel_packages{"kernel",         "kernel-core", "kernel-rt",
                                           "kernel-rt-core", "kernel-uek",  "kernel-uek-core"};
  /// fnmatch(3) patterns of packages that need a reboot once updated (needs-restarting's list
  /// and a few more), minus `not_core_packages`.
  std::vector<std::string> core_packages{
      "kernel*", "glibc", "linux-firmware", "systemd",     "systemd-udev",  "udev", "openssl-libs",
      "gnutls",  "dbus",  "dbus-broker",    "dbus-daemon", "microcode_ctl", "zlib"};
  std::vector<std::string> not_core_packages{
      "kernel*-devel*",     "kernel*-headers",   "kernel*-doc", "kernel*-tools*",
      "kernel-srpm-macros", "kernel-rpm-macros", "kernel-abi-*"};
};

/// Decides by family (options.family, or detection). Errors: no way to tell the family
/// (Errc::not_found naming what was looked for), an unreadable or malformed flag file, rpm
/// failing or printing malformed output, no boot time available.
[[nodiscard]] Result<RebootState> reboot_required(const RebootOptions& options = {});

/// The family of a root, as PackageFamily::detect decides it; Errc::not_found for neither.
[[nodiscard]] Result<PackageFamily> detect_family(const std::filesystem::path& root,
                                                  std::string_view dbpath = "/var/lib/rpm");

/// The reasons in a reboot-required flag file: its non-empty lines, trimmed, each once (at most
/// 64 lines of 1 KiB). Errors (where = "<name>:<line>"): a control byte, a longer line, more
/// than 64 KiB.
[[nodiscard]] Result<std::vector<std::string>> parse_reboot_required(
    std::string_view text, std::string_view name = "reboot-required");

/// The packages in reboot-required.pkgs: one per line, blank lines skipped, each once, in order.
/// Errors (where = "<name>:<line>"): white space inside a name, a control byte, a name over 256
/// bytes, more than 4096 distinct names or 1 MiB.
[[nodiscard]] Result<std::vector<std::string>> parse_reboot_required_pkgs(
    std::string_view text, std::string_view name = "reboot-required.pkgs");

/// One installed rpm as the reboot check needs it.
struct InstalledRpm {
  std::string name;
  std::string epoch;  ///< empty when unset
  std::string version;
  std::string release;
  std::string arch;
  std::chrono::sys_seconds install_time{};
};

/// The --qf format the rpm check uses: NAME EPOCH VERSION RELEASE ARCH INSTALLTIME separated by
/// the byte 0x1f, one package per line.
[[nodiscard]] std::string rpm_install_time_format();

/// Parses the output of `rpm -qa --qf <rpm_install_time_format()>`. Any malformed line rejects
/// the whole (where = "<name>:<line>").
[[nodiscard]] Result<std::vector<InstalledRpm>> parse_rpm_install_times(
    std::string_view output, std::string_view name = "rpm -qa");

/// needs-restarting -r on a list of installed packages, without I/O:
/// (a) the running kernel (its "+variant" and ".ARCH" ignored) is not the newest installed
///     kernel package's VERSION-RELEASE (rpm EVR order) → "running kernel X, newest installed
///     Y (package)";
/// (b) a core package was installed after `boot_time` → "NAME updated since boot (installed
///     <RFC 3339 time>)", once per name.
/// Uses the package lists of `options`.
[[nodiscard]] RebootState evaluate_rpm_reboot(const std::vector<InstalledRpm>& installed,
                                              std::string_view running_kernel,
                                              std::chrono::sys_seconds boot_time,
                                              const RebootOptions& options = {});

}  // namespace pf::agent
