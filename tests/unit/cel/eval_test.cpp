// SPDX-License-Identifier: Apache-2.0
// Evaluation on hand-built stage outcomes: the DESIGN.md §7 conditions true and false,
// all()/exists() on empty lists, int against double, division by zero, a missing post step,
// CEL's && / || with errors, overflow and the step budget.
#include <gtest/gtest.h>

#include <string>

#include "patchflow/cel/expr.hpp"
#include "patchflow/cel/stages.hpp"

namespace {

using pf::cel::Activation;
using pf::cel::HostOutcome;
using pf::cel::StageOutcome;
using pf::cel::Value;

HostOutcome host(std::string name, std::string outcome, bool healthy, std::int64_t regressions = 0) {
  HostOutcome h;
  h.name = std::move(name);
  h.outcome = std::move(outcome);
  h.post["db-healthy"] = {healthy, healthy ? 0 : 2};
  h.health_regressions = regressions;
  return h;
}

// db: three hosts, healthy or not; app: 100 hosts, `app_ok` of them succeeded.
Activation fleet(bool db2_healthy, int app_ok, std::int64_t app_regressions = 0) {
  StageOutcome db{{host("db-1", "succeeded", true), host("db-2", "succeeded", db2_healthy),
                   host("db-3", "succeeded", true)}};
  StageOutcome app;
  for (int i = 0; i < 100; ++i) {
    HostOutcome h;
    h.name = "app-" + std::to_string(i);
    h.outcome = i < app_ok ? "succeeded" : "failed";
    app.hosts.push_back(h);
  }
  if (app_regressions > 0) app.hosts[0].health_regressions = app_regressions;
  StageOutcome empty;
  return pf::cel::stages_activation({{"db", db}, {"app", app}, {"empty", empty}});
}

pf::Result<Value> run(const std::string& source, const Activation& act) {
  auto e = pf::cel::parse(source);
  EXPECT_TRUE(e) << source << ": " << (e ? "" : e.error().message);
  if (!e) return tl::unexpected(e.error());
  return pf::cel::evaluate(*e, act);
}

std::string show(const pf::Result<Value>& r) {
  return r ? r->to_string() : "ERROR " + r.error().where + ": " + r.error().message;
}

constexpr const char* kDbGate = "stages.db.hosts.all(h, h.post['db-healthy'].passed)";
constexpr const char* kExecGate =
    "stages.app.success_ratio >= 0.95 && stages.app.health_regressions == 0";

TEST(CelEval, DesignExamples) {
  EXPECT_EQ(show(run(kDbGate, fleet(true, 100))), "true");
  EXPECT_EQ(show(run(kDbGate, fleet(false, 100))), "false");
  EXPECT_EQ(show(run(kExecGate, fleet(true, 95))), "true");
  EXPECT_EQ(show(run(kExecGate, fleet(true, 94))), "false");
  EXPECT_EQ(show(run(kExecGate, fleet(true, 100, 1))), "false");
}

TEST(CelEval, StageValues) {
  const auto act = fleet(true, 91);
  EXPECT_EQ(show(run("stages.app.total", act)), "100");
  EXPECT_EQ(show(run("stages.app.succeeded", act)), "91");
  EXPECT_EQ(show(run("stages.app.failed", act)), "9");
  EXPECT_EQ(show(run("stages.app.success_ratio", act)), "0.91");
  EXPECT_EQ(show(run("stages.app.failure_ratio", act)), "0.09");
  EXPECT_EQ(show(run("stages.db.hosts[1].post['db-healthy'].exit_code", fleet(false, 1))), "2");
  EXPECT_EQ(show(run("stages.empty.success_ratio", act)), "1.0");
  EXPECT_EQ(show(run("stages.empty.failure_ratio", act)), "0.0");
  EXPECT_EQ(show(run("stages.app.hosts.filter(h, h.outcome == 'failed').size()", act)), "9");
  EXPECT_EQ(show(run("stages.app.hosts.filter(h, h.outcome == 'failed')[0].name", act)),
            "'app-91'");
}

TEST(CelEval, MacrosOnEmptyLists) {
  const auto act = fleet(true, 100);
  EXPECT_EQ(show(run("stages.empty.hosts.all(h, false)", act)), "true");
  EXPECT_EQ(show(run("stages.empty.hosts.exists(h, true)", act)), "false");
  EXPECT_EQ(show(run("stages.empty.hosts.filter(h, true)", act)), "[]");
  EXPECT_EQ(show(run("[].all(x, x > 1)", act)), "true");
  EXPECT_EQ(show(run("stages.db.hosts.exists(h, h.name == 'db-3')", act)), "true");
  EXPECT_EQ(show(run("stages.db.hosts.exists(h, h.name == 'db-4')", act)), "false");
  // On a map, the variable is each key.
  EXPECT_EQ(show(run("stages.db.hosts[0].post.all(k, k == 'db-healthy')", act)), "true");
}

TEST(CelEval, IntAndDouble) {
  const Activation none;
  const std::pair<const char*, const char*> cases[] = {
      {"1 == 1.0", "true"},
      {"1 < 1.5", "true"},
      {"2 > 1.5", "true"},
      {"1.0 >= 1", "true"},
      {"-1 < -0.5", "true"},
      {"9223372036854775807 < 9223372036854775808.0", "true"},
      {"9223372036854775807 == 9223372036854775807.0", "false"},
      {"[1, 2] == [1.0, 2.0]", "true"},
      {"2 in [1.0, 2.0]", "true"},
      {"7 / 2", "3"},
      {"-7 / 2", "-3"},
      {"-7 % 2", "-1"},
      {"7.0 / 2.0", "3.5"},
      {"double(7) / 2.0", "3.5"},
      {"int(3.9)", "3"},
      {"int(-3.9)", "-3"},
      {"1 == 'a'", "false"},
      {"'abc' < 'abd'", "true"},
      {"size('héllo')", "5"},
      {"'a' + 'b'", "'ab'"},
      {"[1] + [2]", "[1, 2]"},
      {"'x' in ['a', 'x']", "true"},
      {"null == null", "true"},
  };
  for (const auto& [source, want] : cases) EXPECT_EQ(show(run(source, none)), want) << source;
}

TEST(CelEval, ErrorValues) {
  const Activation none;
  const std::pair<const char*, const char*> cases[] = {
      {"1 / 0", "ERROR 1:3: division by zero"},
      {"1 % 0", "ERROR 1:3: modulus by zero"},
      {"1.0 / 0.0", "ERROR 1:5: division by zero"},
      {"9223372036854775807 + 1", "ERROR 1:21: integer overflow in '+'"},
      {"-9223372036854775808 / -1", "ERROR 1:22: integer overflow in '/'"},
      {"-9223372036854775808 % -1", "0"},
      {"-(-9223372036854775808)", "ERROR 1:1: integer overflow in '-'"},
      {"9223372036854775807 * 2", "ERROR 1:21: integer overflow in '*'"},
      {"[1, 2][2]", "ERROR 1:7: index 2 out of range (size 2)"},
      {"int(1e300)", "ERROR 1:1: int() of 1e+300 is out of range"},
      {"nothing", "ERROR 1:1: no value for variable 'nothing'"},
      // Unchecked expressions still fail cleanly at run time.
      {"1 + 'a'", "ERROR 1:3: no operator '+' for int and string"},
      {"1 < 'a'", "ERROR 1:3: cannot compare int with string using '<'"},
      {"!1", "ERROR 1:1: operator '!' needs a bool, found int"},
  };
  for (const auto& [source, want] : cases) EXPECT_EQ(show(run(source, none)), want) << source;
}

TEST(CelEval, MissingPostStepNamesTheHost) {
  const auto act = fleet(true, 100);
  EXPECT_EQ(show(run("stages.db.hosts.all(h, h.post['db-ready'].passed)", act)),
            "ERROR 1:30: no post step 'db-ready' on host 'db-1'");
  EXPECT_EQ(show(run("stages.db.hosts[2].post.nope.passed", act)),
            "ERROR 1:25: no post step 'nope' on host 'db-3'");
  EXPECT_EQ(show(run("'db-ready' in stages.db.hosts[0].post", act)), "false");
  EXPECT_EQ(show(run("stages.web.total", act)), "ERROR 1:8: no key 'web' in stages");
}

TEST(CelEval, AndOrAbsorbErrorsTheCelWay) {
  const Activation none;
  const std::pair<const char*, const char*> cases[] = {
      {"false && 1 / 0 == 1", "false"},
      {"1 / 0 == 1 && false", "false"},  // an error before a false is absorbed
      {"true && 1 / 0 == 1", "ERROR 1:11: division by zero"},
      {"1 / 0 == 1 && true", "ERROR 1:3: division by zero"},
      {"true || 1 / 0 == 1", "true"},
      {"1 / 0 == 1 || true", "true"},
      {"false || 1 / 0 == 1", "ERROR 1:12: division by zero"},
      {"1 / 0 == 1 || 2 / 0 == 1", "ERROR 1:3: division by zero"},
      {"[0, 1].all(x, 1 / x == 1)", "ERROR 1:17: division by zero"},
      {"[0, 2].all(x, 1 / x == 1)", "false"},  // 1 / 2 == 0 decides, the error is absorbed
      {"[0, 1].exists(x, 1 / x == 1)", "true"},
      {"[0].exists(x, 1 / x == 1)", "ERROR 1:17: division by zero"},
      {"[0, 1].filter(x, 1 / x == 1)", "ERROR 1:20: division by zero"},
      {"1 && true", "ERROR 1:1: operand of '&&' is int, not bool"},
      {"[1].exists(x, x)", "ERROR 1:15: the condition of exists() gave int, not bool"},
  };
  for (const auto& [source, want] : cases) EXPECT_EQ(show(run(source, none)), want) << source;
}

TEST(CelEval, StepBudgetBoundsWork) {
  // 500 x 500 x 500 iterations would take long; the budget stops it.
  std::string list = "[";
  for (int i = 0; i < 500; ++i) list += (i ? ",0" : "0");
  list += "]";
  const std::string source = list + ".all(a, " + list + ".all(b, " + list + ".all(c, a == b)))";
  auto e = pf::cel::parse(source);
  ASSERT_TRUE(e) << e.error().message;
  auto r = pf::cel::evaluate(*e, {}, {.step_budget = 100'000});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "evaluation needs more than 100000 steps");

  // Building lists is counted too: each `l + l` costs its 600 elements.
  Value::List big(300, Value(1));
  const Activation act{{"l", Value(big)}};
  auto concat = pf::cel::parse("l.all(a, size(l + l) > 0)");
  ASSERT_TRUE(concat);
  EXPECT_EQ(show(pf::cel::evaluate(*concat, act, {.step_budget = 100'000})),
            "ERROR 1:17: evaluation needs more than 100000 steps");
  EXPECT_EQ(show(pf::cel::evaluate(*concat, act, {.step_budget = 1'000'000})), "true");

  auto small = pf::cel::parse("[1,2,3].all(x, x > 0)");
  ASSERT_TRUE(small);
  EXPECT_EQ(show(pf::cel::evaluate(*small, {}, {.step_budget = 3})),
            "ERROR 1:1: evaluation needs more than 3 steps");
  EXPECT_EQ(show(pf::cel::evaluate(*small, {}, {.step_budget = 100})), "true");
}

TEST(CelEval, DefaultExprIsNull) {
  const pf::cel::Expr e;
  EXPECT_EQ(show(pf::cel::evaluate(e, {})), "null");
}

}  // namespace
