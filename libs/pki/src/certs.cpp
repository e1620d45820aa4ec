// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pki/certs.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ossl.hpp"

namespace pf::pki {

using namespace detail;

namespace {

constexpr int kMaxValidityDays = 36500;
constexpr std::size_t kMaxSubjectAltNames = 100;
constexpr int kSerialBytes = 16;

std::chrono::sys_seconds now_or_clock(const std::optional<std::chrono::sys_seconds>& now) {
  if (now) return *now;
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

Result<void> check_validity_days(int days, std::string_view where) {
  if (days < 1 || days > kMaxValidityDays) {
    return make_error(Errc::invalid_input,
                      "validity_days must be between 1 and " + std::to_string(kMaxValidityDays) +
                          ", not " + std::to_string(days),
                      std::string(where));
  }
  return {};
}

Result<void> check_common_name(std::string_view cn, std::string_view where) {
  if (cn.empty()) return make_error(Errc::invalid_input, "the common name is empty", std::string(where));
  if (cn.size() > kMaxCommonNameBytes) {
    return make_error(Errc::invalid_input,
                      "the common name is " + std::to_string(cn.size()) + " bytes; at most " +
                          std::to_string(kMaxCommonNameBytes) + " are allowed",
                      std::string(where));
  }
  for (const char c : cn) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return make_error(Errc::invalid_input, "the common name contains a control character",
                        std::string(where));
    }
  }
  return {};
}

Result<X509NamePtr> make_name(std::string_view cn, std::string_view where) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return ossl_error(Errc::backend_failed, "cannot allocate a name", std::string(where));
  const std::string text(cn);
  if (X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(text.c_str()),
                                 static_cast<int>(text.size()), -1, 0) != 1) {
    return ossl_error(Errc::invalid_input, "the common name is not valid UTF-8", std::string(where));
  }
  return name;
}

Result<void> set_random_serial(X509* cert) {
  unsigned char bytes[kSerialBytes];
  BnPtr bn;
  do {
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      return ossl_error(Errc::backend_failed, "no random bytes for the serial number", "serial");
    }
    bn.reset(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (!bn) return ossl_error(Errc::backend_failed, "cannot allocate a serial", "serial");
  } while (BN_is_zero(bn.get()));
  Asn1IntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    return ossl_error(Errc::backend_failed, "cannot set the serial number", "serial");
  }
  return {};
}

Result<void> set_validity(X509* cert, std::chrono::sys_seconds now, int days) {
  const auto from = now - kClockSkewAllowance;
  const auto until = now + std::chrono::days{days};
  const auto to_time_t = [](std::chrono::sys_seconds s) {
    return static_cast<time_t>(s.time_since_epoch().count());
  };
  if (ASN1_TIME_set(X509_getm_notBefore(cert), to_time_t(from)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), to_time_t(until)) == nullptr) {
    return ossl_error(Errc::invalid_input, "cannot represent the validity period", "validity");
  }
  return {};
}

// One extension from OpenSSL's configuration syntax; `value` is always a constant of ours,
// never input (names go through add_subject_alt_names).
Result<void> add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return ossl_error(Errc::backend_failed,
                      std::string("cannot add the extension ") + OBJ_nid2sn(nid) + "=" + value,
                      "extensions");
  }
  return {};
}

bool is_dns_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A host name (RFC 1123 labels, '_' tolerated), optionally "*." in front.
Result<void> check_dns_name(std::string_view name) {
  const std::string where = "dns_names: " + std::string(name.substr(0, 80));
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty() || name.size() > 253) {
    return make_error(Errc::invalid_input, "a DNS name must have 1 to 253 characters", where);
  }
  std::size_t start = 0;
  while (start <= rest.size()) {
    auto dot = rest.find('.', start);
    if (dot == std::string_view::npos) dot = rest.size();
    const auto label = rest.substr(start, dot - start);
    if (label.empty() || label.size() > 63 ||
        !std::all_of(label.begin(), label.end(), is_dns_label_char) || label.front() == '-' ||
        label.back() == '-') {
      return make_error(Errc::invalid_input,
                        "not a host name (labels of 1 to 63 letters, digits and '-', separated "
                        "by '.'; '*.' only in front)",
                        where);
    }
    start = dot + 1;
  }
  return {};
}

