// SPDX-License-Identifier: Apache-2.0
// The dpkg reader against a real dpkg database in a temporary root: packages built with
// dpkg-deb and installed, held, unpacked and removed with dpkg --root, then compared with
// dpkg-query --admindir on the same database.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/testing/temp_dir.hpp"
#include "tools.hpp"

namespace pkg = pf::pkg;
namespace fs = std::filesystem;
using pf::testing::describe;
using pf::testing::run_tool;

namespace {

class DpkgRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"dpkg", "dpkg-deb", "dpkg-query"}) {
      tools_.push_back(pf::testing::find_in_path(tool));
      ASSERT_FALSE(tools_.back().empty()) << tool << " is not in PATH: this test runs on Debian";
    }
    root_ = dir_.path() / "root";
    for (const char* d : {"info", "updates", "triggers"}) {
      fs::create_directories(root_ / "var/lib/dpkg" / d);
    }
    dir_.write("root/var/lib/dpkg/status", "");
    ASSERT_NO_FATAL_FAILURE(dpkg({"--add-architecture", "i386"}));
  }

  void dpkg(std::vector<std::string> args, const std::string& stdin_data = {}) {
    std::vector<std::string> argv{tools_[0], "--root=" + root_.string(), "--log=/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = pf::process::run({.argv = argv,
                               .env = {"LC_ALL=C"},
                               .stdin_data = stdin_data,
                               .timeout = std::chrono::seconds(120)});
    ASSERT_TRUE(r) << pf::to_string(r.error());
    ASSERT_TRUE(r->ok()) << "dpkg " << args.front() << ": " << describe(*r);
  }

  // Builds <name>_<arch>.deb with the given extra control fields (and one conffile).
  std::string deb(const std::string& name, const std::string& arch, const std::string& version,
                  const std::string& extra, bool conffile = false) {
    const std::string src = "src/" + name + "-" + arch;
    dir_.write(src + "/DEBIAN/control", "Package: " + name + "\nVersion: " + version +
                                            "\nArchitecture: " + arch +
                                            "\nMaintainer: Test <test@example.org>\n" + extra +
                                            "Description: patchflow test package\n");
    if (conffile) {
      dir_.write(src + "/etc/" + name + ".conf", "setting = 1\n");
      dir_.write(src + "/DEBIAN/conffiles", "/etc/" + name + ".conf\n");
    }
    const fs::path out = dir_.path() / (name + "_" + arch + ".deb");
    auto r = run_tool(
        {tools_[1], "--root-owner-group", "-b", (dir_.path() / src).string(), out.string()});
    EXPECT_TRUE(r.ok()) << "dpkg-deb -b " << name << ": " << describe(r);
    return out.string();
  }

  pf::testing::TempDir dir_;
  fs::path root_;
  std::vector<std::string> tools_;
};

TEST_F(DpkgRoot, AgreesWithDpkgQueryOnEveryState) {
  const std::string multi = "Multi-Arch: same\nSource: pf-src (2.0-1)\n";
  ASSERT_NO_FATAL_FAILURE(dpkg(
      {"-i", deb("pf-lib", "amd64", "1:2.0-1", multi), deb("pf-lib", "i386", "1:2.0-1", multi),
       deb("pf-tool", "all", "3.1-2", "Source: pf-src\n"), deb("pf-conf", "all", "1.0", "", true),
       deb("pf-held", "amd64", "0.1~beta-0+deb12u1", "")}));
  ASSERT_NO_FATAL_FAILURE(dpkg({"-r", "pf-conf"}));                            // config-files
  ASSERT_NO_FATAL_FAILURE(dpkg({"--set-selections"}, "pf-held hold\n"));       // hi
  ASSERT_NO_FATAL_FAILURE(dpkg({"--unpack", deb("pf-new", "all", "5", "")}));  // unpacked

  auto q = run_tool({tools_[2], "--admindir=" + (root_ / "var/lib/dpkg").string(), "-W", "-f",
                     "${db:Status-Abbrev}|${Package}|${Architecture}|${Version}|"
                     "${source:Package}|${source:Version}\\n"});
  ASSERT_TRUE(q.ok()) << "dpkg-query: " << describe(q);
  std::vector<std::string> all;
  for (std::size_t start = 0; start < q.out.size();) {
    const auto nl = q.out.find('\n', start);
    all.push_back(q.out.substr(start, nl - start));
    start = nl + 1;
  }
  std::sort(all.begin(), all.end());
  // What dpkg itself says, all states included.
  EXPECT_EQ(all, (std::vector<std::string>{
                     "hi |pf-held|amd64|0.1~beta-0+deb12u1|pf-held|0.1~beta-0+deb12u1",
                     "iU |pf-new|all|5|pf-new|5",
                     "ii |pf-lib|amd64|1:2.0-1|pf-src|2.0-1",
                     "ii |pf-lib|i386|1:2.0-1|pf-src|2.0-1",
                     "ii |pf-tool|all|3.1-2|pf-src|3.1-2",
                     "rc |pf-conf|all|1.0|pf-conf|1.0",
                 }));

  auto r = pkg::read_dpkg_status(pkg::dpkg_status_path(root_));
  ASSERT_TRUE(r) << pf::to_string(r.error());
  std::vector<std::string> got;
  for (const auto& p : *r) {
    got.push_back(p.name + '|' + p.arch + '|' + p.version + '|' + p.source_name + '|' +
                  p.source_version);
  }
  std::sort(got.begin(), got.end());
  std::vector<std::string> installed;
  for (const auto& line : all) {
    if (line[1] == 'i') installed.push_back(line.substr(line.find('|') + 1));
  }
  EXPECT_EQ(got, installed);
  EXPECT_EQ(got.size(), 4u);
}

}  // namespace
