// SPDX-License-Identifier: Apache-2.0
#include "support.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <random>
#include <sstream>

#include "patchflow/testing/data.hpp"

namespace pf::feeds::testing {

std::filesystem::path data() { return pf::testing::shared_data_dir(); }

AdvisorySink Collected::advisory_sink() {
  return [this](advisories::Advisory&& a, const RecordNotes& notes) {
    EXPECT_EQ(notes.affected_status.size(), a.affected.size()) << a.id;
    advisories.push_back(std::move(a));
    status.push_back(notes.affected_status);
    origins.emplace_back(notes.origin);
    return true;
  };
}

CveSink Collected::cve_sink() {
  return [this](advisories::CveInfo&& info) {
    cves.push_back(std::move(info));
    return true;
  };
}

std::size_t Collected::index_of(std::string_view id) const {
  for (std::size_t i = 0; i < advisories.size(); ++i) {
    if (advisories[i].id == id) return i;
  }
  return advisories.size();
}

const advisories::Advisory& Collected::advisory(std::string_view id) const {
  static const advisories::Advisory kMissing{};
  const std::size_t i = index_of(id);
  if (i == advisories.size()) {
    ADD_FAILURE() << "no advisory " << id;
    return kMissing;
  }
  return advisories[i];
}

const advisories::CveInfo& Collected::cve(std::string_view id) const {
  static const advisories::CveInfo kMissing{};
  for (const auto& c : cves) {
    if (c.id == id) return c;
  }
  ADD_FAILURE() << "no CVE record " << id;
  return kMissing;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("pf-feeds-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, std::string_view content) const {
  const auto file = path_ / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return file;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_zip(const std::filesystem::path& path,
               const std::vector<std::pair<std::string, std::string>>& entries,
               bool declare_sizes) {
  archive* a = archive_write_new();
  ASSERT_EQ(archive_write_set_format_zip(a), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto& [name, content] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    if (declare_sizes) {
      archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    } else {
      archive_entry_unset_size(e);
    }
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    // Write in chunks: libarchive's zip writer accepts any size, but keep calls bounded.
    std::size_t done = 0;
    while (done < content.size()) {
      const std::size_t n = std::min<std::size_t>(content.size() - done, 1u << 20);
      ASSERT_EQ(archive_write_data(a, content.data() + done, n), static_cast<la_ssize_t>(n));
      done += n;
    }
    archive_entry_free(e);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

const advisories::Affected* find_affected(const advisories::Advisory& advisory,
                                          std::string_view ecosystem, std::string_view package) {
  for (const auto& a : advisory.affected) {
    if (a.ecosystem == ecosystem && a.package == package) return &a;
  }
  return nullptr;
}

::testing::AssertionResult fails_with(const Result<ImportStats>& result, std::string_view message,
                                      std::string_view where) {
  if (result) {
    return ::testing::AssertionFailure()
           << "expected an error, got success with " << result->records << " records";
  }
  const Error& e = result.error();
  if (e.message.find(message) == std::string::npos || e.where.find(where) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "error '" << e.message << "' at '" << e.where << "' does not contain '" << message
           << "' at '" << where << "'";
  }
  return ::testing::AssertionSuccess() << e.where << ": " << e.message;
}

}  // namespace pf::feeds::testing
