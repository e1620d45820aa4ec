// SPDX-License-Identifier: Apache-2.0
// The apt/dpkg PackageBackend (pf::pkg::apt): apt-get and dpkg acting on "/" or on a package
// root with its own dpkg database, and the argv that makes them act on such a root.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "patchflow/pkg/backend.hpp"

namespace pf::pkg::apt {

/// The apt backend for `options.root`. Runs `options.apt_get` and `options.dpkg`
/// non-interactively (DEBIAN_FRONTEND=noninteractive, LC_ALL=C, empty stdin, the conffile
/// policy as dpkg options) and reads the root's dpkg database to verify every run.
/// See libs/pkg_apt/README.md for the commands and what each Reason means.
[[nodiscard]] std::unique_ptr<PackageBackend> make_apt_backend(BackendOptions options);

/// True when `root` is the running system's root ("/", in any spelling that resolves to it).
[[nodiscard]] bool is_system_root(const std::filesystem::path& root);

/// dpkg acting on `root`. For the system root: {dpkg}. Otherwise (R = the absolute root):
///   dpkg --root=R --force-not-root --force-bad-path --force-script-chrootless
///        --log=R/var/log/dpkg.log
/// --force-script-chrootless runs maintainer scripts on the host with DPKG_ROOT=R instead of
/// chroot(R), which fails in a root without /bin/sh; --force-bad-path: the host PATH need not
/// hold ldconfig or start-stop-daemon; --force-not-root: dpkg's checks for root are not about R.
[[nodiscard]] std::vector<std::string> root_dpkg_args(const std::filesystem::path& root,
                                                      const std::string& dpkg = "dpkg");

/// The apt-get (or apt-mark, apt-cache) argv prefix for `root`. For the system root: {program}.
/// Otherwise (R = the absolute root):
///   program -o Dir=R/ -o Dir::State::status=R/var/lib/dpkg/status
///     -o DPkg::Options::=--root=R -o DPkg::Options::=--force-not-root
///     -o DPkg::Options::=--force-bad-path -o DPkg::Options::=--force-script-chrootless
///     -o DPkg::Options::=--log=R/var/log/dpkg.log -o APT::Sandbox::User=root
///     -o Debug::NoLocking=0 -o Dpkg::Use-Pty=0
/// Run it with root_apt_env(root): the options on the command line are read after apt's
/// configuration files, so without APT_CONFIG the host's /etc/apt/apt.conf.d would apply.
[[nodiscard]] std::vector<std::string> root_apt_args(const std::filesystem::path& root,
                                                     const std::string& program = "apt-get");

/// For a root other than the system's: {"APT_CONFIG=R/etc/apt/apt.conf"}, so that apt reads the
/// root's configuration (which sets Dir to R, so its apt.conf.d parts come from R too) and not
/// the host's. Empty for the system root.
[[nodiscard]] std::vector<std::string> root_apt_env(const std::filesystem::path& root);

}  // namespace pf::pkg::apt