Result<void> add_subject_alt_names(X509* cert, const std::vector<std::string>& dns_names,
                                   const std::vector<std::string>& ips) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return ossl_error(Errc::backend_failed, "cannot allocate names", "subjectAltName");
  for (const auto& dns : dns_names) {
    if (auto ok = check_dns_name(dns); !ok) return tl::unexpected(ok.error());
    GeneralNamePtr gn(GENERAL_NAME_new());
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (!gn || ia5 == nullptr ||
        ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size())) != 1) {
      ASN1_IA5STRING_free(ia5);
      return ossl_error(Errc::backend_failed, "cannot build a DNS name", "subjectAltName");
    }
    GENERAL_NAME_set0_value(gn.get(), GEN_DNS, ia5);
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) == 0) {
      return ossl_error(Errc::backend_failed, "cannot build the names", "subjectAltName");
    }
    gn.release();
  }
  for (const auto& ip : ips) {
    unsigned char bytes[16];
    int len = 0;
    if (inet_pton(AF_INET, ip.c_str(), bytes) == 1) {
      len = 4;
    } else if (inet_pton(AF_INET6, ip.c_str(), bytes) == 1) {
      len = 16;
    } else {
      return make_error(Errc::invalid_input, "not an IPv4 or IPv6 address",
                        "ip_addresses: " + ip.substr(0, 80));
    }
    GeneralNamePtr gn(GENERAL_NAME_new());
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    if (!gn || os == nullptr || ASN1_OCTET_STRING_set(os, bytes, len) != 1) {
      ASN1_OCTET_STRING_free(os);
      return ossl_error(Errc::backend_failed, "cannot build an IP address", "subjectAltName");
    }
    GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, os);
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) == 0) {
      return ossl_error(Errc::backend_failed, "cannot build the names", "subjectAltName");
    }
    gn.release();
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return ossl_error(Errc::backend_failed, "cannot add subjectAltName", "subjectAltName");
  }
  return {};
}

Result<void> sign_cert(X509* cert, EVP_PKEY* key) {
  const EVP_MD* md = is_ed_key(key) ? nullptr : EVP_sha256();
  if (X509_sign(cert, key, md) <= 0) {
    return ossl_error(Errc::backend_failed, "cannot sign the certificate", "sign");
  }
  return {};
}

enum class LeafKind { server, client };

struct LeafSpec {
  std::string_view common_name;
  EVP_PKEY* public_key{nullptr};
  int validity_days{0};
  std::chrono::sys_seconds now{};
  LeafKind kind{LeafKind::server};
  const std::vector<std::string>* dns_names{nullptr};
  const std::vector<std::string>* ip_addresses{nullptr};
};

