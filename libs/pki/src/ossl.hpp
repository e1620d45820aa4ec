// SPDX-License-Identifier: Apache-2.0
// Private to libs/pki: RAII owners for OpenSSL objects, the error queue turned into pf::Error,
// and PEM reading/writing with bounds.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::pki::detail {

template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const noexcept { Free(p); }
};

// BIO_free returns int; wrapped so that it fits the Freer shape.
inline void bio_free(BIO* b) { BIO_free(b); }

using BioPtr = std::unique_ptr<BIO, Freer<BIO, bio_free>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Freer<X509_REQ, X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Freer<X509_NAME, X509_NAME_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION, X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Freer<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Freer<X509_STORE_CTX, X509_STORE_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX, EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Freer<BIGNUM, BN_free>>;
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, Freer<ASN1_INTEGER, ASN1_INTEGER_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Freer<GENERAL_NAME, GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Freer<GENERAL_NAMES, GENERAL_NAMES_free>>;

/// OPENSSL_free is a macro; this is a function owner for buffers OpenSSL allocates.
struct OpensslFree {
  void operator()(void* p) const noexcept;
};
template <class T>
using OsslBuf = std::unique_ptr<T, OpensslFree>;

/// Drains this thread's OpenSSL error queue into "reason; reason" (empty when it was empty).
std::string drain_errors();

/// make_error with the drained OpenSSL reasons appended to the message (the queue is always
/// left empty, so a later call does not report stale reasons).
Unexpected ossl_error(Errc code, std::string message, std::string where);

/// A pass-phrase callback that refuses: PEM input with "Proc-Type: 4,ENCRYPTED" headers must
/// never make OpenSSL prompt on a terminal.
int refuse_password(char* buf, int size, int rwflag, void* u);

/// Reads the first certificate of a PEM text. `what` names the input in errors.
Result<X509Ptr> read_cert(std::string_view pem, std::string_view what);
/// An unencrypted private key (PKCS#8 or traditional PEM); encrypted keys are refused, never
/// prompted for.
Result<PkeyPtr> read_private_key(std::string_view pem, std::string_view what);
/// A SubjectPublicKeyInfo "BEGIN PUBLIC KEY".
Result<PkeyPtr> read_public_key(std::string_view pem, std::string_view what);

std::string cert_to_pem(X509* cert);
std::string private_key_to_pem(EVP_PKEY* key);
std::string public_key_to_pem(EVP_PKEY* key);

/// "sha256:" + lower-case hex.
std::string sha256_fingerprint(const unsigned char* data, std::size_t size);
/// DER of a certificate, as bytes in a string.
std::string cert_der(X509* cert);

/// "EC P-256", "Ed25519", "RSA 2048", ... for messages and CertificateInfo.
std::string key_type_name(const EVP_PKEY* key);
bool is_ed_key(const EVP_PKEY* key);

/// A new EC P-256 key.
Result<PkeyPtr> generate_ec_p256();

std::chrono::sys_seconds asn1_time_to_sys(const ASN1_TIME* t);

/// The CA as the issuing functions use it: certificate, key, and the checks that they belong
/// together and that the certificate is a CA allowed to sign certificates.
struct LoadedCa {
  X509Ptr cert;
  PkeyPtr key;
};
Result<LoadedCa> load_ca(std::string_view cert_pem, std::string_view key_pem,
                         std::string_view cert_where, std::string_view key_where);

/// Checks that `key` is the private key of `cert`.
Result<void> check_key_matches(X509* cert, EVP_PKEY* key, std::string_view key_where);

/// Checks that `cert` names `ca` as its issuer and carries a signature by `ca`'s key.
Result<void> check_issued_by(X509* cert, X509* ca, std::string_view where);

}  // namespace pf::pki::detail
