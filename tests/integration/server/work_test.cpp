// SPDX-License-Identifier: Apache-2.0
// Against a real server on loopback (TLS, SQLite): the findings table kept by the server
// (GET /api/v1/findings, hosts by severity), runs (signed work handed to an enrolled agent by
// check-in and long-poll, idempotent event reports, cancel) and password login.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "patchflow/core/advisory.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "server_harness.hpp"

namespace {

using namespace pf::testing::server;
namespace adv = pf::advisories;
using Clock = std::chrono::steady_clock;

adv::Advisory advisory(std::string id, std::string package, std::string fixed,
                       adv::Severity severity, std::string cve) {
  adv::Advisory a;
  a.id = std::move(id);
  a.severity = severity;
  a.cves = {std::move(cve)};
  a.summary = "test advisory " + a.id;
  a.source = "osv";
  a.published = 1700000000;
  adv::Affected e;
  e.ecosystem = "Debian:12";
  e.package = std::move(package);
  e.package_kind = adv::PackageKind::source;
  e.events = {{adv::EventType::introduced, "0"}, {adv::EventType::fixed, std::move(fixed)}};
  a.affected.push_back(std::move(e));
  return a;
}

json package(const std::string& name, const std::string& version) {
  return {{"name", name}, {"arch", "amd64"}, {"version", version}, {"source", name},
          {"source_version", version}};
}

json inventory(const std::string& hash, const std::string& openssl, const std::string& curl) {
  return {{"hash", hash},
          {"packages", {package("openssl", openssl), package("curl", curl)}},
          {"updates", json::array()}};
}

// Polls `get` until `done(answer)` or 20 s; the last answer.
template <class Get, class Done>
Answer poll(Get get, Done done) {
  const auto until = Clock::now() + std::chrono::seconds(20);
  Answer a = get();
  while (!done(a) && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    a = get();
  }
  return a;
}

class ServerWork : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = must(pf::store::SqliteStore::open(h_.database()));
    must(store_->put_advisories(std::vector<adv::Advisory>{
        advisory("DSA-1000-1", "openssl", "3.0.13-1", adv::Severity::high, "CVE-2024-1000"),
        advisory("DSA-1001-1", "curl", "7.88.1-10+deb12u5", adv::Severity::medium,
                 "CVE-2024-1001")}));
    Answer enrolled;
    web_ = h_.enroll(h_.enrollment_token({{"tier", "web"}}), "web-1", &enrolled);
    signing_pub_ = enrolled.doc["signing_public_key_pem"].get<std::string>();
    db_ = h_.enroll(h_.enrollment_token({{"tier", "db"}}), "db-1");
  }

  void upload(const Agent& a, const json& inv) {
    auto cli = h_.client(&a);
    auto put = send(*cli, "PUT", "/agent/v1/inventory", inv.dump());
    ASSERT_EQ(put.status, 200) << put.body;
  }

  Answer agent_call(const Agent& a, const std::string& method, const std::string& path,
                    const json& body = nullptr) {
    auto cli = h_.client(&a);
    return send(*cli, method, path, body.is_null() ? std::string() : body.dump());
  }

  static json job(const std::string& name = "weekly") {
    return {{"job", name},
            {"preconditions",
             {{{"id", "no-recovery"}, {"type", "check"}, {"check", "file_absent"},
               {"path", "/var/lib/app/recovery.flag"}}}},
            {"install", {{"select", "security"}}}};
  }

  TempDir tmp_;
  Harness h_{tmp_.path(), [](pf::server::Config& c) {
               c.findings_interval = std::chrono::seconds(1);
               c.long_poll_timeout = std::chrono::seconds(20);
             }};
  std::unique_ptr<pf::store::SqliteStore> store_;
  Agent web_;
  Agent db_;
  std::string signing_pub_;
};

