// SPDX-License-Identifier: Apache-2.0
// The server's own certificate authority: the CA, the server certificate, agents' client
// certificates from their CSRs, and reading certificates back. PEM strings in and out; OpenSSL
// stays inside the library.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::pki {

/// Largest PEM input accepted by any function here (a certificate chain or a key).
inline constexpr std::size_t kMaxPemBytes = 256 * 1024;
/// Largest certificate signing request accepted by sign_client_csr.
inline constexpr std::size_t kMaxCsrBytes = 16 * 1024;
/// Longest common name (RFC 5280 ub-common-name), in bytes.
inline constexpr std::size_t kMaxCommonNameBytes = 64;
/// Certificates are back-dated by this much so that a peer whose clock is slightly behind
/// accepts a certificate issued a moment ago.
inline constexpr std::chrono::seconds kClockSkewAllowance{300};

/// A certificate and its private key, both PEM. Keys are unencrypted PKCS#8
/// ("BEGIN PRIVATE KEY"); keep them in files of mode 0600 (save_pem).
struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

/// For every issuing function: the certificate is valid from `now - kClockSkewAllowance` to
/// `now + validity_days`; `now` defaults to the system clock (tests inject it).
struct CaOptions {
  std::string common_name{"patchflow CA"};
  int validity_days{3650};
  std::optional<std::chrono::sys_seconds> now;
};

struct ServerCertOptions {
  std::string common_name;
  std::vector<std::string> dns_names;     ///< subjectAltName DNS entries ("*.example" allowed)
  std::vector<std::string> ip_addresses;  ///< subjectAltName IP entries, IPv4 or IPv6 text
  int validity_days{397};
  std::optional<std::chrono::sys_seconds> now;
};

struct ClientCertOptions {
  std::string host_id;  ///< becomes the subject CN, whatever the CSR asked for
  int validity_days{90};
  std::optional<std::chrono::sys_seconds> now;
};

/// What an agent keeps (key_pem, never sent) and what it sends (csr_pem).
struct KeyAndCsr {
  std::string key_pem;
  std::string csr_pem;
};

/// A certificate read back. Every field is what the certificate says, nothing is checked.
struct CertificateInfo {
  std::string subject_cn;  ///< empty when the subject has no CN
  std::string issuer_cn;
  std::string serial_hex;  ///< lower-case hex, no leading zeros
  std::chrono::sys_seconds not_before{};
  std::chrono::sys_seconds not_after{};
  std::string fingerprint;  ///< fingerprint_sha256 of the DER
  bool is_ca{false};        ///< basicConstraints CA:TRUE
  std::string key_type;     ///< "EC P-256", "EC P-384", "Ed25519", "RSA 2048", ...
  // keyUsage bits (all false when the extension is absent).
  bool key_cert_sign{false};
  bool crl_sign{false};
  bool digital_signature{false};
  // extendedKeyUsage purposes (all false when the extension is absent).
  bool server_auth{false};
  bool client_auth{false};
  std::vector<std::string> dns_names;     ///< subjectAltName DNS entries, in order
  std::vector<std::string> ip_addresses;  ///< subjectAltName IP entries, as inet_ntop prints them
  bool has_subject_key_id{false};
  bool has_authority_key_id{false};
  /// Short names of the extensions marked critical ("basicConstraints", "keyUsage", ...).
  std::vector<std::string> critical_extensions;
};

/// What a certificate must be good for in verify_chain (its extendedKeyUsage, when present).
enum class Purpose { any, server, client };

/// A new self-signed CA: EC P-256 key, random 128-bit serial, basicConstraints CA:TRUE
/// (critical), keyUsage keyCertSign + cRLSign (critical), subjectKeyIdentifier, ECDSA-SHA256.
/// Errc::invalid_input for a bad common name or validity.
[[nodiscard]] Result<CertAndKey> create_ca(const CaOptions& options);

