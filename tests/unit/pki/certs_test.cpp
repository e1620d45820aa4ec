// SPDX-License-Identifier: Apache-2.0
// The CA, server and client certificates read back; CSR handling (subject ignored, tampering
// and hostile requests refused); chain checks with an injected clock; rotation; fingerprints;
// garbage input.
#include "patchflow/pki/certs.hpp"

#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <regex>
#include <set>

#include "pki_test_util.hpp"

namespace pki = pf::pki;
using namespace pf::pki::testing;
using namespace std::chrono_literals;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

pki::CertAndKey make_ca(const std::string& cn = "patchflow test CA", int days = 3650) {
  auto ca = pki::create_ca({.common_name = cn, .validity_days = days, .now = fixed_now()});
  if (!ca) throw std::runtime_error(pf::to_string(ca.error()));
  return *ca;
}

std::string client_cert(const pki::CertAndKey& ca, const std::string& host_id, int days = 90,
                        std::chrono::sys_seconds now = fixed_now()) {
  auto kc = pki::make_key_and_csr("agent");
  if (!kc) throw std::runtime_error(pf::to_string(kc.error()));
  auto cert = pki::sign_client_csr(ca, kc->csr_pem,
                                   {.host_id = host_id, .validity_days = days, .now = now});
  if (!cert) throw std::runtime_error(pf::to_string(cert.error()));
  return *cert;
}

// A PEM block with the old "encrypted PEM" headers: must be refused, never prompt for a pass
// phrase on a terminal.
std::string encrypted_header(const std::string& pem) {
  const auto eol = pem.find('\n');
  return pem.substr(0, eol + 1) +
         "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n" +
         pem.substr(eol + 1);
}

const std::regex kFingerprint("sha256:[0-9a-f]{64}");

