// SPDX-License-Identifier: Apache-2.0
// The same server on PostgreSQL: only `database` changes (a postgresql:// URL). Enrollment,
// group-committed check-ins, inventory, the hosts API, revocation and the audit chain on a
// real, throwaway PostgreSQL server (tests/support PgCluster).
#include "patchflow/testing/pg_cluster.hpp"
#include "server_harness.hpp"

namespace {

using namespace pf::testing::server;

TEST(ServerPostgres, OnlyTheDatabaseUrlChanges) {
  TempDir tmp;
  auto url = pf::testing::PgCluster::database_for(tmp.path());
  ASSERT_TRUE(url) << pf::to_string(url.error());
  Harness h(tmp.path(), [&](pf::server::Config& c) { c.database = *url; });
  ASSERT_TRUE(h.server().bootstrap().admin_created);
  EXPECT_NE(h.log().find("database=postgresql://"), std::string::npos) << h.log();
  EXPECT_FALSE(fs::exists(h.config().state_dir / "patchflow.db")) << "no SQLite file made";
  EXPECT_EQ(send(*h.client(), "GET", "/readyz").status, 200);

  const Agent agent = h.enroll(h.enrollment_token({{"tier", "db"}}), "db-1.example.org");
  auto cli = h.client(&agent);
  const json checkin = {{"facts", Harness::facts("db-1.example.org")}, {"inventory_hash", "h1"}};
  auto first = send(*cli, "POST", "/agent/v1/checkin", checkin.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.doc["inventory_needed"], true);
  const json inventory = {
      {"hash", "h1"},
      {"packages", {{{"name", "postgresql-15"}, {"arch", "amd64"}, {"version", "15.5-0+deb12u1"}}}},
      {"updates", json::array()}};
  auto put = send(*cli, "PUT", "/agent/v1/inventory", inventory.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(send(*cli, "POST", "/agent/v1/checkin", checkin.dump()).doc["inventory_needed"], false);

  auto host = h.api("GET", "/api/v1/hosts/" + agent.host_id);
  ASSERT_EQ(host.status, 200) << host.body;
  EXPECT_EQ(host.doc["labels"]["tier"], "db");
  ASSERT_EQ(host.doc["packages"].size(), 1u);
  EXPECT_EQ(host.doc["packages"][0]["name"], "postgresql-15");
  EXPECT_EQ(h.api("GET", "/api/v1/hosts?label=tier=db").doc["hosts"].size(), 1u);

  ASSERT_EQ(h.api("DELETE", "/api/v1/hosts/" + agent.host_id).status, 200);
  EXPECT_EQ(send(*cli, "POST", "/agent/v1/checkin", checkin.dump()).status, 403);
  auto verify = h.api("POST", "/api/v1/audit/verify");
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_EQ(verify.doc["ok"], true);
  EXPECT_EQ(verify.doc["entries_checked"], 5);  // admin, its token, enrollment token, enroll, revoke

  // A restart on the same database: no second admin, the data is there.
  h.restart();
  EXPECT_FALSE(h.server().bootstrap().admin_created);
  EXPECT_EQ(h.api("GET", "/api/v1/hosts?include_revoked=true").doc["hosts"].size(), 1u);
}

}  // namespace
