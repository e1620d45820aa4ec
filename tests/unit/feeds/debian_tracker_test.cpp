// SPDX-License-Identifier: Apache-2.0
// Debian security tracker JSON against vunnel's normalized snapshots and osv.dev's conversion.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "support.hpp"

namespace adv = pf::advisories;
using namespace pf::feeds;
using namespace pf::feeds::testing;

namespace {

const std::filesystem::path kVunnel = "vunnel/tests/unit/providers/debian/test-fixtures";

std::string field(const std::string& json, const std::string& name) {
  // Snapshot files are small and regular; a regex finds "Name": "value" well enough here.
  const std::regex re("\"" + name + "\": \"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(json, m, re) ? m[1].str() : std::string();
}

TEST(DebianTracker, AgreesWithVunnelSnapshots) {
  Collected got;
  const auto stats = import_debian_tracker(data() / kVunnel / "input/debian.json", {},
                                           got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  // 6 source packages; every (package, CVE) entry is one advisory.
  EXPECT_EQ(stats->records, 7u);
  EXPECT_EQ(stats->ignored, 0u);  // every codename in it is known

  std::size_t checked = 0;
  for (const auto& dir : std::filesystem::directory_iterator(data() / kVunnel / "snapshots")) {
    const std::string ns = dir.path().filename().string();  // "debian:12", "debian:unstable"
    const std::string ecosystem = "Debian:" + ns.substr(ns.find(':') + 1);
    for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
      const std::string json = read_file(file.path());
      const std::string package = field(json, "Name");  // the first "Name" is FixedIn[0].Name
      const std::string vuln = [&] {
        const std::regex re("\"Name\": \"(CVE-[0-9-]+)\"");
        std::smatch m;
        return std::regex_search(json, m, re) ? m[1].str() : std::string();
      }();
      const std::string version = field(json, "Version");
      const std::size_t i = got.index_of("DEBIAN-" + vuln + "/" + package);
      if (i == got.advisories.size()) continue;  // from vunnel's legacy (wheezy) input
      const auto* affected = find_affected(got.advisories[i], ecosystem, package);
      SCOPED_TRACE(file.path().string());
      if (version == "0") {  // vunnel's way of saying "never affected"
        EXPECT_EQ(affected, nullptr);
        ++checked;
        continue;
      }
      ASSERT_NE(affected, nullptr);
      if (version == "None") {
        EXPECT_FALSE(affected->fixed_version().has_value());
        EXPECT_EQ(affected->events.size(), 1u);
      } else {
        EXPECT_EQ(affected->fixed_version(), version);
      }
      EXPECT_EQ(affected->package_kind, adv::PackageKind::source);
      ++checked;
    }
  }
  EXPECT_GE(checked, 20u);
}

TEST(DebianTracker, HandCheckedEntries) {
  Collected got;
  ASSERT_TRUE(import_debian_tracker(data() / kVunnel / "input/debian.json", {}, got.advisory_sink()));

  // chromium CVE-2022-0456: fixed in bookworm/bullseye/sid, open (end-of-life) in buster/stretch.
  const std::size_t ci = got.index_of("DEBIAN-CVE-2022-0456/chromium");
  ASSERT_LT(ci, got.advisories.size());
  const auto& chromium = got.advisories[ci];
  EXPECT_EQ(chromium.cves, std::vector<std::string>{"CVE-2022-0456"});
  EXPECT_EQ(chromium.source, "debian-tracker");
  EXPECT_EQ(chromium.affected.size(), 5u);
  EXPECT_EQ(find_affected(chromium, "Debian:12", "chromium")->fixed_version(), "98.0.4758.80-1");
  EXPECT_EQ(find_affected(chromium, "Debian:11", "chromium")->fixed_version(),
            "98.0.4758.80-1~deb11u1");
  EXPECT_EQ(find_affected(chromium, "Debian:unstable", "chromium")->fixed_version(),
            "98.0.4758.80-1");
  const auto* buster = find_affected(chromium, "Debian:10", "chromium");
  ASSERT_NE(buster, nullptr);
  EXPECT_FALSE(buster->fixed_version());
  EXPECT_EQ(buster->severity, adv::Severity::unknown);  // "end-of-life"
  for (std::size_t k = 0; k < chromium.affected.size(); ++k) {
    const bool fixed = chromium.affected[k].fixed_version().has_value();
    EXPECT_EQ(got.status[ci][k], fixed ? AffectedStatus::fixed : AffectedStatus::open);
  }

  // prototypejs CVE-2008-7220: urgency "high**" (not yet checked) is still high.
  const auto& proto = got.advisory("DEBIAN-CVE-2008-7220/prototypejs");
  EXPECT_EQ(proto.severity, adv::Severity::high);
  EXPECT_EQ(find_affected(proto, "Debian:10", "prototypejs")->fixed_version(), "1.6.0.2-1");
  EXPECT_EQ(find_affected(proto, "Debian:8", "prototypejs")->severity, adv::Severity::high);

  // prototypejs CVE-2007-2383: fixed_version "0" everywhere → never affected.
  const auto& never = got.advisory("DEBIAN-CVE-2007-2383/prototypejs");
  EXPECT_TRUE(never.affected.empty());
  EXPECT_EQ(never.severity, adv::Severity::unknown);

  // chromium-browser CVE-2022-0358 has "releases": [] in this fixture.
  EXPECT_TRUE(got.advisory("DEBIAN-CVE-2022-0358/chromium-browser").affected.empty());
}

TEST(DebianTracker, AgreesWithOsvDevConversionOfTheSameEntries) {
  // osv.dev converts its tracker mock into OSV "affected" parts; both must give the same fixes.
  Collected got;
  const auto base = data() / "osv.dev/vulnfeeds/test_data";
  ASSERT_TRUE(import_debian_tracker(base / "debian/debian_security_tracker_mock.json", {},
                                    got.advisory_sink()));
  std::size_t compared = 0;
  for (const char* cve : {"CVE-2017-6507", "CVE-2016-1585"}) {
    const std::string parts = read_file(base / "parts/debian" / (std::string(cve) + ".debian.json"));
    const std::regex re(
        R"re("pkg_name": "([^"]+)",\s*"ecosystem": "([^"]+)",\s*"fixed_version": \{\s*"affected_versions": \[\s*\{\s*"introduced": "0"\s*\}(?:,\s*\{\s*"fixed": "([^"]+)"\s*\})?)re");
    for (auto it = std::sregex_iterator(parts.begin(), parts.end(), re); it != std::sregex_iterator();
         ++it) {
      const std::string package = (*it)[1];
      const std::string ecosystem = (*it)[2];
      const std::string fixed = (*it)[3];
      const auto& a = got.advisory("DEBIAN-" + std::string(cve) + "/" + package);
      const auto* affected = find_affected(a, ecosystem, package);
      SCOPED_TRACE(std::string(cve) + " " + ecosystem);
      ASSERT_NE(affected, nullptr);
      if (fixed.empty()) {
        EXPECT_FALSE(affected->fixed_version());
      } else {
        EXPECT_EQ(affected->fixed_version(), fixed);
      }
      ++compared;
    }
  }
  EXPECT_GE(compared, 6u);
  EXPECT_EQ(find_affected(got.advisory("DEBIAN-CVE-2017-6507/apparmor"), "Debian:10", "apparmor")
                ->fixed_version(),
            "2.11.0-3");
}

TEST(DebianTracker, UndeterminedIsMarked) {
  Collected got;
  const auto stats = import_debian_tracker_bytes(
      R"({"openssl":{"CVE-2024-0001":{"description":"d","releases":{
            "bookworm":{"status":"undetermined","urgency":"not yet assigned","repositories":{}},
            "trixie":{"status":"open","urgency":"medium"},
            "experimental":{"status":"open"}}},
          "TEMP-0000000-ABCDEF":{"releases":{"sid":{"status":"resolved","fixed_version":"1.0-1","urgency":"low"}}}}})",
      "tracker.json", {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->ignored, 1u);  // experimental
  const std::size_t i = got.index_of("DEBIAN-CVE-2024-0001/openssl");
  ASSERT_LT(i, got.advisories.size());
  ASSERT_EQ(got.advisories[i].affected.size(), 2u);
  EXPECT_EQ(got.advisories[i].affected[0].ecosystem, "Debian:12");
  EXPECT_EQ(got.status[i][0], AffectedStatus::undetermined);
  EXPECT_EQ(got.status[i][1], AffectedStatus::open);
  EXPECT_EQ(got.advisories[i].severity, adv::Severity::medium);
  const auto& temp = got.advisory("DEBIAN-TEMP-0000000-ABCDEF/openssl");
  EXPECT_TRUE(temp.cves.empty());
  EXPECT_EQ(temp.affected.at(0).fixed_version(), "1.0-1");
}

