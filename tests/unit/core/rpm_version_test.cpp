// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "patchflow/core/versions.hpp"

namespace v = pf::versions;

namespace {

struct OrderCase {
  const char* a;
  const char* b;
  int expected;
};

// Readable test names in ctest and gtest output.
void PrintTo(const OrderCase& c, std::ostream* os) { *os << "'" << c.a << "' vs '" << c.b << "'"; }

class RpmVerCmp : public ::testing::TestWithParam<OrderCase> {};

TEST_P(RpmVerCmp, ComparesBothWays) {
  const auto& c = GetParam();
  EXPECT_EQ(v::rpmvercmp(c.a, c.b), c.expected) << c.a << " vs " << c.b;
  EXPECT_EQ(v::rpmvercmp(c.b, c.a), -c.expected) << c.b << " vs " << c.a;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, RpmVerCmp,
    ::testing::Values(
        OrderCase{"1.0", "1.0", 0}, OrderCase{"1.0", "2.0", -1}, OrderCase{"2.0.1", "2.0", 1},
        // Separators are ignored: only the segments count.
        OrderCase{"1.0.1", "1_0_1", 0}, OrderCase{"1..0", "1.0", 0}, OrderCase{"1.0.", "1.0", 0},
        // Numbers beat letters; letters compare as strings.
        OrderCase{"1.0a", "1.0.1", -1}, OrderCase{"1.0", "1.0a", -1}, OrderCase{"a", "1", -1},
        OrderCase{"alpha", "beta", -1}, OrderCase{"abc", "abcd", -1}, OrderCase{"Z", "a", -1},
        // Leading zeros are ignored; digit runs beyond 64 bits compare by length, then text.
        OrderCase{"010", "10", 0}, OrderCase{"1.010", "1.9", 1},
        OrderCase{"123456789012345678901234567890", "99999999999999999999", 1},
        // '~' sorts before everything, even the end.
        OrderCase{"1.0~rc1", "1.0", -1}, OrderCase{"1.0~rc1", "1.0~rc2", -1},
        OrderCase{"1.0~~", "1.0~", -1},
        // '^' sorts after the end of the base version but before any further segment.
        OrderCase{"1.0^git1", "1.0", 1}, OrderCase{"1.0^git1", "1.0.1", -1},
        OrderCase{"1.0^", "1.0", 1}, OrderCase{"1.0~rc1^git1", "1.0~rc1", 1},
        OrderCase{"1.0^20160101", "1.0^20160102", -1},
        // The empty string is older than anything with a segment.
        OrderCase{"", "0", -1}, OrderCase{"", "", 0}));

TEST(RpmEvr, ParsesAsRpmDoes) {
  auto full = v::parse_rpm_evr("2:4.19.1-1.el7_5");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->epoch, "2");
  EXPECT_EQ(full->version, "4.19.1");
  EXPECT_TRUE(full->has_release);
  EXPECT_EQ(full->release, "1.el7_5");

  auto bare = v::parse_rpm_evr("1.0");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->epoch.empty());
  EXPECT_FALSE(bare->has_release);

  // Only a run of digits before ':' is an epoch.
  auto odd = v::parse_rpm_evr("a1:2-3");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->epoch.empty());
  EXPECT_EQ(odd->version, "a1:2");
}

TEST(RpmEvr, OrdersEpochVersionRelease) {
  auto c = [](std::string_view a, std::string_view b) { return v::compare_rpm_evr(a, b).value(); };
  EXPECT_EQ(c("1:1.0-1", "2.0-1"), 1);
  EXPECT_EQ(c("0:1.0-1", "1.0-1"), 0);  // missing epoch is 0
  EXPECT_EQ(c(":1.0-1", "0:1.0-1"), 0);  // empty epoch is 0
  EXPECT_EQ(c("1.0-1.el9", "1.0-2.el9"), -1);
  EXPECT_EQ(c("1.0-1.el9_2.1", "1.0-1.el9_2"), 1);
  // A release, even an empty one, makes a version newer than the same version without one.
  EXPECT_EQ(c("1.0", "1.0-5.el9"), -1);
  EXPECT_EQ(c("1.0", "1.0-"), -1);
  EXPECT_EQ(c("1.1", "1.0-5.el9"), 1);
  // Epochs compare as rpm version strings: leading zeros do not matter.
  EXPECT_EQ(c("01:1.0", "1:1.0"), 0);
}

TEST(RpmEvr, EmptyIsRejectedEvenLeniently) {
  auto r = v::parse_rpm_evr("");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "position 1");
}

struct ErrorCase {
  const char* text;
  const char* where;
  const char* mentions;
};

// Readable test names in ctest and gtest output.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << "'" << c.text << "'"; }

class RpmStrictErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RpmStrictErrors, NameWhatAndWhere) {
  const auto& c = GetParam();
  EXPECT_TRUE(v::parse_rpm_evr(c.text, v::Check::lenient)) << "lenient must accept " << c.text;
  auto r = v::parse_rpm_evr(c.text, v::Check::strict);
  ASSERT_FALSE(r) << "'" << c.text << "' was accepted";
  EXPECT_EQ(r.error().where, c.where) << r.error().message;
  EXPECT_NE(r.error().message.find(c.mentions), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(Cases, RpmStrictErrors,
                         ::testing::Values(ErrorCase{":1.0", "position 1", "epoch"},
                                           ErrorCase{"1:", "position 3", "version is empty"},
                                           ErrorCase{"1.0-", "position 5", "release is empty"},
                                           ErrorCase{"1.0@2-1", "position 4", "'@'"},
                                           ErrorCase{"1:2.0-1/el9", "position 8", "release"},
                                           ErrorCase{"a:1.0", "position 2", "':'"}));

TEST(RpmEvr, StrictAcceptsRealVersions) {
  for (const char* s : {"4.18.0-477.10.1.el8_8", "1:2.8.0~rc1^20230101git1-3.fc39",
                        "0.9.8_p20230101+git-1"}) {
    EXPECT_TRUE(v::parse_rpm_evr(s, v::Check::strict)) << s;
  }
}

}  // namespace
