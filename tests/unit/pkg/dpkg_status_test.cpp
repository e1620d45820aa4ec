// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg/dpkg_status.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "patchflow/testing/data.hpp"
#include "patchflow/testing/temp_dir.hpp"

namespace pkg = pf::pkg;
using pf::inventory::Package;

namespace {

// "name arch version source_name source_version", one string per package, for readable diffs.
std::string show(const Package& p) {
  return p.name + ' ' + p.arch + ' ' + p.version + ' ' + p.source_name + ' ' + p.source_version;
}

std::vector<std::string> show_all(const std::vector<Package>& packages) {
  std::vector<std::string> out;
  for (const auto& p : packages) out.push_back(show(p));
  return out;
}

const Package* find(const std::vector<Package>& packages, std::string_view name,
                    std::string_view arch = {}) {
  for (const auto& p : packages) {
    if (p.name == name && (arch.empty() || p.arch == arch)) return &p;
  }
  return nullptr;
}

std::filesystem::path claircore(const char* file) {
  return pf::testing::shared_data_dir() / "claircore/dpkg/testdata" / file;
}

// --- real status files (claircore's test data: Debian 10 and Ubuntu 18.04 systems) ---

TEST(DpkgStatus, ClaircorePostgresqlSourceWithAndWithoutVersion) {
  const auto file = claircore("postgresql.status");
  auto r = pkg::read_dpkg_status(file);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  // Worked out from the file: "Source: postgresql-common (200+deb10u5)" gives the source its
  // own version; "Source: postgresql-11" takes the binary's version.
  EXPECT_EQ(show_all(*r), (std::vector<std::string>{
                              "postgresql-client all 11+200+deb10u5 postgresql-common 200+deb10u5",
                              "postgresql-client-11 amd64 11.22-0+deb10u2 postgresql-11 "
                              "11.22-0+deb10u2",
                              "postgresql-client-common all 200+deb10u5 postgresql-common "
                              "200+deb10u5",
                          }));
}

TEST(DpkgStatus, ClaircoreDebianOnlyWithoutSourceField) {
  auto r = pkg::read_dpkg_status(claircore("debian-only.status"));
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(show_all(*r), (std::vector<std::string>{
                              "debian-archive-keyring all 2019.1 debian-archive-keyring 2019.1"}));
}

TEST(DpkgStatus, ClaircoreTexliveUbuntuSystem) {
  auto r = pkg::read_dpkg_status(claircore("texlive.status"));
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->size(), 357u);  // 357 paragraphs, all "install ok installed"
  ASSERT_TRUE(find(*r, "libquadmath0"));
  EXPECT_EQ(show(*find(*r, "libquadmath0")),
            "libquadmath0 amd64 8.4.0-1ubuntu1~18.04 gcc-8 8.4.0-1ubuntu1~18.04");
  // An epoch in the binary's version, none in the source's.
  ASSERT_TRUE(find(*r, "cpp"));
  EXPECT_EQ(show(*find(*r, "cpp")), "cpp amd64 4:7.4.0-1ubuntu2.3 gcc-defaults 1.176ubuntu2.3");
  ASSERT_TRUE(find(*r, "bsdutils"));
  EXPECT_EQ(show(*find(*r, "bsdutils")),
            "bsdutils amd64 1:2.31.1-0.4ubuntu3.6 util-linux 2.31.1-0.4ubuntu3.6");
  EXPECT_EQ(r->front().name, "libquadmath0");  // file order
}

TEST(DpkgStatus, ClaircoreVcpkgFeatureParagraphsAreNotDpkg) {
  // vcpkg writes dpkg-like status files whose "Feature" paragraphs are installed yet have no
  // Version: not something dpkg would accept, so the whole file is refused.
  const auto file = claircore("vcpkg.status");
  auto r = pkg::read_dpkg_status(file);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, file.string() + ":29");
  EXPECT_NE(r.error().message.find("'curl' has no Version"), std::string::npos)
      << r.error().message;
}

// --- semantics ---

constexpr std::string_view kStates = R"(Package: libc6
Status: install ok installed
Priority: required
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
 .
 This package includes shared versions of the standard C library.

Package: libc6
Status: install ok installed
Architecture: i386
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4

