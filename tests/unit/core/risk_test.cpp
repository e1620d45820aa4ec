// SPDX-License-Identifier: Apache-2.0
#include "patchflow/core/risk.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace a = pf::advisories;
namespace r = pf::risk;

namespace {

const r::Part* part(const r::Score& s, const std::string& name) {
  for (const auto& p : s.parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

struct Named {
  const char* name;
  r::Inputs in;
};

TEST(Risk, FindingsRankAsExpectedWithKevOnTop) {
  using S = a::Severity;
  // Listed from the highest expected score to the lowest.
  const std::vector<Named> ranked = {
      {"kev ransomware critical", {S::critical, 9.8, 0.95, 0.999, true, true}},
      {"kev high", {S::high, 7.5, 0.02, 0.80, true, false}},
      {"kev high, nothing else known", {S::high, std::nullopt, std::nullopt, std::nullopt, true}},
      {"critical, high epss", {S::critical, 9.8, 0.90, 0.99, false, false}},
      {"critical, low epss", {S::critical, 9.8, 0.001, 0.30, false, false}},
      {"high, low epss", {S::high, 7.5, 0.001, 0.30, false, false}},
      {"medium, no enrichment", {S::medium, std::nullopt, std::nullopt, std::nullopt}},
      {"low", {S::low, 3.1, 0.0005, 0.10}},
      {"negligible", {S::negligible, 2.0, 0.0001, 0.01}},
  };
  std::vector<double> scores;
  for (const auto& c : ranked) {
    const double s = r::score_finding(c.in).value;
    SCOPED_TRACE(c.name);
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 100.0);
    if (!scores.empty()) {
      EXPECT_LT(s, scores.back());
    }
    scores.push_back(s);
  }
}

TEST(Risk, KevHighOutranksNonKevCriticalWithLowEpssOnEveryCriticality) {
  for (auto c : {r::Criticality::low, r::Criticality::medium, r::Criticality::high,
                 r::Criticality::critical}) {
    SCOPED_TRACE(r::criticality_name(c));
    r::Inputs kev{a::Severity::high, 7.0, 0.01, 0.5, true, false, c};
    r::Inputs crit{a::Severity::critical, 10.0, 0.01, 0.5, false, false, c};
    EXPECT_GT(r::score_finding(kev).value, r::score_finding(crit).value);
  }
}

TEST(Risk, ExplanationShowsEveryPartAndAddsUp) {
  r::Inputs in{a::Severity::high, 8.1, 0.25, 0.9, true, false, r::Criticality::high};
  const auto s = r::score_finding(in);
  std::vector<std::string> names;
  double sum = 0;
  for (const auto& p : s.parts) {
    names.push_back(p.name);
    sum += p.contribution;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"severity", "cvss", "epss", "epss percentile", "kev",
                                             "kev ransomware", "host criticality"}));
  EXPECT_NEAR(sum, s.value, 1e-9);
  const auto* sev = part(s, "severity");
  ASSERT_NE(sev, nullptr);
  EXPECT_EQ(sev->value, "high");
  EXPECT_DOUBLE_EQ(sev->contribution, sev->weight * 0.75);
  const auto* cvss = part(s, "cvss");
  ASSERT_NE(cvss, nullptr);
  EXPECT_EQ(cvss->value, "8.1");
  EXPECT_NEAR(cvss->contribution, cvss->weight * 0.81, 1e-9);
  const auto* epss = part(s, "epss");
  ASSERT_NE(epss, nullptr);
  EXPECT_EQ(epss->value, "0.25");
  EXPECT_NEAR(epss->contribution, epss->weight * 0.5, 1e-9);  // square root of 0.25
  const auto* kev = part(s, "kev");
  ASSERT_NE(kev, nullptr);
  EXPECT_EQ(kev->value, "listed");
  // KEV carries the largest weight of all the parts.
  for (const auto& p : s.parts) {
    if (p.name != "kev" && p.name != "host criticality") {
      EXPECT_LT(p.weight, kev->weight) << p.name;
    }
  }
  const auto* crit = part(s, "host criticality");
  ASSERT_NE(crit, nullptr);
  EXPECT_EQ(crit->value, "high");
  EXPECT_GT(crit->contribution, 0.0);
  EXPECT_NEAR(s.value, 85.69, 1e-9);
  EXPECT_EQ(r::explain(s),
            "85.69 = severity=high x25 -> +18.75; cvss=8.1 x15 -> +12.15; epss=0.25 x15 -> "
            "+7.5; epss percentile=0.9 x5 -> +4.5; kev=listed x35 -> +35; kev ransomware=not "
            "known x5 -> +0; host criticality=high x1.1 -> +7.79");
}

