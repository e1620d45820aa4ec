// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::auth {

/// What a bearer token is for; its prefix says so, so that a leaked token is recognisable
/// (secret scanners) and one kind is never accepted where another is expected.
enum class TokenKind {
  api,         ///< "pfa_": API tokens of users and automation
  enrollment,  ///< "pfe_": one-time agent enrollment tokens
  session,     ///< "pfs_": web console sessions
};

/// "pfa_", "pfe_" or "pfs_".
[[nodiscard]] std::string_view token_prefix(TokenKind kind) noexcept;
/// "api", "enrollment" or "session".
[[nodiscard]] std::string_view to_string(TokenKind kind) noexcept;

/// 32 random bytes (getrandom(2)) in base64url without padding: 43 characters after the prefix.
inline constexpr std::size_t kTokenRandomBytes = 32;
inline constexpr std::size_t kTokenLength = 4 + 43;
/// Characters of the secret shown by token_id.
inline constexpr std::size_t kTokenIdChars = 8;

/// A new token: prefix + 43 base64url characters. Error: io when getrandom fails.
[[nodiscard]] Result<std::string> generate_token(TokenKind kind);

/// The token's kind when `text` is a well-formed token: the right length (checked first, so a
/// long input costs nothing), a known prefix, only base64url characters, and the last character
/// one that 32 bytes can end with (each token has a single spelling). Errors (invalid_input,
/// where = "token") say what is wrong and never quote the token.
[[nodiscard]] Result<TokenKind> parse_token(std::string_view text);

/// "sha256:" + 64 lower-case hex digits of SHA-256(token): the only form that is stored.
[[nodiscard]] std::string token_hash(std::string_view token);

/// A short, non-secret name for listings and the audit log: the prefix and the first 8
/// characters of the secret ("pfa_Xy3kQ9-a"); 48 of the 256 random bits, the other 208 stay
/// secret. Error when `token` does not parse.
[[nodiscard]] Result<std::string> token_id(std::string_view token);

/// Equality whose time depends on the lengths only, never on where the contents differ.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace pf::auth
