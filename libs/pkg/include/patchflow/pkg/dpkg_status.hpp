// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/inventory.hpp"
#include "patchflow/pkg/backend_support.hpp"

/// Readers of what a package manager says is installed on a root.
namespace pf::pkg {

/// Bounds on untrusted dpkg status input.
struct DpkgLimits {
  std::size_t max_file_size{std::size_t{256} << 20};
  /// One field, its continuation lines included (and so every single line).
  std::size_t max_field_size{std::size_t{1} << 20};
  /// Files in the journal directory (updates/) that read_dpkg_database accepts.
  std::size_t max_journal_files{100000};
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

/// One paragraph of the dpkg database with its Status words, whatever its state.
struct DpkgRecord {
  std::string name;
  std::string arch;     ///< empty when the paragraph has none (possible outside "installed")
  std::string version;  ///< empty when the paragraph has none (possible outside "installed")
  std::string want;     ///< unknown, install, hold, deinstall, purge
  std::string flag;     ///< ok, reinstreq, hold, hold-reinstreq
  std::string state;    ///< not-installed, config-files, half-installed, unpacked,
                        ///< half-configured, triggers-awaited, triggers-pending, installed
};

/// Parses status-format text (the status file or one journal file of updates/) into one record
/// per paragraph, with the checks of parse_dpkg_status; Version and Architecture are required
/// (and checked) for state "installed" and checked when present otherwise. The same package
/// and architecture given twice is refused.
[[nodiscard]] Result<std::vector<DpkgRecord>> parse_dpkg_records(std::string_view text,
                                                                 std::string_view name = "<input>",
                                                                 const DpkgLimits& limits = {});

/// `<root>/var/lib/dpkg`, dpkg's administrative directory.
[[nodiscard]] std::filesystem::path dpkg_admin_dir(const std::filesystem::path& root);

/// The dpkg database as dpkg itself would see it, for verifying a run.
struct DpkgDatabase {
  /// Every package not in state not-installed or config-files, by name and architecture;
  /// DbEntry::state is the state word when it is not "installed" (half-configured, unpacked,
  /// half-installed, triggers-awaited, triggers-pending), empty otherwise.
  std::vector<DbEntry> packages;
  /// Those of `packages` selected "hold" (apt-mark hold, dpkg --set-selections).
  std::vector<DbEntry> held;
  /// Journal files applied: non-zero when an earlier dpkg run did not finish.
  std::size_t journal_files{0};
};

/// Reads `admin_dir`/status and applies the journal files of `admin_dir`/updates (names made of
/// digits, in numeric order) over it, record by record, as dpkg does when it starts. Errors as
/// read_dpkg_status, naming the file that failed.
[[nodiscard]] Result<DpkgDatabase> read_dpkg_database(const std::filesystem::path& admin_dir,
                                                      const DpkgLimits& limits = {});

}  // namespace pf::pkg