TEST_F(ServerWork, FindingsAreKeptWithTheirHistoryAndFilter) {
  upload(web_, inventory("sha256:w1", "3.0.11-1", "7.88.1-10+deb12u4"));
  upload(db_, inventory("sha256:d1", "3.0.11-1", "7.88.1-10+deb12u5"));
  auto open = poll([&] { return h_.api("GET", "/api/v1/findings"); },
                   [](const Answer& a) { return a.status == 200 && a.doc["findings"].size() == 3; });
  ASSERT_EQ(open.status, 200) << open.body;
  ASSERT_EQ(open.doc["findings"].size(), 3U) << open.body;
  const json& top = open.doc["findings"][0];
  EXPECT_EQ(top["advisory_id"], "DSA-1000-1") << "high before medium";
  EXPECT_EQ(top["status"], "open");
  EXPECT_EQ(top["fixed_version"], "3.0.13-1");
  EXPECT_TRUE(top["first_seen"].is_string());
  EXPECT_TRUE(top["fixed_at"].is_null());
  EXPECT_FALSE(top["risk_parts"].empty());
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_GE(open.doc["findings"][i - 1]["risk"].get<double>(),
              open.doc["findings"][i]["risk"].get<double>());
  }

  auto web_only = h_.api("GET", "/api/v1/findings?label=tier=web");
  ASSERT_EQ(web_only.status, 200);
  EXPECT_EQ(web_only.doc["findings"].size(), 2U);
  auto high = h_.api("GET", "/api/v1/findings?severity=high");
  EXPECT_EQ(high.doc["findings"].size(), 2U);
  auto curl = h_.api("GET", "/api/v1/findings?package=curl");
  ASSERT_EQ(curl.doc["findings"].size(), 1U);
  EXPECT_EQ(curl.doc["findings"][0]["host_id"], web_.host_id);
  auto page = h_.api("GET", "/api/v1/findings?limit=2");
  ASSERT_EQ(page.doc["findings"].size(), 2U);
  auto rest = h_.api("GET", "/api/v1/findings?limit=2&cursor=" +
                                page.doc["next_cursor"].get<std::string>());
  ASSERT_EQ(rest.doc["findings"].size(), 1U);
  EXPECT_EQ(rest.doc["next_cursor"], "");
  auto bad = h_.api("GET", "/api/v1/findings?status=closed");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.doc["error"]["field"], "status");

  // Hosts by the severity of their open findings, and their summaries.
  auto hosts = h_.api("GET", "/api/v1/hosts?severity=high");
  ASSERT_EQ(hosts.status, 200) << hosts.body;
  EXPECT_EQ(hosts.doc["hosts"].size(), 2U);
  EXPECT_EQ(h_.api("GET", "/api/v1/hosts?severity=critical").doc["hosts"].size(), 0U);
  auto web = h_.api("GET", "/api/v1/hosts/" + web_.host_id);
  EXPECT_EQ(web.doc["findings"]["open"], 2);
  EXPECT_EQ(web.doc["findings"]["max_severity"], "high");

  // The web host is patched: its openssl finding becomes fixed, with the time.
  upload(web_, inventory("sha256:w2", "3.0.13-1", "7.88.1-10+deb12u4"));
  auto fixed = poll([&] { return h_.api("GET", "/api/v1/findings?status=fixed"); },
                    [](const Answer& a) { return a.status == 200 && a.doc["findings"].size() == 1; });
  ASSERT_EQ(fixed.doc["findings"].size(), 1U) << fixed.body;
  EXPECT_EQ(fixed.doc["findings"][0]["host_id"], web_.host_id);
  EXPECT_EQ(fixed.doc["findings"][0]["advisory_id"], "DSA-1000-1");
  EXPECT_TRUE(fixed.doc["findings"][0]["fixed_at"].is_string());
  EXPECT_EQ(h_.api("GET", "/api/v1/findings").doc["findings"].size(), 2U);
  auto web_after = h_.api("GET", "/api/v1/hosts/" + web_.host_id);
  EXPECT_EQ(web_after.doc["findings"]["max_severity"], "medium");
  EXPECT_EQ(h_.api("GET", "/api/v1/hosts?severity=high").doc["hosts"].size(), 1U);

  // A KEV record imported later re-ranks without any agent doing anything.
  adv::CveInfo kev;
  kev.id = "CVE-2024-1001";
  kev.kev = true;
  must(store_->put_cves(std::vector<adv::CveInfo>{kev},
                        static_cast<unsigned>(pf::store::CveFields::kev)));
  auto kev_list = poll([&] { return h_.api("GET", "/api/v1/findings?kev=true"); },
                       [](const Answer& a) { return a.status == 200 && !a.doc["findings"].empty(); });
  // Only the web host's curl is below the fix (the db host has 7.88.1-10+deb12u5).
  ASSERT_EQ(kev_list.doc["findings"].size(), 1U) << kev_list.body;
  EXPECT_EQ(kev_list.doc["findings"][0]["host_id"], web_.host_id);
  EXPECT_EQ(kev_list.doc["findings"][0]["advisory_id"], "DSA-1001-1");
  EXPECT_EQ(kev_list.doc["findings"][0]["kev"], true);
}

