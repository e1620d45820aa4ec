// SPDX-License-Identifier: Apache-2.0
// OS facts of a host: distribution, kernel, hostname, boot id, uptime, free disk per mount.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::agent {

/// One mounted file system with its free space (statvfs).
struct MountFacts {
  /// As seen from the root: the mount point itself when the root is "/"; for another root,
  /// "/" for the file system holding the root and "/<rest>" for mounts below it.
  std::string mount_point;
  std::string fs_type;
  std::string device;
  std::uint64_t total_bytes{0};
  std::uint64_t available_bytes{0};  ///< free to unprivileged users (f_bavail)
  std::uint64_t total_inodes{0};
  std::uint64_t available_inodes{0};  ///< f_favail
};

struct OsFacts {
  std::string os_id;           ///< os-release ID ("debian")
  std::string os_version_id;   ///< VERSION_ID ("12")
  std::string os_pretty_name;  ///< PRETTY_NAME; may be empty
  std::string ecosystem;       ///< "Debian:12", "AlmaLinux:9", ...
  std::string kernel_release;  ///< uname -r
  std::string kernel_version;  ///< uname -v
  std::string arch;            ///< uname -m
  std::string hostname;
  std::string boot_id;  ///< 36-character lower-case UUID
  std::chrono::seconds uptime{0};
  std::chrono::sys_seconds boot_time{};
  std::vector<MountFacts> mounts;
  /// What could not be collected without failing the whole (a mount statvfs refused, ...).
  std::vector<std::string> warnings;
};

/// Where the facts come from. `root` is the host's "/" in production and a package root in
/// tests and the lab; the other paths are paths on the machine the agent runs on (not inside
/// the root), so that a simulated host can be given its own files.
struct FactsOptions {
  std::filesystem::path root{"/"};
  /// Holds "uptime" and "stat".
  std::filesystem::path proc_dir{"/proc"};
  std::filesystem::path boot_id_file{"/proc/sys/kernel/random/boot_id"};
  std::filesystem::path mounts_file{"/proc/self/mounts"};
  /// uname(2) values unless set.
  std::optional<std::string> kernel_release;
  std::optional<std::string> kernel_version;
  std::optional<std::string> machine;
  /// gethostname(2) for root "/", else ROOT/etc/hostname when present, else gethostname(2),
  /// unless set.
  std::optional<std::string> hostname;
  /// The current time (to turn uptime into a boot time when /proc/stat has no btime).
  std::optional<std::chrono::sys_seconds> now;
};

/// Collects the facts. Errors: no os-release in the root (Errc::not_found naming the path) or
/// one that cannot be mapped to an ecosystem; an unreadable or malformed boot id; no uptime and
/// no boot time in proc_dir; an unreadable or malformed mounts file. A mount whose statvfs fails
/// is left out with a warning.
[[nodiscard]] Result<OsFacts> collect_facts(const FactsOptions& options = {});

/// One line of a mounts file (fstab(5) format: device, mount point, type, options, ...), with
/// the octal escapes of the first three fields undone.
struct MountEntry {
  std::string device;
  std::string mount_point;
  std::string fs_type;
  std::string options;
};

/// Undoes the kernel's octal escapes in a mounts-file field ("\040" space, "\011" tab, "\012"
/// newline, "\134" backslash; any backslash and three octal digits). Other backslashes stay.
[[nodiscard]] std::string unescape_mount_field(std::string_view field);

/// Parses /proc/self/mounts text: at least four white-space separated fields per line, blank
/// lines skipped. Errors (where = "<name>:<line>"): fewer fields, a mount point that is not
/// absolute, more than 100 000 lines or a line over 16 KiB.
[[nodiscard]] Result<std::vector<MountEntry>> parse_mounts(std::string_view text,
                                                           std::string_view name = "mounts");

/// True for file systems that hold no disk space worth reporting: proc, sysfs, cgroup*,
/// devpts, devtmpfs, mqueue, debugfs, tracefs, securityfs, pstore, bpf, autofs, fusectl,
/// configfs, binfmt_misc, hugetlbfs, nsfs, efivarfs, selinuxfs, rpc_pipefs, ramfs, ...
[[nodiscard]] bool is_pseudo_fs(std::string_view fs_type) noexcept;

/// The first number of /proc/uptime ("13389.14 16628.78"), in whole seconds (rounded down).
[[nodiscard]] Result<std::chrono::seconds> parse_proc_uptime(std::string_view text,
                                                             std::string_view name = "uptime");

/// The "btime <seconds>" line of /proc/stat; Errc::not_found when there is none.
[[nodiscard]] Result<std::chrono::sys_seconds> parse_proc_stat_btime(
    std::string_view text, std::string_view name = "stat");

/// A boot id file's text: a UUID (8-4-4-4-12 hex digits) and an optional newline, returned in
/// lower case. Anything else is Errc::invalid_input.
[[nodiscard]] Result<std::string> parse_boot_id(std::string_view text,
                                                std::string_view name = "boot_id");

struct BootInfo {
  std::chrono::seconds uptime{0};
  std::chrono::sys_seconds boot_time{};
};

/// Uptime from proc_dir/uptime and boot time from proc_dir/stat's btime; either may be
/// derived from the other and `now` when its file is missing or has no value. Errors when
/// neither can be read, or a file that is present is malformed.
[[nodiscard]] Result<BootInfo> read_boot_info(const std::filesystem::path& proc_dir,
                                              std::chrono::sys_seconds now);

}  // namespace pf::agent
