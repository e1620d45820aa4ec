// SPDX-License-Identifier: Apache-2.0
#include "patchflow/auth/token.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace auth = pf::auth;

namespace {

constexpr auth::TokenKind kKinds[] = {auth::TokenKind::api, auth::TokenKind::enrollment,
                                      auth::TokenKind::session};

std::string make(auth::TokenKind kind) {
  auto t = auth::generate_token(kind);
  EXPECT_TRUE(t) << pf::to_string(t.error());
  return t ? *t : std::string();
}

bool base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_';
}

}  // namespace

TEST(Token, GeneratedTokensHaveTheirPrefixAndParse) {
  for (auto kind : kKinds) {
    const std::string t = make(kind);
    EXPECT_EQ(t.size(), 47u);
    EXPECT_TRUE(t.starts_with(auth::token_prefix(kind))) << t;
    for (std::size_t i = 4; i < t.size(); ++i) EXPECT_TRUE(base64url(t[i])) << t;
    EXPECT_EQ(t.find('='), std::string::npos);
    auto parsed = auth::parse_token(t);
    ASSERT_TRUE(parsed) << pf::to_string(parsed.error());
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(auth::token_prefix(auth::TokenKind::api), "pfa_");
  EXPECT_EQ(auth::token_prefix(auth::TokenKind::enrollment), "pfe_");
  EXPECT_EQ(auth::token_prefix(auth::TokenKind::session), "pfs_");
  EXPECT_EQ(auth::to_string(auth::TokenKind::enrollment), "enrollment");
}

TEST(Token, AreUnique) {
  std::set<std::string> seen;
  std::set<std::string> ids;
  for (int i = 0; i < 2000; ++i) {
    const std::string t = make(auth::TokenKind::api);
    EXPECT_TRUE(seen.insert(t.substr(4)).second) << t;
    ids.insert(*auth::token_id(t));
  }
  // 48 bits of id: 2000 ids collide with probability ~1e-8.
  EXPECT_EQ(ids.size(), 2000u);
  // Every base64url character appears somewhere in 2000 * 42 random characters.
  std::set<char> chars;
  for (const auto& s : seen) chars.insert(s.begin(), s.end());
  EXPECT_EQ(chars.size(), 64u);
}

TEST(Token, HashIsStableAndDistinct) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(auth::token_hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(auth::token_hash(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string a = make(auth::TokenKind::api);
  const std::string b = make(auth::TokenKind::api);
  EXPECT_EQ(auth::token_hash(a), auth::token_hash(a));
  EXPECT_NE(auth::token_hash(a), auth::token_hash(b));
  EXPECT_EQ(auth::token_hash(a).size(), 7u + 64u);
  // The same secret under another prefix is another token.
  EXPECT_NE(auth::token_hash(a), auth::token_hash("pfe_" + a.substr(4)));
  EXPECT_EQ(auth::token_hash(a).find(a.substr(4)), std::string::npos);
}

TEST(Token, IdIsPrefixAndEightCharacters) {
  const std::string t = make(auth::TokenKind::enrollment);
  auto id = auth::token_id(t);
  ASSERT_TRUE(id) << pf::to_string(id.error());
  EXPECT_EQ(*id, t.substr(0, 12));
  EXPECT_TRUE(id->starts_with("pfe_"));
  auto bad = auth::token_id("pfe_short");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "token");
}

TEST(Token, ParseRefusesMalformedTokensWithoutQuotingThem) {
  const std::string good = make(auth::TokenKind::api);
  const std::string secret = good.substr(4);
  // A canonical last character: 'A' (low bits 00); 'B' has low bits 01.
  const std::string body = secret.substr(0, 42);

  struct Case {
    std::string text;
    std::string says;
  };
  const Case cases[] = {
      {"", "47 characters, not 0"},
      {good.substr(0, 46), "not 46"},
      {good + "A", "not 48"},
      {std::string(1 << 20, 'a'), "not 1048576"},
      {"pfx_" + secret, "unknown token prefix"},
      {"PFA_" + secret, "unknown token prefix"},
      {"pfa-" + secret, "unknown token prefix"},
      {"pfa_" + body.substr(0, 10) + "+" + body.substr(11) + "A", "character 15 is not base64url"},
      {"pfa_" + body.substr(0, 41) + "=" + "A", "character 46 is not base64url"},
      {"pfa_" + body + "=", "character 47 is not base64url"},
      {"pfa_" + body.substr(0, 20) + " " + body.substr(21) + "A", "character 25"},
      {"pfa_" + body.substr(0, 20) + std::string(1, '\0') + body.substr(21) + "A", "character 25"},
      {"pfa_" + body + "B", "cannot end a 32-byte token"},
      {"pfa_" + body + "_", "cannot end a 32-byte token"},
  };
  for (const Case& c : cases) {
    auto r = auth::parse_token(c.text);
    ASSERT_FALSE(r) << c.says;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(r.error().where, "token");
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find(body.substr(0, 8)), std::string::npos) << r.error().message;
  }
  for (char last : {'A', 'E', 'I', 'g', 'w', '0', '4', '8'}) {
    EXPECT_TRUE(auth::parse_token("pfs_" + body + last)) << last;
  }
}

TEST(Token, ConstantTimeEqual) {
  EXPECT_TRUE(auth::constant_time_equal("", ""));
  EXPECT_TRUE(auth::constant_time_equal("sha256:abc", "sha256:abc"));
  EXPECT_FALSE(auth::constant_time_equal("sha256:abc", "sha256:abd"));
  EXPECT_FALSE(auth::constant_time_equal("sha256:abc", "sha256:ab"));
  EXPECT_FALSE(auth::constant_time_equal("", "a"));
  EXPECT_FALSE(auth::constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  const std::string t = make(auth::TokenKind::api);
  EXPECT_TRUE(auth::constant_time_equal(auth::token_hash(t), auth::token_hash(std::string(t))));
}
