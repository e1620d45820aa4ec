// SPDX-License-Identifier: Apache-2.0
// Debian version parsing and ordering, following dpkg's parseversion() and verrevcmp().
#include <array>
#include <climits>
#include <cstring>
#include <string>

#include "patchflow/core/versions.hpp"
#include "text_scan.hpp"

namespace pf::versions {
namespace {

using detail::is_alpha;
using detail::is_digit;
using detail::is_space;

// verrevcmp's weight of a character: '~' < end of string = digits < letters < the rest.
// dpkg works on plain (signed, on x86) chars, so bytes >= 0x80 weigh c - 256 + 256.
constexpr std::array<int, 256> make_order_table() {
  std::array<int, 256> t{};
  for (int u = 0; u < 256; ++u) {
    const int c = u < 128 ? u : u - 256;
    if (u >= '0' && u <= '9') {
      t[u] = 0;
    } else if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) {
      t[u] = c;
    } else if (u == '~') {
      t[u] = -1;
    } else if (u != 0) {
      t[u] = c + 256;
    } else {
      t[u] = 0;
    }
  }
  return t;
}
constexpr std::array<int, 256> kOrder = make_order_table();

inline int weight(std::string_view s, std::size_t i) noexcept {
  return i < s.size() ? kOrder[static_cast<unsigned char>(s[i])] : 0;
}

inline int sign(int v) noexcept { return (v > 0) - (v < 0); }

// dpkg's verrevcmp on views. Both sides agree up to their common prefix, so comparison starts
// there, backed up to the start of the digit run it may cut (a digit run compares as a whole;
// non-digit characters compare one by one and carry no state).
// `start` must be a place where both strings agree on everything before it and that is not
// inside a digit run.
int verrevcmp_at(std::string_view a, std::string_view b, std::size_t i, std::size_t j) noexcept {
  const std::size_t na = a.size();
  const std::size_t nb = b.size();
  while (i < na || j < nb) {
    while ((i < na && !is_digit(a[i])) || (j < nb && !is_digit(b[j]))) {
      const int ac = weight(a, i);
      const int bc = weight(b, j);
      if (ac != bc) return sign(ac - bc);
      ++i;
      ++j;
    }
    while (i < na && a[i] == '0') ++i;
    while (j < nb && b[j] == '0') ++j;
    int first_diff = 0;
    while (i < na && j < nb && is_digit(a[i]) && is_digit(b[j])) {
      if (first_diff == 0) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < na && is_digit(a[i])) return 1;
    if (j < nb && is_digit(b[j])) return -1;
    if (first_diff != 0) return sign(first_diff);
  }
  return 0;
}

int verrevcmp_from(std::string_view a, std::string_view b, std::size_t start) noexcept {
  return verrevcmp_at(a, b, start, start);
}

int verrevcmp(std::string_view a, std::string_view b) noexcept {
  const std::size_t k = detail::common_prefix(a, b);
  if (k == a.size() && k == b.size()) return 0;
  return verrevcmp_from(a, b, detail::digit_run_start(a, k));
}

#if defined(__SSE2__)
// Bytes 0..15 are 0xff, 16..31 are 0: loading at kValidBytes + 16 - n gives a vector whose
// first n bytes are 0xff.
alignas(32) constexpr unsigned char kValidBytes[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

inline __m128i valid_bytes(std::size_t n) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(kValidBytes + 16 - (n < 16 ? n : 16)));
}

