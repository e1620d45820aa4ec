// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/inventory.hpp"

/// Readers of what a package manager says is installed on a root.
namespace pf::pkg {

/// Bounds on untrusted dpkg status input.
struct DpkgLimits {
  std::size_t max_file_size{std::size_t{256} << 20};
  /// One field, its continuation lines included (and so every single line).
  std::size_t max_field_size{std::size_t{1} << 20};
};

/// `<root>/var/lib/dpkg/status`.
[[nodiscard]] std::filesystem::path dpkg_status_path(const std::filesystem::path& root);

/// Parses the text of a dpkg status file (deb822 paragraphs separated by empty lines,
/// continuation lines starting with a space or a tab, field names case-insensitive).
///
/// Returns the INSTALLED packages (Status "<want> <flag> installed"), in file order, one entry
/// per architecture for Multi-Arch packages. Package, Version and Architecture are required of
/// an installed package; the source is the Source field ("name" or "name (version)"), defaulting
/// to the package's own name and version.
///
/// The whole input is rejected (never a partial result) when it exceeds a limit, contains a NUL
/// or other control byte, does not end with a newline (a truncated file), has a line that is
/// neither a field nor a continuation, a paragraph without Package or Status, an unknown Status
/// word, an invalid version, a field used here spread over several lines or given twice, or the
/// same installed package and architecture twice. Errors name `<name>:<line>` in `where`.
[[nodiscard]] Result<std::vector<inventory::Package>> parse_dpkg_status(
    std::string_view text, std::string_view name = "<input>", const DpkgLimits& limits = {});

/// Reads and parses a dpkg status file (see parse_dpkg_status). A file that cannot be read is an
/// Errc::not_found or Errc::io error with the path in `where`.
[[nodiscard]] Result<std::vector<inventory::Package>> read_dpkg_status(
    const std::filesystem::path& file, const DpkgLimits& limits = {});

}  // namespace pf::pkg
