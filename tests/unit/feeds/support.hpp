// SPDX-License-Identifier: Apache-2.0
// Helpers for the feed importer tests: collecting sinks, temporary directories, zip writing.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "patchflow/feeds/feeds.hpp"

namespace pf::feeds::testing {

std::filesystem::path data();  ///< the shared reference data directory

struct Collected {
  std::vector<advisories::Advisory> advisories;
  std::vector<std::vector<AffectedStatus>> status;
  std::vector<std::string> origins;
  std::vector<advisories::CveInfo> cves;

  AdvisorySink advisory_sink();
  CveSink cve_sink();
  /// The advisory with this id; fails the test (and returns a dummy) when absent.
  const advisories::Advisory& advisory(std::string_view id) const;
  const advisories::CveInfo& cve(std::string_view id) const;
  std::size_t index_of(std::string_view id) const;
};

/// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);

/// Writes a zip (deflate) with these entries; names are written as given, even hostile ones.
/// Without declared sizes the entries are streamed (sizes only in data descriptors), so a
/// reader learns an entry's size only by decompressing it.
void write_zip(const std::filesystem::path& path,
               const std::vector<std::pair<std::string, std::string>>& entries,
               bool declare_sizes = true);

/// The affected entry for (ecosystem, package), or nullptr.
const advisories::Affected* find_affected(const advisories::Advisory& advisory,
                                          std::string_view ecosystem, std::string_view package);

/// Asserts an error whose message contains `message` and whose where contains `where`.
::testing::AssertionResult fails_with(const Result<ImportStats>& result, std::string_view message,
                                      std::string_view where);

}  // namespace pf::feeds::testing
