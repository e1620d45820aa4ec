// SPDX-License-Identifier: Apache-2.0
// GET /api/v1/hosts/{id}/findings and GET /api/v1/advisories against a real server: advisories
// and CVE records written into the server's SQLite store by a second connection, a Debian:12
// host enrolled and its inventory uploaded as an agent does.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "patchflow/core/advisory.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "server_harness.hpp"

namespace {

using namespace pf::testing::server;
namespace adv = pf::advisories;

adv::Advisory advisory(std::string id, std::string ecosystem, std::string package,
                       std::string fixed, adv::Severity severity, std::string cve) {
  adv::Advisory a;
  a.id = std::move(id);
  a.severity = severity;
  a.cves = {std::move(cve)};
  a.summary = "test advisory " + a.id;
  a.source = "osv";
  a.published = 1700000000;
  adv::Affected e;
  e.ecosystem = std::move(ecosystem);
  e.package = std::move(package);
  e.package_kind = adv::PackageKind::source;
  e.events = {{adv::EventType::introduced, "0"}, {adv::EventType::fixed, std::move(fixed)}};
  a.affected.push_back(std::move(e));
  return a;
}

json inventory() {
  return {{"hash", "sha256:findings"},
          {"packages",
           {{{"name", "openssl"},
             {"arch", "amd64"},
             {"version", "3.0.11-1~deb12u1"},
             {"source", "openssl"},
             {"source_version", "3.0.11-1~deb12u1"}},
            {{"name", "bash"},
             {"arch", "amd64"},
             {"version", "5.2.15-2+b2"},
             {"source", "bash"},
             {"source_version", "5.2.15-2"}}}},
          {"updates", json::array()}};
}

std::vector<std::string> ids_of(const json& list, const char* key) {
  std::vector<std::string> out;
  for (const auto& x : list) out.push_back(x.at(key).get<std::string>());
  return out;
}

class ServerFindings : public ::testing::Test {
 protected:
  void SetUp() override {
    // The store file exists once the server has started; a second connection writes into it.
    store_ = must(pf::store::SqliteStore::open(h_.database()));
    const std::vector<adv::Advisory> batch = {
        // openssl 3.0.11-1~deb12u1 is vulnerable: fixed in a later version.
        advisory("DSA-1000-1", "Debian:12", "openssl", "3.0.13-1~deb12u1", adv::Severity::high,
                 "CVE-2024-1000"),
        // Fixed long before the installed version: not a finding.
        advisory("DSA-0900-1", "Debian:12", "openssl", "3.0.9-1", adv::Severity::critical,
                 "CVE-2023-0900"),
        // Another ecosystem.
        advisory("ALSA-2024:0001", "AlmaLinux:9", "openssl", "3.0.7-27.el9", adv::Severity::high,
                 "CVE-2024-2000")};
    must(store_->put_advisories(batch));

    agent_ = h_.enroll(h_.enrollment_token());
    auto cli = h_.client(&agent_);
    const json checkin = {{"facts", Harness::facts()}, {"inventory_hash", "sha256:findings"}};
    ASSERT_EQ(send(*cli, "POST", "/agent/v1/checkin", checkin.dump()).status, 200);
    auto put = send(*cli, "PUT", "/agent/v1/inventory", inventory().dump());
    ASSERT_EQ(put.status, 200) << put.body;

    ASSERT_EQ(h_.api("POST", "/api/v1/users", {{"name", "vera"}, {"role", "viewer"}}).status, 201);
    auto t = h_.api("POST", "/api/v1/api-tokens", {{"user", "vera"}});
    ASSERT_EQ(t.status, 201) << t.body;
    viewer_ = t.doc["token"].get<std::string>();
  }

  Answer findings() const {
    return h_.api("GET", "/api/v1/hosts/" + agent_.host_id + "/findings", nullptr, viewer_);
  }

  TempDir tmp_;
  Harness h_{tmp_.path()};
  std::unique_ptr<pf::store::SqliteStore> store_;
  Agent agent_;
  std::string viewer_;
};

TEST_F(ServerFindings, OnlyTheVulnerablePackageWithItsFix) {
  auto a = findings();
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.doc["host_id"], agent_.host_id);
  EXPECT_EQ(a.doc["ecosystem"], "Debian:12");
  const json& list = a.doc["findings"];
  ASSERT_EQ(list.size(), 1U) << a.body;
  const json& f = list[0];
  EXPECT_EQ(f["advisory_id"], "DSA-1000-1");
  EXPECT_EQ(f["package"], "openssl");
  EXPECT_EQ(f["installed_version"], "3.0.11-1~deb12u1");
  EXPECT_EQ(f["fixed_version"], "3.0.13-1~deb12u1");
  EXPECT_EQ(f["severity"], "high");
  EXPECT_EQ(f["cves"], json({"CVE-2024-1000"}));
  EXPECT_EQ(f["kev"], false);
  EXPECT_GT(f["risk"].get<double>(), 0.0);
  ASSERT_TRUE(f["risk_parts"].is_array());
  EXPECT_FALSE(f["risk_parts"].empty());
  double sum = 0;
  for (const auto& p : f["risk_parts"]) sum += p["contribution"].get<double>();
  EXPECT_NEAR(sum, f["risk"].get<double>(), 0.5);
}