TEST(PkiCa, HasTheCaExtensionsAndValidity) {
  const auto ca = make_ca("Example Fleet CA", 3650);
  EXPECT_NE(ca.cert_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(ca.key_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  auto info = pki::certificate_info(ca.cert_pem);
  ASSERT_TRUE(info) << pf::to_string(info.error());
  EXPECT_EQ(info->subject_cn, "Example Fleet CA");
  EXPECT_EQ(info->issuer_cn, "Example Fleet CA");
  EXPECT_TRUE(info->is_ca);
  EXPECT_TRUE(info->key_cert_sign);
  EXPECT_TRUE(info->crl_sign);
  EXPECT_FALSE(info->digital_signature);
  EXPECT_FALSE(info->server_auth);
  EXPECT_FALSE(info->client_auth);
  EXPECT_TRUE(info->has_subject_key_id);
  EXPECT_TRUE(has(info->critical_extensions, "basicConstraints"));
  EXPECT_TRUE(has(info->critical_extensions, "keyUsage"));
  EXPECT_EQ(info->key_type, "EC P-256");
  EXPECT_EQ(info->not_before, fixed_now() - pki::kClockSkewAllowance);
  EXPECT_EQ(info->not_after, fixed_now() + std::chrono::days{3650});
  EXPECT_TRUE(std::regex_match(info->fingerprint, kFingerprint)) << info->fingerprint;
  EXPECT_FALSE(info->serial_hex.empty());
  EXPECT_LE(info->serial_hex.size(), 32U);
  EXPECT_TRUE(pki::verify_chain(ca.cert_pem, ca.cert_pem, fixed_now()));

  // Fresh keys and random serials every time.
  std::set<std::string> serials;
  std::set<std::string> keys;
  for (int i = 0; i < 8; ++i) {
    const auto other = make_ca();
    serials.insert(pki::certificate_info(other.cert_pem)->serial_hex);
    keys.insert(other.key_pem);
  }
  EXPECT_EQ(serials.size(), 8U);
  EXPECT_EQ(keys.size(), 8U);
  // 128 random bits: eight serials all shorter than 25 hex digits would be a broken generator.
  EXPECT_TRUE(std::any_of(serials.begin(), serials.end(),
                          [](const std::string& s) { return s.size() > 24; }));
}

TEST(PkiCa, RefusesBadOptions) {
  for (const auto& bad : {
           pki::CaOptions{.common_name = ""},
           pki::CaOptions{.common_name = std::string(65, 'x')},
           pki::CaOptions{.common_name = "line\nbreak"},
           pki::CaOptions{.common_name = "ok", .validity_days = 0},
           pki::CaOptions{.common_name = "ok", .validity_days = -5},
           pki::CaOptions{.common_name = "ok", .validity_days = 40000},
       }) {
    auto r = pki::create_ca(bad);
    ASSERT_FALSE(r) << bad.common_name;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_FALSE(r.error().message.empty());
  }
  auto utf8 = pki::create_ca({.common_name = "Flotte \xc3\xa9t\xc3\xa9"});
  ASSERT_TRUE(utf8) << pf::to_string(utf8.error());
  EXPECT_EQ(pki::certificate_info(utf8->cert_pem)->subject_cn, "Flotte \xc3\xa9t\xc3\xa9");
  EXPECT_FALSE(pki::create_ca({.common_name = "bad \xff utf8"}));
}

TEST(PkiServerCert, HasNamesAndServerAuth) {
  const auto ca = make_ca();
  auto server = pki::issue_server_cert(ca, {.common_name = "patchflow.example",
                                            .dns_names = {"patchflow.example", "localhost"},
                                            .ip_addresses = {"127.0.0.1", "::1"},
                                            .validity_days = 397,
                                            .now = fixed_now()});
  ASSERT_TRUE(server) << pf::to_string(server.error());
  auto info = pki::certificate_info(server->cert_pem);
  ASSERT_TRUE(info) << pf::to_string(info.error());
  EXPECT_EQ(info->subject_cn, "patchflow.example");
  EXPECT_EQ(info->issuer_cn, "patchflow test CA");
  EXPECT_FALSE(info->is_ca);
  EXPECT_TRUE(info->server_auth);
  EXPECT_FALSE(info->client_auth);
  EXPECT_TRUE(info->digital_signature);
  EXPECT_FALSE(info->key_cert_sign);
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"patchflow.example", "localhost"}));
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_TRUE(info->has_subject_key_id);
  EXPECT_TRUE(info->has_authority_key_id);
  EXPECT_TRUE(has(info->critical_extensions, "basicConstraints"));
  EXPECT_TRUE(has(info->critical_extensions, "keyUsage"));
  EXPECT_FALSE(has(info->critical_extensions, "subjectAltName"));
  EXPECT_EQ(info->not_after, fixed_now() + std::chrono::days{397});
  EXPECT_EQ(info->key_type, "EC P-256");

  EXPECT_TRUE(pki::verify_chain(server->cert_pem, ca.cert_pem, fixed_now(), pki::Purpose::server));
  auto as_client =
      pki::verify_chain(server->cert_pem, ca.cert_pem, fixed_now(), pki::Purpose::client);
  ASSERT_FALSE(as_client);
  EXPECT_NE(as_client.error().message.find("purpose"), std::string::npos)
      << as_client.error().message;

  // The key that came with it is the certificate's (OpenSSL checks the pair).
  Cert cert = parse_cert(server->cert_pem);
  Bio kb(BIO_new_mem_buf(server->key_pem.data(), static_cast<int>(server->key_pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);

  // Without a common name the first name stands in.
  auto unnamed = pki::issue_server_cert(ca, {.ip_addresses = {"10.1.2.3"}});
  ASSERT_TRUE(unnamed) << pf::to_string(unnamed.error());
  EXPECT_EQ(pki::certificate_info(unnamed->cert_pem)->subject_cn, "10.1.2.3");
}

TEST(PkiServerCert, RefusesBadNamesAndBadCas) {
  const auto ca = make_ca();
  const std::vector<std::string> bad_dns = {
      "bad name", "a..b", "-x.example", "x-.example", "", "host,IP:1.2.3.4", "*", "a.*.b",
      std::string(64, 'a') + ".example", std::string("nul\0byte", 8)};
  for (const std::string& dns : bad_dns) {
    auto r = pki::issue_server_cert(ca, {.dns_names = {dns}});
    ASSERT_FALSE(r) << dns;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  }
  EXPECT_TRUE(pki::issue_server_cert(ca, {.dns_names = {"*.fleet.example", "under_score.lan"}}));
  for (const std::string ip : {"300.1.1.1", "1.2.3", "::g", "localhost", ""}) {
    auto r = pki::issue_server_cert(ca, {.ip_addresses = {ip}});
    ASSERT_FALSE(r) << ip;
    EXPECT_NE(r.error().where.find("ip_addresses"), std::string::npos);
  }
  auto none = pki::issue_server_cert(ca, {.common_name = "x"});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("at least one"), std::string::npos);

  // A leaf is no CA; a CA certificate with another CA's key is refused.
  auto leaf = pki::issue_server_cert(ca, {.dns_names = {"leaf.example"}});
  ASSERT_TRUE(leaf);
  auto by_leaf = pki::issue_server_cert(*leaf, {.dns_names = {"x.example"}});
  ASSERT_FALSE(by_leaf);
  EXPECT_NE(by_leaf.error().message.find("not a CA"), std::string::npos);
  const auto other = make_ca("other");
  auto mixed = pki::issue_server_cert({ca.cert_pem, other.key_pem}, {.dns_names = {"x.example"}});
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().message.find("does not match"), std::string::npos);
  EXPECT_EQ(mixed.error().where, "ca key");
}

