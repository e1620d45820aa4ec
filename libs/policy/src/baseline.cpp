// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include "patchflow/policy/baseline.hpp"

namespace pf::policy {
namespace {

using advisories::Kind;
using advisories::Severity;

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::security: return "security";
    case Kind::bugfix: return "bugfix";
    case Kind::enhancement: return "enhancement";
  }
  return "?";
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The first of the candidate's advisory ids and CVEs listed in `ids`.
const std::string* listed(const std::vector<std::string>& ids, const Candidate& c) {
  for (const auto& id : ids) {
    for (const auto& a : c.advisory_ids)
      if (iequal(a, id)) return &id;
    for (const auto& a : c.cves)
      if (iequal(a, id)) return &id;
  }
  return nullptr;
}

// "7d", "36h", "90m", "45s": the largest whole unit.
std::string span_text(std::chrono::seconds s) {
  const auto n = s.count();
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

std::string age_text(std::chrono::seconds age) {
  const auto days = age.count() / 86400;
  if (days >= 1) return std::to_string(days) + (days == 1 ? " day ago" : " days ago");
  const auto hours = age.count() / 3600;
  if (hours >= 1) return std::to_string(hours) + (hours == 1 ? " hour ago" : " hours ago");
  return "less than an hour ago";
}

std::string date_text(std::int64_t unix_s) {
  using namespace std::chrono;
  const sys_days d = floor<days>(sys_seconds{seconds{unix_s}});
  const year_month_day ymd{d};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

Verdict verdict(Verdict::Status status, std::string reason) {
  return Verdict{status == Verdict::Status::approved, status, std::move(reason)};
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) noexcept {
  // Iterative matcher with one backtrack point for the last '*': linear in practice.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Verdict evaluate(const Baseline& b, const Candidate& c, std::chrono::sys_seconds now) {
  using S = Verdict::Status;
  for (const auto& g : b.exclude)
    if (glob_match(g, c.package)) return verdict(S::excluded, "excluded: matches exclude '" + g + "'");
  for (const auto& g : b.holds)
    if (glob_match(g, c.package)) return verdict(S::held, "held: matches hold '" + g + "'");
  if (const auto* id = listed(b.reject, c)) return verdict(S::rejected, "rejected: " + *id);
  if (const auto* id = listed(b.approve, c)) {
    return verdict(S::approved, "approved: " + *id + " is listed in approve");
  }
  if (std::find(b.classifications.begin(), b.classifications.end(), c.kind) ==
      b.classifications.end()) {
    std::string list;
    for (auto k : b.classifications) list += (list.empty() ? "" : ", ") + std::string(kind_name(k));
    return verdict(S::not_approved, "not approved: classification " + std::string(kind_name(c.kind)) +
                                        " is not in [" + list + "]");
  }
  if (b.kev_only && !c.kev) return verdict(S::not_approved, "not KEV: fixes no CISA KEV CVE");
  std::string approved = "approved: " + std::string(kind_name(c.kind));
  if (c.kind == Kind::security) {
    const auto sev = std::string(advisories::severity_name(c.severity));
    const auto min = std::string(advisories::severity_name(b.min_severity));
    if (c.severity == Severity::unknown) {
      // A feed without a rating does not drop an update unless the baseline asks for more
      // than the lowest ratings.
      if (b.min_severity > Severity::low) {
        return verdict(S::not_approved,
                       "below minimum severity: severity unknown, minimum " + min);
      }
      approved += " severity unknown, minimum " + min;
    } else if (c.severity < b.min_severity) {
      return verdict(S::not_approved, "below minimum severity: " + sev + " < " + min);
    } else {
      approved += " " + sev + " >= " + min;
    }
  }
  if (b.auto_approve_after.count() > 0) {
    const auto after = span_text(b.auto_approve_after);
    // 0 is unknown; a value outside 1970..9999 is as good as unknown (and keeps the sums
    // below from overflowing).
    if (c.released_at <= 0 || c.released_at > 253402300799) {
      return verdict(S::not_yet, "not yet: release date unknown, auto-approve after " + after);
    }
    const auto age = now.time_since_epoch() - std::chrono::seconds{c.released_at};
    if (age < b.auto_approve_after) {
      const auto released = age.count() < 0 ? std::string("in the future")
                                             : age_text(age);
      return verdict(S::not_yet, "not yet: released " + released + ", auto-approve after " +
                                     after + " (on " +
                                     date_text(c.released_at + b.auto_approve_after.count()) +
                                     ")");
    }
    approved += ", released " + age_text(age) + " >= " + after;
  }
  return verdict(S::approved, approved);
}

}  // namespace pf::policy
