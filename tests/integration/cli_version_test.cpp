// SPDX-License-Identifier: Apache-2.0
// `patchflow version compare`, run as a user runs it.
#include <gtest/gtest.h>

#include <fstream>

#include "patchflow/common/process.hpp"
#include "patchflow/testing/data.hpp"

namespace process = pf::process;

namespace {

process::Outcome patchflow(std::vector<std::string> args, std::string stdin_data = {}) {
  args.insert(args.begin(), PF_PATCHFLOW_BIN);
  auto r = process::run({.argv = args, .stdin_data = std::move(stdin_data),
                         .timeout = std::chrono::seconds(60)});
  EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
  return r.value_or(process::Outcome{});
}

// The lines of a command's output, without their '\n'.
std::vector<std::string> lines_of(const std::string& out) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < out.size()) {
    const auto nl = out.find('\n', start);
    lines.push_back(out.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

TEST(CliVersionCompare, PrintsOrderAndExitsZero) {
  auto lt = patchflow({"version", "compare", "--scheme", "deb", "1.0~rc1", "1.0"});
  EXPECT_EQ(lt.exit_code, 0);
  EXPECT_EQ(lt.out, "-1\n");
  auto gt = patchflow({"version", "compare", "--scheme", "rpm", "1.0^git1-1.el9", "1.0-1.el9"});
  EXPECT_EQ(gt.exit_code, 0);
  EXPECT_EQ(gt.out, "1\n");
  auto eq = patchflow({"version", "compare", "--scheme", "deb", "0:1.0-0", "1.0"});
  EXPECT_EQ(eq.out, "0\n");
  // deb is the default scheme
  auto def = patchflow({"version", "compare", "2:0", "1:9"});
  EXPECT_EQ(def.out, "1\n");
}

TEST(CliVersionCompare, InvalidVersionIsAUsageErrorWithWhereAndWhy) {
  auto r = patchflow({"version", "compare", "--scheme", "deb", "1.0-", "1.0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("position 4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("revision"), std::string::npos) << r.err;
}

TEST(CliVersionCompare, WarnsLikeDpkgAndStrictRefuses) {
  auto lenient = patchflow({"version", "compare", "--scheme", "deb", "abc", "1.0"});
  EXPECT_EQ(lenient.exit_code, 0);
  EXPECT_EQ(lenient.out, "1\n");
  EXPECT_NE(lenient.err.find("warning:"), std::string::npos) << lenient.err;
  auto strict = patchflow({"version", "compare", "--strict", "--scheme", "deb", "abc", "1.0"});
  EXPECT_EQ(strict.exit_code, 2);
  EXPECT_NE(strict.err.find("start with a digit"), std::string::npos) << strict.err;
}

TEST(CliVersionCompare, UsageErrorsExitTwo) {
  EXPECT_EQ(patchflow({"version", "compare", "--scheme", "apk", "1", "2"}).exit_code, 2);
  EXPECT_EQ(patchflow({"version", "compare", "1"}).exit_code, 2);
  EXPECT_EQ(patchflow({"version", "compare", "1", "2", "3"}).exit_code, 2);
  EXPECT_EQ(patchflow({"version", "compare", "--batch", "-", "1", "2"}).exit_code, 2);
  EXPECT_EQ(patchflow({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(patchflow({"version", "compare", "--batch", "/nonexistent/file"}).exit_code, 2);
}

TEST(CliVersionCompare, HelpShowsExamples) {
  auto r = patchflow({"version", "compare", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
  EXPECT_NE(r.out.find("--batch"), std::string::npos);
}

TEST(CliVersionCompare, BatchAnswersEveryLineAndFlagsBadOnes) {
  auto r = patchflow({"version", "compare", "--scheme", "deb", "--batch", "-"},
                     "1.0\t1.1\n"
                     "1.0-\t1.0\n"
                     "no tab here\n"
                     "2:1\t1:2\textra column ignored\n"
                     "\n"
                     "1.0~\t1.0\r\n");
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0], "-1");
  EXPECT_TRUE(lines[1].starts_with("error: line 2:")) << lines[1];
  EXPECT_NE(lines[1].find("revision"), std::string::npos) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("error: line 3:")) << lines[2];
  EXPECT_EQ(lines[3], "1");
  EXPECT_EQ(lines[4], "");
  EXPECT_EQ(lines[5], "-1");
}

TEST(CliVersionCompare, BatchOverTheSharedVectorsFromAFile) {
  const auto file = pf::testing::shared_data_dir() / "vectors" / "ALL_rpm_EVR_verified.tsv";
  auto cases = pf::testing::load_version_cases(file);
  auto r = patchflow({"version", "compare", "--scheme", "rpm", "--batch", file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Line 1 is the header: an empty answer line, then one result per case.
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), cases.size() + 1);
  for (const auto& c : cases) {
    EXPECT_EQ(lines[static_cast<std::size_t>(c.line - 1)], std::to_string(c.expected))
        << c.a << " vs " << c.b;
  }
}

TEST(CliVersionCompare, OverlongBatchLineIsAnErrorNotACrash) {
  std::string input(200000, '1');
  input += "\t1\n1\t2\n";
  auto r = patchflow({"version", "compare", "--batch", "-"}, input);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.starts_with("error: line 1 is longer than")) << r.out.substr(0, 80);
  EXPECT_TRUE(r.out.ends_with("\n-1\n"));
}

}  // namespace
