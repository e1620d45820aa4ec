// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>

#include "patchflow/common/error.hpp"

/// Package version ordering exactly as dpkg/apt and rpm/dnf order versions.
///
/// Parsing returns views into the caller's string: nothing here allocates unless an error is
/// returned. Comparisons return -1, 0 or 1.
namespace pf::versions {

/// A version scheme is chosen by ecosystem, never guessed from the string.
enum class Scheme { deb, rpm };

[[nodiscard]] Result<Scheme> scheme_from_name(std::string_view name);
[[nodiscard]] std::string_view scheme_name(Scheme scheme) noexcept;

/// How much a parser refuses.
/// - lenient: only what the package manager itself refuses. dpkg refuses an empty version,
///   embedded spaces, a bad epoch or an empty revision, but merely warns about a version that
///   does not start with a digit or has characters outside its alphabet, and orders such
///   strings all the same; real feeds contain them ("<end-of-life>", "invalid").
/// - strict: also what dpkg warns about (and, for rpm, what rpmbuild would refuse in a
///   Version/Release tag). Use it for versions that people type.
enum class Check { lenient, strict };

/// Debian version: [epoch:]upstream[-revision].
struct DebVersion {
  std::uint32_t epoch{0};
  std::string_view upstream;
  std::string_view revision;  ///< empty when the version has no '-'
};

/// Parses like dpkg's parseversion(): leading and trailing white space is ignored, the epoch
/// ends at the first ':', the revision starts after the last '-'. Errors name the offending
/// character and its 1-based position in `text` (Error::where is "position N").
[[nodiscard]] Result<DebVersion> parse_deb(std::string_view text, Check check = Check::lenient);

/// dpkg's ordering: epoch numerically, then upstream and revision with verrevcmp
/// ('~' before everything, then the end, then letters, then other characters; digit runs
/// numerically, of any length).
[[nodiscard]] int compare(const DebVersion& a, const DebVersion& b) noexcept;

/// Parses both (lenient) and compares; the error names which side is invalid.
[[nodiscard]] Result<int> compare_deb(std::string_view a, std::string_view b);

/// RPM [epoch:]version[-release], split as rpm's parseEVR does: the epoch is the leading run
/// of digits when a ':' follows it, the release starts after the last '-'.
struct RpmEvr {
  std::string_view epoch;  ///< digits as written; empty when absent (compares as "0")
  std::string_view version;
  std::string_view release;  ///< meaningful only when has_release
  bool has_release{false};
};

[[nodiscard]] Result<RpmEvr> parse_rpm_evr(std::string_view text,
                                           Check check = Check::lenient);

/// rpm's rpmverCmp() (rpm 4.18, python's rpm.ver): epochs (missing or empty = 0), then
/// versions, then releases; when only one side has a release, that side is newer
/// ("1.0" < "1.0-0"). This is ordering, not rpm's dependency-range matching.
[[nodiscard]] int compare(const RpmEvr& a, const RpmEvr& b) noexcept;

[[nodiscard]] Result<int> compare_rpm_evr(std::string_view a, std::string_view b);

/// rpm's rpmvercmp() on one field (a version or a release): alternating alphabetic and
/// numeric segments, separators ignored, '~' sorts before everything and '^' after the
/// end of a base version. Defined for every input.
[[nodiscard]] int rpmvercmp(std::string_view a, std::string_view b) noexcept;

/// Checks a version for `scheme` without comparing it.
[[nodiscard]] Result<void> validate(Scheme scheme, std::string_view text,
                                    Check check = Check::lenient);

/// Compares two version strings of `scheme` (lenient parse).
[[nodiscard]] Result<int> compare(Scheme scheme, std::string_view a, std::string_view b);

}  // namespace pf::versions
