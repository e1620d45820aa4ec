// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <string>

#include "patchflow/auth/duration.hpp"
#include "patchflow/auth/labels.hpp"

namespace auth = pf::auth;
using std::chrono::seconds;

TEST(AuthDuration, ValidDurations) {
  struct Case {
    const char* text;
    long long secs;
  };
  const Case cases[] = {
      {"30s", 30},        {"1s", 1},           {"90m", 5400},
      {"24h", 86400},     {"7d", 604800},      {"3650d", 315360000},
      {"87600h", 315360000}, {"315360000s", 315360000}, {"007d", 604800},
  };
  for (const Case& c : cases) {
    auto r = auth::parse_duration(c.text);
    ASSERT_TRUE(r) << c.text << ": " << pf::to_string(r.error());
    EXPECT_EQ(r->count(), c.secs) << c.text;
    // The formatted form reads back to the same duration.
    auto again = auth::parse_duration(auth::format_duration(*r));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *r);
  }
  EXPECT_EQ(auth::format_duration(seconds(86400)), "1d");
  EXPECT_EQ(auth::format_duration(seconds(5400)), "90m");
  EXPECT_EQ(auth::format_duration(seconds(7200)), "2h");
  EXPECT_EQ(auth::format_duration(seconds(61)), "61s");
}

TEST(AuthDuration, InvalidDurations) {
  struct Case {
    std::string text;
    std::string says;
  };
  const Case cases[] = {
      {"", "empty"},
      {"24", "missing unit"},
      {"h", "expected a whole number"},
      {"-5m", "expected a whole number"},
      {"+5m", "expected a whole number"},
      {" 5m", "expected a whole number"},
      {"5m ", "one number and one unit"},
      {"1h30m", "one number and one unit"},
      {"1.5h", "one number and one unit"},
      {"5 m", "one number and one unit"},
      {"5w", "unknown unit"},
      {"5H", "unknown unit"},
      {"5ms", "one number and one unit"},
      {"0s", "must be positive"},
      {"0d", "must be positive"},
      {"3651d", "longer than 10 years"},
      {"87601h", "longer than 10 years"},
      {"315360001s", "longer than 10 years"},
      {"99999999999999999999999999999d", "longer than 10 years"},
      {std::string(100, '9') + "s", "longer than 32 characters"},
  };
  for (const Case& c : cases) {
    auto r = auth::parse_duration(c.text, "--expires");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(r.error().where, "--expires");
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.text << ": " << r.error().message;
    EXPECT_NE(r.error().message.find("invalid duration \""), std::string::npos);
  }
}

TEST(AuthLabels, ValidLabels) {
  auto r = auth::parse_labels("tier=web,env=prod");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r->begin()->first, "env");  // sorted by key
  EXPECT_EQ(r->at("env"), "prod");
  EXPECT_EQ(r->at("tier"), "web");
  EXPECT_EQ(auth::format_labels(*r), "env=prod,tier=web");

  auto empty = auth::parse_labels("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());

  const std::string key63 = "k" + std::string(62, 'a');
  const std::string value63 = "V" + std::string(62, '9');
  for (const std::string& text :
       {std::string("a=b"), std::string("0=x"), std::string("a.b_c-d=A.b_C-9"),
        std::string("empty="), key63 + "=" + value63, std::string("app.kubernetes.io-name=web")}) {
    auto one = auth::parse_labels(text);
    ASSERT_TRUE(one) << text << ": " << pf::to_string(one.error());
    EXPECT_EQ(auth::format_labels(*one), text);
  }
  std::string many;
  for (int i = 0; i < 64; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  auto max = auth::parse_labels(many);
  ASSERT_TRUE(max) << pf::to_string(max.error());
  EXPECT_EQ(max->size(), 64u);
  EXPECT_TRUE(auth::parse_labels(auth::format_labels(*max)));
}

TEST(AuthLabels, InvalidLabels) {
  struct Case {
    std::string text;
    std::string says;
  };
  const std::string key64 = "k" + std::string(63, 'a');
  std::string too_many;
  for (int i = 0; i < 65; ++i) too_many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  const Case cases[] = {
      {"tier", "label 1 \"tier\": expected key=value"},
      {"tier=web,env", "label 2 \"env\": expected key=value"},
      {"tier=web,,env=prod", "label 2 \"\": empty"},
      {",tier=web", "label 1 \"\": empty"},
      {"tier=web,", "label 2 \"\": empty"},
      {"tier=web,tier=db", "label 2 \"tier=db\": key \"tier\" given twice"},
      {"=web", "label 1: label \"\": empty key"},
      {"Tier=web", "label 1: label \"Tier\": key contains character \"T\""},
      {"_tier=web", "label \"_tier\": a key starts with a lower-case letter or digit"},
      {"-tier=web", "a key starts with"},
      {"tier=web, env=prod", "label 2: label \" env\": key contains a space"},
      {"tier=we b", "label \"tier\": value contains a space"},
      {"tier=web/1", "label \"tier\": value contains character \"/\""},
      {"tier=a=b", "label \"tier\": value contains character \"=\""},
      {"ti\xc3\xa9r=x", "key contains character \"\\xc3\""},
      {key64 + "=x", "key longer than 63 characters"},
      {"tier=" + std::string(64, 'v'), "label \"tier\": value longer than 63 characters"},
      {too_many, "label 65"},
      {std::string(100000, 'a'), "labels longer than"},
  };
  for (const Case& c : cases) {
    auto r = auth::parse_labels(c.text, "--labels");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(r.error().where, "--labels");
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.text.substr(0, 80) << ": " << r.error().message;
  }
  auto one = auth::check_label("env", "prod");
  EXPECT_TRUE(one);
  auto bad = auth::check_label("env", "pr od", "host.labels");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "host.labels");
}