TEST_F(ServerWork, ARunIsSignedHandedOutAndReportedOnce) {
  // Refused before anything is queued.
  json with_id = job();
  with_id["run_id"] = "mine";
  auto set_by_server =
      h_.api("POST", "/api/v1/hosts/" + web_.host_id + "/runs", {{"job", with_id}});
  EXPECT_EQ(set_by_server.status, 400);
  EXPECT_EQ(set_by_server.doc["error"]["field"], "job.run_id");
  json broken = job();
  broken["preconditions"][0]["timeout_s"] = 0;
  auto invalid = h_.api("POST", "/api/v1/hosts/" + web_.host_id + "/runs", {{"job", broken}});
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  EXPECT_NE(invalid.doc["error"]["field"].get<std::string>().find("job.preconditions[0]"),
            std::string::npos)
      << invalid.body;
  EXPECT_EQ(h_.api("POST", "/api/v1/hosts/h_nobody/runs", {{"job", job()}}).status, 404);

  auto created = h_.api("POST", "/api/v1/hosts/" + web_.host_id + "/runs", {{"job", job()}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string run_id = created.doc["id"].get<std::string>();
  EXPECT_EQ(created.doc["state"], "queued");
  EXPECT_EQ(h_.api("GET", "/api/v1/hosts/" + web_.host_id).doc["pending_runs"], 1);

  // The other host has nothing; this one gets the run in its check-in answer.
  auto other = agent_call(db_, "POST", "/agent/v1/checkin", {{"inventory_hash", "x"}});
  ASSERT_EQ(other.status, 200);
  EXPECT_TRUE(other.doc["work"].empty());
  auto checkin = agent_call(web_, "POST", "/agent/v1/checkin", {{"inventory_hash", "x"}});
  ASSERT_EQ(checkin.status, 200) << checkin.body;
  ASSERT_EQ(checkin.doc["work"].size(), 1U) << checkin.body;
  const std::string envelope = checkin.doc["work"][0]["envelope"].get<std::string>();
  // The agent's side: the signature verifies with the key from enrollment, and the job is
  // this host's.
  auto opened = pf::jobs::open_envelope(envelope, signing_pub_);
  ASSERT_TRUE(opened) << pf::to_string(opened.error());
  EXPECT_EQ(opened->run_id, run_id);
  EXPECT_EQ(opened->host_id, web_.host_id);
  EXPECT_EQ(opened->job, "weekly");
  std::string altered = envelope;
  altered.replace(altered.find("weekly"), 6, "weekly2");
  EXPECT_FALSE(pf::jobs::open_envelope(altered, signing_pub_)) << "altered work is refused";

  // The long-poll hands out the same run until it is final.
  auto waited = agent_call(web_, "GET", "/agent/v1/wait?timeout=0");
  ASSERT_EQ(waited.status, 200) << waited.body;
  EXPECT_EQ(waited.doc["run_id"], run_id);
  EXPECT_EQ(h_.api("GET", "/api/v1/runs/" + run_id).doc["state"], "delivered");

  const json report = {{"events",
                        {{{"id", run_id + ":1"}, {"seq", 1}, {"kind", "state"}, {"state", "running"},
                          {"body", {{"step", "start"}}}},
                         {{"id", run_id + ":2"}, {"seq", 2}, {"kind", "step"},
                          {"body", {{"step_id", "no-recovery"}, {"status", "passed"}}}}}}};
  auto first = agent_call(web_, "POST", "/agent/v1/runs/" + run_id + "/events", report);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.doc["accepted"], 2);
  EXPECT_EQ(first.doc["state"], "running");
  auto retried = agent_call(web_, "POST", "/agent/v1/runs/" + run_id + "/events", report);
  ASSERT_EQ(retried.status, 200);
  EXPECT_EQ(retried.doc["accepted"], 0);
  EXPECT_EQ(retried.doc["duplicates"], 2);
  auto foreign = agent_call(db_, "POST", "/agent/v1/runs/" + run_id + "/events", report);
  EXPECT_EQ(foreign.status, 404);
  auto done = agent_call(web_, "POST", "/agent/v1/runs/" + run_id + "/events",
                         {{"events",
                           {{{"id", run_id + ":3"}, {"seq", 3}, {"kind", "outcome"},
                             {"state", "succeeded"}, {"body", {{"outcome", "succeeded"}}}}}}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.doc["state"], "succeeded");

  auto run = h_.api("GET", "/api/v1/runs/" + run_id);
  ASSERT_EQ(run.status, 200);
  EXPECT_EQ(run.doc["state"], "succeeded");
  EXPECT_EQ(run.doc["events"], 3);
  EXPECT_EQ(run.doc["event_log"].size(), 3U);
  EXPECT_EQ(run.doc["outcome"]["outcome"], "succeeded");
  EXPECT_EQ(h_.api("GET", "/api/v1/hosts/" + web_.host_id).doc["pending_runs"], 0);
  EXPECT_TRUE(agent_call(web_, "POST", "/agent/v1/checkin", json::object()).doc["work"].empty());
  const auto t0 = Clock::now();
  auto empty = agent_call(web_, "GET", "/agent/v1/wait?timeout=1");
  EXPECT_EQ(empty.status, 204);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(900)) << "held until the timeout";
  auto listed = h_.api("GET", "/api/v1/runs?host=" + web_.host_id);
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.doc["runs"].size(), 1U);
}

