// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "patchflow/core/versions.hpp"

namespace v = pf::versions;

namespace {

int cmp(std::string_view a, std::string_view b) {
  auto r = v::compare_deb(a, b);
  EXPECT_TRUE(r.has_value()) << a << " vs " << b << ": " << (r ? "" : r.error().message);
  return r.value_or(99);
}

struct OrderCase {
  const char* a;
  const char* b;
  int expected;
};

// Readable test names in ctest and gtest output.
void PrintTo(const OrderCase& c, std::ostream* os) { *os << "'" << c.a << "' vs '" << c.b << "'"; }

class DebOrder : public ::testing::TestWithParam<OrderCase> {};

TEST_P(DebOrder, ComparesBothWays) {
  const auto& c = GetParam();
  EXPECT_EQ(cmp(c.a, c.b), c.expected) << c.a << " vs " << c.b;
  EXPECT_EQ(cmp(c.b, c.a), -c.expected) << c.b << " vs " << c.a;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, DebOrder,
    ::testing::Values(
        // '~' sorts before everything, even the end of the string.
        OrderCase{"1.0~rc1", "1.0", -1}, OrderCase{"1.0~~", "1.0~", -1},
        OrderCase{"1.0~~a", "1.0~~", 1}, OrderCase{"1.0~", "1.0~a", -1},
        // Letters sort before non-letters.
        OrderCase{"1.0a", "1.0+", -1}, OrderCase{"1.0a", "1.0.", -1},
        OrderCase{"1.0Z", "1.0a", -1},
        // The end of a part sorts before letters and after '~'.
        OrderCase{"1.0", "1.0a", -1}, OrderCase{"1.0", "1.0.1", -1},
        // Digit runs compare numerically, leading zeros ignored, any length.
        OrderCase{"1.010", "1.9", 1}, OrderCase{"1.0010", "1.10", 0}, OrderCase{"007", "7", 0},
        OrderCase{"123456789012345678901234567890", "123456789012345678901234567891", -1},
        OrderCase{"99999999999999999999999999", "100000000000000000000000000", -1},
        // Epochs dominate; a missing epoch is 0.
        OrderCase{"1:0.1", "9.9", 1}, OrderCase{"0:1.0", "1.0", 0}, OrderCase{"2:1", "10:0", -1},
        // The revision starts after the last '-'; no revision equals revision 0.
        OrderCase{"1.0-1", "1.0-2", -1}, OrderCase{"1.0", "1.0-0", 0},
        OrderCase{"1.0-2-1", "1.0-10", 1}, OrderCase{"1.2-3", "1.2-3+deb12u1", -1},
        OrderCase{"2.36-9+deb12u13", "2.36-9+deb12u4", 1},
        // Upstream may contain ':' when an epoch is present.
        OrderCase{"1:1:2", "1:1.2", 1},
        // Leading and trailing white space is ignored, as dpkg does.
        OrderCase{" 1.0 ", "1.0", 0},
        // Strings dpkg only warns about still order (real feeds contain them).
        OrderCase{"<end-of-life>", "1.0", 1}, OrderCase{"a-0", "b-0", -1}));

TEST(DebParse, SplitsEpochUpstreamRevision) {
  auto r = v::parse_deb("3:1.2-3-4ubuntu1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->epoch, 3u);
  EXPECT_EQ(r->upstream, "1.2-3");
  EXPECT_EQ(r->revision, "4ubuntu1");

  auto plain = v::parse_deb("2.7.4");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->epoch, 0u);
  EXPECT_EQ(plain->upstream, "2.7.4");
  EXPECT_TRUE(plain->revision.empty());
}

TEST(DebParse, AcceptsLargestEpochAndSignsAsDpkgDoes) {
  auto max = v::parse_deb("2147483647:1");
  ASSERT_TRUE(max);
  EXPECT_EQ(max->epoch, 2147483647u);
  // dpkg reads the epoch with strtol: an explicit '+' and "-0" pass its checks.
  EXPECT_TRUE(v::parse_deb("+1:1"));
  EXPECT_TRUE(v::parse_deb("-0:1"));
  EXPECT_FALSE(v::parse_deb("+1:1", v::Check::strict));
}

struct ErrorCase {
  const char* text;
  v::Check check;
  const char* where;
  const char* mentions;
};

// Readable test names in ctest and gtest output.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << "'" << c.text << "'"; }

class DebErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DebErrors, NameWhatAndWhere) {
  const auto& c = GetParam();
  auto r = v::parse_deb(c.text, c.check);
  ASSERT_FALSE(r) << "'" << c.text << "' was accepted";
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(r.error().where, c.where) << r.error().message;
  EXPECT_NE(r.error().message.find(c.mentions), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Lenient, DebErrors,
    ::testing::Values(ErrorCase{"", v::Check::lenient, "position 1", "empty"},
                      ErrorCase{"   ", v::Check::lenient, "position 1", "empty"},
                      ErrorCase{"1.0 1", v::Check::lenient, "position 4", "white space"},
                      ErrorCase{":1.0", v::Check::lenient, "position 1", "epoch"},
                      ErrorCase{"a:1.0", v::Check::lenient, "position 1", "'a'"},
                      ErrorCase{"1a:1.0", v::Check::lenient, "position 2", "'a'"},
                      ErrorCase{"-1:0-1", v::Check::lenient, "position 1", "negative"},
                      ErrorCase{"2147483648:1", v::Check::lenient, "position 1", "too big"},
                      ErrorCase{"1:", v::Check::lenient, "position 2", "nothing after"},
                      ErrorCase{"1.0-", v::Check::lenient, "position 4", "revision"},
                      ErrorCase{"-1", v::Check::lenient, "position 1", "upstream"},
                      ErrorCase{"0:-0", v::Check::lenient, "position 3", "upstream"}));

INSTANTIATE_TEST_SUITE_P(
    Strict, DebErrors,
    ::testing::Values(ErrorCase{"abc", v::Check::strict, "position 1", "start with a digit"},
                      ErrorCase{"5.2@3-2", v::Check::strict, "position 4", "'@'"},
                      ErrorCase{"1:1.0_1", v::Check::strict, "position 6", "'_'"},
                      ErrorCase{"1:1.0-1:2", v::Check::strict, "position 8", "revision"},
                      ErrorCase{"1.0-1-a_b", v::Check::strict, "position 8", "'_'"},
                      ErrorCase{"1.0\x01", v::Check::strict, "position 4", "byte 0x01"},
                      ErrorCase{"1.\xc3\xa9", v::Check::strict, "position 3", "byte 0xc3"}));

TEST(DebParse, PositionsCountFromTheUntrimmedString) {
  auto r = v::parse_deb("  1.0-", v::Check::lenient);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "position 6");
}

