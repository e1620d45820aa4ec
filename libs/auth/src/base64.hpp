// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pf::auth::detail {

enum class Alphabet {
  standard,  ///< A-Z a-z 0-9 + /   (the PHC string format)
  url,       ///< A-Z a-z 0-9 - _   (tokens, RFC 4648 §5)
};

/// Base64 without padding.
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes, Alphabet alphabet);

/// The 6-bit value of `c` in `alphabet`, or -1.
[[nodiscard]] int base64_value(char c, Alphabet alphabet) noexcept;

/// Decodes canonical base64 without padding: only alphabet characters, a length that is not
/// 1 mod 4, and zero bits after the last whole byte (so each byte string has one spelling).
/// nullopt otherwise.
[[nodiscard]] std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text,
                                                                     Alphabet alphabet);

}  // namespace pf::auth::detail
