// SPDX-License-Identifier: Apache-2.0
// Ed25519 over work items: RFC 8032 vectors, sign/verify, every flipped bit refused, wrong key
// types and malformed signatures refused with reasons.
#include "patchflow/pki/signing.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "patchflow/pki/certs.hpp"
#include "pki_test_util.hpp"

namespace pki = pf::pki;
using namespace pf::pki::testing;

namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::string b64(const std::string& raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string unb64_64(const std::string& text) {
  std::string out(text.size(), '\0');
  EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(text.data()),
                  static_cast<int>(text.size()));
  out.resize(64);
  return out;
}

// PEMs of an Ed25519 key given as raw RFC 8032 bytes.
pki::SigningKey key_from_raw(std::string_view secret_hex) {
  const std::string raw = unhex(secret_hex);
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(raw.data()),
                                        raw.size()));
  if (!key) throw std::runtime_error("bad raw key");
  Bio priv(BIO_new(BIO_s_mem()));
  Bio pub(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_PUBKEY(pub.get(), key.get());
  return {bio_text(priv.get()), bio_text(pub.get())};
}

TEST(PkiSigning, MatchesRfc8032Vectors) {
  struct Vector {
    const char* secret;
    const char* message;
    const char* signature;
  };
  // RFC 8032 §7.1, TEST 1 and TEST 2.
  const Vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701"
       "cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d"
       "0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const auto& v : vectors) {
    const auto key = key_from_raw(v.secret);
    const std::string message = unhex(v.message);
    auto sig = pki::sign(key.private_pem, message);
    ASSERT_TRUE(sig) << pf::to_string(sig.error());
    EXPECT_EQ(*sig, b64(unhex(v.signature)));
    EXPECT_TRUE(pki::verify(key.public_pem, message, *sig));
    auto pub = pki::signing_public_key(key.private_pem);
    ASSERT_TRUE(pub);
    EXPECT_EQ(*pub, key.public_pem);
  }
}

TEST(PkiSigning, SignsAndVerifiesAndEveryFlippedBitFails) {
  auto key = pki::generate_signing_key();
  ASSERT_TRUE(key) << pf::to_string(key.error());
  EXPECT_NE(key->private_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(key->public_pem.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  const std::string item = R"({"job":"j-1","steps":[{"install":"security"}],"host":"h-9"})";
  auto sig = pki::sign(key->private_pem, item);
  ASSERT_TRUE(sig) << pf::to_string(sig.error());
  EXPECT_EQ(sig->size(), 88U);
  EXPECT_TRUE(std::regex_match(*sig, std::regex("[A-Za-z0-9+/]{86}==")));
  auto ok = pki::verify(key->public_pem, item, *sig);
  EXPECT_TRUE(ok) << pf::to_string(ok.error());
  // Ed25519 is deterministic.
  EXPECT_EQ(pki::sign(key->private_pem, item).value(), *sig);

  for (std::size_t byte = 0; byte < item.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = item;
      altered[byte] = static_cast<char>(altered[byte] ^ (1 << bit));
      auto r = pki::verify(key->public_pem, altered, *sig);
      ASSERT_FALSE(r) << byte << ":" << bit;
      EXPECT_NE(r.error().message.find("does not verify"), std::string::npos);
    }
  }
  const std::string raw = unb64_64(*sig);
  for (std::size_t byte = 0; byte < raw.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = raw;
      altered[byte] = static_cast<char>(altered[byte] ^ (1 << bit));
      ASSERT_FALSE(pki::verify(key->public_pem, item, b64(altered))) << byte << ":" << bit;
    }
  }
  EXPECT_FALSE(pki::verify(key->public_pem, item + " ", *sig));
  EXPECT_FALSE(pki::verify(key->public_pem, item.substr(1), *sig));

  auto other = pki::generate_signing_key();
  ASSERT_TRUE(other);
  EXPECT_FALSE(pki::verify(other->public_pem, item, *sig));
  EXPECT_NE(other->private_pem, key->private_pem);

  auto empty_sig = pki::sign(key->private_pem, "");
  ASSERT_TRUE(empty_sig);
  EXPECT_TRUE(pki::verify(key->public_pem, "", *empty_sig));
}