Result<X509Ptr> build_leaf(const LoadedCa& ca, const LeafSpec& spec) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return ossl_error(Errc::backend_failed, "cannot allocate a certificate", "certificate");
  }
  if (auto ok = set_random_serial(cert.get()); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_validity(cert.get(), spec.now, spec.validity_days); !ok) {
    return tl::unexpected(ok.error());
  }
  auto name = make_name(spec.common_name, "common_name");
  if (!name) return tl::unexpected(name.error());
  if (X509_set_subject_name(cert.get(), name->get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get())) != 1 ||
      X509_set_pubkey(cert.get(), spec.public_key) != 1) {
    return ossl_error(Errc::backend_failed, "cannot fill in the certificate", "certificate");
  }
  const bool server = spec.kind == LeafKind::server;
  for (const auto& [nid, value] : {
           std::pair{NID_basic_constraints, "critical,CA:FALSE"},
           std::pair{NID_key_usage, "critical,digitalSignature"},
           std::pair{NID_ext_key_usage, server ? "serverAuth" : "clientAuth"},
           std::pair{NID_subject_key_identifier, "hash"},
       }) {
    if (auto ok = add_ext(cert.get(), ca.cert.get(), nid, value); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (X509_get0_subject_key_id(ca.cert.get()) != nullptr) {
    if (auto ok = add_ext(cert.get(), ca.cert.get(), NID_authority_key_identifier, "keyid:always");
        !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (server) {
    if (auto ok = add_subject_alt_names(cert.get(), *spec.dns_names, *spec.ip_addresses); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (auto ok = sign_cert(cert.get(), ca.key.get()); !ok) return tl::unexpected(ok.error());
  return cert;
}

// Key types a client certificate may carry.
Result<void> check_client_key(EVP_PKEY* key) {
  const std::string type = key_type_name(key);
  const bool ok = type == "EC P-256" || type == "EC P-384" || type == "EC P-521" ||
                  type == "Ed25519" || (EVP_PKEY_is_a(key, "RSA") == 1 && EVP_PKEY_get_bits(key) >= 2048);
  if (!ok) {
    return make_error(Errc::invalid_input,
                      "the CSR's key is " + type +
                          "; accepted: EC P-256/P-384/P-521, Ed25519, RSA of 2048 bits or more",
                      "csr");
  }
  return {};
}

std::string asn1_string_utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  const int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) {
    ERR_clear_error();
    return {};
  }
  OsslBuf<unsigned char> owner(out);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

std::string name_cn(const X509_NAME* name) {
  if (name == nullptr) return {};
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return {};
  return asn1_string_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
}

std::string format_ip(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (len == 4 && inet_ntop(AF_INET, data, buf, sizeof buf) != nullptr) return buf;
  if (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof buf) != nullptr) return buf;
  return "?";
}

std::string format_time(std::chrono::sys_seconds t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return buf;
}

CertificateInfo info_of(X509* cert) {
  CertificateInfo info;
  info.subject_cn = name_cn(X509_get_subject_name(cert));
  info.issuer_cn = name_cn(X509_get_issuer_name(cert));
  if (BnPtr bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)}) {
    if (OsslBuf<char> hex{BN_bn2hex(bn.get())}) {
      info.serial_hex = hex.get();
      std::transform(info.serial_hex.begin(), info.serial_hex.end(), info.serial_hex.begin(),
                     [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
      const auto first = info.serial_hex.find_first_not_of('0');
      info.serial_hex = first == std::string::npos ? "0" : info.serial_hex.substr(first);
    }
  }
  info.not_before = asn1_time_to_sys(X509_get0_notBefore(cert));
  info.not_after = asn1_time_to_sys(X509_get0_notAfter(cert));
  const std::string der = cert_der(cert);
  info.fingerprint =
      sha256_fingerprint(reinterpret_cast<const unsigned char*>(der.data()), der.size());
  // X509_get_extension_flags computes the cached extension data (and flags invalid ones).
  const std::uint32_t flags = X509_get_extension_flags(cert);
  info.is_ca = (flags & EXFLAG_CA) != 0;
  if (const EVP_PKEY* key = X509_get0_pubkey(cert)) info.key_type = key_type_name(key);
  if ((flags & EXFLAG_KUSAGE) != 0) {
    const std::uint32_t ku = X509_get_key_usage(cert);
    info.key_cert_sign = (ku & KU_KEY_CERT_SIGN) != 0;
    info.crl_sign = (ku & KU_CRL_SIGN) != 0;
    info.digital_signature = (ku & KU_DIGITAL_SIGNATURE) != 0;
  }
  if ((flags & EXFLAG_XKUSAGE) != 0) {
    const std::uint32_t xku = X509_get_extended_key_usage(cert);
    info.server_auth = (xku & XKU_SSL_SERVER) != 0;
    info.client_auth = (xku & XKU_SSL_CLIENT) != 0;
  }
  if (GeneralNamesPtr names{static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))}) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
      int type = 0;
      const void* value = GENERAL_NAME_get0_value(gn, &type);
      if (type == GEN_DNS) {
        const auto* s = static_cast<const ASN1_IA5STRING*>(value);
        info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<std::size_t>(ASN1_STRING_length(s)));
      } else if (type == GEN_IPADD) {
        info.ip_addresses.push_back(format_ip(static_cast<const ASN1_OCTET_STRING*>(value)));
      }
    }
  }
  ERR_clear_error();
  info.has_subject_key_id = X509_get0_subject_key_id(cert) != nullptr;
  info.has_authority_key_id = X509_get0_authority_key_id(cert) != nullptr;
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    if (X509_EXTENSION_get_critical(ext) != 0) {
      info.critical_extensions.emplace_back(
          OBJ_nid2sn(OBJ_obj2nid(X509_EXTENSION_get_object(ext))));
    }
  }
  return info;
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

