// SPDX-License-Identifier: Apache-2.0
// Small byte-scanning helpers for the version comparators (private to core).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pf::versions::detail {

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_alnum(char c) noexcept { return is_digit(c) || is_alpha(c); }
// dpkg's c_isspace: the C locale's white space.
inline bool is_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

/// 0x80 in every byte of x that is zero, 0 elsewhere (exact, no false positives).
inline std::uint64_t zero_bytes(std::uint64_t x) noexcept {
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  return ~(((x & kLow7) + kLow7) | x | kLow7);
}

/// 0x80 in every byte of x equal to c.
inline std::uint64_t bytes_equal(std::uint64_t x, char c) noexcept {
  return zero_bytes(x ^ (0x0101010101010101ULL * static_cast<unsigned char>(c)));
}

/// 0x80 in every byte of x that is <= 0x20 (white space, control characters, NUL).
inline std::uint64_t low_bytes(std::uint64_t x) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  // Per byte b: (b & 0x7f) + 0x5f has its high bit set exactly when b & 0x7f > 0x20, and
  // cannot carry into the next byte; or-ing b marks bytes >= 0x80 as not low either.
  return ~((((x & ~kHigh) + kOnes * 0x5f) | x)) & kHigh;
}

/// What one pass over a version string finds: where the first `first` and the last `last`
/// characters are (npos when absent) and whether any byte is <= 0x20.
struct Landmarks {
  std::size_t first{std::string_view::npos};
  std::size_t last{std::string_view::npos};
  bool low{false};
};

#if defined(__SSE2__)

/// s[0, min(16, rem)) zero-padded, without touching a byte past the end (overlapping
/// fixed-size loads: a variable-length memcpy costs more than a whole comparison).
inline __m128i load_upto16_exact(const char* p, std::size_t rem) noexcept {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  if (rem > 8) {
    std::memcpy(&lo, p, 8);
    std::memcpy(&hi, p + rem - 8, 8);
    hi >>= 8 * (16 - rem);
  } else if (rem == 8) {
    std::memcpy(&lo, p, 8);
  } else if (rem >= 4) {
    std::uint32_t a;
    std::uint32_t b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + rem - 4, 4);
    lo = a | (std::uint64_t{b} << (8 * (rem - 4)));
  } else if (rem > 0) {
    const auto byte = [&](std::size_t k) {
      return std::uint64_t{static_cast<unsigned char>(p[k])} << (8 * k);
    };
    lo = byte(0) | byte(rem >> 1) | byte(rem - 1);
  }
  return _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo));
}

/// Sixteen bytes from p, of which the first min(16, rem) are the string's: callers mask the
/// others off and never use them. When fewer than 16 remain, the load still reads 16 bytes if
/// they lie in the 4 KiB page that holds p, which cannot fault; the address sanitizer is told
/// not to check this one load because it may cover a neighbouring object's bytes. Only a
/// string ending near a page boundary takes the exact, slower path. Versions are short, so
/// this turns most scans into one load and no length-dependent branches.
__attribute__((no_sanitize_address)) inline __m128i load16(const char* p,
                                                            std::size_t rem) noexcept {
  if ((reinterpret_cast<std::uintptr_t>(p) & 4095) <= 4096 - 16 || rem >= 16) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
  return load_upto16_exact(p, rem);
}

inline unsigned valid_mask(std::size_t rem) noexcept {
  return rem >= 16 ? 0xffffu : (1u << rem) - 1;
}

/// Bit i set when byte i of x is an ASCII digit.
inline unsigned digit_mask(__m128i x) noexcept {
  const __m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));
  return static_cast<unsigned>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d)));
}

/// Start of the run of digits that ends at s[k - 1] (k when s[k - 1] is not a digit).
inline std::size_t digit_run_start(std::string_view s, std::size_t k) noexcept {
  while (k > 0) {
    const std::size_t base = k >= 16 ? k - 16 : 0;
    const std::size_t len = k - base;
    const unsigned non_digits = ~digit_mask(load16(s.data() + base, s.size() - base)) &
                                valid_mask(len);
    if (non_digits != 0) return base + static_cast<std::size_t>(32 - std::countl_zero(non_digits));
    k = base;
  }
  return 0;
}

