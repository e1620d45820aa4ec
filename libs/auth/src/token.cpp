// SPDX-License-Identifier: Apache-2.0
#include "patchflow/auth/token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>

#include "base64.hpp"
#include "random.hpp"

namespace pf::auth {
namespace {

constexpr std::size_t kPrefixLength = 4;
constexpr std::size_t kSecretLength = kTokenLength - kPrefixLength;  // 43
static_assert(kSecretLength == (kTokenRandomBytes * 4 + 2) / 3);

Unexpected token_error(std::string message) {
  return make_error(Errc::invalid_input, std::move(message), "token");
}

}  // namespace

std::string_view token_prefix(TokenKind kind) noexcept {
  switch (kind) {
    case TokenKind::api: return "pfa_";
    case TokenKind::enrollment: return "pfe_";
    case TokenKind::session: return "pfs_";
  }
  return "pf?_";
}

std::string_view to_string(TokenKind kind) noexcept {
  switch (kind) {
    case TokenKind::api: return "api";
    case TokenKind::enrollment: return "enrollment";
    case TokenKind::session: return "session";
  }
  return "unknown";
}

Result<std::string> generate_token(TokenKind kind) {
  std::array<std::uint8_t, kTokenRandomBytes> bytes{};
  if (auto ok = detail::random_bytes(bytes); !ok) return Unexpected(ok.error());
  std::string token(token_prefix(kind));
  token += detail::base64_encode(bytes, detail::Alphabet::url);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return token;
}

Result<TokenKind> parse_token(std::string_view text) {
  // The length first: nothing else of an oversize input is looked at.
  if (text.size() != kTokenLength) {
    return token_error("a token is " + std::to_string(kTokenLength) + " characters, not " +
                       std::to_string(text.size()));
  }
  TokenKind kind{};
  const std::string_view prefix = text.substr(0, kPrefixLength);
  if (prefix == "pfa_") {
    kind = TokenKind::api;
  } else if (prefix == "pfe_") {
    kind = TokenKind::enrollment;
  } else if (prefix == "pfs_") {
    kind = TokenKind::session;
  } else {
    return token_error("unknown token prefix (expected pfa_, pfe_ or pfs_)");
  }
  const std::string_view secret = text.substr(kPrefixLength);
  for (std::size_t i = 0; i < secret.size(); ++i) {
    if (detail::base64_value(secret[i], detail::Alphabet::url) < 0) {
      return token_error("character " + std::to_string(kPrefixLength + i + 1) +
                         " is not base64url (A-Z a-z 0-9 - _)");
    }
  }
  // 43 characters carry 258 bits; the last 2 are zero in every token generate_token makes.
  if ((detail::base64_value(secret.back(), detail::Alphabet::url) & 3) != 0) {
    return token_error("the last character cannot end a 32-byte token");
  }
  return kind;
}

std::string token_hash(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const int ok = EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(),
                            nullptr);
  PF_ASSERT(ok == 1 && length == 32);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  out.reserve(7 + 64);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

Result<std::string> token_id(std::string_view token) {
  if (auto kind = parse_token(token); !kind) return Unexpected(kind.error());
  return std::string(token.substr(0, kPrefixLength + kTokenIdChars));
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pf::auth
