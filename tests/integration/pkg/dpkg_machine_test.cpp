// SPDX-License-Identifier: Apache-2.0
// The dpkg reader and os-release on this machine, against dpkg-query's own answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg/os_release.hpp"
#include "tools.hpp"

namespace pkg = pf::pkg;

namespace {

TEST(DpkgMachine, EveryInstalledPackageAgreesWithDpkgQuery) {
  const std::string dpkg_query = pf::testing::find_in_path("dpkg-query");
  ASSERT_FALSE(dpkg_query.empty()) << "dpkg-query is not in PATH: this test runs on Debian";
  // The second letter of db:Status-Abbrev is the state: 'i' is "installed", whatever the
  // selection (ii, hi, ri, pi) or error flag.
  auto q = pf::testing::run_tool(
      {dpkg_query, "-W", "-f",
       "${db:Status-Abbrev}\\t${Package}\\t${Architecture}\\t${Version}\\t${source:Package}\\t"
       "${source:Version}\\n"});
  ASSERT_TRUE(q.ok()) << "dpkg-query: " << pf::testing::describe(q);
  ASSERT_FALSE(q.out_truncated);
  std::vector<std::string> expected;
  std::size_t start = 0;
  while (start < q.out.size()) {
    const auto nl = q.out.find('\n', start);
    const std::string line = q.out.substr(start, nl - start);
    start = nl == std::string::npos ? q.out.size() : nl + 1;
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    if (tab >= 2 && line[1] == 'i') expected.push_back(line.substr(tab + 1));
  }

  auto r = pkg::read_dpkg_status("/var/lib/dpkg/status");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  std::vector<std::string> got;
  for (const auto& p : *r) {
    got.push_back(p.name + '\t' + p.arch + '\t' + p.version + '\t' + p.source_name + '\t' +
                  p.source_version);
  }
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  EXPECT_GT(expected.size(), 100u);
  EXPECT_EQ(got.size(), expected.size());
  // Name the first disagreements rather than dumping two long lists.
  std::vector<std::string> only_ours, only_dpkg;
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                      std::back_inserter(only_ours));
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(only_dpkg));
  for (std::size_t i = 0; i < std::min<std::size_t>(only_ours.size(), 10); ++i) {
    ADD_FAILURE() << "reader only: " << only_ours[i];
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(only_dpkg.size(), 10); ++i) {
    ADD_FAILURE() << "dpkg-query only: " << only_dpkg[i];
  }
}

TEST(OsReleaseMachine, ThisMachineIsDebian12) {
  auto os = pkg::read_os_release("/");
  ASSERT_TRUE(os) << pf::to_string(os.error());
  EXPECT_EQ(os->ecosystem, "Debian:12");
  EXPECT_EQ(os->id, "debian");
  EXPECT_EQ(os->version_id, "12");
  EXPECT_NE(os->pretty_name.find("Debian"), std::string::npos);
}

}  // namespace
