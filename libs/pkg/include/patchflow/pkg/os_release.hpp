// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::pkg {

/// The identity of a distribution as os-release(5) gives it, and the advisory ecosystem it maps
/// to ("Debian:12", "Ubuntu:22.04:LTS", "AlmaLinux:9", ...).
struct OsRelease {
  std::string id;           ///< ID, e.g. "debian"
  std::string version_id;   ///< VERSION_ID, e.g. "12", "22.04", "9.3"
  std::string version;      ///< VERSION, e.g. "22.04.3 LTS (Jammy Jellyfish)"; may be empty
  std::string pretty_name;  ///< PRETTY_NAME; may be empty
  std::string ecosystem;
  std::filesystem::path file;  ///< the file that was read (empty when parsed from text)
};

/// KEY=VALUE assignments in file order. Values follow os-release(5)'s shell quoting: unquoted,
/// 'single-quoted' (literal) or "double-quoted" (backslash escapes $ " \ ` and a newline), parts
/// concatenated; a backslash outside quotes escapes the next character. Empty lines and lines
/// starting with '#' are skipped. Errors (where = "<name>:<line>"): a line that is no assignment,
/// an invalid key, an unterminated quote, unquoted white space or shell syntax in a value, a
/// control byte, more than 64 KiB of input.
[[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> parse_os_release_fields(
    std::string_view text, std::string_view name = "<input>");

/// The ecosystem for an os-release ID, VERSION_ID and VERSION:
/// debian → "Debian:<VERSION_ID>", ubuntu → "Ubuntu:<VERSION_ID>" plus ":LTS" when VERSION says
/// LTS, almalinux / rocky / rhel / centos / ol → "AlmaLinux" / "Rocky Linux" / "Red Hat" /
/// "CentOS" / "Oracle Linux" and the major version, fedora → "Fedora:<VERSION_ID>",
/// amzn → "Amazon Linux:<VERSION_ID>". An unknown ID or an empty or non-numeric VERSION_ID is an
/// Errc::invalid_input error naming the value.
[[nodiscard]] Result<std::string> ecosystem_for(std::string_view id, std::string_view version_id,
                                                std::string_view version);

/// Parses os-release text and maps it; errors name `name` and, for values, the offending value.
[[nodiscard]] Result<OsRelease> parse_os_release(std::string_view text,
                                                 std::string_view name = "<input>");

/// Reads `<root>/etc/os-release`, or `<root>/usr/lib/os-release` when the former does not
/// exist. Symbolic links are followed inside the root (an absolute target is taken relative to
/// the root), so a container image's links never reach the host's files.
[[nodiscard]] Result<OsRelease> read_os_release(const std::filesystem::path& root);

}  // namespace pf::pkg
