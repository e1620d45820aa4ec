// SPDX-License-Identifier: Apache-2.0
// Helpers for the pki tests: a temporary directory, fixed clocks, and OpenSSL used directly to
// build inputs the library itself would never produce (tampered or hostile CSRs).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "patchflow/testing/temp_dir.hpp"

namespace pf::pki::testing {

using namespace std::chrono_literals;

/// 2030-01-15T12:00:00Z: a fixed "now" for certificates whose validity the tests compute.
inline std::chrono::sys_seconds fixed_now() {
  return std::chrono::sys_days{std::chrono::year{2030} / 1 / 15} + 12h;
}

class TempDir : public pf::testing::TempDir {
 public:
  TempDir() : pf::testing::TempDir("pf-pki") {}
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_file(const std::filesystem::path& p, std::string_view data, unsigned mode) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) throw std::runtime_error("cannot write " + p.string());
  }
  ::chmod(p.c_str(), mode);
}

inline unsigned file_mode(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0xffffffffU;
  return st.st_mode & 07777U;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Req = std::unique_ptr<X509_REQ, ReqFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

inline Cert parse_cert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

/// DER bytes of the first certificate in `pem`, read by OpenSSL directly (an oracle).
inline std::string der_of_cert(const std::string& pem) {
  Cert cert = parse_cert(pem);
  if (!cert) throw std::runtime_error("not a certificate");
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert.get(), &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

/// PEM "CERTIFICATE REQUEST" around arbitrary DER bytes.
inline std::string csr_pem_of_der(const std::string& der) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio(bio.get(), "CERTIFICATE REQUEST", "",
                reinterpret_cast<const unsigned char*>(der.data()), static_cast<long>(der.size()));
  return bio_text(bio.get());
}

inline std::string der_of_csr(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) throw std::runtime_error("not a CSR");
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(req.get(), &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

/// A CSR built by hand: subject CN, the key whose public half it carries, the key that signs it
/// (normally the same), and, when `ask_for_ca`, an extension request for CA:TRUE and a
/// subjectAltName the server never granted.
inline std::string hand_made_csr(const std::string& cn, EVP_PKEY* subject_key, EVP_PKEY* signer,
                                 bool ask_for_ca) {
  Req req(X509_REQ_new());
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), subject_key);
  if (ask_for_ca) {
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints,
                                                     "critical,CA:TRUE"));
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                                     "DNS:server.example"));
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, &ctx, NID_ext_key_usage,
                                                     "serverAuth,clientAuth"));
    X509_REQ_add_extensions(req.get(), exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  const EVP_MD* md = EVP_PKEY_is_a(signer, "ED25519") == 1 ? nullptr : EVP_sha256();
  if (X509_REQ_sign(req.get(), signer, md) <= 0) throw std::runtime_error("cannot sign CSR");
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return bio_text(bio.get());
}

}  // namespace pf::pki::testing