TEST_F(ServerFindings, AKevCveRanksFirst) {
  // bash 5.2.15-2 (source) is vulnerable too, same severity, a later id: second without KEV.
  must(store_->put_advisories(std::vector<adv::Advisory>{advisory(
      "DSA-1100-1", "Debian:12", "bash", "5.2.15-3", adv::Severity::high, "CVE-2024-1100")}));
  auto before = findings();
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(ids_of(before.doc["findings"], "advisory_id"),
            (std::vector<std::string>{"DSA-1000-1", "DSA-1100-1"}));

  adv::CveInfo kev;
  kev.id = "CVE-2024-1100";
  kev.kev = true;
  kev.kev_date_added = "2024-05-01";
  must(store_->put_cves(std::vector<adv::CveInfo>{kev},
                        static_cast<unsigned>(pf::store::CveFields::kev)));
  auto after = findings();
  ASSERT_EQ(after.status, 200) << after.body;
  const json& list = after.doc["findings"];
  ASSERT_EQ(ids_of(list, "advisory_id"), (std::vector<std::string>{"DSA-1100-1", "DSA-1000-1"}));
  EXPECT_EQ(list[0]["kev"], true);
  EXPECT_EQ(list[0]["fixed_version"], "5.2.15-3");
  EXPECT_GT(list[0]["risk"].get<double>(), list[1]["risk"].get<double>());
}

TEST_F(ServerFindings, AdvisoriesFilteredBySeverityKevAndEcosystem) {
  adv::CveInfo kev;
  kev.id = "CVE-2024-1000";
  kev.kev = true;
  must(store_->put_cves(std::vector<adv::CveInfo>{kev},
                        static_cast<unsigned>(pf::store::CveFields::kev)));

  auto all = h_.api("GET", "/api/v1/advisories", nullptr, viewer_);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(ids_of(all.doc["advisories"], "id"),
            (std::vector<std::string>{"ALSA-2024:0001", "DSA-0900-1", "DSA-1000-1"}));
  EXPECT_EQ(all.doc["next_cursor"], "");

  auto critical = h_.api("GET", "/api/v1/advisories?severity=critical", nullptr, viewer_);
  ASSERT_EQ(critical.status, 200) << critical.body;
  EXPECT_EQ(ids_of(critical.doc["advisories"], "id"), (std::vector<std::string>{"DSA-0900-1"}));

  auto kev_only = h_.api("GET", "/api/v1/advisories?kev=true", nullptr, viewer_);
  ASSERT_EQ(kev_only.status, 200) << kev_only.body;
  ASSERT_EQ(ids_of(kev_only.doc["advisories"], "id"), (std::vector<std::string>{"DSA-1000-1"}));
  EXPECT_EQ(kev_only.doc["advisories"][0]["kev"], true);
  EXPECT_EQ(kev_only.doc["advisories"][0]["affected"][0]["fixed_version"], "3.0.13-1~deb12u1");

  auto debian =
      h_.api("GET", "/api/v1/advisories?ecosystem=Debian:12&severity=high", nullptr, viewer_);
  ASSERT_EQ(debian.status, 200) << debian.body;
  EXPECT_EQ(ids_of(debian.doc["advisories"], "id"),
            (std::vector<std::string>{"DSA-0900-1", "DSA-1000-1"}));

  // Paged by id.
  auto p1 = h_.api("GET", "/api/v1/advisories?limit=2", nullptr, viewer_);
  ASSERT_EQ(p1.status, 200) << p1.body;
  EXPECT_EQ(ids_of(p1.doc["advisories"], "id"),
            (std::vector<std::string>{"ALSA-2024:0001", "DSA-0900-1"}));
  const std::string cursor = p1.doc["next_cursor"].get<std::string>();
  ASSERT_FALSE(cursor.empty());
  auto p2 = h_.api("GET", "/api/v1/advisories?limit=2&cursor=" + cursor, nullptr, viewer_);
  ASSERT_EQ(p2.status, 200) << p2.body;
  EXPECT_EQ(ids_of(p2.doc["advisories"], "id"), (std::vector<std::string>{"DSA-1000-1"}));
  EXPECT_EQ(p2.doc["next_cursor"], "");

  auto bad = h_.api("GET", "/api/v1/advisories?severity=dreadful", nullptr, viewer_);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.doc["error"]["field"], "severity");
}

TEST_F(ServerFindings, ViewerReadsAnonymousDoesNot) {
  const std::vector<std::string> paths = {"/api/v1/advisories",
                                          "/api/v1/hosts/" + agent_.host_id + "/findings"};
  for (const auto& path : paths) {
    EXPECT_EQ(h_.api("GET", path, nullptr, viewer_).status, 200) << path;
    auto cli = h_.client();
    auto a = send(*cli, "GET", path);
    EXPECT_EQ(a.status, 401) << path;
    EXPECT_EQ(a.doc["error"]["code"], "unauthenticated") << path;
  }
  EXPECT_EQ(h_.api("GET", "/api/v1/hosts/h_0000000000000000/findings", nullptr, viewer_).status,
            404);
}

}  // namespace
