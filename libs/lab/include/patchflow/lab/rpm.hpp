// SPDX-License-Identifier: Apache-2.0
// RPM fixtures: .rpm packages (rpmbuild -bb on a generated spec), rpm roots that rpm and dnf act
// on (rpm --initdb, a dnf configuration, a shell for scriptlets) and rpm repositories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/lab/deb.hpp"

namespace pf::lab {

/// What an .rpm contains. Scriptlets are shell text (the body of %pre, %post, ...).
struct RpmSpec {
  std::string name;
  std::optional<std::uint32_t> epoch;
  std::string version;
  std::string release{"1"};
  std::string arch{"noarch"};  ///< BuildArch; only noarch is built on this machine
  std::string summary{"patchflow lab fixture package"};
  std::string license{"Apache-2.0"};
  std::vector<std::string> requires_;  ///< "foo", "foo >= 1.2"
  std::vector<std::string> provides;
  std::vector<std::string> conflicts;
  std::vector<std::string> obsoletes;
  std::vector<PackageFile> files;
  std::optional<std::string> pre;
  std::optional<std::string> post;
  std::optional<std::string> preun;
  std::optional<std::string> postun;
};

/// Builds `spec` with rpmbuild -bb (its own _topdir under out_dir, removed afterwards).
/// Returns out_dir/<name>-<version>-<release>.<arch>.rpm.
[[nodiscard]] Result<std::filesystem::path> build_rpm(const RpmSpec& spec,
                                                      const std::filesystem::path& out_dir);

/// The rpm database path inside a root.
inline constexpr const char* kRpmDbPath = "/var/lib/rpm";

/// How make_rpm_root prepares a root.
struct RpmRootOptions {
  /// Make scriptlets runnable. rpm runs them chrooted into the root (it has no chrootless
  /// mode), and rpmbuild gives every package with a scriptlet "Requires: /bin/sh", which dnf
  /// refuses unless an installed package provides it. So: a statically linked busybox (Debian
  /// package busybox-static) as R/bin/busybox, R/bin/sh and the common applets (sleep, echo,
  /// mkdir, touch, cat, rm, cp, mv, sed, grep, ...) linked to it, R/bin/bash running its ash,
  /// and the package pf-lab-base (Provides: /bin/sh, /bin/bash) installed with rpm -U.
  /// Without it a scriptlet fails with status 127 (rpm only warns for %post) and dnf refuses
  /// packages with scriptlets ("nothing provides /bin/sh").
  bool scriptlets{true};
};

/// Creates `root` with an rpm database (rpm --root R --dbpath /var/lib/rpm --initdb), the
/// directories and configuration dnf needs (R/etc/dnf/dnf.conf with gpgcheck=0, best=True,
/// skip_if_unavailable=False, install_weak_deps=False; R/etc/yum.repos.d; the HOME of
/// dnf_env) and, by default, what scriptlets need (see RpmRootOptions).
[[nodiscard]] Result<void> make_rpm_root(const std::filesystem::path& root,
                                         const RpmRootOptions& options = {});

/// rpm --root R --dbpath /var/lib/rpm (the argv prefix for queries and installs).
[[nodiscard]] std::vector<std::string> rpm_args(const std::filesystem::path& root);

/// rpm --root R --dbpath /var/lib/rpm -U --nodeps rpms... (-U installs or upgrades).
/// Scriptlets run chrooted into R with the root's /bin/sh (see RpmRootOptions::scriptlets);
/// a failing %pre stops that package (an error), a failing %post is only a warning of rpm.
[[nodiscard]] Result<void> install_rpms(const std::filesystem::path& root,
                                        const std::vector<std::filesystem::path>& rpms);

/// The directory given to dnf as HOME for this root: it holds .rpmmacros with
/// "%_dbpath /var/lib/rpm" (dnf has no --dbpath; Debian's rpm defaults to ~/.rpmdb).
/// R/var/lib/pf-lab/dnf-home, written by make_rpm_root.
[[nodiscard]] std::filesystem::path dnf_home(const std::filesystem::path& root);

/// The dnf argv prefix for the root (append "makecache", "-y install pf-app", ...), the same
/// one the dnf backend uses (pf::pkg::dnf::root_dnf_args with --releasever=lab):
///   dnf --installroot=R --config=R/etc/dnf/dnf.conf --setopt=reposdir=R/etc/yum.repos.d,...
///     --setopt=exit_on_lock=True --releasever=lab --noplugins
/// Run it with dnf_env(root).
[[nodiscard]] std::vector<std::string> dnf_args(const std::filesystem::path& root);

/// {"LC_ALL=C", "HOME=<dnf_home(root)>"}.
[[nodiscard]] std::vector<std::string> dnf_env(const std::filesystem::path& root);

/// One package of an advisory (updateinfo.xml <package>).
struct AdvisoryPackage {
  std::string name;
  std::uint32_t epoch{0};
  std::string version;
  std::string release;
  std::string arch{"noarch"};
  std::string filename;  ///< e.g. "pf-rpm-1.0-2.noarch.rpm"
};

/// One updateinfo.xml <update>, as dnf updateinfo reads it.
struct Advisory {
  std::string id;                ///< "PFSA-2026:0001"
  std::string type{"security"};  ///< security, bugfix, enhancement, newpackage
  std::string title;
  std::string severity;  ///< "Important", ...; empty leaves it out
  std::string issued;    ///< "2026-01-02 00:00:00"
  std::string description;
  std::vector<std::string> cves;  ///< references of type cve
  std::vector<AdvisoryPackage> packages;
};

struct RpmRepo {
  std::filesystem::path dir;
  /// A dnf/yum .repo file body for it (gpgcheck=0), repo id "pf-lab".
  std::string repo_file;
};

/// Copies `rpms` into `dir`, runs `createrepo_c --no-database dir` and, when advisories are
/// given, writes updateinfo.xml and adds it with `modifyrepo_c --mdtype=updateinfo`.
[[nodiscard]] Result<RpmRepo> build_rpm_repo(const std::vector<std::filesystem::path>& rpms,
                                             const std::filesystem::path& dir,
                                             const std::vector<Advisory>& advisories = {});

/// The updateinfo.xml text for `advisories` (what build_rpm_repo adds).
[[nodiscard]] std::string updateinfo_xml(const std::vector<Advisory>& advisories);

}  // namespace pf::lab
