// SPDX-License-Identifier: Apache-2.0
#include "patchflow/core/matcher.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace a = pf::advisories;
namespace m = pf::matcher;
namespace inv = pf::inventory;

namespace {

constexpr const char* kDebian = "Debian:12";
constexpr const char* kAlma = "AlmaLinux:9";

inv::Package pkg(std::string name, std::string version, std::string source = {},
                 std::string source_version = {}, std::string arch = "amd64") {
  return {std::move(name), std::move(arch), std::move(version), std::move(source),
          std::move(source_version)};
}

inv::Inventory host(std::string name, std::string ecosystem, std::vector<inv::Package> packages) {
  inv::Inventory i;
  i.host = std::move(name);
  i.ecosystem = std::move(ecosystem);
  i.packages = std::move(packages);
  return i;
}

a::Affected entry(std::string ecosystem, std::string package, std::vector<a::Event> events,
                  a::PackageKind kind = a::PackageKind::binary,
                  a::Severity severity = a::Severity::unknown) {
  a::Affected e;
  e.ecosystem = std::move(ecosystem);
  e.package = std::move(package);
  e.package_kind = kind;
  e.events = std::move(events);
  e.severity = severity;
  return e;
}

a::Advisory advisory(std::string id, std::vector<a::Affected> affected,
                     a::Severity severity = a::Severity::high,
                     std::vector<std::string> cves = {}) {
  a::Advisory adv;
  adv.id = std::move(id);
  adv.severity = severity;
  adv.cves = std::move(cves);
  adv.affected = std::move(affected);
  return adv;
}

a::Event intro(std::string v) { return {a::EventType::introduced, std::move(v)}; }
a::Event fixed(std::string v) { return {a::EventType::fixed, std::move(v)}; }
a::Event last(std::string v) { return {a::EventType::last_affected, std::move(v)}; }

// One row: an entry's events, an installed version, and what the matcher must say.
struct RangeCase {
  const char* what;
  const char* ecosystem;
  std::vector<a::Event> events;
  const char* installed;
  bool affected;
  const char* fix;  // fixed_version_text when affected
};

TEST(Matcher, RangesFollowOsvSemanticsInTheEcosystemsVersionOrder) {
  const std::vector<RangeCase> cases = {
      {"below fixed", kDebian, {intro("0"), fixed("1.2-1")}, "1.1-1", true, "1.2-1"},
      {"fixed is exclusive", kDebian, {intro("0"), fixed("1.2-1")}, "1.2-1", false, ""},
      {"above fixed", kDebian, {intro("0"), fixed("1.2-1")}, "1.3-1", false, ""},
      {"below introduced", kDebian, {intro("1.0"), fixed("1.2")}, "0.9", false, ""},
      {"introduced is inclusive", kDebian, {intro("1.0"), fixed("1.2")}, "1.0", true, "1.2"},
      {"last_affected is inclusive", kDebian, {intro("0"), last("1.2")}, "1.2", true,
       "after 1.2"},
      {"above last_affected", kDebian, {intro("0"), last("1.2")}, "1.2.1", false, ""},
      {"first of two ranges", kDebian,
       {intro("0"), fixed("1.0"), intro("2.0"), fixed("2.5")}, "0.5", true, "1.0"},
      {"between two ranges", kDebian,
       {intro("0"), fixed("1.0"), intro("2.0"), fixed("2.5")}, "1.5", false, ""},
      {"second of two ranges", kDebian,
       {intro("0"), fixed("1.0"), intro("2.0"), fixed("2.5")}, "2.1", true, "2.5"},
      {"after both ranges", kDebian,
       {intro("0"), fixed("1.0"), intro("2.0"), fixed("2.5")}, "2.5", false, ""},
      {"open range: no fix yet", kDebian, {intro("1.0")}, "5.0", true, "no fix yet"},
      {"open range, below", kDebian, {intro("1.0")}, "0.1", false, ""},
      // "0" is the very beginning, not the version 0: '~' sorts below it in dpkg.
      {"0 includes tilde versions below 0", kDebian, {intro("0"), fixed("1.0")}, "~rc1", true,
       "1.0"},
      {"introduced 0.0 is a real version", kDebian, {intro("0.0"), fixed("1.0")}, "~rc1", false,
       ""},
      {"deb epoch beats upstream", kDebian, {intro("0"), fixed("1:1.0")}, "2.0", true, "1:1.0"},
      {"deb epoch equal, upstream lower", kDebian, {intro("0"), fixed("1:1.0")}, "1:0.9", true,
       "1:1.0"},
      {"deb epoch, at fix", kDebian, {intro("0"), fixed("1:1.0")}, "1:1.0", false, ""},
      {"deb tilde: earlier stable update", kDebian, {intro("0"), fixed("3.0.11-1~deb12u2")},
       "3.0.11-1~deb12u1", true, "3.0.11-1~deb12u2"},
      {"deb tilde: unstable upload is newer", kDebian, {intro("0"), fixed("3.0.11-1~deb12u2")},
       "3.0.11-1", false, ""},
      {"rpm epoch 0 below epoch 1", kAlma, {intro("0"), fixed("1:1.1.1k-7.el9")},
       "1.1.1k-9.el9", true, "1:1.1.1k-7.el9"},
      {"rpm same epoch lower release", kAlma, {intro("0"), fixed("1:1.1.1k-7.el9")},
       "1:1.1.1k-6.el9", true, "1:1.1.1k-7.el9"},
      {"rpm at fix", kAlma, {intro("0"), fixed("1:1.1.1k-7.el9")}, "1:1.1.1k-7.el9", false, ""},
      {"rpm tilde pre-release", kAlma, {intro("0"), fixed("2.0-1.el9")}, "2.0~rc1-1.el9", true,
       "2.0-1.el9"},
      {"rpm numeric segments", kAlma, {intro("0"), fixed("2.10-1")}, "2.9-1", true, "2.10-1"},
      {"rpm no release is older", kAlma, {intro("0"), fixed("1.0-1")}, "1.0", true, "1.0-1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    m::FleetIndex fleet;
    fleet.add_host(host("h1", c.ecosystem, {pkg("foo", c.installed)}));
    const std::vector<a::Advisory> advs = {advisory("ADV-1", {entry(c.ecosystem, "foo", c.events)})};
    const auto result = m::evaluate(fleet, advs);
    EXPECT_EQ(result.stats.evaluations, 1U);
    const auto found = m::findings(fleet, advs, result);
    ASSERT_EQ(found.size(), c.affected ? 1U : 0U);
    if (c.affected) {
      EXPECT_EQ(m::fixed_version_text(found[0]), c.fix);
      EXPECT_EQ(found[0].installed_version, c.installed);
    }
  }
}

TEST(Matcher, SourceEntriesMatchEveryBinaryOfTheSourceByTheSourceVersion) {
  m::FleetIndex fleet;
  fleet.add_host(host("web1", kDebian,
                      {pkg("libssl3", "3.0.11-1~deb12u1", "openssl", "3.0.11-1~deb12u1"),
                       pkg("openssl", "3.0.11-1~deb12u1"),
                       // binNMU: the binary version is newer than its source's.
                       pkg("libfoo1", "1.0-1+b2", "foo", "1.0-1"), pkg("bash", "5.2.15-2+b2")}));
  const std::vector<a::Advisory> advs = {
      advisory("DSA-1", {entry(kDebian, "openssl", {intro("0"), fixed("3.0.11-1~deb12u2")},
                               a::PackageKind::source)}),
      advisory("DSA-2",
               {entry(kDebian, "foo", {intro("0"), fixed("1.0-1+b1")}, a::PackageKind::source)}),
      // A binary entry naming openssl matches the openssl binary only, not libssl3.
      advisory("RHSA-3", {entry(kDebian, "openssl", {intro("0"), fixed("3.0.12-1")})}),
      // A source entry naming a binary-only name matches nothing.
      advisory("DSA-4",
               {entry(kDebian, "libfoo1", {intro("0")}, a::PackageKind::source)}),
  };
  const auto result = m::evaluate(fleet, advs);
  const auto found = m::findings(fleet, advs, result);
  std::vector<std::string> got;
  for (const auto& f : found) {
    got.push_back(std::string(f.advisory_id) + " " + std::string(f.package) + " (" +
                  std::string(f.source_package) + ") " + std::string(f.installed_version));
  }
  const std::vector<std::string> want = {
      "DSA-1 libssl3 (openssl) 3.0.11-1~deb12u1",
      "DSA-1 openssl (openssl) 3.0.11-1~deb12u1",
      "DSA-2 libfoo1 (foo) 1.0-1+b2",
      "RHSA-3 openssl (openssl) 3.0.11-1~deb12u1",
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(result.stats.entries_not_installed, 1U);
}

TEST(Matcher, EntriesOfOtherEcosystemsAreIgnored) {
  m::FleetIndex fleet;
  fleet.add_host(host("deb", kDebian, {pkg("curl", "7.88.1-10")}));
  fleet.add_host(host("alma", kAlma, {pkg("curl", "7.76.1-26.el9")}));
  const std::vector<a::Advisory> advs = {advisory(
      "ADV-1", {entry("Debian:11", "curl", {intro("0")}), entry("Ubuntu:22.04", "curl", {intro("0")}),
                entry("npm", "curl", {intro("0")}), entry(kAlma, "curl", {intro("0"), fixed("7.76.1-27.el9")})})};
  const auto result = m::evaluate(fleet, advs);
  const auto found = m::findings(fleet, advs, result);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].host, "alma");
  EXPECT_EQ(result.stats.affected_entries, 4U);
  EXPECT_EQ(result.stats.entries_not_installed, 2U);
  EXPECT_EQ(result.stats.entries_unknown_ecosystem, 1U);
  EXPECT_EQ(result.stats.evaluations, 1U);
}

TEST(Matcher, EachDistinctVersionIsEvaluatedOnceAndFansOutToItsHosts) {
  m::FleetIndex fleet;
  // 100 hosts from two images; the openssl versions differ between images.
  for (int i = 0; i < 100; ++i) {
    const bool old = i % 5 < 3;  // 60 hosts
    fleet.add_host(host("h" + std::to_string(i), kDebian,
                        {pkg("libssl3", old ? "3.0.9-1" : "3.0.13-1", "openssl",
                             old ? "3.0.9-1" : "3.0.13-1"),
                         pkg("openssl", old ? "3.0.9-1" : "3.0.13-1"), pkg("bash", "5.2.15-2"),
                         pkg("coreutils", "9.1-1")}));
  }
  EXPECT_EQ(fleet.host_count(), 100U);
  EXPECT_EQ(fleet.package_count(), 6U);
  const std::vector<a::Advisory> advs = {advisory(
      "DSA-1", {entry(kDebian, "openssl", {intro("0"), fixed("3.0.11-1")}, a::PackageKind::source)})};
  const auto result = m::evaluate(fleet, advs);
  // Two distinct source versions of openssl: two range checks, not 100 hosts x 4 packages.
  EXPECT_EQ(result.stats.evaluations, 2U);
  EXPECT_EQ(result.stats.hits, 2U);        // libssl3 and openssl at 3.0.9-1
  EXPECT_EQ(result.stats.findings, 120U);  // on 60 hosts each
  const auto found = m::findings(fleet, advs, result);
  ASSERT_EQ(found.size(), 120U);
  for (std::size_t i = 1; i < found.size(); ++i) {
    EXPECT_LE(found[i - 1].host_index, found[i].host_index);
  }
  EXPECT_EQ(fleet.hosts_with(result.hits[0].package).size(), 60U);
  // Rolled up per host without materialising findings.
  std::vector<double> values(result.hits.size(), 1.0);
  values[1] = 7.0;
  const auto roll = m::roll_up(fleet, result, values);
  ASSERT_EQ(roll.size(), 100U);
  EXPECT_EQ(roll[0].findings, 2U);
  EXPECT_EQ(roll[0].top, 7.0);
  EXPECT_EQ(roll[0].top_hit, 1U);
  EXPECT_EQ(roll[3].findings, 0U);  // from the newer image
  EXPECT_EQ(roll[3].top_hit, 0xffffffffU);
  std::uint64_t total = 0;
  for (const auto& r : roll) total += r.findings;
  EXPECT_EQ(total, result.stats.findings);
}

TEST(Matcher, IncrementalEvaluationEqualsFullEvaluationForThatAdvisory) {
  m::FleetIndex fleet;
  const std::vector<std::string> bash = {"5.1-2", "5.2.15-2", "5.2.15-2+b2"};
  for (int i = 0; i < 30; ++i) {
    fleet.add_host(host("h" + std::to_string(i), kDebian,
                        {pkg("bash", bash[i % 3]), pkg("libc6", i % 2 ? "2.36-9" : "2.36-9+deb12u4", "glibc", i % 2 ? "2.36-9" : "2.36-9+deb12u4"),
                         pkg("libc-bin", "2.36-9", "glibc", "2.36-9")}));
  }
  fleet.add_host(host("alma1", kAlma, {pkg("bash", "5.1.8-6.el9")}));
  const std::vector<a::Advisory> advs = {
      advisory("DSA-9", {entry(kDebian, "bash", {intro("0"), fixed("5.2.15-2+b1")})}),
      advisory("DSA-2", {entry(kDebian, "glibc", {intro("2.36-1"), fixed("2.36-9+deb12u3")},
                               a::PackageKind::source)}),
      advisory("ALSA-5", {entry(kAlma, "bash", {intro("0")}), entry(kDebian, "bash", {intro("5.2")})}),
      advisory("DSA-0", {entry(kDebian, "zlib", {intro("0")})}),
  };
  const auto full = m::evaluate(fleet, advs);
  std::uint64_t incremental_findings = 0;
  for (std::uint32_t i = 0; i < advs.size(); ++i) {
    SCOPED_TRACE(advs[i].id);
    const auto one = m::evaluate_advisory(fleet, advs[i]);
    incremental_findings += one.stats.findings;
    std::vector<m::Hit> expected;
    for (const auto& h : full.hits) {
      if (h.advisory == i) expected.push_back(h);
    }
    ASSERT_EQ(one.hits.size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
      EXPECT_EQ(one.hits[k].advisory, 0U);
      EXPECT_EQ(one.hits[k].affected, expected[k].affected);
      EXPECT_EQ(one.hits[k].package, expected[k].package);
      EXPECT_EQ(one.hits[k].closing_event, expected[k].closing_event);
    }
  }
  EXPECT_EQ(incremental_findings, full.stats.findings);
  EXPECT_GT(full.stats.findings, 0U);
}

TEST(Matcher, InvalidVersionsAreSkippedAndCountedNotFatal) {
  m::FleetIndex fleet;
  fleet.add_host(host("h1", kDebian,
                      {pkg("good", "1.0-1"), pkg("broken", "1.0 beta"), pkg("other", "2.0-1")}));
  fleet.add_host(host("h2", kAlma, {pkg("empty-release", "1.0-")}));  // rpm accepts this
  const std::vector<a::Advisory> advs = {
      advisory("A-1", {entry(kDebian, "good", {intro("0"), fixed("a:1.0")}),  // bad epoch
                       entry(kDebian, "other", {intro("0"), fixed("3.0")})}),
      advisory("A-2", {entry(kDebian, "broken", {intro("0"), fixed("2.0")})}),
      advisory("A-3", {entry(kDebian, "good", {intro("1.0-"), fixed("2.0")})}),  // empty revision
      advisory("A-4", {entry(kAlma, "empty-release", {intro("0"), fixed("1.0-1")})}),
  };
  const auto result = m::evaluate(fleet, advs);
  EXPECT_EQ(result.stats.skipped_invalid_feed_versions, 2U);
  EXPECT_EQ(result.stats.skipped_invalid_installed_versions, 1U);
  EXPECT_EQ(result.stats.skipped_invalid_versions(), 3U);
  const auto found = m::findings(fleet, advs, result);
  ASSERT_EQ(found.size(), 2U);
  EXPECT_EQ(found[0].package, "other");  // the valid entry of A-1 still counts
  EXPECT_EQ(found[1].package, "empty-release");
}

TEST(Matcher, OutputIsSortedAndOneFindingPerAdvisoryAndPackage) {
  m::FleetIndex fleet;
  fleet.add_host(host("b", kDebian, {pkg("zsh", "5.9-4"), pkg("apt", "2.6.1")}));
  fleet.add_host(host("a", kDebian, {pkg("apt", "2.6.1"), pkg("zsh", "5.9-4")}));
  const std::vector<a::Advisory> advs = {
      advisory("DSA-2", {entry(kDebian, "zsh", {intro("0")}, a::PackageKind::binary,
                               a::Severity::low),
                         entry(kDebian, "apt", {intro("0"), fixed("2.6.2")})},
               a::Severity::critical, {"CVE-2024-2"}),
      // Two entries match the same package: one finding, from the first entry.
      advisory("DSA-1", {entry(kDebian, "zsh", {intro("0"), fixed("6.0")}),
                         entry(kDebian, "zsh", {intro("5.0")})}),
  };
  const auto result = m::evaluate(fleet, advs);
  const auto found = m::findings(fleet, advs, result);
  std::vector<std::string> got;
  for (const auto& f : found) {
    got.push_back(std::string(f.host) + " " + std::string(f.advisory_id) + " " +
                  std::string(f.package) + " " + m::fixed_version_text(f) + " " +
                  std::string(a::severity_name(f.severity)));
  }
  const std::vector<std::string> want = {
      "b DSA-1 zsh 6.0 high",          "b DSA-2 apt 2.6.2 critical",
      "b DSA-2 zsh no fix yet low",    "a DSA-1 zsh 6.0 high",
      "a DSA-2 apt 2.6.2 critical",    "a DSA-2 zsh no fix yet low",
  };
  EXPECT_EQ(got, want);
  ASSERT_EQ(found[1].cves.size(), 1U);
  EXPECT_EQ(found[1].cves[0], "CVE-2024-2");
  EXPECT_EQ(found[1].advisory_severity, a::Severity::critical);
  // Per-host reading gives the same findings.
  const auto for_a = m::findings_for_host(fleet, advs, result, 1);
  ASSERT_EQ(for_a.size(), 3U);
  EXPECT_EQ(for_a[2].package, "zsh");
  EXPECT_EQ(for_a[2].advisory_id, "DSA-2");
}

TEST(Matcher, IndexKeepsHostsAsCompactIdListsAndDeduplicatesRows) {
  m::FleetIndex fleet;
  const auto p1 = fleet.intern_package(kDebian, pkg("bash", "5.2.15-2"));
  const auto p2 = fleet.intern_package(kDebian, pkg("curl", "7.88.1-10"));
  EXPECT_EQ(fleet.intern_package(kDebian, pkg("bash", "5.2.15-2")), p1);
  // Empty source fields mean "the binary's own".
  EXPECT_EQ(fleet.intern_package(kDebian, pkg("bash", "5.2.15-2", "bash", "5.2.15-2")), p1);
  const std::vector<m::PackageId> ids = {p2, p1, p2};
  const auto h = fleet.add_host("h1", kDebian, ids);
  EXPECT_EQ(fleet.packages_of(h), (std::vector<m::PackageId>{p1, p2}));
  EXPECT_EQ(fleet.host_name(h), "h1");
  EXPECT_EQ(fleet.package(p2).source_name, "curl");
  EXPECT_EQ(fleet.host_count_of(p1), 1U);
  EXPECT_GT(fleet.memory_bytes(), 0U);
}

}  // namespace
