// SPDX-License-Identifier: Apache-2.0
// RPM version ordering, following rpm's rpmvercmp(), parseEVR() and rpmverCmp() (rpm 4.18).
#include <array>
#include <cstring>
#include <string>

#include "patchflow/core/versions.hpp"
#include "text_scan.hpp"

namespace pf::versions {
namespace {

using detail::is_alnum;
using detail::is_alpha;
using detail::is_digit;

// What each byte is to rpmvercmp. Anything not alphanumeric, '~' or '^' separates segments.
enum Kind : unsigned char { kSep, kDigit, kAlpha, kTilde, kCaret };

constexpr std::array<unsigned char, 256> make_kinds() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (c >= '0' && c <= '9') {
      t[c] = kDigit;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      t[c] = kAlpha;
    } else if (c == '~') {
      t[c] = kTilde;
    } else if (c == '^') {
      t[c] = kCaret;
    } else {
      t[c] = kSep;
    }
  }
  return t;
}
constexpr std::array<unsigned char, 256> kKinds = make_kinds();

inline Kind kind(char c) noexcept { return static_cast<Kind>(kKinds[static_cast<unsigned char>(c)]); }

Unexpected rpm_error(std::string_view text, std::size_t pos, std::string what) {
  std::string msg = "invalid RPM version \"";
  msg.append(text);
  msg += "\": ";
  msg += what;
  return make_error(Errc::invalid_input, std::move(msg), "position " + std::to_string(pos + 1));
}

}  // namespace

int rpmvercmp(std::string_view a, std::string_view b) noexcept {
  // Equal prefixes compare equal segment by segment, so start at the first difference,
  // backed up to the start of the alphanumeric run it may cut (a run compares as a whole);
  // separators, '~' and '^' are consumed one at a time and carry no state.
  std::size_t k = detail::common_prefix(a, b);
  if (k == a.size() && k == b.size()) return 0;
  if (k > 0) {
    const Kind run = kind(a[k - 1]);
    if (run == kDigit || run == kAlpha) {
      while (k > 0 && kind(a[k - 1]) == run) --k;
    }
  }
  const char* pa = a.data() + k;
  const char* pb = b.data() + k;
  const char* const ea = a.data() + a.size();
  const char* const eb = b.data() + b.size();
  for (;;) {
    while (pa < ea && kind(*pa) == kSep) ++pa;
    while (pb < eb && kind(*pb) == kSep) ++pb;
    const Kind ka = pa < ea ? kind(*pa) : kSep;  // kSep here means: at the end
    const Kind kb = pb < eb ? kind(*pb) : kSep;

    // '~' sorts before everything, the end of the string included.
    if (ka == kTilde || kb == kTilde) {
      if (ka != kTilde) return 1;
      if (kb != kTilde) return -1;
      ++pa;
      ++pb;
      continue;
    }
    // '^' sorts after the end of a base version but before any further segment.
    if (ka == kCaret || kb == kCaret) {
      if (pa == ea) return -1;
      if (pb == eb) return 1;
      if (ka != kCaret) return 1;
      if (kb != kCaret) return -1;
      ++pa;
      ++pb;
      continue;
    }
    if (pa == ea || pb == eb) break;

    // Segments of the kind of a's: a numeric segment is newer than an alphabetic one.
    if (kb != ka) return ka == kDigit ? 1 : -1;
    const char* sa = pa;
    const char* sb = pb;
    while (pa < ea && kind(*pa) == ka) ++pa;
    while (pb < eb && kind(*pb) == ka) ++pb;
    if (ka == kDigit) {
      while (sa < pa && *sa == '0') ++sa;
      while (sb < pb && *sb == '0') ++sb;
      if (pa - sa != pb - sb) return pa - sa > pb - sb ? 1 : -1;
    }
    const std::size_t la = static_cast<std::size_t>(pa - sa);
    const std::size_t lb = static_cast<std::size_t>(pb - sb);
    if (int r = std::memcmp(sa, sb, la < lb ? la : lb); r != 0) return r < 0 ? -1 : 1;
    if (la != lb) return la < lb ? -1 : 1;
  }
  if (pa == ea && pb == eb) return 0;
  return pa == ea ? -1 : 1;
}

Result<RpmEvr> parse_rpm_evr(std::string_view text, Check check) {
  if (text.empty()) return rpm_error(text, 0, "the version string is empty");
  const detail::Landmarks marks = detail::find_landmarks(text, '\0', '-');
  if (marks.first != std::string_view::npos) {
    return rpm_error(text, marks.first, "NUL byte at position " + std::to_string(marks.first + 1));
  }
  RpmEvr v;
  std::size_t p = 0;
  while (p < text.size() && is_digit(text[p])) ++p;
  std::size_t version_begin = 0;
  if (p < text.size() && text[p] == ':') {
    v.epoch = text.substr(0, p);
    version_begin = p + 1;
  }
  // The epoch is digits only, so the last '-' of the string is the last of the rest.
  std::size_t release_begin = std::string_view::npos;
  if (marks.last != std::string_view::npos) {
    v.has_release = true;
    release_begin = marks.last + 1;
    v.release = text.substr(release_begin);
    v.version = text.substr(version_begin, marks.last - version_begin);
  } else {
    v.version = text.substr(version_begin);
  }

  if (check == Check::strict) {
    if (version_begin > 0 && v.epoch.empty()) {
      return rpm_error(text, 0, "the epoch before ':' is empty");
    }
    auto check_field = [&](std::string_view field, std::size_t offset,
                           const char* name) -> Result<void> {
      if (field.empty()) {
        return rpm_error(text, offset, std::string("the ") + name + " is empty");
      }
      for (std::size_t q = 0; q < field.size(); ++q) {
        const char c = field[q];
        if (!is_alnum(c) && std::strchr("._+~^", c) == nullptr) {
          return rpm_error(text, offset + q,
                           detail::show_char(c) + " at position " +
                               std::to_string(offset + q + 1) + " is not allowed in the " +
                               name + " (allowed: letters, digits and . _ + ~ ^)");
        }
      }
      return {};
    };
    if (auto r = check_field(v.version, version_begin, "version"); !r) {
      return Unexpected(std::move(r.error()));
    }
    if (v.has_release) {
      if (auto r = check_field(v.release, release_begin, "release"); !r) {
        return Unexpected(std::move(r.error()));
      }
    }
  }
  return v;
}

int compare(const RpmEvr& a, const RpmEvr& b) noexcept {
  const std::string_view ea = a.epoch.empty() ? std::string_view("0") : a.epoch;
  const std::string_view eb = b.epoch.empty() ? std::string_view("0") : b.epoch;
  if (int r = rpmvercmp(ea, eb); r != 0) return r;
  if (int r = rpmvercmp(a.version, b.version); r != 0) return r;
  if (a.has_release && b.has_release) return rpmvercmp(a.release, b.release);
  // As rpmverCmp(): a version with a release (even an empty one) is newer than one without.
  return (a.has_release ? 1 : 0) - (b.has_release ? 1 : 0);
}

Result<int> compare_rpm_evr(std::string_view a, std::string_view b) {
  auto va = parse_rpm_evr(a);
  if (!va) return Unexpected(std::move(va.error()));
  auto vb = parse_rpm_evr(b);
  if (!vb) return Unexpected(std::move(vb.error()));
  return compare(*va, *vb);
}

}  // namespace pf::versions