TEST(PkiClientCert, SubjectComesFromTheServerNotTheCsr) {
  const auto ca = make_ca();
  auto kc = pki::make_key_and_csr("root-please");
  ASSERT_TRUE(kc) << pf::to_string(kc.error());
  EXPECT_NE(kc->csr_pem.find("-----BEGIN CERTIFICATE REQUEST-----"), std::string::npos);
  EXPECT_NE(kc->key_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_EQ(kc->csr_pem.find("PRIVATE"), std::string::npos);

  auto cert = pki::sign_client_csr(ca, kc->csr_pem,
                                   {.host_id = "host-42", .validity_days = 30, .now = fixed_now()});
  ASSERT_TRUE(cert) << pf::to_string(cert.error());
  auto info = pki::certificate_info(*cert);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->subject_cn, "host-42");
  EXPECT_EQ(info->issuer_cn, "patchflow test CA");
  EXPECT_TRUE(info->client_auth);
  EXPECT_FALSE(info->server_auth);
  EXPECT_FALSE(info->is_ca);
  EXPECT_TRUE(info->dns_names.empty());
  EXPECT_EQ(info->not_after, fixed_now() + std::chrono::days{30});
  EXPECT_TRUE(pki::verify_chain(*cert, ca.cert_pem, fixed_now(), pki::Purpose::client));
  EXPECT_FALSE(pki::verify_chain(*cert, ca.cert_pem, fixed_now(), pki::Purpose::server));

  // The certificate carries the agent's key: the agent's private key matches it.
  Cert x = parse_cert(*cert);
  Bio kb(BIO_new_mem_buf(kc->key_pem.data(), static_cast<int>(kc->key_pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(x.get(), key.get()), 1);
}

TEST(PkiClientCert, ExtensionsAskedForInTheCsrAreIgnored) {
  const auto ca = make_ca();
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const std::string csr = hand_made_csr("evil-ca", key.get(), key.get(), /*ask_for_ca=*/true);
  auto cert = pki::sign_client_csr(ca, csr, {.host_id = "host-7"});
  ASSERT_TRUE(cert) << pf::to_string(cert.error());
  auto info = pki::certificate_info(*cert);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->subject_cn, "host-7");
  EXPECT_FALSE(info->is_ca);
  EXPECT_FALSE(info->key_cert_sign);
  EXPECT_FALSE(info->server_auth);
  EXPECT_TRUE(info->client_auth);
  EXPECT_TRUE(info->dns_names.empty());
}

TEST(PkiClientCert, TamperedCsrIsRefused) {
  const auto ca = make_ca();
  auto kc = pki::make_key_and_csr("aaaa-agent");
  ASSERT_TRUE(kc);
  std::string der = der_of_csr(kc->csr_pem);
  const auto at = der.find("aaaa-agent");
  ASSERT_NE(at, std::string::npos);
  der.replace(at, 4, "bbbb");
  auto r = pki::sign_client_csr(ca, csr_pem_of_der(der), {.host_id = "h"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  EXPECT_NE(r.error().message.find("signature does not verify"), std::string::npos)
      << r.error().message;

  // A CSR carrying one key but signed by another (someone else's public key) is refused too.
  Pkey mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Pkey theirs(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  auto stolen = pki::sign_client_csr(ca, hand_made_csr("x", theirs.get(), mine.get(), false),
                                     {.host_id = "h"});
  ASSERT_FALSE(stolen);
  EXPECT_NE(stolen.error().message.find("signature does not verify"), std::string::npos);

  // The original, untouched, is fine.
  EXPECT_TRUE(pki::sign_client_csr(ca, kc->csr_pem, {.host_id = "h"}));
}

TEST(PkiClientCert, KeyTypesAndHostIds) {
  const auto ca = make_ca();
  Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  auto ed_cert = pki::sign_client_csr(ca, hand_made_csr("x", ed.get(), ed.get(), false),
                                      {.host_id = "ed-host"});
  ASSERT_TRUE(ed_cert) << pf::to_string(ed_cert.error());
  EXPECT_EQ(pki::certificate_info(*ed_cert)->key_type, "Ed25519");

  Pkey rsa(EVP_RSA_gen(1024));
  auto weak = pki::sign_client_csr(ca, hand_made_csr("x", rsa.get(), rsa.get(), false),
                                   {.host_id = "h"});
  ASSERT_FALSE(weak);
  EXPECT_NE(weak.error().message.find("RSA 1024"), std::string::npos) << weak.error().message;

  Pkey k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  auto k1_cert = pki::sign_client_csr(ca, hand_made_csr("x", k1.get(), k1.get(), false),
                                      {.host_id = "h"});
  ASSERT_FALSE(k1_cert);
  EXPECT_NE(k1_cert.error().message.find("secp256k1"), std::string::npos);

  auto kc = pki::make_key_and_csr("agent");
  ASSERT_TRUE(kc);
  for (const std::string& id : {std::string(), std::string(65, 'h'), std::string("tab\there")}) {
    auto r = pki::sign_client_csr(ca, kc->csr_pem, {.host_id = id});
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().where, "host_id");
  }
  EXPECT_FALSE(pki::sign_client_csr(ca, kc->csr_pem, {.host_id = "h", .validity_days = 0}));
  EXPECT_FALSE(pki::make_key_and_csr(""));
}

TEST(PkiClientCert, GarbageCsrsGiveErrors) {
  const auto ca = make_ca();
  auto kc = pki::make_key_and_csr("agent");
  ASSERT_TRUE(kc);
  const std::string half = kc->csr_pem.substr(0, kc->csr_pem.size() / 2);
  std::string bad_body = kc->csr_pem;
  bad_body[40] = '!';
  for (const std::string& csr :
       {std::string(), std::string("garbage"), std::string("\0\x01\x02\xff", 4), half, bad_body,
        std::string("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
        ca.cert_pem, ca.key_pem, encrypted_header(kc->csr_pem)}) {
    auto r = pki::sign_client_csr(ca, csr, {.host_id = "h"});
    ASSERT_FALSE(r) << csr;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(r.error().where, "csr");
  }
  // Over 16 KiB: refused before parsing, even if it would parse (a valid CSR padded with
  // comment lines).
  std::string big = std::string(pki::kMaxCsrBytes, '#') + "\n" + kc->csr_pem;
  auto too_big = pki::sign_client_csr(ca, big, {.host_id = "h"});
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("16384"), std::string::npos) << too_big.error().message;
}

TEST(PkiChain, AnotherCaIsRefused) {
  const auto ca = make_ca("CA one");
  const auto other = make_ca("CA two");
  const std::string cert = client_cert(ca, "host-1");
  EXPECT_TRUE(pki::verify_chain(cert, ca.cert_pem, fixed_now()));
  auto r = pki::verify_chain(cert, other.cert_pem, fixed_now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  EXPECT_NE(r.error().message.find("issuer"), std::string::npos) << r.error().message;
  // Same name, different key: still refused (names are not trust).
  const auto twin = make_ca("CA one");
  EXPECT_FALSE(pki::verify_chain(cert, twin.cert_pem, fixed_now()));
  // A leaf is not a CA to verify against.
  EXPECT_FALSE(pki::verify_chain(cert, cert, fixed_now()));
}

TEST(PkiChain, ExpiryIsJudgedAtTheInjectedTime) {
  const auto ca = make_ca("CA", 3650);
  const std::string cert = client_cert(ca, "host-1", 1);
  EXPECT_TRUE(pki::verify_chain(cert, ca.cert_pem, fixed_now() + 12h));
  EXPECT_TRUE(pki::verify_chain(cert, ca.cert_pem, fixed_now() - 4min));

  auto expired = pki::verify_chain(cert, ca.cert_pem, fixed_now() + 25h);
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos) << expired.error().message;
  EXPECT_NE(expired.error().message.find("2030-01-16T12:00:00Z"), std::string::npos)
      << expired.error().message;
  EXPECT_EQ(expired.error().where, "certificate");

  auto early = pki::verify_chain(cert, ca.cert_pem, fixed_now() - 1h);
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("not yet valid"), std::string::npos)
      << early.error().message;

  // The CA's own expiry counts too.
  const auto short_ca = make_ca("short CA", 1);
  const std::string long_cert = client_cert(short_ca, "host-2", 90);
  auto ca_expired = pki::verify_chain(long_cert, short_ca.cert_pem, fixed_now() + 48h);
  ASSERT_FALSE(ca_expired);
  EXPECT_NE(ca_expired.error().message.find("expired"), std::string::npos);
  EXPECT_EQ(ca_expired.error().where, "ca certificate");
}

TEST(PkiRotation, ThresholdIsAFractionOfTheValidity) {
  const auto ca = make_ca();
  auto info = pki::certificate_info(client_cert(ca, "host", 90));
  ASSERT_TRUE(info);
  // Validity = 90 days + the 300 s back-dating; a third of it = 30 days + 100 s.
  const auto third_left = info->not_after - (30 * 24h + 100s);
  EXPECT_FALSE(pki::needs_rotation(*info, fixed_now(), 1.0 / 3));
  EXPECT_FALSE(pki::needs_rotation(*info, third_left - 1s, 1.0 / 3));
  EXPECT_TRUE(pki::needs_rotation(*info, third_left + 1s, 1.0 / 3));
  EXPECT_TRUE(pki::needs_rotation(*info, info->not_after + 1s, 1.0 / 3));
  EXPECT_TRUE(pki::needs_rotation(*info, info->not_after + 1s, 0.0));  // expired
  EXPECT_FALSE(pki::needs_rotation(*info, info->not_after - 1s, 0.0));
  EXPECT_TRUE(pki::needs_rotation(*info, fixed_now(), 1.0));
  EXPECT_FALSE(pki::needs_rotation(*info, fixed_now() + 40 * 24h, 0.5));
  EXPECT_TRUE(pki::needs_rotation(*info, fixed_now() + 46 * 24h, 0.5));
}

TEST(PkiFingerprint, Sha256OfTheDer) {
  const auto ca = make_ca();
  auto fp = pki::fingerprint_sha256(ca.cert_pem);
  ASSERT_TRUE(fp);
  EXPECT_TRUE(std::regex_match(*fp, kFingerprint));
  const std::string der = der_of_cert(ca.cert_pem);
  EXPECT_EQ(pki::fingerprint_sha256_der(der), *fp);
  EXPECT_EQ(pki::certificate_info(ca.cert_pem)->fingerprint, *fp);
  // Oracle: OpenSSL's own certificate digest.
  Cert cert = parse_cert(ca.cert_pem);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(X509_digest(cert.get(), EVP_sha256(), md, &len), 1);
  std::string hex = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  EXPECT_EQ(*fp, hex);

  auto back = pki::certificate_pem_from_der(der);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, ca.cert_pem);
  EXPECT_FALSE(pki::certificate_pem_from_der("not der"));
  EXPECT_FALSE(pki::certificate_pem_from_der(der + "x"));
  EXPECT_FALSE(pki::certificate_pem_from_der(der.substr(0, der.size() - 1)));
  EXPECT_NE(pki::fingerprint_sha256(make_ca().cert_pem).value(), *fp);
}

TEST(PkiFingerprint, PinnedCaFingerprints) {
  const auto ca = make_ca();
  const auto other = make_ca();
  auto fp = pki::ca_fingerprint(ca.cert_pem);
  ASSERT_TRUE(fp);
  const std::string hex = fp->substr(7);
  std::string upper_colons;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0) upper_colons += ':';
    upper_colons += static_cast<char>(std::toupper(hex[i]));
    upper_colons += static_cast<char>(std::toupper(hex[i + 1]));
  }
  for (const std::string& form : {*fp, hex, "SHA256:" + hex, upper_colons,
                                  "sha256 Fingerprint=" + upper_colons, "  " + *fp + "\n"}) {
    auto n = pki::normalize_fingerprint(form);
    ASSERT_TRUE(n) << form << ": " << pf::to_string(n.error());
    EXPECT_EQ(*n, *fp);
    EXPECT_TRUE(pki::check_ca_fingerprint(ca.cert_pem, form)) << form;
  }
  for (const std::string& bad : {std::string(), std::string("sha256:"), "sha256:" + hex.substr(1),
                                 "sha256:" + hex + "00", "sha1:" + hex, hex.substr(0, 63) + "g",
                                 "a:b" + hex.substr(3), "md5:" + hex}) {
    EXPECT_FALSE(pki::normalize_fingerprint(bad)) << bad;
  }

  auto wrong = pki::check_ca_fingerprint(other.cert_pem, *fp);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find(*fp), std::string::npos);
  EXPECT_NE(wrong.error().message.find(pki::ca_fingerprint(other.cert_pem).value()),
            std::string::npos);

  // A leaf is never accepted as the CA, even with its own fingerprint pinned.
  const std::string leaf = client_cert(ca, "h");
  auto leaf_fp = pki::fingerprint_sha256(leaf);
  ASSERT_TRUE(leaf_fp);
  auto as_ca = pki::check_ca_fingerprint(leaf, *leaf_fp);
  ASSERT_FALSE(as_ca);
  EXPECT_NE(as_ca.error().message.find("not a CA"), std::string::npos);
}

