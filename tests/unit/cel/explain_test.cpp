// SPDX-License-Identifier: Apache-2.0
// Explanations of a gate: each top-level && / || term with its value and the values behind it.
#include <gtest/gtest.h>

#include <string>

#include "patchflow/cel/expr.hpp"
#include "patchflow/cel/stages.hpp"

namespace {

using pf::cel::HostOutcome;
using pf::cel::StageOutcome;

pf::cel::Activation outcomes(int app_ok, std::int64_t regressions, bool db2_healthy) {
  StageOutcome app;
  for (int i = 0; i < 100; ++i) {
    HostOutcome h;
    h.name = "app-" + std::to_string(i);
    h.outcome = i < app_ok ? "succeeded" : "failed";
    app.hosts.push_back(h);
  }
  app.hosts[0].health_regressions = regressions;
  StageOutcome db;
  for (int i = 1; i <= 3; ++i) {
    HostOutcome h;
    h.name = "db-" + std::to_string(i);
    h.outcome = "succeeded";
    const bool ok = i != 2 || db2_healthy;
    h.post["db-healthy"] = {ok, ok ? 0 : 1};
    db.hosts.push_back(h);
  }
  return pf::cel::stages_activation({{"app", app}, {"db", db}});
}

pf::cel::Explanation explain(const std::string& source, const pf::cel::Activation& act) {
  auto e = pf::cel::parse(source);
  EXPECT_TRUE(e) << source;
  return pf::cel::evaluate_explained(*e, act);
}

TEST(CelExplain, BlockedGateShowsEveryTerm) {
  const auto x = explain(
      "stages.app.success_ratio >= 0.95 && stages.app.health_regressions == 0 && "
      "stages.app.failed <= 10",
      outcomes(91, 2, true));
  ASSERT_TRUE(x.result);
  EXPECT_EQ(x.result->to_string(), "false");
  EXPECT_EQ(x.op, "&&");
  ASSERT_EQ(x.terms.size(), 3u);
  EXPECT_EQ(x.terms[0].to_string(), "stages.app.success_ratio >= 0.95 → false (0.91)");
  EXPECT_EQ(x.terms[1].to_string(), "stages.app.health_regressions == 0 → false (2)");
  EXPECT_EQ(x.terms[2].to_string(), "stages.app.failed <= 10 → true (9)");
  EXPECT_EQ(x.to_string(),
            "stages.app.success_ratio >= 0.95 → false (0.91)\n"
            "stages.app.health_regressions == 0 → false (2)\n"
            "stages.app.failed <= 10 → true (9)");
}

TEST(CelExplain, AllNamesTheFirstFailingHost) {
  const auto x = explain("stages.db.hosts.all(h, h.post['db-healthy'].passed)",
                         outcomes(100, 0, false));
  ASSERT_TRUE(x.result);
  EXPECT_EQ(x.result->to_string(), "false");
  EXPECT_EQ(x.op, "");
  ASSERT_EQ(x.terms.size(), 1u);
  EXPECT_EQ(x.terms[0].to_string(),
            "stages.db.hosts.all(h, h.post['db-healthy'].passed) → false "
            "(h = stages.db.hosts[1] 'db-2')");
  EXPECT_EQ(x.terms[0].value, false);
}

TEST(CelExplain, PassingGateAndTwoOperands) {
  const auto x = explain("stages.app.succeeded * 100 >= stages.app.total * 95 || false",
                         outcomes(96, 0, true));
  ASSERT_TRUE(x.result);
  EXPECT_EQ(x.result->to_string(), "true");
  EXPECT_EQ(x.op, "||");
  ASSERT_EQ(x.terms.size(), 2u);
  EXPECT_EQ(x.terms[0].to_string(),
            "stages.app.succeeded * 100 >= stages.app.total * 95 → true "
            "(stages.app.succeeded * 100 = 9600, stages.app.total * 95 = 9500)");
  EXPECT_EQ(x.terms[1].to_string(), "false → false");
}

TEST(CelExplain, ErrorsShowWhereAndWhy) {
  const auto x = explain(
      "stages.db.hosts.all(h, h.post['db-ready'].passed) && stages.app.failed / 0 == 0",
      outcomes(100, 0, true));
  ASSERT_FALSE(x.result);
  EXPECT_EQ(x.result.error().message, "no post step 'db-ready' on host 'db-1'");
  ASSERT_EQ(x.terms.size(), 2u);
  EXPECT_EQ(x.terms[0].to_string(),
            "stages.db.hosts.all(h, h.post['db-ready'].passed) → error: 1:30: no post step "
            "'db-ready' on host 'db-1'");
  EXPECT_EQ(x.terms[1].to_string(),
            "stages.app.failed / 0 == 0 → error: 1:72: division by zero "
            "(error: division by zero)");
}

TEST(CelExplain, ExplanationIsBounded) {
  // Every term is explained, yet the whole costs at most twice the budget.
  std::string source = "[1, 2, 3].all(a, [1, 2, 3].all(b, a > 0))";
  for (int i = 0; i < 50; ++i) source += " && [1, 2, 3].all(a, [1, 2, 3].all(b, a > 0))";
  auto e = pf::cel::parse(source);
  ASSERT_TRUE(e) << e.error().message;
  const auto x = pf::cel::evaluate_explained(*e, {}, {.step_budget = 500});
  ASSERT_EQ(x.terms.size(), 51u);
  EXPECT_FALSE(x.result);
  EXPECT_TRUE(x.terms.front().value.has_value());
  EXPECT_FALSE(x.terms.back().value.has_value());
  EXPECT_NE(x.terms.back().error.find("evaluation needs more than"), std::string::npos);
}

}  // namespace
