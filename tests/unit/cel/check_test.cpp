// SPDX-License-Identifier: Apache-2.0
// The checker against the stages environment: the DESIGN.md §7 conditions type-check; unknown
// stages, fields and variables, type mismatches and wrong arity are errors with a position.
#include <gtest/gtest.h>

#include <string>

#include "patchflow/cel/expr.hpp"
#include "patchflow/cel/stages.hpp"

namespace {

using pf::cel::Type;

const pf::cel::Env& env() {
  static const pf::cel::Env e = pf::cel::stages_env({"db", "app", "executives"});
  return e;
}

std::string type_of(const std::string& source) {
  auto e = pf::cel::parse(source);
  if (!e) return "PARSE " + e.error().message;
  auto t = pf::cel::check(*e, env());
  if (!t) return "ERROR " + t.error().where + ": " + t.error().message;
  return t->to_string();
}

TEST(CelCheck, DesignExamplesAreBoolConditions) {
  for (const char* source :
       {"stages.db.hosts.all(h, h.post['db-healthy'].passed)",
        "stages.app.success_ratio >= 0.95 && stages.app.health_regressions == 0"}) {
    auto e = pf::cel::parse(source);
    ASSERT_TRUE(e) << source;
    EXPECT_TRUE(pf::cel::check_condition(*e, env())) << source;
    EXPECT_EQ(type_of(source), "bool");
  }
}

TEST(CelCheck, TypesOfExpressions) {
  const std::pair<const char*, const char*> cases[] = {
      {"stages.db", "Stage"},
      {"stages['db'].total", "int"},
      {"stages.db.hosts", "list(Host)"},
      {"stages.db.hosts[0].post", "map(string, PostResult)"},
      {"stages.db.hosts[0].post['x'].exit_code", "int"},
      {"stages.db.hosts[0].post.x.passed", "bool"},
      {"stages.db.success_ratio * 2.0", "double"},
      {"stages.db.failed * 100 / stages.db.total", "int"},
      {"double(stages.db.failed) / double(stages.db.total)", "double"},
      {"int(stages.db.failure_ratio * 100.0)", "int"},
      {"stages.db.failed > 0.5", "bool"},
      {"stages.db.total == 3.0", "bool"},
      {"size(stages.db.hosts)", "int"},
      {"stages.db.hosts.size()", "int"},
      {"stages.db.hosts.filter(h, h.outcome == 'failed')", "list(Host)"},
      {"stages.db.hosts.filter(h, h.outcome == 'failed').size() == 0", "bool"},
      {"stages.db.hosts.exists(h, h.post.exists(p, !h.post[p].passed))", "bool"},
      {"stages.db.hosts[0].outcome in ['succeeded', 'skipped']", "bool"},
      {"'db-healthy' in stages.db.hosts[0].post", "bool"},
      {"stages.db.hosts[0].name + '-x'", "string"},
      {"[]", "list(dyn)"},
      {"1 in []", "bool"},
      {"stages.db.hosts + stages.app.hosts", "list(Host)"},
      {"-stages.db.total", "int"},
      {"!(stages.db.failed > 0)", "bool"},
  };
  for (const auto& [source, type] : cases) EXPECT_EQ(type_of(source), type) << source;
}

TEST(CelCheck, UnknownNamesListTheKnownOnes) {
  EXPECT_EQ(type_of("stages.web.total"),
            "ERROR 1:8: unknown stage 'web' of Stages (known stages: app, db, executives)");
  EXPECT_EQ(type_of("stages['web'].total"),
            "ERROR 1:8: unknown stage 'web' of Stages (known stages: app, db, executives)");
  EXPECT_EQ(type_of("stages.db.succes_ratio > 0.9"),
            "ERROR 1:11: unknown field 'succes_ratio' of Stage (known fields: failed, "
            "failure_ratio, health_regressions, hosts, rolled_back, skipped, succeeded, "
            "success_ratio, total)");
  EXPECT_EQ(type_of("stages.db.hosts.all(h, h.status == 'ok')"),
            "ERROR 1:26: unknown field 'status' of Host (known fields: health_regressions, name, "
            "outcome, post)");
  EXPECT_EQ(type_of("stages.db.hosts.all(h, h.post['x'].ok)"),
            "ERROR 1:36: unknown field 'ok' of PostResult (known fields: exit_code, passed)");
  EXPECT_EQ(type_of("stage.db.total > 1"), "ERROR 1:1: unknown variable 'stage' (known: stages)");
  EXPECT_EQ(type_of("stages.db.hosts.all(h, x)"),
            "ERROR 1:24: unknown variable 'x' (known: h, stages)");
  // The macro variable is gone after its macro.
  EXPECT_EQ(type_of("stages.db.hosts.all(h, true) && h.name == 'a'"),
            "ERROR 1:33: unknown variable 'h' (known: stages)");
}

TEST(CelCheck, TypeMismatches) {
  const std::pair<const char*, const char*> cases[] = {
      {"stages.db.total > 'x'", "ERROR 1:17: cannot compare int and string with '>'"},
      {"stages.db.total == 'x'", "ERROR 1:17: cannot compare int and string with '=='"},
      {"stages.db.success_ratio + 1",
       "ERROR 1:25: no operator '+' for double and int (arithmetic does not mix int and double: "
       "convert with double() or int())"},
      {"stages.db.total % 2.0",
       "ERROR 1:17: no operator '%' for int and double (arithmetic does not mix int and "
       "double: convert with double() or int())"},
      {"stages.db.total && true", "ERROR 1:11: operand of '&&' must be bool, found int"},
      {"true || stages.db.hosts", "ERROR 1:19: operand of '||' must be bool, found list(Host)"},
      {"!stages.db.total", "ERROR 1:1: operator '!' needs a bool, found int"},
      {"-stages.db.hosts[0].name", "ERROR 1:1: operator '-' needs an int or a double, found string"},
      {"stages.db.hosts['a']", "ERROR 1:16: a list index must be an int, found string"},
      {"stages.db.hosts[0].post[1]",
       "ERROR 1:24: a key of map(string, PostResult) must be string, found int"},
      {"stages.db.total.x", "ERROR 1:17: cannot select field 'x' of a value of type int"},
      {"stages.db.total[0]", "ERROR 1:16: cannot index a value of type int"},
      {"stages.db.hosts.all(h, h.name)",
       "ERROR 1:26: the condition of all() must be bool, found string"},
      {"stages.db.total.all(x, true)", "ERROR 1:17: all() applies to a list or a map, found int"},
      {"1 in stages.db.hosts", "ERROR 1:3: 'in' looks for int in list(Host)"},
      {"1 in 2", "ERROR 1:3: 'in' needs a list or a map on its right, found int"},
      {"[1, 'a']", "ERROR 1:5: list elements must have one type: found int and string"},
      {"stages[stages.db.hosts[0].name]",
       "ERROR 1:7: a value of type Stages can be indexed only with a string literal"},
  };
  for (const auto& [source, want] : cases) EXPECT_EQ(type_of(source), want) << source;
}

TEST(CelCheck, ArityAndUnknownFunctions) {
  const std::pair<const char*, const char*> cases[] = {
      {"size()", "ERROR 1:1: size() takes 1 argument, found 0"},
      {"size(stages.db.hosts, 1)", "ERROR 1:1: size() takes 1 argument, found 2"},
      {"stages.db.hosts.size(1)", "ERROR 1:17: x.size() takes 0 arguments, found 1"},
      {"size(stages.db.total)", "ERROR 1:1: size() needs a list, a map or a string, found int"},
      {"int(1, 2)", "ERROR 1:1: int() takes 1 argument, found 2"},
      {"double('1.5')", "ERROR 1:1: double() needs an int or a double, found string"},
      {"max(1, 2)", "ERROR 1:1: unknown function 'max' (known functions: double, int, size)"},
      {"stages.db.hosts.first()",
       "ERROR 1:17: unknown method 'first' (known methods: all, exists, filter, size)"},
  };
  for (const auto& [source, want] : cases) EXPECT_EQ(type_of(source), want) << source;
}

TEST(CelCheck, ConditionMustBeBool) {
  auto e = pf::cel::parse("stages.db.total");
  ASSERT_TRUE(e);
  auto r = pf::cel::check_condition(*e, env());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "a condition must be bool, found int");
}

TEST(CelCheck, ReferencedStages) {
  auto e = pf::cel::parse(
      "stages.db.hosts.all(h, h.post['x'].passed) && stages['app'].failed == 0 && "
      "[1].all(stages, stages.nope == 1) && stages.db.total > 0");
  ASSERT_TRUE(e);
  EXPECT_EQ(pf::cel::referenced_stages(*e), (std::vector<std::string>{"app", "db"}));
}

}  // namespace
