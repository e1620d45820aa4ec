// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace pf::auth::detail {

/// `text` in double quotes for an error message: at most `limit` bytes (then "..."), bytes
/// outside printable ASCII as \xHH, quotes and backslashes escaped.
[[nodiscard]] inline std::string quote(std::string_view text, std::size_t limit = 64) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  const std::size_t n = text.size() < limit ? text.size() : limit;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += '"';
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace pf::auth::detail
