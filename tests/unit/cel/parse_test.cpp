// SPDX-License-Identifier: Apache-2.0
// The parser: precedence and associativity (through the fully parenthesized debug form), every
// operator, literals, macros, and errors carrying line:column and what was expected.
#include <gtest/gtest.h>

#include <string>

#include "patchflow/cel/expr.hpp"

namespace {

using pf::cel::parse;

std::string tree(const std::string& source) {
  auto e = parse(source);
  if (!e) return "ERROR " + e.error().where + ": " + e.error().message;
  return e->debug_string();
}

struct Case {
  const char* source;
  const char* tree;
};

TEST(CelParse, PrecedenceAndAssociativity) {
  const Case cases[] = {
      {"1 + 2 * 3", "(1 + (2 * 3))"},
      {"(1 + 2) * 3", "((1 + 2) * 3)"},
      {"1 - 2 - 3", "((1 - 2) - 3)"},
      {"8 / 4 / 2", "((8 / 4) / 2)"},
      {"7 % 4 * 2", "((7 % 4) * 2)"},
      {"a || b && c", "(a || (b && c))"},
      {"a && b || c && d", "((a && b) || (c && d))"},
      {"a && b && c && d", "(a && b && c && d)"},
      {"a || b || c", "(a || b || c)"},
      {"(a && b) && c", "((a && b) && c)"},
      {"!a && b", "((!a) && b)"},
      {"!!a", "(!(!a))"},
      {"-x * 2", "((-x) * 2)"},
      {"a + 1 < b * 2 == true", "(((a + 1) < (b * 2)) == true)"},
      {"1 < 2 && 3 >= 4", "((1 < 2) && (3 >= 4))"},
      {"x in [1, 2] || y", "((x in [1, 2]) || y)"},
      {"a.b.c", "a.b.c"},
      {"-a.b", "(-a.b)"},
      {"-1.x", "(-1.x)"},        // a member binds tighter than the sign of a literal
      {"-(1)", "(-(1))"},        // printed so that it reads back as a unary minus
      {"!a.b[0].c", "(!a.b[0].c)"},
      {"h.post['db-healthy'].passed", "h.post['db-healthy'].passed"},
      {"stages.db.success_ratio >= 0.95", "(stages.db.success_ratio >= 0.95)"},
  };
  for (const auto& c : cases) EXPECT_EQ(tree(c.source), c.tree) << c.source;
}

TEST(CelParse, AllOperators) {
  const Case cases[] = {
      {"a < b", "(a < b)"},   {"a <= b", "(a <= b)"}, {"a > b", "(a > b)"},
      {"a >= b", "(a >= b)"}, {"a == b", "(a == b)"}, {"a != b", "(a != b)"},
      {"a in b", "(a in b)"}, {"a + b", "(a + b)"},   {"a - b", "(a - b)"},
      {"a * b", "(a * b)"},   {"a / b", "(a / b)"},   {"a % b", "(a % b)"},
      {"a && b", "(a && b)"}, {"a || b", "(a || b)"}, {"!a", "(!a)"},
      {"-a", "(-a)"},
  };
  for (const auto& c : cases) EXPECT_EQ(tree(c.source), c.tree) << c.source;
}

TEST(CelParse, Literals) {
  const Case cases[] = {
      {"42", "42"},
      {"0x1F", "31"},
      {"-7", "-7"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"9223372036854775807", "9223372036854775807"},
      {"0.95", "0.95"},
      {"1e3", "1000.0"},
      {"2.5E-1", "0.25"},
      {"true", "true"},
      {"false", "false"},
      {"null", "null"},
      {"'single'", "'single'"},
      {"\"double\"", "'double'"},
      {R"('it\'s')", R"('it\'s')"},
      {R"("a\tb\x41\u00e9")", "'a\\tbAé'"},
      {"[]", "[]"},
      {"[1, 2, 3,]", "[1, 2, 3]"},
      {"1 // a comment\n + 2", "(1 + 2)"},
  };
  for (const auto& c : cases) EXPECT_EQ(tree(c.source), c.tree) << c.source;
}

TEST(CelParse, MacrosAndCalls) {
  const Case cases[] = {
      {"stages.db.hosts.all(h, h.post['db-healthy'].passed)",
       "stages.db.hosts.all(h, h.post['db-healthy'].passed)"},
      {"l.exists(x, x > 1)", "l.exists(x, (x > 1))"},
      {"l.filter(x, x % 2 == 0)", "l.filter(x, ((x % 2) == 0))"},
      {"size(l.filter(x, x > 1)) == 2", "(size(l.filter(x, (x > 1))) == 2)"},
      {"l.size()", "l.size()"},
      {"double(a) / 2.0", "(double(a) / 2.0)"},
      {"l.all(x, l.exists(y, y == x))", "l.all(x, l.exists(y, (y == x)))"},
  };
  for (const auto& c : cases) EXPECT_EQ(tree(c.source), c.tree) << c.source;
}

TEST(CelParse, ErrorsNameLineColumnAndWhatWasExpected) {
  const Case cases[] = {
      {"", "ERROR 1:1: expected an expression, found end of input"},
      {"a &&", "ERROR 1:5: expected a value, a name or '(', found end of input"},
      {"(a || b", "ERROR 1:8: expected ')' to close '(' at 1:1, found end of input"},
      {"a b", "ERROR 1:3: expected an operator or the end of the expression, found 'b'"},
      {"a = 1", "ERROR 1:3: expected '==' (comparison), found '='"},
      {"a & b", "ERROR 1:3: expected '&&', found a single '&'"},
      {"a.", "ERROR 1:3: expected a field name after '.', found end of input"},
      {"x[1", "ERROR 1:4: expected ']' to close '[' at 1:2, found end of input"},
      {"f(1 2)", "ERROR 1:5: expected ',' or ')' to close '(' at 1:2, found number 2"},
      {"'abc", "ERROR 1:1: unterminated string: expected a closing ' before the end"},
      {"\"a\nb\"", "ERROR 1:1: unterminated string: expected a closing \" before the end of the line"},
      {R"('\q')", "ERROR 1:3: unknown escape '\\q'"},
      {"1u", "ERROR 1:2: unsigned integers are not supported (drop the 'u')"},
      {"12ab", "ERROR 1:3: expected a digit or an operator after a number, found 'a'"},
      {"9223372036854775808", "ERROR 1:1: integer literal out of range"},
      {"99999999999999999999", "ERROR 1:1: integer literal out of range: 99999999999999999999"},
      {"1e999", "ERROR 1:1: double literal out of range: 1e999"},
      {"a ? b : c", "ERROR 1:3: the conditional operator '? :' is not supported"},
      {"{'a': 1}", "ERROR 1:1: map literals are not supported"},
      {"l.all(x)", "ERROR 1:3: all() takes 2 arguments (a variable and a condition), found 1"},
      {"l.exists(1, true)", "ERROR 1:9: the first argument of exists() must be a variable name"},
      {"for > 1", "ERROR 1:1: expected a value or a name, found the reserved word 'for'"},
      {"a @ b", "ERROR 1:3: unexpected character '@'"},
      {"a\n  && é", "ERROR 2:6: unexpected character 'é'"},
      {"stages.db.total >\n  'x' +", "ERROR 2:8: expected a value, a name or '(', found end of input"},
  };
  for (const auto& c : cases) EXPECT_EQ(tree(c.source), c.tree) << c.source;
}

TEST(CelParse, InvalidUtf8IsRejectedWithItsPosition) {
  auto e = parse("ab == '\xff'");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(e.error().where, "1:8");
  EXPECT_EQ(e.error().message, "invalid UTF-8");
}

TEST(CelParse, SourceSizeIsBounded) {
  std::string ok(pf::cel::kMaxSourceBytes - 1, ' ');
  ok += "1";
  EXPECT_TRUE(parse(ok));
  auto e = parse(ok + " ");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "expression is 4097 bytes, more than 4096");
}

TEST(CelParse, DepthIsBounded) {
  const auto nested = [](std::size_t n) { return std::string(n, '(') + "1" + std::string(n, ')'); };
  EXPECT_TRUE(parse(nested(31)));
  auto e = parse(nested(40));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "expression nested more than 32 levels");

  EXPECT_TRUE(parse(std::string(31, '!') + "true"));
  EXPECT_FALSE(parse(std::string(2000, '!') + "true"));

  // A long left-associative chain is as deep as it is long.
  std::string sum = "1";
  for (int i = 0; i < 31; ++i) sum += " + 1";
  EXPECT_TRUE(parse(sum));
  sum += " + 1";
  auto deep = parse(sum);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().message, "expression nested more than 32 levels");

  // && and || are n-ary: a long conjunction stays shallow.
  std::string conj = "a";
  for (int i = 0; i < 200; ++i) conj += " && a";
  EXPECT_TRUE(parse(conj));
}

}  // namespace