Result<CertAndKey> create_ca(const CaOptions& options) {
  if (auto ok = check_common_name(options.common_name, "common_name"); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = check_validity_days(options.validity_days, "validity_days"); !ok) {
    return tl::unexpected(ok.error());
  }
  auto key = generate_ec_p256();
  if (!key) return tl::unexpected(key.error());
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return ossl_error(Errc::backend_failed, "cannot allocate a certificate", "ca");
  }
  if (auto ok = set_random_serial(cert.get()); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_validity(cert.get(), now_or_clock(options.now), options.validity_days); !ok) {
    return tl::unexpected(ok.error());
  }
  auto name = make_name(options.common_name, "common_name");
  if (!name) return tl::unexpected(name.error());
  if (X509_set_subject_name(cert.get(), name->get()) != 1 ||
      X509_set_issuer_name(cert.get(), name->get()) != 1 ||
      X509_set_pubkey(cert.get(), key->get()) != 1) {
    return ossl_error(Errc::backend_failed, "cannot fill in the CA certificate", "ca");
  }
  for (const auto& [nid, value] : {
           std::pair{NID_basic_constraints, "critical,CA:TRUE"},
           std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
           std::pair{NID_subject_key_identifier, "hash"},
       }) {
    if (auto ok = add_ext(cert.get(), cert.get(), nid, value); !ok) return tl::unexpected(ok.error());
  }
  if (auto ok = sign_cert(cert.get(), key->get()); !ok) return tl::unexpected(ok.error());
  return CertAndKey{cert_to_pem(cert.get()), private_key_to_pem(key->get())};
}

Result<CertAndKey> issue_server_cert(const CertAndKey& ca, const ServerCertOptions& options) {
  auto loaded = load_ca(ca.cert_pem, ca.key_pem, "ca certificate", "ca key");
  if (!loaded) return tl::unexpected(loaded.error());
  if (options.dns_names.empty() && options.ip_addresses.empty()) {
    return make_error(Errc::invalid_input,
                      "a server certificate needs at least one DNS name or IP address",
                      "subjectAltName");
  }
  if (options.dns_names.size() + options.ip_addresses.size() > kMaxSubjectAltNames) {
    return make_error(Errc::invalid_input,
                      "at most " + std::to_string(kMaxSubjectAltNames) + " names are allowed",
                      "subjectAltName");
  }
  for (const auto& dns : options.dns_names) {
    if (auto ok = check_dns_name(dns); !ok) return tl::unexpected(ok.error());
  }
  for (const auto& ip : options.ip_addresses) {
    unsigned char bytes[16];
    if (inet_pton(AF_INET, ip.c_str(), bytes) != 1 && inet_pton(AF_INET6, ip.c_str(), bytes) != 1) {
      return make_error(Errc::invalid_input, "not an IPv4 or IPv6 address",
                        "ip_addresses: " + ip.substr(0, 80));
    }
  }
  // Without a common name, the first name stands for the server in logs.
  const std::string cn = !options.common_name.empty() ? options.common_name
                         : !options.dns_names.empty() ? options.dns_names.front()
                                                      : options.ip_addresses.front();
  if (auto ok = check_common_name(cn, "common_name"); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_validity_days(options.validity_days, "validity_days"); !ok) {
    return tl::unexpected(ok.error());
  }
  auto key = generate_ec_p256();
  if (!key) return tl::unexpected(key.error());
  LeafSpec spec{cn, key->get(), options.validity_days, now_or_clock(options.now), LeafKind::server,
                &options.dns_names, &options.ip_addresses};
  auto cert = build_leaf(*loaded, spec);
  if (!cert) return tl::unexpected(cert.error());
  return CertAndKey{cert_to_pem(cert->get()), private_key_to_pem(key->get())};
}

