// SPDX-License-Identifier: Apache-2.0
#include "patchflow/auth/duration.hpp"

#include <cstdint>

#include "text.hpp"

namespace pf::auth {

Result<std::chrono::seconds> parse_duration(std::string_view text, std::string_view where) {
  auto fail = [&](std::string why) {
    return make_error(Errc::invalid_input,
                      "invalid duration " + detail::quote(text) + ": " + std::move(why),
                      std::string(where));
  };
  if (text.empty()) return fail("empty (expected e.g. 30s, 90m, 24h or 7d)");
  if (text.size() > 32) return fail("longer than 32 characters");
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return fail("expected a whole number of s, m, h or d, e.g. 24h");
  if (digits == text.size()) return fail("missing unit (s, m, h or d)");
  if (digits + 1 != text.size()) {
    return fail("expected one number and one unit (s, m, h or d), e.g. 24h");
  }
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return fail("unknown unit (expected s, m, h or d)");
  }
  // Digits beyond the bound stop the loop before the product can overflow.
  const std::int64_t max = kMaxDuration.count();
  std::int64_t n = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    n = n * 10 + (text[i] - '0');
    if (n > max / unit) return fail("longer than 10 years (3650d)");
  }
  if (n == 0) return fail("must be positive");
  return std::chrono::seconds(n * unit);
}

std::string format_duration(std::chrono::seconds d) {
  PF_ASSERT(d.count() > 0);
  const std::int64_t s = d.count();
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

}  // namespace pf::auth
