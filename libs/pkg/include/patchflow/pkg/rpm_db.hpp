// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/inventory.hpp"

namespace pf::pkg {

/// How to ask rpm for the installed packages of a root.
struct RpmQueryOptions {
  /// The rpm program (looked up in PATH when it has no '/').
  std::string rpm{"rpm"};
  /// The database directory inside the root, given to rpm as --dbpath (rpm prefixes the root).
  /// Distributions differ in rpm's built-in default (Debian's rpm uses ~/.rpmdb), so it is
  /// always passed explicitly. /var/lib/rpm is right for RHEL-family and Fedora roots (where
  /// it links to /usr/lib/sysimage/rpm).
  std::string dbpath{"/var/lib/rpm"};
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
  /// More output than this is an error rather than a silently shortened inventory.
  std::size_t max_output{std::size_t{64} << 20};
};

/// The --qf format given to rpm: NAME, EPOCH, VERSION, RELEASE, ARCH and SOURCERPM separated by
/// the byte 0x1f (which rpm refuses in those tags' values), one package per line.
[[nodiscard]] std::string rpm_query_format();

/// Parses the output of `rpm -qa --qf <rpm_query_format()>` into packages:
/// version "[E:]V-R" with the epoch only when set and non-zero, source name from SOURCERPM
/// without "-VERSION-RELEASE.src.rpm" (the binary's name when SOURCERPM is "(none)"), source
/// version the binary's. gpg-pubkey pseudo-packages are skipped. Any malformed line rejects the
/// whole output; `where` is "<name>:<line>".
[[nodiscard]] Result<std::vector<inventory::Package>> parse_rpm_query_output(
    std::string_view output, std::string_view name = "rpm -qa");

/// Runs `rpm --root <root> --dbpath <dbpath> -qa --qf <format>` through pf::process and parses
/// it. Errors: no database under the root (Errc::not_found: rpm itself would silently create an
/// empty one), rpm missing or failing (Errc::backend_failed with the exit status and the tail of
/// its stderr), a timeout (Errc::timeout), too much or malformed output.
[[nodiscard]] Result<std::vector<inventory::Package>> read_rpm_database(
    const std::filesystem::path& root, const RpmQueryOptions& options = {});

}  // namespace pf::pkg
