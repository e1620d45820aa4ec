// SPDX-License-Identifier: Apache-2.0
#include "ossl.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <climits>
#include <cstdint>
#include <ctime>

#include "patchflow/pki/certs.hpp"

namespace pf::pki::detail {

void OpensslFree::operator()(void* p) const noexcept { OPENSSL_free(p); }

std::string drain_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0480006C:PEM routines::no start line": keep the part after the code.
    std::string_view text(buf);
    if (text.starts_with("error:")) {
      const auto colon = text.find(':', 6);
      if (colon != std::string_view::npos) text.remove_prefix(colon + 1);
    }
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

Unexpected ossl_error(Errc code, std::string message, std::string where) {
  const std::string reasons = drain_errors();
  if (!reasons.empty()) message += " (" + reasons + ")";
  return make_error(code, std::move(message), std::move(where));
}

int refuse_password(char*, int, int, void*) { return -1; }

namespace {

Result<BioPtr> mem_bio(std::string_view pem, std::string_view what, std::size_t limit) {
  if (pem.empty()) return make_error(Errc::invalid_input, std::string(what) + " is empty", std::string(what));
  if (pem.size() > limit) {
    return make_error(Errc::invalid_input,
                      std::string(what) + " is " + std::to_string(pem.size()) +
                          " bytes; at most " + std::to_string(limit) + " are accepted",
                      std::string(what));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ossl_error(Errc::io, "cannot allocate a memory BIO", std::string(what));
  return bio;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

Result<X509Ptr> read_cert(std::string_view pem, std::string_view what) {
  auto bio = mem_bio(pem, what, kMaxPemBytes);
  if (!bio) return tl::unexpected(bio.error());
  X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, refuse_password, nullptr));
  if (!cert) {
    return ossl_error(Errc::invalid_input,
                      "no PEM certificate (\"-----BEGIN CERTIFICATE-----\") could be read",
                      std::string(what));
  }
  ERR_clear_error();
  return cert;
}

Result<PkeyPtr> read_private_key(std::string_view pem, std::string_view what) {
  if (pem.find("ENCRYPTED") != std::string_view::npos &&
      pem.find("-----BEGIN") != std::string_view::npos) {
    return make_error(Errc::invalid_input,
                      "the private key is encrypted; patchflow keeps keys unencrypted in files "
                      "of mode 0600",
                      std::string(what));
  }
  auto bio = mem_bio(pem, what, kMaxPemBytes);
  if (!bio) return tl::unexpected(bio.error());
  PkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, refuse_password, nullptr));
  if (!key) {
    return ossl_error(Errc::invalid_input,
                      "no PEM private key (\"-----BEGIN PRIVATE KEY-----\") could be read",
                      std::string(what));
  }
  ERR_clear_error();
  return key;
}

Result<PkeyPtr> read_public_key(std::string_view pem, std::string_view what) {
  auto bio = mem_bio(pem, what, kMaxPemBytes);
  if (!bio) return tl::unexpected(bio.error());
  PkeyPtr key(PEM_read_bio_PUBKEY(bio->get(), nullptr, refuse_password, nullptr));
  if (!key) {
    return ossl_error(Errc::invalid_input,
                      "no PEM public key (\"-----BEGIN PUBLIC KEY-----\") could be read",
                      std::string(what));
  }
  ERR_clear_error();
  return key;
}

std::string cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PF_ASSERT(bio && PEM_write_bio_X509(bio.get(), cert) == 1);
  return bio_contents(bio.get());
}

std::string private_key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PF_ASSERT(bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                            nullptr) == 1);
  return bio_contents(bio.get());
}

std::string public_key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PF_ASSERT(bio && PEM_write_bio_PUBKEY(bio.get(), key) == 1);
  return bio_contents(bio.get());
}

std::string sha256_fingerprint(const unsigned char* data, std::size_t size) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  unsigned int md_len = 0;
  PF_ASSERT(EVP_Digest(data, size, md, &md_len, EVP_sha256(), nullptr) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < md_len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0f];
  }
  return out;
}

std::string cert_der(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  PF_ASSERT(n > 0);
  OsslBuf<unsigned char> owner(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
}

bool is_ed_key(const EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "ED25519") == 1 || EVP_PKEY_is_a(key, "ED448") == 1;
}

std::string key_type_name(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519") == 1) return "Ed25519";
  if (EVP_PKEY_is_a(key, "ED448") == 1) return "Ed448";
  if (EVP_PKEY_is_a(key, "RSA") == 1) return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
  if (EVP_PKEY_is_a(key, "EC") == 1) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) {
      ERR_clear_error();
      return "EC";
    }
    const std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256") return "EC P-256";
    if (g == "secp384r1" || g == "P-384") return "EC P-384";
    if (g == "secp521r1" || g == "P-521") return "EC P-521";
    return "EC " + std::string(g);
  }
  const char* name = EVP_PKEY_get0_type_name(key);
  return name != nullptr ? std::string(name) : std::string("unknown");
}

Result<PkeyPtr> generate_ec_p256() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return ossl_error(Errc::backend_failed, "cannot generate an EC P-256 key", "keygen");
  return key;
}

std::chrono::sys_seconds asn1_time_to_sys(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return std::chrono::sys_seconds{};
  }
  using namespace std::chrono;
  const sys_days day = year{tm.tm_year + 1900} / month{static_cast<unsigned>(tm.tm_mon + 1)} /
                       static_cast<unsigned>(tm.tm_mday);
  return day + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
}

Result<void> check_key_matches(X509* cert, EVP_PKEY* key, std::string_view key_where) {
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return make_error(Errc::invalid_input,
                      "the private key does not match the certificate's public key",
                      std::string(key_where));
  }
  return {};
}

Result<void> check_issued_by(X509* cert, X509* ca, std::string_view where) {
  const int issued = X509_check_issued(ca, cert);
  if (issued != X509_V_OK) {
    return make_error(Errc::invalid_input,
                      std::string("not issued by this CA: ") +
                          X509_verify_cert_error_string(issued),
                      std::string(where));
  }
  EVP_PKEY* ca_key = X509_get0_pubkey(ca);
  if (ca_key == nullptr || X509_verify(cert, ca_key) != 1) {
    ERR_clear_error();
    return make_error(Errc::invalid_input,
                      "not issued by this CA: its signature does not verify with the CA's key",
                      std::string(where));
  }
  return {};
}

Result<LoadedCa> load_ca(std::string_view cert_pem, std::string_view key_pem,
                         std::string_view cert_where, std::string_view key_where) {
  auto cert = read_cert(cert_pem, cert_where);
  if (!cert) return tl::unexpected(cert.error());
  auto key = read_private_key(key_pem, key_where);
  if (!key) return tl::unexpected(key.error());
  if (auto ok = check_key_matches(cert->get(), key->get(), key_where); !ok) {
    return tl::unexpected(ok.error());
  }
  const std::uint32_t flags = X509_get_extension_flags(cert->get());
  if ((flags & EXFLAG_CA) == 0) {
    return make_error(Errc::invalid_input,
                      "the certificate is not a CA (basicConstraints CA:TRUE is missing)",
                      std::string(cert_where));
  }
  if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(cert->get()) & KU_KEY_CERT_SIGN) == 0) {
    return make_error(Errc::invalid_input,
                      "the CA certificate's keyUsage does not allow signing certificates",
                      std::string(cert_where));
  }
  return LoadedCa{std::move(*cert), std::move(*key)};
}

}  // namespace pf::pki::detail