Result<KeyAndCsr> make_key_and_csr(std::string_view common_name) {
  if (auto ok = check_common_name(common_name, "common_name"); !ok) {
    return tl::unexpected(ok.error());
  }
  auto key = generate_ec_p256();
  if (!key) return tl::unexpected(key.error());
  X509ReqPtr req(X509_REQ_new());
  auto name = make_name(common_name, "common_name");
  if (!name) return tl::unexpected(name.error());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name->get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key->get()) != 1 ||
      X509_REQ_sign(req.get(), key->get(), EVP_sha256()) <= 0) {
    return ossl_error(Errc::backend_failed, "cannot build the certificate request", "csr");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return ossl_error(Errc::backend_failed, "cannot write the certificate request", "csr");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return KeyAndCsr{private_key_to_pem(key->get()),
                   std::string(data, static_cast<std::size_t>(std::max(n, 0L)))};
}

Result<std::string> sign_client_csr(const CertAndKey& ca, std::string_view csr_pem,
                                    const ClientCertOptions& options) {
  if (csr_pem.size() > kMaxCsrBytes) {
    return make_error(Errc::invalid_input,
                      "the CSR is " + std::to_string(csr_pem.size()) + " bytes; at most " +
                          std::to_string(kMaxCsrBytes) + " are accepted",
                      "csr");
  }
  if (auto ok = check_common_name(options.host_id, "host_id"); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = check_validity_days(options.validity_days, "validity_days"); !ok) {
    return tl::unexpected(ok.error());
  }
  if (csr_pem.empty()) return make_error(Errc::invalid_input, "the CSR is empty", "csr");
  BioPtr bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  if (!bio) return ossl_error(Errc::backend_failed, "cannot allocate a memory BIO", "csr");
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, refuse_password, nullptr));
  if (!req) {
    return ossl_error(Errc::invalid_input,
                      "no PEM certificate request (\"-----BEGIN CERTIFICATE REQUEST-----\") "
                      "could be read",
                      "csr");
  }
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(req.get());
  if (public_key == nullptr) {
    return ossl_error(Errc::invalid_input, "the CSR's public key cannot be read", "csr");
  }
  if (X509_REQ_verify(req.get(), public_key) != 1) {
    return ossl_error(Errc::invalid_input,
                      "the CSR's signature does not verify: it was altered or not signed by the "
                      "key it carries",
                      "csr");
  }
  if (auto ok = check_client_key(public_key); !ok) return tl::unexpected(ok.error());
  auto loaded = load_ca(ca.cert_pem, ca.key_pem, "ca certificate", "ca key");
  if (!loaded) return tl::unexpected(loaded.error());
  LeafSpec spec{options.host_id, public_key, options.validity_days, now_or_clock(options.now),
                LeafKind::client, nullptr, nullptr};
  auto cert = build_leaf(*loaded, spec);
  if (!cert) return tl::unexpected(cert.error());
  ERR_clear_error();
  return cert_to_pem(cert->get());
}

Result<std::string> fingerprint_sha256(std::string_view cert_pem) {
  auto cert = read_cert(cert_pem, "certificate");
  if (!cert) return tl::unexpected(cert.error());
  const std::string der = cert_der(cert->get());
  return sha256_fingerprint(reinterpret_cast<const unsigned char*>(der.data()), der.size());
}

std::string fingerprint_sha256_der(std::string_view der) {
  return sha256_fingerprint(reinterpret_cast<const unsigned char*>(der.data()), der.size());
}

Result<CertificateInfo> certificate_info(std::string_view cert_pem) {
  auto cert = read_cert(cert_pem, "certificate");
  if (!cert) return tl::unexpected(cert.error());
  return info_of(cert->get());
}

Result<std::string> certificate_pem_from_der(std::string_view der) {
  if (der.size() > kMaxPemBytes) {
    return make_error(Errc::invalid_input, "the certificate is too large", "certificate");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return ossl_error(Errc::invalid_input, "not a DER certificate", "certificate");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return make_error(Errc::invalid_input, "bytes after the DER certificate", "certificate");
  }
  return cert_to_pem(cert.get());
}

bool needs_rotation(const CertificateInfo& info, std::chrono::sys_seconds now, double fraction) {
  if (std::isnan(fraction)) fraction = 1.0;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const auto total = (info.not_after - info.not_before).count();
  const auto remaining = (info.not_after - now).count();
  if (total <= 0 || remaining <= 0) return true;
  return static_cast<double>(remaining) < fraction * static_cast<double>(total);
}