TEST(Risk, MissingSeverityOrCvssBorrowsTheOtherAndSaysSo) {
  r::Inputs only_cvss{a::Severity::unknown, 9.0};
  const auto s1 = r::score_finding(only_cvss);
  EXPECT_NEAR(part(s1, "severity")->contribution, part(s1, "severity")->weight * 0.9, 1e-9);
  EXPECT_NE(part(s1, "severity")->value.find("from CVSS"), std::string::npos);
  r::Inputs only_sev{a::Severity::critical};
  const auto s2 = r::score_finding(only_sev);
  EXPECT_NEAR(part(s2, "cvss")->contribution, part(s2, "cvss")->weight, 1e-9);
  EXPECT_EQ(part(s2, "epss")->value, "unknown");
  EXPECT_EQ(part(s2, "epss")->contribution, 0.0);
}

TEST(Risk, HostCriticalityOrdersOtherwiseEqualFindings) {
  double previous = -1;
  for (auto c : {r::Criticality::low, r::Criticality::medium, r::Criticality::high,
                 r::Criticality::critical}) {
    r::Inputs in{a::Severity::high, 7.5, 0.1, 0.9, false, false, c};
    const double s = r::score_finding(in).value;
    EXPECT_GT(s, previous) << r::criticality_name(c);
    previous = s;
  }
  // Clamped at 100.
  r::Inputs top{a::Severity::critical, 10, 1, 1, true, true, r::Criticality::critical};
  EXPECT_DOUBLE_EQ(r::score_finding(top).value, 100.0);
}

TEST(Risk, InputsTakeTheWorstOfTheCvesAndIgnoreNonsense) {
  std::vector<a::CveInfo> cves(3);
  cves[0].cvss3_score = 7.5;
  cves[0].epss = 0.02;
  cves[1].cvss3_score = 5.0;
  cves[1].cvss4_score = 8.7;
  cves[1].epss_percentile = 0.7;
  cves[1].kev = true;
  cves[2].cvss3_score = 42.0;  // out of range
  cves[2].epss = std::numeric_limits<double>::quiet_NaN();
  cves[2].kev_ransomware = true;
  const auto in = r::inputs_for(a::Severity::medium, cves, r::Criticality::critical);
  EXPECT_EQ(in.severity, a::Severity::medium);
  ASSERT_TRUE(in.cvss);
  EXPECT_DOUBLE_EQ(*in.cvss, 8.7);
  ASSERT_TRUE(in.epss);
  EXPECT_DOUBLE_EQ(*in.epss, 0.02);
  EXPECT_DOUBLE_EQ(in.epss_percentile.value(), 0.7);
  EXPECT_TRUE(in.kev);
  EXPECT_TRUE(in.kev_ransomware);
  EXPECT_EQ(in.criticality, r::Criticality::critical);
  EXPECT_FALSE(r::inputs_for(a::Severity::low, {}).cvss);
}

TEST(Risk, HostScoreIsTheHighestPlusABoundedCountTerm) {
  struct Case {
    std::vector<double> scores;
    double expected;
  };
  const std::vector<Case> cases = {
      {{}, 0.0},
      {{40.0}, 40.0},
      {{40.0, 10.0, 20.0, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}, 45.0},  // 10 findings: +5
      {std::vector<double>(1000, 30.0), 40.0},                        // capped at +10
      {{98.0, 97.0, 96.0, 95.0, 94.0, 93.0, 92.0, 91.0, 90.0, 89.0}, 100.0},
  };
  for (const auto& c : cases) {
    const auto s = r::score_host(c.scores);
    EXPECT_NEAR(s.value, c.expected, 1e-9) << c.scores.size() << " findings";
    ASSERT_EQ(s.parts.size(), 2U);
    EXPECT_EQ(s.parts[0].name, "highest finding");
    EXPECT_EQ(s.parts[1].name, "finding count");
    EXPECT_NEAR(s.parts[0].contribution + s.parts[1].contribution, s.value, 1e-9);
  }
  // One KEV finding outranks many mid ones.
  std::vector<double> many(50, 45.0);
  const double kev = r::score_finding({a::Severity::high, 7.5, 0.02, 0.8, true}).value;
  EXPECT_GT(r::score_host(std::vector<double>{kev}).value, r::score_host(many).value);
}

TEST(Risk, CriticalityNames) {
  EXPECT_EQ(r::criticality_from_name("High").value(), r::Criticality::high);
  EXPECT_EQ(r::criticality_from_name("critical").value(), r::Criticality::critical);
  auto bad = r::criticality_from_name("extreme");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "criticality");
  EXPECT_EQ(r::Inputs{}.criticality, r::Criticality::medium);
}

}  // namespace
