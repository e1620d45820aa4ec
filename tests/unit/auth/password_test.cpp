// SPDX-License-Identifier: Apache-2.0
#include "patchflow/auth/password.hpp"

#include <argon2.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace auth = pf::auth;

namespace {

// Small costs keep the suite fast; one test below uses the defaults.
constexpr auth::PasswordParams kFast{1, 64, 1};
constexpr std::string_view kPassword = "correct horse battery staple";

std::string fast_hash(std::string_view password = kPassword) {
  auto h = auth::hash_password(password, kFast);
  EXPECT_TRUE(h) << pf::to_string(h.error());
  return h ? *h : std::string();
}

// verify_password must say "no" (false) or refuse (error); never "yes".
void expect_not_accepted(std::string_view phc, std::string_view password = kPassword) {
  auto r = auth::verify_password(password, phc);
  if (r) {
    EXPECT_FALSE(*r) << phc;
  } else {
    EXPECT_FALSE(r.error().message.empty());
  }
}

std::string error_of(std::string_view phc) {
  auto r = auth::parse_phc(phc);
  EXPECT_FALSE(r) << phc;
  if (r) return {};
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(r.error().where, "password hash");
  return r.error().message;
}

}  // namespace

TEST(Password, HashHasThePhcFormat) {
  const std::string h = fast_hash();
  EXPECT_TRUE(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$")) << h;
  auto parsed = auth::parse_phc(h);
  ASSERT_TRUE(parsed) << pf::to_string(parsed.error());
  EXPECT_EQ(parsed->salt.size(), auth::kSaltBytes);
  EXPECT_EQ(parsed->hash.size(), auth::kHashBytes);
  EXPECT_EQ(parsed->params.m_cost_kib, 64u);
  EXPECT_EQ(parsed->params.t_cost, 1u);
  EXPECT_EQ(parsed->params.parallelism, 1u);
  EXPECT_EQ(auth::format_phc(*parsed), h);
  // 16 bytes of salt are 22 base64 characters, 32 bytes of hash 43.
  const std::string_view rest = std::string_view(h).substr(28);
  const auto dollar = rest.find('$');
  ASSERT_NE(dollar, std::string_view::npos);
  EXPECT_EQ(dollar, 22u);
  EXPECT_EQ(rest.size() - dollar - 1, 43u);
}

TEST(Password, RoundTrip) {
  const std::string h = fast_hash();
  auto ok = auth::verify_password(kPassword, h);
  ASSERT_TRUE(ok) << pf::to_string(ok.error());
  EXPECT_TRUE(*ok);
}

TEST(Password, WrongPasswordIsFalse) {
  const std::string h = fast_hash();
  for (std::string_view wrong : {"correct horse battery stapl", "Correct horse battery staple",
                                 "correct horse battery staple ", "", "x"}) {
    auto r = auth::verify_password(wrong, h);
    ASSERT_TRUE(r) << pf::to_string(r.error());
    EXPECT_FALSE(*r) << wrong;
  }
  // Longer than any password hash_password accepts: false without work, not an error.
  auto r = auth::verify_password(std::string(auth::kMaxPasswordBytes + 1, 'a'), h);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

TEST(Password, TwoHashesOfOnePasswordDiffer) {
  const std::string a = fast_hash();
  const std::string b = fast_hash();
  EXPECT_NE(a, b);
  auto pa = auth::parse_phc(a);
  auto pb = auth::parse_phc(b);
  ASSERT_TRUE(pa && pb);
  EXPECT_NE(pa->salt, pb->salt);
  EXPECT_NE(pa->hash, pb->hash);
  EXPECT_TRUE(*auth::verify_password(kPassword, a));
  EXPECT_TRUE(*auth::verify_password(kPassword, b));
}

TEST(Password, TamperedSaltHashOrParamsIsNotAccepted) {
  const std::string h = fast_hash();
  auto parsed = auth::parse_phc(h);
  ASSERT_TRUE(parsed);
  for (std::size_t i = 0; i < parsed->salt.size(); i += 5) {
    auto t = *parsed;
    t.salt[i] ^= 0x01;
    expect_not_accepted(auth::format_phc(t));
  }
  for (std::size_t i = 0; i < parsed->hash.size(); i += 7) {
    auto t = *parsed;
    t.hash[i] ^= 0x80;
    expect_not_accepted(auth::format_phc(t));
  }
  {
    auto t = *parsed;  // a shorter hash is a prefix of nothing we computed
    t.hash.resize(16);
    expect_not_accepted(auth::format_phc(t));
  }
  for (auth::PasswordParams p : {auth::PasswordParams{2, 64, 1}, auth::PasswordParams{1, 72, 1},
                                 auth::PasswordParams{1, 64, 2}}) {
    auto t = *parsed;
    t.params = p;
    const std::string s = auth::format_phc(t);
    auto r = auth::verify_password(kPassword, s);
    ASSERT_TRUE(r) << s << ": " << pf::to_string(r.error());
    EXPECT_FALSE(*r) << s;
  }
  // Textual tampering, which must not reach a "yes" either.
  std::string flipped = h;
  flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
  expect_not_accepted(flipped);
  expect_not_accepted(h + "A");
  expect_not_accepted(h.substr(0, h.size() - 1));
  std::string other_version = h;
  other_version.replace(other_version.find("v=19"), 4, "v=16");
  expect_not_accepted(other_version);
}

TEST(Password, MalformedPhcErrorsSayWhatIsWrong) {
  const std::string salt = "c29tZXNhbHQ";  // "somesalt"
  const std::string hash = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  const std::string good = "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash;
  ASSERT_TRUE(auth::parse_phc(good));

  struct Case {
    std::string phc;
    std::string says;
  };
  const Case cases[] = {
      {"", "empty"},
      {std::string(300, '$'), "longer than 256"},
      {"$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + hash, "only argon2id"},
      {"$argon2d$v=19$m=65536,t=2,p=1$" + salt + "$" + hash, "only argon2id"},
      {"$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD",
       "not an argon2id"},
      {"argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash, "not an argon2id"},
      {"$argon2id$m=65536,t=2,p=1$" + salt + "$" + hash, "version field"},
      {"$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + hash, "only v=19"},
      {"$argon2id$v=19", "missing the parameters"},
      {"$argon2id$v=19$m=65536,t=2,p=1", "missing the salt"},
      {"$argon2id$v=19$m=65536,t=2,p=1$" + salt, "missing the hash"},
      {good + "$extra", "after the hash"},
      {"$argon2id$v=19$t=2,m=65536,p=1$" + salt + "$" + hash, "expected parameter 'm='"},
      {"$argon2id$v=19$m=65536,t=2$" + salt + "$" + hash, "m=,t=,p="},
      {"$argon2id$v=19$m=65536,t=2,p=1,keyid=abc$" + salt + "$" + hash, "after p="},
      {"$argon2id$v=19$m=065536,t=2,p=1$" + salt + "$" + hash, "leading zeros"},
      {"$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + hash, "decimal"},
      {"$argon2id$v=19$m=,t=2,p=1$" + salt + "$" + hash, "decimal"},
      {"$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + hash, "below 2^32"},
      {"$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + hash, "t=0 is outside 1..100"},
      {"$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + hash, "p=0 is outside"},
      {"$argon2id$v=19$m=4,t=2,p=1$" + salt + "$" + hash, "below 8 KiB per lane"},
      {"$argon2id$v=19$m=65536,t=2,p=1$$" + hash, "salt is empty"},
      {"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$", "hash is empty"},
      {"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$" + hash, "salt is not canonical base64"},
      {"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHR$" + hash, "salt is not canonical base64"},
      {"$argon2id$v=19$m=65536,t=2,p=1$c29t-XNhbHQ$" + hash, "salt is not canonical base64"},
      {"$argon2id$v=19$m=65536,t=2,p=1$c29tZQ$" + hash, "salt is 4 bytes; 8 to 64"},
      {"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + std::string(120, 'A'),
       "hash is longer than 64"},
      {"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$CTFhFdXPJO1aFaMa", "hash is 12 bytes"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of(c.phc);
    EXPECT_NE(message.find(c.says), std::string::npos)
        << "input: " << c.phc << "\nmessage: " << message << "\nexpected: " << c.says;
    // Malformed strings are errors from verify_password too, not "false".
    auto v = auth::verify_password(kPassword, c.phc);
    ASSERT_FALSE(v) << c.phc;
    EXPECT_EQ(v.error().message, message);
  }
}

TEST(Password, OversizeParamsAreRefusedBeforeAnyWork) {
  const std::string tail = "$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  // 1 GiB is the limit: one KiB more is refused (and nothing near 4 GiB is allocated).
  ASSERT_TRUE(auth::parse_phc("$argon2id$v=19$m=1048576,t=1,p=1" + tail));
  EXPECT_NE(error_of("$argon2id$v=19$m=1048577,t=1,p=1" + tail).find("exceeds the limit"),
            std::string::npos);
  EXPECT_NE(error_of("$argon2id$v=19$m=4294967295,t=1,p=1" + tail).find("exceeds the limit"),
            std::string::npos);
  ASSERT_TRUE(auth::parse_phc("$argon2id$v=19$m=65536,t=100,p=1" + tail));
  EXPECT_NE(error_of("$argon2id$v=19$m=65536,t=101,p=1" + tail).find("t=101 is outside 1..100"),
            std::string::npos);
  EXPECT_NE(error_of("$argon2id$v=19$m=65536,t=4294967295,p=1" + tail).find("outside"),
            std::string::npos);
  EXPECT_NE(error_of("$argon2id$v=19$m=65536,t=1,p=17" + tail).find("p=17 is outside 1..16"),
            std::string::npos);

  const auto start = std::chrono::steady_clock::now();
  auto r = auth::verify_password(kPassword, "$argon2id$v=19$m=4294967295,t=4294967295,p=1" + tail);
  EXPECT_FALSE(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));

  // New hashes have the same bounds.
  for (auth::PasswordParams p : {auth::PasswordParams{0, 64, 1}, auth::PasswordParams{101, 64, 1},
                                 auth::PasswordParams{1, 1048577, 1},
                                 auth::PasswordParams{1, 64, 0}, auth::PasswordParams{1, 64, 17},
                                 auth::PasswordParams{1, 15, 2}}) {
    auto h = auth::hash_password(kPassword, p);
    ASSERT_FALSE(h) << p.t_cost << " " << p.m_cost_kib << " " << p.parallelism;
    EXPECT_EQ(h.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(h.error().where, "password parameters");
  }
}

TEST(Password, NeedsRehash) {
  const std::string h = fast_hash();
  EXPECT_FALSE(auth::needs_rehash(h, kFast));
  EXPECT_TRUE(auth::needs_rehash(h));  // the defaults are stronger
  EXPECT_TRUE(auth::needs_rehash(h, auth::PasswordParams{2, 64, 1}));
  EXPECT_TRUE(auth::needs_rehash(h, auth::PasswordParams{1, 128, 1}));
  EXPECT_TRUE(auth::needs_rehash(h, auth::PasswordParams{1, 64, 2}));
  EXPECT_TRUE(auth::needs_rehash("not a hash", kFast));
  EXPECT_TRUE(auth::needs_rehash("", kFast));
  // Same parameters but an 8-byte salt (an older or foreign writer): rehash.
  auto parsed = auth::parse_phc(h);
  ASSERT_TRUE(parsed);
  parsed->salt.resize(8);
  EXPECT_TRUE(auth::needs_rehash(auth::format_phc(*parsed), kFast));
}

TEST(Password, ReferenceVectorAndLibargon2Agree) {
  // The Argon2id vector of the reference implementation's test suite (phc-winner-argon2
  // test.c): password "password", salt "somesalt", t=2, m=64 MiB, p=1, 32-byte tag.
  const std::string kat =
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  auto r = auth::verify_password("password", kat);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_TRUE(*r);
  EXPECT_FALSE(*auth::verify_password("passwore", kat));

  // Our strings verify with libargon2's own decoder, and its strings with ours.
  const std::string ours = fast_hash();
  EXPECT_EQ(argon2id_verify(ours.c_str(), kPassword.data(), kPassword.size()), ARGON2_OK);
  EXPECT_NE(argon2id_verify(ours.c_str(), "nope", 4), ARGON2_OK);
  char theirs[256];
  const std::string salt = "0123456789abcdef";
  ASSERT_EQ(argon2id_hash_encoded(2, 256, 2, kPassword.data(), kPassword.size(), salt.data(),
                                  salt.size(), 32, theirs, sizeof theirs),
            ARGON2_OK);
  auto v = auth::verify_password(kPassword, theirs);
  ASSERT_TRUE(v) << theirs << ": " << pf::to_string(v.error());
  EXPECT_TRUE(*v);
  auto parsed = auth::parse_phc(theirs);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(auth::format_phc(*parsed), theirs);
}

TEST(Password, DefaultParametersWork) {
  const auto start = std::chrono::steady_clock::now();
  auto h = auth::hash_password(kPassword);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(h) << pf::to_string(h.error());
  EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=65536,t=3,p=1$")) << *h;
  EXPECT_FALSE(auth::needs_rehash(*h));
  auto v = auth::verify_password(kPassword, *h);
  ASSERT_TRUE(v);
  EXPECT_TRUE(*v);
  std::printf("[ info ] one default-parameter hash (m=64 MiB, t=3, p=1): %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

TEST(PasswordPolicy, LengthAndEncoding) {
  EXPECT_TRUE(auth::check_password_policy("twelve chars"));
  EXPECT_TRUE(auth::check_password_policy(std::string(auth::kMaxPasswordBytes, 'x')));
  // Twelve characters, more bytes: counted as characters.
  EXPECT_TRUE(auth::check_password_policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));

  struct Case {
    std::string password;
    std::string says;
  };
  const Case cases[] = {
      {"", "has 0 characters; at least 12"},
      {"eleven char", "has 11 characters; at least 12"},
      {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "has 6 characters"},
      {std::string(auth::kMaxPasswordBytes + 1, 'x'), "longer than 1024 bytes"},
      {std::string("twelve chars\0x", 14), "NUL byte"},
      {"twelve chars \xff", "not valid UTF-8"},
      {"twelve chars \xc0\xaf", "not valid UTF-8"},      // overlong '/'
      {"twelve chars \xed\xa0\x80", "not valid UTF-8"},  // a surrogate
      {"twelve chars \xe2\x82", "not valid UTF-8"},      // truncated
  };
  for (const Case& c : cases) {
    auto r = auth::check_password_policy(c.password);
    ASSERT_FALSE(r) << c.says;
    EXPECT_EQ(r.error().where, "password");
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
    // The message never echoes the password.
    if (c.password.size() > 3) {
      EXPECT_EQ(r.error().message.find(c.password), std::string::npos);
    }
    auto h = auth::hash_password(c.password, kFast);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().message, r.error().message);
  }
}