Result<void> verify_chain(std::string_view cert_pem, std::string_view ca_cert_pem,
                          std::chrono::sys_seconds now, Purpose purpose) {
  auto cert = read_cert(cert_pem, "certificate");
  if (!cert) return tl::unexpected(cert.error());
  auto ca = read_cert(ca_cert_pem, "ca certificate");
  if (!ca) return tl::unexpected(ca.error());
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca->get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1) {
    return ossl_error(Errc::backend_failed, "cannot set up chain verification", "certificate");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now.time_since_epoch().count()));
  if (purpose != Purpose::any) {
    const int id = purpose == Purpose::server ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
    if (X509_STORE_CTX_set_purpose(ctx.get(), id) != 1) {
      return ossl_error(Errc::backend_failed, "cannot set the purpose", "certificate");
    }
  }
  if (X509_verify_cert(ctx.get()) == 1) {
    ERR_clear_error();
    return {};
  }
  ERR_clear_error();
  const int err = X509_STORE_CTX_get_error(ctx.get());
  std::string message = X509_verify_cert_error_string(err);
  X509* at = X509_STORE_CTX_get_current_cert(ctx.get());
  const bool on_ca = at != nullptr && X509_cmp(at, ca->get()) == 0;
  if (err == X509_V_ERR_CERT_HAS_EXPIRED && at != nullptr) {
    message += " (not after " + format_time(asn1_time_to_sys(X509_get0_notAfter(at))) +
               ", now " + format_time(now) + ")";
  } else if (err == X509_V_ERR_CERT_NOT_YET_VALID && at != nullptr) {
    message += " (not before " + format_time(asn1_time_to_sys(X509_get0_notBefore(at))) +
               ", now " + format_time(now) + ")";
  }
  return make_error(Errc::invalid_input, message, on_ca ? "ca certificate" : "certificate");
}

Result<std::string> ca_fingerprint(std::string_view ca_cert_pem) {
  auto cert = read_cert(ca_cert_pem, "ca certificate");
  if (!cert) return tl::unexpected(cert.error());
  if ((X509_get_extension_flags(cert->get()) & EXFLAG_CA) == 0) {
    return make_error(Errc::invalid_input,
                      "the certificate is not a CA (basicConstraints CA:TRUE is missing)",
                      "ca certificate");
  }
  const std::string der = cert_der(cert->get());
  return sha256_fingerprint(reinterpret_cast<const unsigned char*>(der.data()), der.size());
}

Result<std::string> normalize_fingerprint(std::string_view text) {
  const auto bad = [&](std::string why) {
    return make_error(Errc::invalid_input,
                      std::move(why) + "; expected sha256:<64 hex digits> (colons between "
                                       "pairs allowed)",
                      "fingerprint");
  };
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  const auto strip_prefix = [&](std::string_view prefix) {
    if (text.size() >= prefix.size() &&
        std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      text.remove_prefix(prefix.size());
      return true;
    }
    return false;
  };
  if (!strip_prefix("sha256:")) strip_prefix("sha256 fingerprint=");
  std::string hex;
  bool colons = false;
  for (const char c : text) {
    if (c == ':') {
      colons = true;
      continue;
    }
    if (!is_hex(c)) return bad("not a hex digit in the fingerprint");
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64) return bad("a SHA-256 fingerprint has 64 hex digits, not " + std::to_string(hex.size()));
  if (colons) {
    // Pairs separated by single colons, as openssl prints them.
    if (text.size() != 64 + 31) return bad("colons must separate pairs of hex digits");
    for (std::size_t i = 2; i < text.size(); i += 3) {
      if (text[i] != ':') return bad("colons must separate pairs of hex digits");
    }
  }
  return "sha256:" + hex;
}

Result<void> check_ca_fingerprint(std::string_view ca_cert_pem, std::string_view pinned) {
  auto want = normalize_fingerprint(pinned);
  if (!want) return tl::unexpected(want.error());
  auto have = ca_fingerprint(ca_cert_pem);
  if (!have) return tl::unexpected(have.error());
  if (*have != *want) {
    return make_error(Errc::invalid_input,
                      "the server's CA certificate has fingerprint " + *have +
                          ", not the pinned " + *want + ": refusing to trust it",
                      "ca certificate");
  }
  return {};
}

}  // namespace pf::pki
