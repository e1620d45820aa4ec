// SPDX-License-Identifier: Apache-2.0
// Test-only access to the shared reference data and to this machine's Debian package lists.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace pf::testing {

/// ../shared/data beside the checkout, or $PF_SHARED_DATA. Throws when it does not exist:
/// a test that needs the reference data fails without it, it does not skip.
std::filesystem::path shared_data_dir();

/// One row of a vectors/*.tsv file: A, B, expected (-1, 0, 1), and the 1-based line number.
struct VersionCase {
  std::string a;
  std::string b;
  int expected{0};
  int line{0};
};

/// Reads `A<TAB>B<TAB>expected[<TAB>...]` rows, skipping the '#' header. Throws on a malformed row.
std::vector<VersionCase> load_version_cases(const std::filesystem::path& file);

/// Reads a file of one string per line, skipping a leading '#' header line.
std::vector<std::string> load_lines(const std::filesystem::path& file);

/// Every distinct version string in the machine's apt package lists
/// (/var/lib/apt/lists/*_Packages*, read with apt-helper cat-file): the Version: fields and
/// the versions in "Source: name (version)" fields. Throws when there are no lists.
std::vector<std::string> debian_versions_from_apt_lists();

}  // namespace pf::testing
