// SPDX-License-Identifier: Apache-2.0
// Ed25519 signatures over work items: the server signs, agents verify before running anything.
#pragma once

#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::pki {

/// An Ed25519 key pair: PKCS#8 "BEGIN PRIVATE KEY" and SubjectPublicKeyInfo "BEGIN PUBLIC KEY".
struct SigningKey {
  std::string private_pem;
  std::string public_pem;
};

[[nodiscard]] Result<SigningKey> generate_signing_key();

/// The public half of an Ed25519 private key, PEM.
[[nodiscard]] Result<std::string> signing_public_key(std::string_view private_pem);

/// Signs `bytes` (the exact bytes the agent will verify, e.g. the canonical JSON of a work
/// item). The signature is returned as standard base64 with padding (RFC 4648 §4) of the
/// 64-byte Ed25519 signature: 88 characters, safe in JSON and HTTP headers.
/// Errc::invalid_input when the key is not PEM or not Ed25519.
[[nodiscard]] Result<std::string> sign(std::string_view private_pem, std::string_view bytes);

/// Succeeds only when `signature` (base64 as sign() returns it; strict: no white space, correct
/// padding, 64 bytes decoded) is a valid Ed25519 signature of `bytes` by `public_pem`.
/// Errc::invalid_input with a reason otherwise ("signature does not verify", "not Ed25519",
/// "signature is not base64", ...): any error means "do not run it".
[[nodiscard]] Result<void> verify(std::string_view public_pem, std::string_view bytes,
                                  std::string_view signature);

/// "sha256:" + lower-case hex of SHA-256 over the public key's DER SubjectPublicKeyInfo, so
/// agents and operators can compare keys by a short string. Takes a public key PEM.
[[nodiscard]] Result<std::string> public_key_fingerprint(std::string_view public_pem);

}  // namespace pf::pki
