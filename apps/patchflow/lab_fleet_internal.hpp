// SPDX-License-Identifier: Apache-2.0
// Private to `patchflow lab up/status/down`: what the lab contains (packages, advisories,
// hosts and their labels), building it with libs/lab, and the detached processes it runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/advisory.hpp"

namespace pf::cli::labfleet {

enum class Family { deb, rpm };

/// One lab host: its name, package family and labels.
struct HostPlan {
  std::string name;  ///< lab-01, lab-02, ...
  Family family{Family::deb};
  std::map<std::string, std::string> labels;
};

/// Largest --hosts.
inline constexpr int kMaxHosts = 200;

/// N hosts: round(N * rpm_share) of them rpm, spread evenly; labels tier=db|app|web round-robin,
/// group=pilot|executives|general in a rotation that gives every tier each group, family=deb|rpm,
/// env=lab. Deterministic: the same N and share give the same plan.
[[nodiscard]] std::vector<HostPlan> plan_hosts(int hosts, double rpm_share);

/// One lab package: 1.0 installed everywhere, 1.1 in the repositories, fixed by one advisory.
struct LabPackage {
  std::string name;
  advisories::Kind kind{advisories::Kind::security};
  advisories::Severity severity{advisories::Severity::unknown};
  std::string cve;     ///< empty: no CVE
  double cvss{0};      ///< 0: none
  bool kev{false};     ///< the CVE is listed in (the lab's) CISA KEV
  std::string deb_id;  ///< DLA-LAB-1
  std::string rpm_id;  ///< PFLAB-2026:0001 (the updateinfo id)
  int days_ago{0};     ///< published this many days before the lab was built
};

[[nodiscard]] const std::vector<LabPackage>& lab_packages();

inline constexpr const char* kOldVersion = "1.0";
inline constexpr const char* kNewVersion = "1.1";
inline constexpr const char* kDebEcosystem = "Debian:12";
inline constexpr const char* kRpmEcosystem = "AlmaLinux:9";

/// What build_repos made: the packages and the repositories' client configuration.
struct BuiltRepos {
  std::filesystem::path apt_dir;
  std::filesystem::path rpm_dir;
  std::string apt_source_line;
  std::string rpm_repo_file;
  std::vector<std::filesystem::path> old_debs;  ///< to install in deb roots
  std::vector<std::filesystem::path> old_rpms;  ///< to install in rpm roots
};

using Progress = std::function<void(const std::string& line)>;

/// Builds the old and new .deb and .rpm of every lab package under `dir`/build, an apt
/// repository in `dir`/repos/apt and an rpm repository with updateinfo in `dir`/repos/rpm.
[[nodiscard]] Result<BuiltRepos> build_repos(const std::filesystem::path& dir, std::int64_t now,
                                             const Progress& progress);

/// Makes the package root of one host: dpkg or rpm database with the 1.0 packages installed,
/// the lab repository configured, etc/os-release (Debian 12 or AlmaLinux 9.4), etc/hostname.
[[nodiscard]] Result<void> build_root(const HostPlan& host, const std::filesystem::path& root,
                                      const BuiltRepos& repos);

/// The advisories the server gets (deb and rpm ids, both ecosystems) and their CVE records.
[[nodiscard]] std::vector<advisories::Advisory> server_advisories(std::int64_t now);
[[nodiscard]] std::vector<advisories::CveInfo> server_cves(std::int64_t now);

// Processes.

/// Starts argv[0] (an absolute path) detached: a new session (setsid), stdin /dev/null, stdout
/// and stderr appended to `log`, no other descriptor inherited, the environment without
/// PATCHFLOW_* variables. Returns its pid once it has exec'd (an exec failure is an error).
[[nodiscard]] Result<pid_t> spawn_detached(const std::vector<std::string>& argv,
                                           const std::filesystem::path& log);

/// True when `pid` is alive (not a zombie) and its /proc/PID/cmdline is exactly `argv`: the
/// process we started, not a pid that was recycled for something else.
[[nodiscard]] bool is_ours(pid_t pid, const std::vector<std::string>& argv);

/// Reaps `pid` when it is our child and has exited; true when it has.
bool reap_if_exited(pid_t pid);

/// SIGTERM to a process of ours (is_ours), SIGKILL to its process group after `grace`.
/// Returns "stopped", "killed" or "not running".
std::string stop_process(pid_t pid, const std::vector<std::string>& argv,
                         std::chrono::milliseconds grace);

/// Fails (Errc::conflict) when something listens on 127.0.0.1:port.
[[nodiscard]] Result<void> check_port_free(int port);

/// A loopback port that nothing listens on now.
[[nodiscard]] Result<int> pick_free_port();

/// The last `max_lines` lines of a file ("" when it cannot be read).
[[nodiscard]] std::string tail_of(const std::filesystem::path& file, std::size_t max_lines = 12);

}  // namespace pf::cli::labfleet
