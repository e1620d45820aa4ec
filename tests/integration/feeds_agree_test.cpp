// SPDX-License-Identifier: Apache-2.0
// Two feeds, one truth: the Debian security tracker's JSON and OSV records for the same CVEs
// must give the same findings on the same inventories. The tracker data is osv.dev's test copy
// of the real tracker (apparmor); the OSV records are osv.dev's own conversion of those
// entries (its "parts" files), written out as OSV documents.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "patchflow/core/matcher.hpp"
#include "patchflow/feeds/feeds.hpp"
#include "patchflow/testing/data.hpp"

namespace adv = pf::advisories;
namespace fs = std::filesystem;

namespace {

using Finding = std::tuple<std::string, std::string, std::string>;  // host, CVE, fixed

std::set<Finding> findings_of(const pf::matcher::FleetIndex& fleet,
                              const std::vector<adv::Advisory>& advisories) {
  std::set<Finding> out;
  const auto result = pf::matcher::evaluate(fleet, advisories);
  for (const auto& f : pf::matcher::findings(fleet, advisories, result)) {
    for (const auto& cve : f.cves) {
      out.emplace(std::string(f.host), cve, pf::matcher::fixed_version_text(f));
    }
  }
  return out;
}

TEST(FeedsAgree, DebianTrackerAndOsvGiveTheSameFindings) {
  const fs::path base = pf::testing::shared_data_dir() / "osv.dev" / "vulnfeeds" / "test_data";
  std::vector<adv::Advisory> tracker;
  auto t = pf::feeds::import_debian_tracker(
      base / "debian" / "debian_security_tracker_mock.json", {},
      [&](adv::Advisory&& a, const pf::feeds::RecordNotes&) {
        tracker.push_back(std::move(a));
        return true;
      });
  ASSERT_TRUE(t) << pf::to_string(t.error());

  std::vector<adv::Advisory> osv;
  for (const char* cve : {"CVE-2016-1585", "CVE-2017-6507"}) {
    std::ifstream in(base / "parts" / "debian" / (std::string(cve) + ".debian.json"));
    const auto parts = nlohmann::json::parse(in);
    nlohmann::json doc = {{"id", std::string("DEBIAN-") + cve},
                          {"aliases", {cve}},
                          {"modified", "2024-01-01T00:00:00Z"},
                          {"affected", nlohmann::json::array()}};
    for (const auto& p : parts) {
      doc["affected"].push_back(
          {{"package", {{"ecosystem", p["ecosystem"]}, {"name", p["pkg_name"]}}},
           {"ranges",
            {{{"type", "ECOSYSTEM"}, {"events", p["fixed_version"]["affected_versions"]}}}}});
    }
    auto o = pf::feeds::import_osv_bytes(doc.dump(), cve, {},
                                         [&](adv::Advisory&& a, const pf::feeds::RecordNotes&) {
                                           osv.push_back(std::move(a));
                                           return true;
                                         });
    ASSERT_TRUE(o) << pf::to_string(o.error());
  }

  // apparmor at versions before, between and after the fixes, on Debian 10 to 13.
  pf::matcher::FleetIndex fleet;
  for (const char* eco : {"Debian:10", "Debian:11", "Debian:12", "Debian:13"}) {
    for (const char* version : {"2.10.95-1", "2.13.2-10", "3.0.8-3", "3.0.12-1"}) {
      pf::inventory::Inventory inv;
      inv.host = std::string(eco) + "/" + version;
      inv.ecosystem = eco;
      inv.packages.push_back({"apparmor", "amd64", version, "apparmor", version});
      inv.packages.push_back({"libapparmor1", "amd64", version, "apparmor", version});
      fleet.add_host(inv);
    }
  }
  const auto from_tracker = findings_of(fleet, tracker);
  const auto from_osv = findings_of(fleet, osv);
  EXPECT_EQ(from_tracker, from_osv);

  // Checked by hand against the tracker file: 2017-6507 is fixed in 2.11.0-3 everywhere;
  // 2016-1585 has no fix up to bookworm and is fixed in 3.0.12-1 in trixie; 2014-1424 never
  // affected Debian.
  EXPECT_TRUE(from_tracker.contains({"Debian:12/2.10.95-1", "CVE-2017-6507", "2.11.0-3"}));
  EXPECT_TRUE(from_tracker.contains({"Debian:12/3.0.8-3", "CVE-2016-1585", "no fix yet"}));
  EXPECT_TRUE(from_tracker.contains({"Debian:13/3.0.8-3", "CVE-2016-1585", "3.0.12-1"}));
  EXPECT_FALSE(from_tracker.contains({"Debian:12/3.0.8-3", "CVE-2017-6507", "2.11.0-3"}));
  for (const auto& [host, cve, fixed] : from_tracker) {
    EXPECT_NE(cve, "CVE-2014-1424");
    EXPECT_NE(host, "Debian:13/3.0.12-1") << cve;
  }
  // 2017-6507: the 2.10.95-1 hosts of 4 releases; 2016-1585: every host of 10, 11 and 12,
  // and the three hosts of 13 below 3.0.12-1.
  EXPECT_EQ(from_tracker.size(), 4u + 12u + 3u);
}

}  // namespace
