// SPDX-License-Identifier: Apache-2.0
// The dnf/rpm PackageBackend: dnf 4 and rpm acting on a root ("/" or a package root of the
// lab), verified against the rpm database read before and after every run.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/pkg/backend.hpp"

namespace pf::pkg::dnf {

/// A PackageBackend driving `options.dnf` and `options.rpm` on `options.root`. Nothing runs
/// until a method is called. See libs/pkg_dnf/README.md for how dnf is pointed at the root.
[[nodiscard]] std::unique_ptr<PackageBackend> make_dnf_backend(BackendOptions options);

/// The directory given to dnf as HOME: rpm reads `%_dbpath` from HOME/.rpmmacros (dnf has no
/// --dbpath), and dnf reads HOME/empty-dnf.conf as its configuration when the root has none.
/// Writes "%_dbpath <rpm_dbpath>" into HOME/.rpmmacros and creates the empty configuration.
[[nodiscard]] Result<void> write_dnf_home(const std::filesystem::path& home,
                                          const std::string& rpm_dbpath);

/// The dnf argv prefix acting on options.root (append the command: "makecache",
/// "-y upgrade pf-app", ...):
///   dnf --installroot=R --config=R/etc/dnf/dnf.conf (or HOME/empty-dnf.conf when the root has
///     none: never the host's) --setopt=reposdir=R/etc/yum.repos.d,R/etc/yum/repos.d,
///     R/etc/distro.repos.d --setopt=exit_on_lock=True [--releasever=X] [--noplugins]
/// Plugins are the host's (dnf loads them from its own installation), so they are disabled
/// unless the root is "/". exit_on_lock: dnf fails instead of waiting without limit for another
/// dnf; the backend itself waits for locks, bounded by lock_timeout.
[[nodiscard]] std::vector<std::string> root_dnf_args(const BackendOptions& options,
                                                     const std::filesystem::path& home);

/// The environment of every dnf run: LC_ALL=C, HOME=<home> (see write_dnf_home), then
/// options.env.
[[nodiscard]] std::vector<std::string> root_dnf_env(const BackendOptions& options,
                                                    const std::filesystem::path& home);

/// dnf's own lock files under the root (pid files; a file naming a live process is held):
/// R/var/lib/dnf/rpmdb_lock.pid, R/var/cache/dnf/metadata_lock.pid and download_lock.pid.
[[nodiscard]] std::vector<std::filesystem::path> dnf_lock_files(const std::filesystem::path& root);

}  // namespace pf::pkg::dnf
