// SPDX-License-Identifier: Apache-2.0
// Exponential backoff with full jitter: 1 s doubling to a 5 min cap, every wait inside
// [0, ceiling], the ceiling reached and held, a success starting over.
#include "patchflow/agent_client/backoff.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using pf::agent_client::Backoff;

TEST(AgentClientBackoff, CeilingsDoubleFromOneSecondToFiveMinutes) {
  const Backoff b;
  EXPECT_EQ(b.ceiling(0), 0ms);
  const std::vector<std::chrono::milliseconds> expected = {1s,  2s,   4s,   8s,   16s, 32s,
                                                           64s, 128s, 256s, 300s, 300s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(b.ceiling(static_cast<std::uint32_t>(i + 1)), expected[i]) << "failure " << i + 1;
  }
  EXPECT_EQ(b.ceiling(1000), 300s) << "no overflow far past the cap";
  EXPECT_EQ(b.ceiling(UINT32_MAX), 300s);
}

TEST(AgentClientBackoff, WaitsSpanZeroToTheCeiling) {
  Backoff b;
  EXPECT_EQ(b.next(0.0), 0ms) << "full jitter may retry at once";
  EXPECT_EQ(b.failures(), 1u);
  EXPECT_EQ(b.next(0.999999), 2s) << "the top of [0, 2 s]";
  EXPECT_EQ(b.next(0.5), 2000ms) << "the middle of [0, 4 s]";
  b.reset();
  EXPECT_EQ(b.failures(), 0u);
  EXPECT_EQ(b.next(0.999999), 1s) << "a success starts over at 1 s";
  // Out-of-range units are clamped, never beyond the ceiling.
  Backoff c;
  EXPECT_EQ(c.next(7.0), 1s);
  EXPECT_EQ(c.next(-3.0), 0ms);
}

TEST(AgentClientBackoff, RandomWaitsStayInBoundsAndSpread) {
  Backoff b;
  std::chrono::milliseconds total{0};
  for (int i = 0; i < 200; ++i) {
    const auto w = b.next();
    ASSERT_GE(w, 0ms);
    ASSERT_LE(w, b.ceiling(b.failures())) << "failure " << b.failures();
    ASSERT_LE(w, 300s);
    if (b.failures() > 20) total += w;
  }
  // 180 draws uniform in [0, 300 s]: their mean is near 150 s, far from both ends.
  const auto mean = total / 180;
  EXPECT_GT(mean, 100s);
  EXPECT_LT(mean, 200s);
}

TEST(AgentClientBackoff, CustomBaseAndCap) {
  Backoff b(100ms, 350ms);
  EXPECT_EQ(b.ceiling(1), 100ms);
  EXPECT_EQ(b.ceiling(2), 200ms);
  EXPECT_EQ(b.ceiling(3), 350ms);
  EXPECT_EQ(b.ceiling(4), 350ms);
}

}  // namespace