// compare_deb for the common case, from one (kHalves = 1: both strings at most 16 bytes) or
// two (at most 32 bytes) 16-byte loads per string: no epoch, no white space or control
// bytes, no empty revision. Returns 2 when it cannot decide (the caller takes the general
// path). Every mask is computed once from the loaded vectors; only the short tail after the
// first difference is walked byte by byte. Bit i of every mask is byte i of the string.
template <int kHalves>
int compare_short(std::string_view a, std::string_view b) noexcept {
  static_assert(kHalves == 1 || kHalves == 2);
  const std::size_t na = a.size();
  const std::size_t nb = b.size();
  __m128i a0 = detail::load16(a.data(), na);
  __m128i b0 = detail::load16(b.data(), nb);
  __m128i a1 = _mm_setzero_si128();
  __m128i b1 = _mm_setzero_si128();
  if constexpr (kHalves == 2) {
    if (na > 16) a1 = detail::load16(a.data() + 16, na - 16);
    if (nb > 16) b1 = detail::load16(b.data() + 16, nb - 16);
  }
  // Bytes past the end become 0 (a control byte to the checks below, masked off by length
  // everywhere else), so one test covers both strings.
  a0 = _mm_and_si128(a0, valid_bytes(na));
  b0 = _mm_and_si128(b0, valid_bytes(nb));
  if constexpr (kHalves == 2) {
    a1 = _mm_and_si128(a1, valid_bytes(na > 16 ? na - 16 : 0));
    b1 = _mm_and_si128(b1, valid_bytes(nb > 16 ? nb - 16 : 0));
  }
  const auto bits = [](__m128i lo, __m128i hi) {
    auto r = static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(lo)));
    if constexpr (kHalves == 2) {
      r |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(hi))) << 16;
    }
    return r;
  };
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i colon = _mm_set1_epi8(':');
  // White space, control bytes and ':' (an epoch) send the pair to the general path.
  const auto special = [&](__m128i x) {
    return _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, space), x), _mm_cmpeq_epi8(x, colon));
  };
  const std::uint64_t va = (std::uint64_t{1} << na) - 1;
  const std::uint64_t vb = (std::uint64_t{1} << nb) - 1;
  if (((bits(special(a0), special(a1)) & va) | (bits(special(b0), special(b1)) & vb)) != 0) {
    return 2;
  }

  const __m128i hyphen = _mm_set1_epi8('-');
  const std::uint64_t ha = bits(_mm_cmpeq_epi8(a0, hyphen), _mm_cmpeq_epi8(a1, hyphen));
  const std::uint64_t hb = bits(_mm_cmpeq_epi8(b0, hyphen), _mm_cmpeq_epi8(b1, hyphen));
  // Bit scans on x | 1 cannot meet zero, so they compile to one instruction and no branch.
  const auto highest = [](std::uint64_t x) {
    return static_cast<std::size_t>(63 - __builtin_clzll(x | 1u));
  };
  // Upstream ends at the last '-' (or the end); the revision follows it.
  const std::size_t ua = ha != 0 ? highest(ha) : na;
  const std::size_t ub = hb != 0 ? highest(hb) : nb;
  if (ua == 0 || ub == 0 || ua + 1 == na || ub + 1 == nb) return 2;  // errors: general path

  const std::size_t common = na < nb ? na : nb;
  const std::uint64_t diff = ~bits(_mm_cmpeq_epi8(a0, b0), _mm_cmpeq_epi8(a1, b1)) &
                             ((std::uint64_t{1} << common) - 1);
  const auto k = static_cast<std::size_t>(__builtin_ctzll(diff | (std::uint64_t{1} << common)));
  const auto digits = [](__m128i x0, __m128i x1) {
    std::uint64_t r = detail::digit_mask(x0);
    if constexpr (kHalves == 2) r |= std::uint64_t{detail::digit_mask(x1)} << 16;
    return r;
  };
  const std::uint64_t digits_a = digits(a0, a1) & va;
  const std::uint64_t digits_b = digits(b0, b1) & vb;
  // Backs `at` up to the start of the digit run of a that it cuts. Without a branch: the
  // highest non-digit below `at` is at - 1 itself when a[at - 1] is not a digit.
  const auto run_start = [digits_a, highest](std::size_t at) -> std::size_t {
    const std::uint64_t non_digits = ~digits_a & ((std::uint64_t{1} << at) - 1);
    return non_digits != 0 ? highest(non_digits) + 1 : 0;
  };

  const __m128i zero = _mm_set1_epi8('0');
  // Most comparisons are decided by the digit runs that start at the segment where the strings
  // first differ (s: the same offset in both). Runs, leading zeros and the first difference
  // all come from the masks; loops and their mispredicted exits are left for the rest.
  // Returns -1/1 when decided, 0 to continue with the scalar loop from s.
  const auto digit_runs = [&](std::size_t s) -> int {
    const std::uint64_t da = digits_a >> s;
    const std::uint64_t db = digits_b >> s;
    if ((da & db & 1u) == 0) return 0;  // not two digit runs
    const std::uint64_t zeros_a = bits(_mm_cmpeq_epi8(a0, zero), _mm_cmpeq_epi8(a1, zero)) & va;
    const std::uint64_t zeros_b = bits(_mm_cmpeq_epi8(b0, zero), _mm_cmpeq_epi8(b1, zero)) & vb;
    const auto run_a = static_cast<std::size_t>(__builtin_ctzll(~da));
    const auto run_b = static_cast<std::size_t>(__builtin_ctzll(~db));
    const auto za = static_cast<std::size_t>(__builtin_ctzll(~(zeros_a >> s)));
    const auto zb = static_cast<std::size_t>(__builtin_ctzll(~(zeros_b >> s)));
    const std::size_t fa = za < run_a ? za : run_a;
    const std::size_t fb = zb < run_b ? zb : run_b;
    const std::size_t len_a = run_a - fa;
    const std::size_t len_b = run_b - fb;
    if (len_a != len_b) return len_a > len_b ? 1 : -1;
    // Same number of significant digits behind the same number of zeros: the first differing
    // byte decides if it lies inside the runs.
    if (fa != fb || k >= s + run_a) return 0;
    return a[k] < b[k] ? -1 : 1;
  };

  if (ua == ub && k > ua) {
    // Same upstream: the revisions decide, and they start at the same offset.
    const std::size_t r = ua + 1;
    const std::string_view ra(a.data() + r, na - r);
    const std::string_view rb(b.data() + r, nb - r);
    if (k == na && k == nb) return 0;
    const std::size_t start = run_start(k);
    if (const int d = digit_runs(start); d != 0) return d;
    return verrevcmp_from(ra, rb, start - r);
  }
  const std::string_view up_a(a.data(), ua);
  const std::string_view up_b(b.data(), ub);
  std::size_t kk = k < ua ? k : ua;
  kk = kk < ub ? kk : ub;
  if (kk == ua && kk == ub) {
    // Equal upstreams at different offsets cannot happen (ua == ub above), so this is the
    // case of two upstreams that are equal: compare the revisions from their start.
    return verrevcmp(a.substr(ua + (ua < na)), b.substr(ub + (ub < nb)));
  }
  const std::size_t start = run_start(kk);
  int r = digit_runs(start);
  if (r == 0) r = verrevcmp_from(up_a, up_b, start);
  if (r != 0) return r;
  const std::string_view ra = ua < na ? a.substr(ua + 1) : std::string_view();
  const std::string_view rb = ub < nb ? b.substr(ub + 1) : std::string_view();
  return verrevcmp(ra, rb);
}
#endif