/// A server certificate signed by `ca` with a new EC P-256 key: CN, subjectAltName (at least one
/// DNS name or IP address is required), keyUsage digitalSignature (critical), extendedKeyUsage
/// serverAuth, basicConstraints CA:FALSE (critical), subject and authority key identifiers.
/// Errors: a CA whose key does not match its certificate or that is not a CA; a DNS name that
/// is not a host name; an IP address that does not parse.
[[nodiscard]] Result<CertAndKey> issue_server_cert(const CertAndKey& ca,
                                                   const ServerCertOptions& options);

/// Agent side: a new EC P-256 key and a CSR for it, subject CN = common_name, signed by the key.
[[nodiscard]] Result<KeyAndCsr> make_key_and_csr(std::string_view common_name);

/// Server side: a client certificate for the key in `csr_pem`. The CSR's self-signature must
/// verify; its subject and any extensions it asks for are ignored: the subject is CN = host_id,
/// with keyUsage digitalSignature (critical), extendedKeyUsage clientAuth, CA:FALSE (critical).
/// Accepted keys: EC P-256/P-384/P-521, Ed25519, RSA of at least 2048 bits.
/// Errc::invalid_input for a CSR over kMaxCsrBytes, not PEM, with a bad signature or another
/// key type, and for a host id that cannot be a CN.
[[nodiscard]] Result<std::string> sign_client_csr(const CertAndKey& ca, std::string_view csr_pem,
                                                  const ClientCertOptions& options);

/// "sha256:" + lower-case hex of SHA-256 over the certificate's DER (the first certificate in
/// the PEM). Errc::invalid_input when there is no certificate.
[[nodiscard]] Result<std::string> fingerprint_sha256(std::string_view cert_pem);
/// The same over DER bytes as given (a certificate as a TLS peer presents it).
[[nodiscard]] std::string fingerprint_sha256_der(std::string_view der);

/// The first certificate in `cert_pem`, read back.
[[nodiscard]] Result<CertificateInfo> certificate_info(std::string_view cert_pem);

/// PEM of one DER certificate (what a TLS library hands over); checks that it parses.
[[nodiscard]] Result<std::string> certificate_pem_from_der(std::string_view der);

/// True when less than `fraction` (0..1, e.g. 1.0 / 3) of the validity period remains at `now`,
/// or the certificate has expired, or its period is empty.
[[nodiscard]] bool needs_rotation(const CertificateInfo& info, std::chrono::sys_seconds now,
                                  double fraction);

/// Checks that the first certificate in `cert_pem` was issued by the CA in `ca_cert_pem` and is
/// valid at `now` (the CA too), and that its extendedKeyUsage allows `purpose`. Errors
/// (Errc::invalid_input) say why: "certificate has expired (not after ...)", "not yet valid",
/// "unable to get local issuer certificate" (another CA), ...
[[nodiscard]] Result<void> verify_chain(std::string_view cert_pem, std::string_view ca_cert_pem,
                                        std::chrono::sys_seconds now,
                                        Purpose purpose = Purpose::any);

/// The fingerprint an operator gives an agent (`--ca-fingerprint`) to pin the server's CA:
/// fingerprint_sha256 of the CA certificate, which must be a CA.
[[nodiscard]] Result<std::string> ca_fingerprint(std::string_view ca_cert_pem);

/// A fingerprint as a person may type it: "sha256:<hex>", "<hex>", or hex pairs separated by
/// ':' as `openssl x509 -fingerprint -sha256` prints them, any case. Returns the canonical
/// "sha256:<64 lower-case hex>". Errc::invalid_input for anything else.
[[nodiscard]] Result<std::string> normalize_fingerprint(std::string_view text);

/// Checks a CA certificate fetched from a server not yet trusted against the pinned
/// fingerprint. Errc::invalid_input naming both fingerprints when they differ, or when the
/// certificate is not a CA.
[[nodiscard]] Result<void> check_ca_fingerprint(std::string_view ca_cert_pem,
                                                std::string_view pinned);

}  // namespace pf::pki