TEST(DebianTracker, RejectsMalformedEntries) {
  Collected got;
  EXPECT_TRUE(fails_with(
      import_debian_tracker(
          data() / "vuls-data-update/pkg/fetch/debian/tracker/api/testdata/fixtures/invalid.json",
          {}, got.advisory_sink()),
      "expected a JSON value", "invalid.json:1:1 (byte 0)"));
  EXPECT_TRUE(fails_with(
      import_debian_tracker_bytes(
          R"({"p":{"CVE-2024-1":{"releases":{"sid":{"status":"fixed-ish"}}}}})", "t.json", {},
          got.advisory_sink()),
      "unknown status \"fixed-ish\"", "t.json:1:"));
  EXPECT_TRUE(fails_with(
      import_debian_tracker_bytes(R"({"p":{"CVE-2024-1":{"releases":{"sid":{"status":"resolved"}}}}})",
                                  "t.json", {}, got.advisory_sink()),
      "without a fixed_version", "$.p.CVE-2024-1.releases.sid"));
  EXPECT_TRUE(fails_with(
      import_debian_tracker_bytes(R"({"p":{"CVE-2024-1":{"releases":{"sid":{"status":7}}}}})",
                                  "t.json", {}, got.advisory_sink()),
      "expected status to be a string, found a number", "$.p.CVE-2024-1.releases.sid.status"));
  EXPECT_TRUE(fails_with(
      import_debian_tracker_bytes(R"({"p":["CVE-2024-1"]})", "t.json", {}, got.advisory_sink()),
      "expected a source package entry to be an object, found an array", "t.json:1:6"));
}

}  // namespace
