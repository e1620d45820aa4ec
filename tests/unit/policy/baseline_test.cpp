// SPDX-License-Identifier: Apache-2.0
// Baseline verdicts: each rule with its reason, the same rules for an APT update (a DSA with
// its date) and an RPM update (updateinfo issued date), and the auto-approve boundary.
#include <gtest/gtest.h>

#include "patchflow/policy/baseline.hpp"

namespace {

using namespace std::chrono;
using pf::advisories::Kind;
using pf::advisories::Severity;
using pf::policy::Baseline;
using pf::policy::Candidate;
using pf::policy::evaluate;
using pf::policy::Verdict;

const sys_seconds kNow = sys_days{year{2026} / 11 / 29} + hours{12};

std::int64_t days_ago(int n) { return (kNow - days{n}).time_since_epoch().count(); }

// An APT update fixing a Debian Security Advisory.
Candidate deb(Severity sev, int age_days) {
  Candidate c;
  c.package = "openssl";
  c.arch = "amd64";
  c.installed = "3.0.11-1~deb12u1";
  c.candidate = "3.0.11-1~deb12u2";
  c.kind = Kind::security;
  c.severity = sev;
  c.advisory_ids = {"DSA-5532-1"};
  c.cves = {"CVE-2023-5363"};
  c.released_at = days_ago(age_days);
  return c;
}

// An RPM update from updateinfo (issued date), on AlmaLinux.
Candidate rpm(Severity sev, int age_days) {
  Candidate c;
  c.package = "bind-libs";
  c.arch = "x86_64";
  c.installed = "32:9.16.23-11.el9";
  c.candidate = "32:9.16.23-11.el9_3.1";
  c.kind = Kind::security;
  c.severity = sev;
  c.advisory_ids = {"ALSA-2024:0452"};
  c.cves = {"CVE-2023-4408"};
  c.released_at = days_ago(age_days);
  return c;
}

TEST(PolicyBaseline, SeverityMinimumForDebAndRpm) {
  Baseline b;
  b.min_severity = Severity::high;
  for (const auto& c : {deb(Severity::high, 1), rpm(Severity::high, 1)}) {
    auto v = evaluate(b, c, kNow);
    EXPECT_TRUE(v.approved) << v.reason;
    EXPECT_EQ(v.reason, "approved: security high >= high");
  }
  for (const auto& c : {deb(Severity::medium, 1), rpm(Severity::medium, 1)}) {
    auto v = evaluate(b, c, kNow);
    EXPECT_FALSE(v.approved);
    EXPECT_EQ(v.reason, "below minimum severity: medium < high");
  }
  EXPECT_TRUE(evaluate(b, deb(Severity::critical, 0), kNow).approved);
  auto unknown = evaluate(b, rpm(Severity::unknown, 3), kNow);
  EXPECT_FALSE(unknown.approved);
  EXPECT_EQ(unknown.reason, "below minimum severity: severity unknown, minimum high");
  EXPECT_TRUE(evaluate(Baseline{}, rpm(Severity::unknown, 3), kNow).approved)
      << "the default minimum (low) lets unrated security updates through";
}

TEST(PolicyBaseline, AutoApproveBoundaryExactlyAtNDays) {
  Baseline b;
  b.min_severity = Severity::high;
  b.auto_approve_after = days{7};
  for (auto make : {&deb, &rpm}) {
    Candidate c = make(Severity::high, 0);
    c.released_at = (kNow - days{7}).time_since_epoch().count();
    auto at = evaluate(b, c, kNow);
    EXPECT_TRUE(at.approved) << at.reason;
    EXPECT_EQ(at.reason, "approved: security high >= high, released 7 days ago >= 7d");
    c.released_at += 1;  // one second short of 7 days
    auto before = evaluate(b, c, kNow);
    EXPECT_FALSE(before.approved);
    EXPECT_EQ(before.status, Verdict::Status::not_yet);
    EXPECT_EQ(before.reason, "not yet: released 6 days ago, auto-approve after 7d (on 2026-11-29)");
  }
  auto young = evaluate(b, deb(Severity::high, 2), kNow);
  EXPECT_EQ(young.reason, "not yet: released 2 days ago, auto-approve after 7d (on 2026-12-04)");
  auto old = evaluate(b, rpm(Severity::critical, 9), kNow);
  EXPECT_EQ(old.reason, "approved: security critical >= high, released 9 days ago >= 7d");
}

TEST(PolicyBaseline, UnknownReleaseDateWaits) {
  Baseline b;
  b.auto_approve_after = days{7};
  Candidate c = deb(Severity::high, 0);
  c.released_at = 0;
  auto v = evaluate(b, c, kNow);
  EXPECT_FALSE(v.approved);
  EXPECT_EQ(v.reason, "not yet: release date unknown, auto-approve after 7d");
  b.auto_approve_after = seconds{0};
  EXPECT_TRUE(evaluate(b, c, kNow).approved) << "without a delay the date does not matter";
}

TEST(PolicyBaseline, HoldsExcludeRejectApprove) {
  Baseline b;
  b.min_severity = Severity::critical;
  b.holds = {"openssl*"};
  auto held = evaluate(b, deb(Severity::critical, 30), kNow);
  EXPECT_EQ(held.status, Verdict::Status::held);
  EXPECT_EQ(held.reason, "held: matches hold 'openssl*'");
  b.approve = {"DSA-5532-1"};
  EXPECT_FALSE(evaluate(b, deb(Severity::low, 0), kNow).approved) << "approve does not beat a hold";
  b.holds.clear();
  auto listed = evaluate(b, deb(Severity::low, 0), kNow);
  EXPECT_TRUE(listed.approved) << "approve beats the minimum severity";
  EXPECT_EQ(listed.reason, "approved: DSA-5532-1 is listed in approve");
  b.approve = {"cve-2023-4408"};
  EXPECT_TRUE(evaluate(b, rpm(Severity::low, 0), kNow).approved) << "CVE ids, case-insensitive";
  b.reject = {"ALSA-2024:0452"};
  auto rejected = evaluate(b, rpm(Severity::critical, 0), kNow);
  EXPECT_EQ(rejected.status, Verdict::Status::rejected);
  EXPECT_EQ(rejected.reason, "rejected: ALSA-2024:0452");
  b.exclude = {"bind-?ibs"};
  auto excluded = evaluate(b, rpm(Severity::critical, 0), kNow);
  EXPECT_EQ(excluded.status, Verdict::Status::excluded);
  EXPECT_EQ(excluded.reason, "excluded: matches exclude 'bind-?ibs'");
}

TEST(PolicyBaseline, ClassificationsAndKev) {
  Baseline b;  // default: security only
  Candidate fix = rpm(Severity::unknown, 1);
  fix.kind = Kind::bugfix;
  auto v = evaluate(b, fix, kNow);
  EXPECT_FALSE(v.approved);
  EXPECT_EQ(v.reason, "not approved: classification bugfix is not in [security]");
  b.classifications = {Kind::security, Kind::bugfix};
  EXPECT_EQ(evaluate(b, fix, kNow).reason, "approved: bugfix");

  Baseline kev;
  kev.kev_only = true;
  kev.min_severity = Severity::negligible;
  Candidate c = deb(Severity::medium, 0);
  auto no = evaluate(kev, c, kNow);
  EXPECT_FALSE(no.approved);
  EXPECT_EQ(no.reason, "not KEV: fixes no CISA KEV CVE");
  c.kev = true;
  EXPECT_TRUE(evaluate(kev, c, kNow).approved);
}

TEST(PolicyBaseline, Globs) {
  using pf::policy::glob_match;
  EXPECT_TRUE(glob_match("openssl*", "openssl"));
  EXPECT_TRUE(glob_match("openssl*", "openssl-libs"));
  EXPECT_TRUE(glob_match("*ssl*", "libssl3"));
  EXPECT_TRUE(glob_match("lib?ssl3", "libXssl3"));
  EXPECT_FALSE(glob_match("lib?ssl3", "libssl3"));
  EXPECT_FALSE(glob_match("openssl", "openssl-libs"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
}

}  // namespace