/// Length of the longest common prefix, sixteen bytes at a time.
inline std::size_t common_prefix(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; i += 16) {
    const std::size_t rem = n - i;
    const __m128i x = load16(a.data() + i, rem);
    const __m128i y = load16(b.data() + i, rem);
    const unsigned diff =
        ~static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, y))) & valid_mask(rem);
    if (diff != 0) return i + static_cast<std::size_t>(std::countr_zero(diff));
  }
  return n;
}

/// One pass, sixteen bytes at a time (versions are short: usually one step); this beats
/// memchr + memrchr + a validity loop, each of which would walk the string again.
inline Landmarks find_landmarks(std::string_view s, char first, char last) noexcept {
  Landmarks r;
  const std::size_t n = s.size();
  const __m128i vf = _mm_set1_epi8(first);
  const __m128i vl = _mm_set1_epi8(last);
  const __m128i v20 = _mm_set1_epi8(0x20);
  unsigned low = 0;
  for (std::size_t i = 0; i < n; i += 16) {
    const std::size_t rem = n - i;
    const __m128i x = load16(s.data() + i, rem);
    const unsigned valid = valid_mask(rem);
    const auto f = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, vf))) & valid;
    const auto l = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, vl))) & valid;
    // x <= 0x20 as unsigned bytes exactly when min(x, 0x20) == x.
    low |= static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, v20), x))) &
           valid;
    if (f != 0 && r.first == std::string_view::npos) {
      r.first = i + static_cast<std::size_t>(std::countr_zero(f));
    }
    if (l != 0) r.last = i + static_cast<std::size_t>(31 - std::countl_zero(l));
  }
  r.low = low != 0;
  return r;
}

#else

/// Length of the longest common prefix, eight bytes at a time (portable fallback).
inline std::size_t common_prefix(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= n; i += 8) {
      std::uint64_t x;
      std::uint64_t y;
      std::memcpy(&x, a.data() + i, 8);
      std::memcpy(&y, b.data() + i, 8);
      if (x != y) return i + static_cast<std::size_t>(std::countr_zero(x ^ y) >> 3);
    }
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

/// Start of the run of digits that ends at s[k - 1] (portable fallback).
inline std::size_t digit_run_start(std::string_view s, std::size_t k) noexcept {
  while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9') --k;
  return k;
}

/// Portable fallback: one pass, eight bytes at a time.
inline Landmarks find_landmarks(std::string_view s, char first, char last) noexcept {
  static_assert(std::endian::native == std::endian::little);
  Landmarks r;
  std::uint64_t low = 0;
  std::size_t i = 0;
  const std::size_t n = s.size();
  auto step = [&](std::uint64_t x, std::uint64_t valid) {
    const std::uint64_t f = bytes_equal(x, first) & valid;
    const std::uint64_t l = bytes_equal(x, last) & valid;
    low |= low_bytes(x) & valid;
    if (f != 0 && r.first == std::string_view::npos) {
      r.first = i + static_cast<std::size_t>(std::countr_zero(f) >> 3);
    }
    if (l != 0) r.last = i + static_cast<std::size_t>((63 - std::countl_zero(l)) >> 3);
  };
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    step(x, ~std::uint64_t{0});
  }
  if (i < n) {
    std::uint64_t x = 0;
    for (std::size_t k = 0; i + k < n; ++k) {
      x |= std::uint64_t{static_cast<unsigned char>(s[i + k])} << (8 * k);
    }
    step(x, (std::uint64_t{1} << (8 * (n - i))) - 1);
  }
  r.low = low != 0;
  return r;
}

#endif

/// How an offending byte is shown in an error: the character itself when printable.
inline std::string show_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string(1, '\'') + c + '\'';
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "byte 0x";
  out += kHex[u >> 4];
  out += kHex[u & 15];
  return out;
}

}  // namespace pf::versions::detail