// The common case in one pass and without building a Result: no white space or control
// bytes, an epoch of at most 9 digits, non-empty parts. Anything else (including every
// error) is left to the full parser, which returns false here so the caller falls back.
inline bool quick_parse(std::string_view s, DebVersion& v) noexcept {
  const detail::Landmarks m = detail::find_landmarks(s, ':', '-');
  if (m.low || s.empty()) return false;
  std::size_t rest = 0;
  v.epoch = 0;
  if (m.first != std::string_view::npos) {
    const std::size_t colon = m.first;
    if (colon == 0 || colon > 9 || colon + 1 == s.size()) return false;
    std::uint32_t epoch = 0;
    for (std::size_t p = 0; p < colon; ++p) {
      const auto d = static_cast<unsigned>(static_cast<unsigned char>(s[p]) - '0');
      if (d > 9) return false;
      epoch = epoch * 10 + d;
    }
    v.epoch = epoch;
    rest = colon + 1;
  }
  if (m.last != std::string_view::npos && m.last >= rest) {
    if (m.last == rest || m.last + 1 == s.size()) return false;
    v.upstream = std::string_view(s.data() + rest, m.last - rest);
    v.revision = std::string_view(s.data() + m.last + 1, s.size() - m.last - 1);
  } else {
    v.upstream = std::string_view(s.data() + rest, s.size() - rest);
    v.revision = {};
  }
  return true;
}

Unexpected deb_error(std::string_view text, std::size_t pos, std::string what) {
  std::string msg = "invalid Debian version \"";
  msg.append(text);
  msg += "\": ";
  msg += what;
  return make_error(Errc::invalid_input, std::move(msg), "position " + std::to_string(pos + 1));
}

Unexpected deb_char_error(std::string_view text, std::size_t pos, const char* part,
                          const char* allowed) {
  return deb_error(text, pos,
                   detail::show_char(text[pos]) + " at position " + std::to_string(pos + 1) +
                       " is not allowed in the " + part + " (allowed: letters, digits and " +
                       allowed + ")");
}

}  // namespace

