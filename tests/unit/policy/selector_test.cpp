// SPDX-License-Identifier: Apache-2.0
// Label selectors: the six term forms, matching (with Kubernetes semantics for != and notin on
// hosts without the label), canonical text and errors with a column.
#include <gtest/gtest.h>

#include "patchflow/policy/selector.hpp"

namespace {

using pf::policy::matches;
using pf::policy::parse_selector;
using Labels = std::map<std::string, std::string>;

bool sel(const std::string& text, const Labels& labels) {
  auto s = parse_selector(text);
  EXPECT_TRUE(s) << text << ": " << (s ? "" : s.error().message);
  return s && matches(*s, labels);
}

TEST(PolicySelector, Terms) {
  const Labels web{{"tier", "web"}, {"env", "prod"}};
  const Labels db{{"tier", "db"}};
  EXPECT_TRUE(sel("tier=web,env=prod", web));
  EXPECT_FALSE(sel("tier=web,env=prod", db));
  EXPECT_TRUE(sel("tier==web", web));
  EXPECT_TRUE(sel("tier!=web", db));
  EXPECT_FALSE(sel("tier!=web", web));
  EXPECT_TRUE(sel("env!=prod", db)) << "a host without the label matches !=";
  EXPECT_TRUE(sel("tier in (db, app)", db));
  EXPECT_FALSE(sel("tier in (db,app)", web));
  EXPECT_TRUE(sel("tier notin (db,app)", web));
  EXPECT_TRUE(sel("role notin (x)", web)) << "a host without the label matches notin";
  EXPECT_TRUE(sel("env", web));
  EXPECT_FALSE(sel("env", db));
  EXPECT_TRUE(sel("!env", db));
  EXPECT_FALSE(sel("!env", web));
  EXPECT_TRUE(sel("", db)) << "the empty selector matches everything";
  EXPECT_TRUE(sel("  tier = db ,  !env ", db));
}

TEST(PolicySelector, CanonicalText) {
  auto s = parse_selector(" tier in (web, app,web) , !legacy,env=prod,x!=y, has ");
  ASSERT_TRUE(s);
  EXPECT_EQ(pf::policy::to_string(*s), "tier in (app,web),!legacy,env=prod,x!=y,has");
  auto again = parse_selector(pf::policy::to_string(*s));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *s);
}

TEST(PolicySelector, ErrorsNameTheColumn) {
  const std::pair<const char*, const char*> cases[] = {
      {"tier=", "column 6"},          // value missing
      {"tier=web,", "column 10"},     // key missing after the comma
      {"Tier=web", "column 1"},       // upper-case key
      {"tier in web", "column 9"},    // '(' expected
      {"tier in (a,b", "column 13"},  // ')' expected
      {"tier=web env=x", "column 10"},
      {"tier=w b", "column 8"},
      {"tier>3", "column 5"},
      {"!", "column 2"},
  };
  for (const auto& [text, where] : cases) {
    auto s = parse_selector(text);
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(s.error().where, where) << text << ": " << s.error().message;
    EXPECT_FALSE(s.error().message.empty());
  }
  EXPECT_NE(parse_selector("tier=").error().message.find("expected a label value"), std::string::npos);
  // A trailing comma in a view that is not NUL-terminated (found by policy_fuzz).
  const std::string buffer = "tier=web,x";
  auto trailing = parse_selector(std::string_view(buffer).substr(0, 9));
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().where, "column 10");
  EXPECT_EQ(trailing.error().message, "expected a label key, found the end");
  EXPECT_FALSE(parse_selector(std::string(2000, 'a')));
  EXPECT_FALSE(parse_selector("k=" + std::string(64, 'v')));
}

}  // namespace