TEST_F(ServerWork, ALongPollWakesWhenARunIsQueued) {
  auto waiting = std::async(std::launch::async, [&] {
    const auto t0 = Clock::now();
    Answer a = agent_call(db_, "GET", "/agent/v1/wait?timeout=20");
    return std::make_pair(a, Clock::now() - t0);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto created = h_.api("POST", "/api/v1/hosts/" + db_.host_id + "/runs", {{"job", job("db")}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto [answer, took] = waiting.get();
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.doc["run_id"], created.doc["id"]);
  EXPECT_LT(took, std::chrono::seconds(10)) << "woken by the queued run, not the timeout";

  // Canceled: the agent's next report is refused with "canceled"; a second cancel conflicts.
  const std::string id = created.doc["id"].get<std::string>();
  auto canceled = h_.api("DELETE", "/api/v1/runs/" + id);
  ASSERT_EQ(canceled.status, 200) << canceled.body;
  EXPECT_EQ(canceled.doc["state"], "canceled");
  EXPECT_EQ(h_.api("DELETE", "/api/v1/runs/" + id).status, 409);
  auto late = agent_call(db_, "POST", "/agent/v1/runs/" + id + "/events",
                         {{"events", {{{"id", "x"}, {"seq", 1}, {"kind", "step"}, {"body", json::object()}}}}});
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(late.doc["error"]["code"], "canceled");
  auto audit = h_.api("GET", "/api/v1/audit?limit=1000");
  std::vector<std::string> actions;
  for (const auto& e : audit.doc["entries"]) actions.push_back(e["action"].get<std::string>());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "run.create"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "run.cancel"), actions.end());
}

TEST_F(ServerWork, PasswordLoginGivesASessionWithTheUsersRole) {
  ASSERT_EQ(h_.api("POST", "/api/v1/users",
                   {{"name", "olga"}, {"role", "viewer"}, {"password", "correct horse battery"}})
                .status,
            201);
  auto cli = h_.client();
  auto wrong = send(*cli, "POST", "/api/v1/login",
                    json{{"user", "olga"}, {"password", "wrong horse battery"}}.dump());
  EXPECT_EQ(wrong.status, 401);
  auto nobody = send(*cli, "POST", "/api/v1/login",
                     json{{"user", "nobody"}, {"password", "correct horse battery"}}.dump());
  EXPECT_EQ(nobody.status, 401);
  EXPECT_EQ(wrong.doc["error"]["message"], nobody.doc["error"]["message"])
      << "the answer does not tell which was wrong";
  auto ok = send(*cli, "POST", "/api/v1/login",
                 json{{"user", "olga"}, {"password", "correct horse battery"}}.dump());
  ASSERT_EQ(ok.status, 201) << ok.body;
  const std::string token = ok.doc["token"].get<std::string>();
  EXPECT_TRUE(token.starts_with("pfs_"));
  EXPECT_EQ(ok.doc["role"], "viewer");
  EXPECT_TRUE(ok.doc["expires_at"].is_string());
  auto me = h_.api("GET", "/api/v1/whoami", nullptr, token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.doc["user"], "olga");
  EXPECT_EQ(h_.api("POST", "/api/v1/enrollment-tokens", json::object(), token).status, 403);
  auto out = h_.api("POST", "/api/v1/logout", nullptr, token);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(h_.api("GET", "/api/v1/whoami", nullptr, token).status, 401);

  // A disabled user cannot log in.
  ASSERT_EQ(h_.api("PUT", "/api/v1/users/olga", {{"disabled", true}}).status, 200);
  auto disabled = send(*cli, "POST", "/api/v1/login",
                       json{{"user", "olga"}, {"password", "correct horse battery"}}.dump());
  EXPECT_EQ(disabled.status, 401);
  EXPECT_NE(h_.api("GET", "/metrics").body.find("patchflow_logins_refused_total 3"),
            std::string::npos);
}

}  // namespace
