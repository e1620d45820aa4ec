// SPDX-License-Identifier: Apache-2.0
// The shared version vectors: cases from the test suites of dpkg, apt, rpm and other
// implementations, each re-checked against real dpkg and rpm (../shared/data/vectors).
#include <gtest/gtest.h>

#include "patchflow/core/versions.hpp"
#include "patchflow/testing/data.hpp"

namespace v = pf::versions;
using pf::testing::load_version_cases;
using pf::testing::shared_data_dir;

namespace {

template <class Compare>
void expect_all(const std::string& file, std::size_t min_rows, Compare compare) {
  const auto cases = load_version_cases(shared_data_dir() / "vectors" / file);
  ASSERT_GE(cases.size(), min_rows) << file << " is shorter than expected";
  std::size_t failures = 0;
  for (const auto& c : cases) {
    const int forward = compare(c.a, c.b);
    const int backward = compare(c.b, c.a);
    if (forward != c.expected || backward != -c.expected) {
      if (++failures <= 50) {
        ADD_FAILURE() << file << ":" << c.line << ": '" << c.a << "' vs '" << c.b
                      << "': expected " << c.expected << ", got " << forward
                      << " (reverse " << backward << ")";
      }
    }
  }
  EXPECT_EQ(failures, 0u) << "of " << cases.size() << " cases in " << file;
}

TEST(Vectors, AllDebianCasesOrderAsDpkg) {
  expect_all("ALL_deb_verified.tsv", 14000, [](const std::string& a, const std::string& b) {
    auto r = v::compare_deb(a, b);
    return r ? *r : 99;
  });
}

TEST(Vectors, AllRpmvercmpCasesOrderAsRpm) {
  expect_all("ALL_rpm_verified.tsv", 4500,
             [](const std::string& a, const std::string& b) { return v::rpmvercmp(a, b); });
}

TEST(Vectors, AllRpmEvrCasesOrderAsRpm) {
  expect_all("ALL_rpm_EVR_verified.tsv", 200, [](const std::string& a, const std::string& b) {
    auto r = v::compare_rpm_evr(a, b);
    return r ? *r : 99;
  });
}

TEST(Vectors, EveryStringDpkgRefusesOrWarnsAboutIsRejectedStrictly) {
  const auto lines = pf::testing::load_lines(shared_data_dir() / "vectors" / "deb_dpkg_invalid.txt");
  ASSERT_GE(lines.size(), 60u);
  for (const auto& s : lines) {
    auto r = v::parse_deb(s, v::Check::strict);
    EXPECT_FALSE(r) << "accepted '" << s << "'";
    if (!r) {
      EXPECT_TRUE(r.error().where.starts_with("position ")) << r.error().where;
      EXPECT_FALSE(r.error().message.empty());
    }
  }
}

}  // namespace