TEST(PkiSigning, WrongKeysAndMalformedSignaturesAreRefused) {
  auto key = pki::generate_signing_key();
  ASSERT_TRUE(key);
  auto sig = pki::sign(key->private_pem, "data");
  ASSERT_TRUE(sig);

  // An EC key where Ed25519 is required, both ways.
  auto ec = pki::make_key_and_csr("agent");
  ASSERT_TRUE(ec);
  auto ec_sign = pki::sign(ec->key_pem, "data");
  ASSERT_FALSE(ec_sign);
  EXPECT_NE(ec_sign.error().message.find("EC P-256, not Ed25519"), std::string::npos)
      << ec_sign.error().message;
  Bio kb(BIO_new_mem_buf(ec->key_pem.data(), static_cast<int>(ec->key_pem.size())));
  Pkey ec_key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  Bio pb(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(pb.get(), ec_key.get());
  auto ec_verify = pki::verify(bio_text(pb.get()), "data", *sig);
  ASSERT_FALSE(ec_verify);
  EXPECT_NE(ec_verify.error().message.find("not Ed25519"), std::string::npos);

  // Public where private is needed and the reverse; garbage keys.
  EXPECT_FALSE(pki::sign(key->public_pem, "data"));
  EXPECT_FALSE(pki::verify(key->private_pem, "data", *sig));
  for (const std::string& garbage :
       {std::string(), std::string("garbage"), key->public_pem.substr(0, 40),
        std::string("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")}) {
    EXPECT_FALSE(pki::sign(garbage, "data"));
    EXPECT_FALSE(pki::verify(garbage, "data", *sig));
    EXPECT_FALSE(pki::public_key_fingerprint(garbage));
    EXPECT_FALSE(pki::signing_public_key(garbage));
  }

  // Signatures that are not strict base64 of 64 bytes.
  const std::string good = *sig;
  std::string bad_padding_bits = good;
  bad_padding_bits[85] = bad_padding_bits[85] == 'A' ? 'B' : 'A';  // sets or clears a pad bit
  for (const std::string& s :
       {std::string(), std::string("not base64!"), good.substr(0, 86), good + "AAAA",
        good.substr(0, 86) + "=A", " " + good, good + "\n", std::string(88, '='),
        good.substr(0, 84) + "====", std::string(4000, 'A')}) {
    auto r = pki::verify(key->public_pem, "data", s);
    ASSERT_FALSE(r) << s;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(r.error().where, "signature");
  }
  auto padded = pki::verify(key->public_pem, "data", bad_padding_bits);
  ASSERT_FALSE(padded);
}

TEST(PkiSigning, PublicKeyFingerprint) {
  auto a = pki::generate_signing_key();
  auto b = pki::generate_signing_key();
  ASSERT_TRUE(a && b);
  auto fa = pki::public_key_fingerprint(a->public_pem);
  auto fb = pki::public_key_fingerprint(b->public_pem);
  ASSERT_TRUE(fa && fb);
  EXPECT_TRUE(std::regex_match(*fa, std::regex("sha256:[0-9a-f]{64}")));
  EXPECT_NE(*fa, *fb);
  EXPECT_EQ(pki::public_key_fingerprint(a->public_pem).value(), *fa);
  // The RFC 8032 TEST 1 public key has a known SubjectPublicKeyInfo: prefix + 32 key bytes.
  const auto k1 = key_from_raw("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const std::string spki =
      unhex("302a300506032b6570032100") +
      unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(spki.data(), spki.size(), md, &len, EVP_sha256(), nullptr);
  std::string want = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    char h[3];
    std::snprintf(h, sizeof h, "%02x", md[i]);
    want += h;
  }
  EXPECT_EQ(pki::public_key_fingerprint(k1.public_pem).value(), want);
}

}  // namespace