TEST(DebParse, NulByteIsRejected) {
  const std::string with_nul("1.0\0-1", 6);
  auto r = v::parse_deb(with_nul);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "position 4");
}

TEST(DebCompare, ReportsWhichSideIsInvalid) {
  auto r = v::compare_deb("1.0", "1.0-");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("\"1.0-\""), std::string::npos) << r.error().message;
}

TEST(DebCompare, IsATotalOrderOnASortedChain) {
  // Every pair of this ascending chain must compare as its positions do.
  const std::vector<std::string> chain = {
      "0~",        "0",          "0.0",         "0.1~rc1",        "0.1",
      "0.1-1",     "0.1-1+b1",   "0.1a",        "0.1+dfsg",       "0.1.1",
      "0.9",       "0.10",       "1.0~~",       "1.0~~a",         "1.0~",
      "1.0",       "1.0-0.1",    "1.0-1~bpo1",  "1.0-1",          "1.0-1ubuntu1",
      "1.0-1+b1",  "1.0-2",      "1.0-10",      "1.0a",           "1.0+dfsg1",
      "1.0.0",     "2",          "10",          "1:0",            "1:0.1",
      "2:0~beta1", "2:0",        "10:0"};
  for (std::size_t i = 0; i < chain.size(); ++i) {
    for (std::size_t j = 0; j < chain.size(); ++j) {
      const int expected = i < j ? -1 : (i > j ? 1 : 0);
      EXPECT_EQ(cmp(chain[i], chain[j]), expected) << chain[i] << " vs " << chain[j];
    }
  }
}

TEST(Scheme, NamesRoundTripAndUnknownIsAnError) {
  EXPECT_EQ(v::scheme_from_name("deb").value(), v::Scheme::deb);
  EXPECT_EQ(v::scheme_from_name("rpm").value(), v::Scheme::rpm);
  EXPECT_EQ(v::scheme_name(v::Scheme::rpm), "rpm");
  auto bad = v::scheme_from_name("apk");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "scheme");
  EXPECT_EQ(v::compare(v::Scheme::deb, "1.0~1", "1.0").value(), -1);
  EXPECT_EQ(v::compare(v::Scheme::rpm, "1.0~1", "1.0").value(), -1);
  EXPECT_FALSE(v::validate(v::Scheme::deb, "x_y", v::Check::strict));
  EXPECT_TRUE(v::validate(v::Scheme::deb, "x_y", v::Check::lenient));
}

}  // namespace
