// SPDX-License-Identifier: Apache-2.0
// The rpm reader without rpm: its output parser, and its handling of a failing or misbehaving
// program (small shell scripts stand in for rpm). The real rpm is in the integration tests.
#include "patchflow/pkg/rpm_db.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "patchflow/testing/temp_dir.hpp"

namespace pkg = pf::pkg;
using pf::inventory::Package;

namespace {

std::string show(const Package& p) {
  return p.name + ' ' + p.arch + ' ' + p.version + ' ' + p.source_name + ' ' + p.source_version;
}

std::vector<std::string> show_all(const std::vector<Package>& packages) {
  std::vector<std::string> out;
  for (const auto& p : packages) out.push_back(show(p));
  return out;
}

// One line of rpm output in the reader's format.
std::string row(std::vector<std::string> fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += '\x1f';
    line += fields[i];
  }
  return line + '\n';
}

TEST(RpmQueryOutput, FormatNamesTheSixTagsSeparatedByUnitSeparator) {
  EXPECT_EQ(pkg::rpm_query_format(),
            "%{NAME}\x1f%{EPOCH}\x1f%{VERSION}\x1f%{RELEASE}\x1f%{ARCH}\x1f%{SOURCERPM}\\n");
}

TEST(RpmQueryOutput, EpochOnlyWhenSetAndNonZeroSourceFromSourceRpm) {
  const std::string out =
      row({"bash", "(none)", "5.1.8", "6.el9_1", "x86_64", "bash-5.1.8-6.el9_1.src.rpm"}) +
      row({"openssl-libs", "1", "3.0.7", "24.el9", "x86_64", "openssl-3.0.7-24.el9.src.rpm"}) +
      row({"tzdata", "0", "2023c", "1.el9", "noarch", "tzdata-2023c-1.el9.src.rpm"}) +
      row({"gpg-pubkey", "(none)", "fd431d51", "4ae0493b", "(none)", "(none)"}) +
      row({"python3-libs", "00", "3.9.18", "1.el9", "x86_64", "python3.9-3.9.18-1.el9.src.rpm"}) +
      row({"kernel-core", "(none)", "5.14.0", "362.8.1.el9_3", "x86_64",
           "kernel-5.14.0-362.8.1.el9_3.src.rpm"}) +
      row({"foo-nosrc", "(none)", "1", "1", "noarch", "foo-1-1.nosrc.rpm"}) +
      row({"local", "(none)", "1.0", "1", "noarch", "(none)"});
  auto r = pkg::parse_rpm_query_output(out);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(show_all(*r), (std::vector<std::string>{
                              "bash x86_64 5.1.8-6.el9_1 bash 5.1.8-6.el9_1",
                              "openssl-libs x86_64 1:3.0.7-24.el9 openssl 1:3.0.7-24.el9",
                              "tzdata noarch 2023c-1.el9 tzdata 2023c-1.el9",
                              "python3-libs x86_64 3.9.18-1.el9 python3.9 3.9.18-1.el9",
                              "kernel-core x86_64 5.14.0-362.8.1.el9_3 kernel "
                              "5.14.0-362.8.1.el9_3",
                              "foo-nosrc noarch 1-1 foo 1-1",
                              "local noarch 1.0-1 local 1.0-1",
                          }));
  auto empty = pkg::parse_rpm_query_output("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

struct BadRpm {
  const char* what;
  std::string output;
  int line;
  const char* message_part;
};

class RpmQueryOutputMalformed : public ::testing::TestWithParam<BadRpm> {};

TEST_P(RpmQueryOutputMalformed, RejectedWithLine) {
  const BadRpm& bad = GetParam();
  auto r = pkg::parse_rpm_query_output(bad.output, "rpm");
  ASSERT_FALSE(r) << bad.what;
  EXPECT_EQ(r.error().code, pf::Errc::backend_failed);
  EXPECT_EQ(r.error().where, "rpm:" + std::to_string(bad.line));
  EXPECT_NE(r.error().message.find(bad.message_part), std::string::npos) << r.error().message;
}

const std::string kGood = row({"a", "(none)", "1", "1", "noarch", "a-1-1.src.rpm"});

INSTANTIATE_TEST_SUITE_P(
    Cases, RpmQueryOutputMalformed,
    ::testing::Values(
        BadRpm{"five fields", kGood + row({"a", "(none)", "1", "1", "noarch"}), 2, "got 5"},
        BadRpm{"seven fields", row({"a", "1", "1", "1", "x", "a-1-1.src.rpm", "z"}), 1, "got more"},
        BadRpm{"no final newline",
               kGood + "a\x1f(none)\x1f"
                       "1",
               2, "cut short"},
        BadRpm{"epoch not a number", row({"a", "x1", "1", "1", "noarch", "a-1-1.src.rpm"}), 1,
               "EPOCH 'x1'"},
        BadRpm{"empty version", row({"a", "(none)", "", "1", "noarch", "a-1-1.src.rpm"}), 1,
               "VERSION ''"},
        BadRpm{"space in release", row({"a", "(none)", "1", "1 2", "noarch", "a-1-1.src.rpm"}), 1,
               "RELEASE '1 2'"},
        BadRpm{"source rpm without version",
               kGood + kGood + row({"a", "(none)", "1", "1", "noarch", "a.src.rpm"}), 3,
               "SOURCERPM 'a.src.rpm'"},
        BadRpm{"source rpm not a source rpm", row({"a", "(none)", "1", "1", "noarch", "a-1-1"}), 1,
               "NAME-VERSION-RELEASE.src.rpm"},
        BadRpm{"error text instead of a row", "error: rpmdb: damaged\n", 1, "got 1"}),
    [](const ::testing::TestParamInfo<BadRpm>& param_info) {
      std::string name;
      for (const char* c = param_info.param.what; *c != '\0'; ++c) {
        name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
      }
      return name;
    });

// A root with an (empty) database file, and a script that plays rpm.
struct FakeRoot {
  pf::testing::TempDir dir;
  std::filesystem::path root;
  std::filesystem::path rpm;

  explicit FakeRoot(const std::string& script) {
    root = dir.path() / "root";
    dir.write("root/var/lib/rpm/rpmdb.sqlite", "");
    rpm = dir.write("fake-rpm", "#!/bin/sh\n" + script);
    ::chmod(rpm.c_str(), 0755);
  }
};

TEST(RpmDatabase, NoDatabaseUnderTheRootIsNotFoundAndRpmIsNotRun) {
  pf::testing::TempDir dir;
  auto r = pkg::read_rpm_database(dir.path(), {.rpm = "/nonexistent/rpm"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::not_found);
  EXPECT_NE(r.error().message.find((dir.path() / "var/lib/rpm").string()), std::string::npos)
      << r.error().message;
  // rpm would have created one.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "var"));
}

TEST(RpmDatabase, ArgumentsAndOutputParsed) {
  // The script prints its arguments to stderr (ignored on success) and two packages.
  FakeRoot fake(
      "[ \"$1\" = --root ] && [ \"$3\" = --dbpath ] && [ \"$4\" = /var/lib/rpm ] && "
      "[ \"$5\" = -qa ] && [ \"$6\" = --qf ] || exit 9\n"
      "printf 'a\\037(none)\\0371\\0372\\037noarch\\037a-1-2.src.rpm\\n'\n"
      "printf 'b\\0373\\0371\\0372\\037x86_64\\037bsrc-1-2.src.rpm\\n'\n");
  auto r = pkg::read_rpm_database(fake.root, {.rpm = fake.rpm.string()});
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(show_all(*r),
            (std::vector<std::string>{"a noarch 1-2 a 1-2", "b x86_64 3:1-2 bsrc 3:1-2"}));
}

TEST(RpmDatabase, FailureGivesExitStatusAndStderrTail) {
  FakeRoot fake("echo 'error: cannot open Packages database in /var/lib/rpm' >&2\nexit 1\n");
  auto r = pkg::read_rpm_database(fake.root, {.rpm = fake.rpm.string()});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::backend_failed);
  EXPECT_NE(r.error().message.find("exited with status 1"), std::string::npos);
  EXPECT_NE(r.error().message.find("cannot open Packages database"), std::string::npos);
  EXPECT_NE(r.error().where.find(fake.root.string()), std::string::npos);
}

TEST(RpmDatabase, TimeoutAndOversizedOutputAndMissingProgram) {
  FakeRoot slow("sleep 30\n");
  auto timed_out = pkg::read_rpm_database(
      slow.root, {.rpm = slow.rpm.string(), .timeout = std::chrono::milliseconds(200)});
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().code, pf::Errc::timeout);

  FakeRoot chatty(
      "i=0; while [ $i -lt 200 ]; do printf 'a\\037(none)\\0371\\0371\\037noarch\\037"
      "a-1-1.src.rpm\\n'; i=$((i+1)); done\n");
  auto big = pkg::read_rpm_database(chatty.root, {.rpm = chatty.rpm.string(), .max_output = 1000});
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("more than the limit of 1000"), std::string::npos)
      << big.error().message;

  FakeRoot any("exit 0\n");
  auto missing = pkg::read_rpm_database(any.root, {.rpm = "/nonexistent/bin/rpm"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::backend_failed);
  EXPECT_NE(missing.error().message.find("cannot run '/nonexistent/bin/rpm'"), std::string::npos);
}

}  // namespace
