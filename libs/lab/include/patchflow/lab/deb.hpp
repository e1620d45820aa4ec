// SPDX-License-Identifier: Apache-2.0
// Debian fixtures: .deb packages (dpkg-deb), apt repositories (apt-ftparchive) and dpkg roots
// that dpkg and apt-get act on without touching the machine's own package database.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::lab {

/// A file shipped by a package: absolute path inside the package, content, permissions.
struct PackageFile {
  std::string path;
  std::string content;
  unsigned mode{0644};
};

/// What a .deb contains. Relation fields are written as given, joined with ", ".
/// A maintainer script is its text; one without "#!" gets "#!/bin/sh" prepended. A failing
/// script is just one that exits non-zero. Scripts run on the host (see make_dpkg_root), with
/// DPKG_ROOT set to the root: a fixture script writes to "$DPKG_ROOT/...".
struct DebSpec {
  std::string name;
  std::string version;  ///< full Debian version, [epoch:]upstream[-revision], strictly checked
  std::string architecture{"all"};
  std::string maintainer{"patchflow lab <lab@patchflow.invalid>"};
  std::string description{"patchflow lab fixture package"};
  std::string section{"misc"};
  std::string priority{"optional"};
  std::vector<std::string> depends;
  std::vector<std::string> pre_depends;
  std::vector<std::string> conflicts;
  std::vector<std::string> breaks;
  std::vector<std::string> provides;
  std::vector<std::string> replaces;
  /// Conffiles: absolute path → content (mode 0644), listed in DEBIAN/conffiles.
  std::map<std::string, std::string> conffiles;
  std::vector<PackageFile> files;
  std::optional<std::string> preinst;
  std::optional<std::string> postinst;
  std::optional<std::string> prerm;
  std::optional<std::string> postrm;
  /// Source: field; written as "name (version)" when the version is set and differs.
  std::string source_name;
  std::string source_version;
};

/// Builds `spec` with `dpkg-deb --build --root-owner-group` from a staging tree in out_dir
/// (removed afterwards). Returns out_dir/<name>_<version without epoch>_<arch>.deb.
/// Errc::invalid_input for a bad name, version, architecture, path or relation field.
[[nodiscard]] Result<std::filesystem::path> build_deb(const DebSpec& spec,
                                                      const std::filesystem::path& out_dir);

enum class RepoLayout {
  flat,   ///< dir/{*.deb,Packages,Packages.gz,Release}; source line "deb [trusted=yes] file:DIR ./"
  dists,  ///< dir/pool/<component>/*.deb,
          ///< dir/dists/<suite>/{Release,<component>/binary-<arch>/Packages(.gz)}
};

struct AptRepoSpec {
  RepoLayout layout{RepoLayout::flat};
  std::string suite{"stable"};
  std::string component{"main"};
  /// binary-<arch> indexes for the dists layout; empty means the host's dpkg architecture.
  std::vector<std::string> architectures;
};

struct AptRepo {
  std::filesystem::path dir;
  /// The sources.list line for it, with [trusted=yes] (the Release file is not signed).
  std::string source_line;
};

/// Copies `debs` into `dir` and indexes them with `apt-ftparchive packages` and
/// `apt-ftparchive release`. Calling it again on the same dir with more debs re-indexes all.
[[nodiscard]] Result<AptRepo> build_apt_repo(const std::vector<std::filesystem::path>& debs,
                                             const std::filesystem::path& dir,
                                             const AptRepoSpec& spec = {});

/// Creates an empty dpkg root: var/lib/dpkg/{status,available,info,updates,triggers},
/// var/lib/apt/lists, var/cache/apt/archives, var/log, etc/apt/{sources.list.d,apt.conf.d,
/// preferences.d,trusted.gpg.d}, and etc/apt/apt.conf (the apt settings of apt_args, for
/// APT_CONFIG, see apt_env). `arch` empty means the host's dpkg architecture; it sets
/// APT::Architecture (dpkg's own native architecture cannot change).
[[nodiscard]] Result<void> make_dpkg_root(const std::filesystem::path& root,
                                          const std::string& arch = {});

/// dpkg acting on the root, as root user, without a shell in the root:
///   dpkg --root=R --force-not-root --force-bad-path --force-script-chrootless
///   --log=R/var/log/dpkg.log
/// --force-script-chrootless runs maintainer scripts on the host (with DPKG_ROOT=R) instead of
/// chroot(R), which fails with "unable to execute ... No such file or directory" in a root
/// without /bin/sh. --force-bad-path: the host PATH need not hold ldconfig/start-stop-daemon.
[[nodiscard]] std::vector<std::string> dpkg_args(const std::filesystem::path& root);

/// `dpkg_args(root) -i debs...`. Errc::backend_failed with dpkg's stderr when dpkg fails (for
/// instance a postinst that exits 1: the package is then "install ok half-configured").
[[nodiscard]] Result<void> install_debs(const std::filesystem::path& root,
                                        const std::vector<std::filesystem::path>& debs);

/// The apt-get argv prefix for the root (append "update", "-y install foo", "-y upgrade"...):
///   apt-get -o Dir=R/ -o Dir::State::status=R/var/lib/dpkg/status
///     -o Dir::Bin::dpkg=<dpkg> -o DPkg::Options::=--root=R -o DPkg::Options::=--force-not-root
///     -o DPkg::Options::=--force-bad-path -o DPkg::Options::=--force-script-chrootless
///     -o DPkg::Options::=--log=R/var/log/dpkg.log -o APT::Sandbox::User=root
///     -o Debug::NoLocking=0 -o Dpkg::Use-Pty=0
/// Run it with apt_env(root): otherwise apt also reads the host's /etc/apt/apt.conf.d (hooks
/// such as APT::Update::Post-Invoke-Success would run, host proxy settings apply).
[[nodiscard]] std::vector<std::string> apt_args(const std::filesystem::path& root);

/// {"APT_CONFIG=R/etc/apt/apt.conf"}: apt reads that file first, and as it sets Dir to R, the
/// configuration parts come from R/etc/apt/apt.conf.d rather than the host's.
[[nodiscard]] std::vector<std::string> apt_env(const std::filesystem::path& root);

/// Writes R/etc/apt/sources.list with these lines (e.g. AptRepo::source_line).
[[nodiscard]] Result<void> set_apt_sources(const std::filesystem::path& root,
                                           const std::vector<std::string>& lines);

}  // namespace pf::lab