TEST(PkiPem, GarbageGivesErrorsNotCrashes) {
  const auto ca = make_ca();
  std::string damaged = ca.cert_pem;
  damaged[damaged.size() / 2] = damaged[damaged.size() / 2] == 'A' ? 'B' : 'A';
  std::string zeros(300, '\0');
  const std::vector<std::string> inputs = {
      std::string(),
      "garbage",
      zeros,
      ca.cert_pem.substr(0, ca.cert_pem.size() / 2),
      "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
      ca.key_pem,
      encrypted_header(ca.cert_pem),
      std::string(pki::kMaxPemBytes + 1, 'A'),
  };
  for (const auto& in : inputs) {
    auto info = pki::certificate_info(in);
    ASSERT_FALSE(info) << in.substr(0, 40);
    EXPECT_EQ(info.error().code, pf::Errc::invalid_input);
    EXPECT_FALSE(pki::fingerprint_sha256(in));
    EXPECT_FALSE(pki::verify_chain(in, ca.cert_pem, fixed_now()));
    EXPECT_FALSE(pki::verify_chain(ca.cert_pem, in, fixed_now()));
    EXPECT_FALSE(pki::ca_fingerprint(in));
    EXPECT_FALSE(pki::issue_server_cert({in, ca.key_pem}, {.dns_names = {"x.example"}}));
    if (in != ca.key_pem) {
      EXPECT_FALSE(pki::issue_server_cert({ca.cert_pem, in}, {.dns_names = {"x.example"}}));
    }
  }
  // A flipped byte inside the base64 body: either unreadable or a certificate whose signature
  // no longer verifies; never accepted as issued by the CA.
  EXPECT_FALSE(pki::verify_chain(damaged, ca.cert_pem, fixed_now()));
  auto big = pki::certificate_info(std::string(pki::kMaxPemBytes + 1, 'A'));
  EXPECT_NE(big.error().message.find("at most"), std::string::npos);

  auto encrypted = pki::issue_server_cert(
      {ca.cert_pem,
       "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"},
      {.dns_names = {"x.example"}});
  ASSERT_FALSE(encrypted);
  EXPECT_NE(encrypted.error().message.find("encrypted"), std::string::npos);
}

}  // namespace
