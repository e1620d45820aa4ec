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
int verrevcmp(std::string_view a, std::string_view b) noexcept {
  std::size_t k = detail::common_prefix(a, b);
  if (k == a.size() && k == b.size()) return 0;
  while (k > 0 && is_digit(a[k - 1])) --k;
  std::size_t i = k;
  std::size_t j = k;
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
