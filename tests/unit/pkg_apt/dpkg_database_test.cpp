// SPDX-License-Identifier: Apache-2.0
// The dpkg database read with states and the journal (pf::pkg::read_dpkg_database), which the
// apt backend verifies every run against. The journal sample is what dpkg 1.21 left in
// updates/ when it was killed while running a postinst.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "patchflow/pkg/dpkg_status.hpp"

namespace pf::pkg {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStatus = R"(Package: pf-ok
Status: install ok installed
Architecture: all
Version: 1.0-1

Package: pf-held
Status: hold ok installed
Architecture: amd64
Version: 2:3.0-1

Package: pf-half
Status: install ok half-configured
Architecture: all
Version: 1.0-1

Package: pf-gone
Status: deinstall ok config-files
Architecture: all
Version: 0.9-1

Package: pf-never
Status: purge ok not-installed
Architecture: all

Package: pf-new
Status: install reinstreq half-installed
Architecture: all
Version: 1.0-1
)";

class DpkgDatabaseRead : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pf-dpkgdb-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "updates");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& rel, std::string_view text) {
    std::ofstream out(dir_ / rel, std::ios::binary);
    out << text;
  }
  fs::path dir_;
};

TEST(DpkgRecords, EveryParagraphWithItsStatusWords) {
  auto r = parse_dpkg_records(kStatus, "status");
  ASSERT_TRUE(r) << to_string(r.error());
  ASSERT_EQ(r->size(), 6u);
  EXPECT_EQ((*r)[1].want, "hold");
  EXPECT_EQ((*r)[1].version, "2:3.0-1");
  EXPECT_EQ((*r)[2].state, "half-configured");
  EXPECT_EQ((*r)[4].state, "not-installed");
  EXPECT_EQ((*r)[4].version, "");
  EXPECT_EQ((*r)[5].flag, "reinstreq");
  // The existing reader still returns only the cleanly installed packages.
  auto installed = parse_dpkg_status(kStatus, "status");
  ASSERT_TRUE(installed) << to_string(installed.error());
  EXPECT_EQ(installed->size(), 2u);
}

TEST(DpkgRecords, RejectedWithFileAndLine) {
  struct Case {
    std::string_view text;
    std::string_view needle;
  } cases[] = {
      {"Package: a\nStatus: install ok installed\nArchitecture: all\n", "has no Version"},
      {"Package: a\nStatus: install ok unpacked\nVersion: 1..0-x-\nArchitecture: all\n",
       "invalid version"},
      {"Package: a\nStatus: install ok unpacked\nArchitecture: a b\n", "invalid architecture"},
      {"Package: a\nStatus: install ok sideways\n", "unknown Status"},
      {"Package: a\nStatus: install ok unpacked\nArchitecture: all\n\n"
       "Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n",
       "given twice"},
  };
  for (const auto& c : cases) {
    auto r = parse_dpkg_records(c.text, "status");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
    EXPECT_TRUE(r.error().where.starts_with("status:")) << r.error().where;
  }
}

TEST_F(DpkgDatabaseRead, DatabaseKeepsStatesAndHolds) {
  write("status", kStatus);
  auto db = read_dpkg_database(dir_);
  ASSERT_TRUE(db) << to_string(db.error());
  ASSERT_EQ(db->packages.size(), 4u) << "config-files and not-installed are not installed";
  EXPECT_EQ(db->packages[0].name, "pf-half");
  EXPECT_EQ(db->packages[0].state, "half-configured");
  EXPECT_EQ(db->packages[1].name, "pf-held");
  EXPECT_EQ(db->packages[1].state, "");
  EXPECT_EQ(db->packages[2].name, "pf-new");
  EXPECT_EQ(db->packages[2].state, "half-installed");
  EXPECT_EQ(db->packages[3].name, "pf-ok");
  ASSERT_EQ(db->held.size(), 1u);
  EXPECT_EQ(db->held[0].name, "pf-held");
  EXPECT_EQ(db->held[0].arch, "amd64");
  EXPECT_EQ(db->journal_files, 0u);
}

TEST_F(DpkgDatabaseRead, JournalIsAppliedInNumericOrder) {
  write("status",
        "Package: pf-slow\nStatus: install ok installed\nArchitecture: all\n"
        "Version: 1.0-1\n");
  // dpkg's entries for an upgrade killed during the postinst; "10" sorts after "9" only
  // numerically, and "tmp.i" is an entry dpkg had not finished writing.
  write("updates/0000",
        "Package: pf-slow\nStatus: install reinstreq half-installed\n"
        "Architecture: all\nVersion: 2.0-1\n");
  write("updates/9",
        "Package: pf-slow\nStatus: install ok unpacked\nArchitecture: all\n"
        "Version: 2.0-1\n");
  write("updates/10",
        "Package: pf-slow\nStatus: install ok half-configured\nArchitecture: all\n"
        "Version: 2.0-1\n");
  write("updates/tmp.i", "#padding\n#padding\n");
  auto db = read_dpkg_database(dir_);
  ASSERT_TRUE(db) << to_string(db.error());
  EXPECT_EQ(db->journal_files, 3u);
  ASSERT_EQ(db->packages.size(), 1u);
  EXPECT_EQ(db->packages[0].version, "2.0-1");
  EXPECT_EQ(db->packages[0].state, "half-configured");
}

TEST_F(DpkgDatabaseRead, BadJournalIsNamed) {
  write("status", "");
  write("updates/0001", "Package: x\nStatus: bogus\n");
  auto db = read_dpkg_database(dir_);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().where.find("updates/0001:2"), std::string::npos) << db.error().where;

  fs::remove(dir_ / "status");
  auto none = read_dpkg_database(dir_);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
}

}  // namespace
}  // namespace pf::pkg