Result<DebVersion> parse_deb(std::string_view text, Check check) {
  if (check == Check::lenient) {
    DebVersion quick;
    if (quick_parse(text, quick)) return quick;
  }
  // Trim white space as dpkg does; positions in errors stay those of `text`.
  std::size_t begin = 0;
  std::size_t end = text.size();
  detail::Landmarks marks = detail::find_landmarks(text, ':', '-');
  if (marks.low) {
    while (begin < end && is_space(text[begin])) ++begin;
    while (end > begin && is_space(text[end - 1])) --end;
    if (begin == end) return deb_error(text, 0, "the version string is empty");
    for (std::size_t p = begin; p < end; ++p) {
      if (is_space(text[p])) {
        return deb_error(text, p, "white space at position " + std::to_string(p + 1) +
                                      " (a version has no embedded spaces)");
      }
      if (text[p] == '\0') {
        return deb_error(text, p, "NUL byte at position " + std::to_string(p + 1));
      }
    }
    marks = detail::find_landmarks(text.substr(begin, end - begin), ':', '-');
  }
  if (begin == end) return deb_error(text, 0, "the version string is empty");
  const std::string_view s = text.substr(begin, end - begin);

  DebVersion v;
  std::size_t rest = 0;  // offset in s where the upstream version starts
  if (marks.first != std::string_view::npos) {
    const std::size_t colon = marks.first;
    // dpkg reads the epoch with strtol: an optional sign, then decimal digits.
    std::size_t p = 0;
    bool negative = false;
    if (check == Check::lenient && p < colon && (s[p] == '+' || s[p] == '-')) {
      negative = s[p] == '-';
      ++p;
    }
    const std::size_t digits_begin = p;
    std::uint64_t epoch = 0;
    bool too_big = false;
    for (; p < colon && is_digit(s[p]); ++p) {
      epoch = epoch * 10 + static_cast<std::uint64_t>(s[p] - '0');
      if (epoch > static_cast<std::uint64_t>(INT_MAX)) {
        too_big = true;
        epoch = static_cast<std::uint64_t>(INT_MAX) + 1;
      }
    }
    if (p == digits_begin) {
      if (colon == 0) return deb_error(text, begin, "the epoch before ':' is empty");
      return deb_error(text, begin + digits_begin,
                       "the epoch must be a number, found " + detail::show_char(s[digits_begin]) +
                           " at position " + std::to_string(begin + digits_begin + 1));
    }
    if (p != colon) {
      return deb_error(text, begin + p,
                       "the epoch must be a number, found " + detail::show_char(s[p]) +
                           " at position " + std::to_string(begin + p + 1));
    }
    if (negative && epoch != 0) return deb_error(text, begin, "the epoch is negative");
    if (too_big) {
      return deb_error(text, begin + digits_begin,
                       "the epoch is too big (at most " + std::to_string(INT_MAX) + ")");
    }
    if (colon + 1 == s.size()) return deb_error(text, begin + colon, "nothing after ':'");
    v.epoch = static_cast<std::uint32_t>(epoch);
    rest = colon + 1;
  }

  // The revision starts after the last '-' of the part after the epoch.
  std::string_view upstream = s.substr(rest);
  std::size_t rev_pos = std::string_view::npos;  // offset in s of the revision
  if (marks.last != std::string_view::npos && marks.last >= rest) {
    const std::size_t hyphen = marks.last;
    if (hyphen + 1 == s.size()) {
      return deb_error(text, begin + hyphen, "the revision after the last '-' is empty");
    }
    v.revision = s.substr(hyphen + 1);
    rev_pos = hyphen + 1;
    upstream = s.substr(rest, hyphen - rest);
  }
  if (upstream.empty()) {
    return deb_error(text, begin + rest, "the upstream version is empty");
  }
  v.upstream = upstream;

  if (check == Check::strict) {
    if (!is_digit(upstream[0])) {
      return deb_error(text, begin + rest,
                       "the upstream version must start with a digit, found " +
                           detail::show_char(upstream[0]));
    }
    for (std::size_t p = 0; p < upstream.size(); ++p) {
      const char c = upstream[p];
      if (!is_digit(c) && !is_alpha(c) && std::strchr(".-+~:", c) == nullptr) {
        return deb_char_error(text, begin + rest + p, "upstream version", ". + ~ - :");
      }
    }
    for (std::size_t p = 0; p < v.revision.size(); ++p) {
      const char c = v.revision[p];
      if (!is_digit(c) && !is_alpha(c) && std::strchr(".+~", c) == nullptr) {
        return deb_char_error(text, begin + rev_pos + p, "revision", ". + ~");
      }
    }
  }
  return v;
}

int compare(const DebVersion& a, const DebVersion& b) noexcept {
  if (a.epoch != b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (int r = verrevcmp(a.upstream, b.upstream); r != 0) return r;
  return verrevcmp(a.revision, b.revision);
}

Result<int> compare_deb(std::string_view a, std::string_view b) {
#if defined(__SSE2__)
  const std::size_t longest_less_one = (a.size() - 1) | (b.size() - 1);  // huge when one is empty
  if (longest_less_one < 16) {
    if (const int r = compare_short<1>(a, b); r != 2) return r;
  } else if (longest_less_one < 32) {
    if (const int r = compare_short<2>(a, b); r != 2) return r;
  }
#endif
  DebVersion qa;
  DebVersion qb;
  if (quick_parse(a, qa) && quick_parse(b, qb)) return compare(qa, qb);
  auto va = parse_deb(a);
  if (!va) return Unexpected(std::move(va.error()));
  auto vb = parse_deb(b);
  if (!vb) return Unexpected(std::move(vb.error()));
  return compare(*va, *vb);
}

}  // namespace pf::versions