Package: old-tool
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Conffiles:
 /etc/old-tool.conf 0123456789abcdef0123456789abcdef

Package: gone
Status: purge ok not-installed
Architecture: amd64

Package: broken
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0-1

Package: waiting
Status: install ok triggers-pending
Architecture: amd64
Version: 3.0-1

Package: pinned
Status: hold ok installed
Architecture: all
Source: pinned-src (1:0.9-2)
Version: 1:0.9-2+b1

Package: going
Status: deinstall ok installed
Architecture: arm64
Version: 5
)";

TEST(DpkgStatus, InstalledOnlyAndOneEntryPerArchitecture) {
  auto r = pkg::parse_dpkg_status(kStates, "states");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(show_all(*r), (std::vector<std::string>{
                              "libc6 amd64 2.36-9+deb12u4 glibc 2.36-9+deb12u4",
                              "libc6 i386 2.36-9+deb12u4 glibc 2.36-9+deb12u4",
                              "pinned all 1:0.9-2+b1 pinned-src 1:0.9-2",
                              "going arm64 5 going 5",
                          }));
}

TEST(DpkgStatus, FieldNamesAnyCaseBlanksTrimmedExtraBlankLines) {
  constexpr std::string_view text =
      "\n\npackage:   zlib1g  \nSTATUS: install  ok\tinstalled\nveRsion:1:1.2.13.dfsg-1\n"
      "Architecture: amd64\nsource: zlib\nDescription: x\n \n more\n\n\n\n"
      "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all";
  auto r = pkg::parse_dpkg_status(std::string(text) + "\n");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(show_all(*r), (std::vector<std::string>{"zlib1g amd64 1:1.2.13.dfsg-1 zlib "
                                                    "1:1.2.13.dfsg-1",
                                                    "a all 1 a 1"}));
  auto empty = pkg::parse_dpkg_status("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(pkg::dpkg_status_path("/srv/root"), "/srv/root/var/lib/dpkg/status");
}

// --- malformed input: rejected as a whole, where = name:line ---

struct Bad {
  const char* what;
  std::string text;
  int line;
  const char* message_part;
};

const std::string kOk =
    "Package: ok\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\n";

const pkg::DpkgLimits kSmall{.max_file_size = 4096, .max_field_size = 1024};

class DpkgStatusMalformed : public ::testing::TestWithParam<Bad> {};

TEST_P(DpkgStatusMalformed, RejectedWithFileAndLine) {
  const Bad& bad = GetParam();
  auto r = pkg::parse_dpkg_status(bad.text, "status", kSmall);
  ASSERT_FALSE(r) << bad.what << ": accepted";
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(r.error().where, "status:" + std::to_string(bad.line)) << r.error().message;
  EXPECT_NE(r.error().message.find(bad.message_part), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DpkgStatusMalformed,
    ::testing::Values(
        Bad{"cut in the middle of a line", kOk + "Package: b\nStatus: install ok installed\nVers",
            8, "truncated"},
        Bad{"cut in a field name", kOk + "Package: b\nStatus: install ok inst\nVers\n", 8,
            "expected 'Field: value'"},
        Bad{"cut before Version", kOk + "Package: b\nStatus: install ok installed\n", 6,
            "'b' has no Version"},
        Bad{"no Architecture", "Package: b\nStatus: install ok installed\nVersion: 1\n", 1,
            "no Architecture"},
        Bad{"no Package field", kOk + "Status: install ok installed\nVersion: 1\n\n", 6,
            "no Package field"},
        Bad{"no Status field", "Package: b\nVersion: 1\nArchitecture: all\n", 1, "no Status field"},
        Bad{"binary garbage",
            std::string("\x7f"
                        "ELF\x02\x01\x01\0\0\0\n",
                        11),
            1, "control byte 0x7f"},
        Bad{"NUL byte", kOk + std::string("Package: b\nDescription: a\0b\n", 28), 7,
            "control byte 0x00"},
        Bad{"CRLF line ends", "Package: b\r\nStatus: install ok installed\r\n", 1, "CRLF"},
        Bad{"line too long", kOk + "Package: b\nDescription: " + std::string(2000, 'x') + "\n", 7,
            "more than the limit of 1024"},
        Bad{"field too long over continuation lines",
            kOk + "Package: b\nDescription: x\n " + std::string(600, 'y') + "\n " +
                std::string(600, 'z') + "\n",
            9, "'Description' is longer than the limit of 1024"},
        // Byte 4096 (the limit) comes after kOk's 71 bytes and 4025 more empty lines.
        Bad{"file too large", kOk + std::string(5000, '\n'), 4031, "larger than the limit of 4096"},
        Bad{"Version twice", "Package: b\nVersion: 1\nversion: 2\n", 3, "given twice"},
        Bad{"Version over two lines", "Package: b\nStatus: install ok installed\nVersion: 1\n .2\n",
            4, "'Version' continues"},
        Bad{"invalid version",
            "Package: b\nStatus: install ok installed\nArchitecture: all\n"
            "Version: 1.0-\n",
            4, "invalid version '1.0-'"},
        Bad{"invalid source",
            "Package: b\nStatus: install ok installed\nArchitecture: all\n"
            "Version: 1\nSource: c (2\n",
            5, "expected 'name' or 'name (version)'"},
        Bad{"invalid source version",
            "Package: b\nStatus: install ok installed\nArchitecture: "
            "all\nVersion: 1\nSource: c (:2)\n",
            5, "invalid version"},
        Bad{"unknown status word", "Package: b\nStatus: install ok exploded\n", 2,
            "unknown Status"},
        Bad{"status of two words", "Package: b\nStatus: install installed\n", 2, "not three words"},
        Bad{"invalid package name", "Package: -b\nStatus: install ok installed\n", 1,
            "invalid package name"},
        Bad{"package installed twice", kOk + kOk, 6, "installed twice"},
        Bad{"continuation before any field", " Package: b\n", 1, "continuation line outside"},
        Bad{"field name with a space", "Package: b\nBad Name: x\n", 2, "white space"},
        Bad{"empty field name", "Package: b\n: x\n", 2, "empty field name"}),
    [](const ::testing::TestParamInfo<Bad>& param_info) {
      std::string name;
      for (const char* c = param_info.param.what; *c != '\0'; ++c) {
        name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
      }
      return name;
    });

// The limits are those of the call (the table above uses small ones).
TEST(DpkgStatus, LimitsAreParameters) {
  const pkg::DpkgLimits small{.max_file_size = 100, .max_field_size = 1024};
  auto big = pkg::parse_dpkg_status(kOk + kOk + kOk + std::string(5000, '\n'), "status", small);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().where, "status:7");  // byte 100 is in the second paragraph's Status
  EXPECT_NE(big.error().message.find("larger than the limit of 100 bytes"), std::string::npos);
  EXPECT_TRUE(pkg::parse_dpkg_status(kOk, "status", small));
  const pkg::DpkgLimits defaults;
  EXPECT_EQ(defaults.max_file_size, 256u << 20);
  EXPECT_EQ(defaults.max_field_size, 1u << 20);
}

TEST(DpkgStatus, ReadingAFile) {
  pf::testing::TempDir dir;
  const auto file = dir.write("var/lib/dpkg/status", kOk + "Package: b\nVersion: 1\n");
  auto r = pkg::read_dpkg_status(pkg::dpkg_status_path(dir.path()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, file.string() + ":6");

  auto missing = pkg::read_dpkg_status(dir.path() / "nothing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::not_found);
  EXPECT_EQ(missing.error().where, (dir.path() / "nothing").string());

  auto directory = pkg::read_dpkg_status(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, pf::Errc::io);

  const auto large = dir.write("large", kOk + std::string(300, '#') + "\n");
  auto too_large = pkg::read_dpkg_status(large, {.max_file_size = 64, .max_field_size = 1024});
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().where, large.string() + ":4");  // byte 64 is in "Version: 1"
  EXPECT_NE(too_large.error().message.find("larger than"), std::string::npos);

  const auto ok = dir.write("ok", kOk);
  auto good = pkg::read_dpkg_status(ok);
  ASSERT_TRUE(good) << pf::to_string(good.error());
  EXPECT_EQ(show_all(*good), std::vector<std::string>{"ok all 1 ok 1"});
}

}  // namespace
