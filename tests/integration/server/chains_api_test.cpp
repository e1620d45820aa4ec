// SPDX-License-Identifier: Apache-2.0
// Policy as code and chain runs through the REST API (docs/api.md, "Policies and chains"),
// against a real server on loopback (TLS, SQLite) whose chain orchestrator runs in-process:
// apply (created, unchanged, changed with its diff in the audit log, dry runs, errors that store
// nothing), get/list/delete, plans of hosts with real inventories, runs that queue the first
// wave's jobs, emergency rules, and the approve/pause/resume/cancel events.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "patchflow/core/advisory.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "server_harness.hpp"

namespace {

using namespace pf::testing::server;
namespace adv = pf::advisories;
using Clock = std::chrono::steady_clock;

adv::Advisory advisory(std::string id, std::string package, std::string fixed,
                       adv::Severity severity) {
  adv::Advisory a;
  a.id = std::move(id);
  a.severity = severity;
  a.cves = {"CVE-2024-" + a.id.substr(4, 4)};
  a.summary = "test advisory " + a.id;
  a.source = "debian";
  a.published = 1700000000;
  adv::Affected e;
  e.ecosystem = "Debian:12";
  e.package = std::move(package);
  e.package_kind = adv::PackageKind::source;
  e.severity = severity;
  e.events = {{adv::EventType::introduced, "0"}, {adv::EventType::fixed, std::move(fixed)}};
  a.affected.push_back(std::move(e));
  return a;
}

// An inventory with one package and its one available (security) update.
json inventory(const std::string& hash, const std::string& name, const std::string& installed,
               const std::string& candidate, const std::string& advisory_id) {
  return {{"hash", hash},
          {"packages",
           {{{"name", name},
             {"arch", "amd64"},
             {"version", installed},
             {"source", name},
             {"source_version", installed}}}},
          {"updates",
           {{{"name", name},
             {"arch", "amd64"},
             {"installed", installed},
             {"candidate", candidate},
             {"origin", "Debian-Security"},
             {"security", true},
             {"advisories", {advisory_id}},
             {"held_reason", ""}}}}};
}

json file(const std::string& name, const std::string& source) {
  return {{"name", name}, {"source", source}};
}

json apply_body(const std::vector<json>& files, bool dry_run = false) {
  json body = {{"files", files}};
  if (dry_run) body["dry_run"] = true;
  return body;
}

// sec-high holds curl: a host whose only update is curl's has nothing approved.
const std::string kBaselines = R"(apiVersion: patchflow/v1
kind: Baseline
metadata: {name: sec-high}
spec:
  classifications: [security]
  min_severity: high
  holds: ["curl*"]
---
apiVersion: patchflow/v1
kind: Baseline
metadata: {name: spare}
spec:
  min_severity: low
)";

// tiers: db one host per wave, then web once no db host failed. gated: db waits for approval,
// and may be run as an emergency.
const std::string kChains = R"(apiVersion: patchflow/v1
kind: Chain
metadata: {name: tiers}
spec:
  patches: {baseline: sec-high}
  stages:
    - name: db
      targets: {selector: "tier=db"}
      rollout: {max_parallel: 1}
    - name: web
      after: [db]
      when: "stages.db.failed == 0"
      targets: {selector: "tier=web"}
---
apiVersion: patchflow/v1
kind: Chain
metadata: {name: gated}
spec:
  patches: {baseline: sec-high}
  emergency: {allowed: true}
  stages:
    - name: db
      targets: {selector: "tier=db"}
      approval: {required: true}
      rollout: {max_parallel: "100%"}
)";

// `lots` is at line 9, column 31.
const std::string kBadValue = R"(apiVersion: patchflow/v1
kind: Chain
metadata: {name: broken}
spec:
  patches: {baseline: sec-high}
  stages:
    - name: db
      targets: {selector: "tier=db"}
      rollout: {max_parallel: lots}
)";

const std::string kUnknownGateField = R"(apiVersion: patchflow/v1
kind: Chain
metadata: {name: misspelt}
spec:
  patches: {baseline: sec-high}
  stages:
    - name: db
      targets: {selector: "tier=db"}
    - name: web
      after: [db]
      when: "stages.db.succes_ratio > 0.5"
      targets: {selector: "tier=web"}
)";

const std::string kWindow = R"(apiVersion: patchflow/v1
kind: Window
metadata: {name: nightly}
spec: {schedule: "daily 22:00", duration: 6h, timezone: UTC}
)";

std::vector<std::string> names_of(const json& list, const std::string& key = "name") {
  std::vector<std::string> out;
  for (const auto& x : list) out.push_back(x.value(key, ""));
  return out;
}

class ChainsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = must(pf::store::SqliteStore::open(h_.database()));
    must(store_->put_advisories(std::vector<adv::Advisory>{
        advisory("DSA-1000-1", "openssl", "3.0.13-1", adv::Severity::high),
        advisory("DSA-1001-1", "curl", "7.88.1-10+deb12u5", adv::Severity::medium)}));
    for (const std::string role : {"operator", "approver", "viewer"}) {
      auto u = h_.api("POST", "/api/v1/users", {{"name", "u-" + role}, {"role", role}});
      ASSERT_EQ(u.status, 201) << u.body;
      auto t = h_.api("POST", "/api/v1/api-tokens", {{"user", "u-" + role}});
      ASSERT_EQ(t.status, 201) << t.body;
      tokens_[role] = t.doc["token"].get<std::string>();
    }
  }

  Answer as(const std::string& role, const std::string& method, const std::string& path,
            const json& body = nullptr) {
    return h_.api(method, path, body, tokens_.at(role));
  }

  Answer apply(const std::vector<json>& files, bool dry_run = false) {
    return as("operator", "POST", "/api/v1/policies", apply_body(files, dry_run));
  }

  /// The audit entries of `action`, oldest first.
  std::vector<json> audit(const std::string& action) {
    auto a = h_.api("GET", "/api/v1/audit?limit=1000");
    EXPECT_EQ(a.status, 200) << a.body;
    std::vector<json> out;
    for (const auto& e : a.doc["entries"]) {
      if (e.value("action", "") == action) out.push_back(e);
    }
    return out;
  }

  /// The fleet of the plan: db-1, db-2 (openssl update, approved), web-1 (only curl: held),
  /// web-2 (no inventory), web-3 (openssl update).
  void fleet() {
    const json db = {{"tier", "db"}};
    const json web = {{"tier", "web"}};
    db1_ = h_.enroll(h_.enrollment_token(db), "db-1");
    db2_ = h_.enroll(h_.enrollment_token(db), "db-2");
    web1_ = h_.enroll(h_.enrollment_token(web), "web-1");
    web2_ = h_.enroll(h_.enrollment_token(web), "web-2");
    web3_ = h_.enroll(h_.enrollment_token(web), "web-3");
    upload(db1_, inventory("sha256:db1", "openssl", "3.0.11-1", "3.0.13-1", "DSA-1000-1"));
    upload(db2_, inventory("sha256:db2", "openssl", "3.0.11-1", "3.0.13-1", "DSA-1000-1"));
    upload(web3_, inventory("sha256:web3", "openssl", "3.0.11-1", "3.0.13-1", "DSA-1000-1"));
    upload(web1_, inventory("sha256:web1", "curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5",
                            "DSA-1001-1"));
    // Every inventory stored: each host shows its update.
    for (const Agent* a : {&db1_, &db2_, &web1_, &web3_}) {
      const std::string path = "/api/v1/hosts/" + a->host_id;
      auto got = poll([&] { return h_.api("GET", path); },
                      [](const Answer& x) { return x.status == 200 && x.doc["updates"].size() == 1; });
      ASSERT_EQ(got.doc["updates"].size(), 1U) << got.body;
    }
  }

  void upload(const Agent& a, const json& inv) {
    auto cli = h_.client(&a);
    auto put = send(*cli, "PUT", "/agent/v1/inventory", inv.dump());
    ASSERT_EQ(put.status, 200) << put.body;
  }

  /// Calls `get` until `done(answer)` or 30 s; the last answer.
  template <class Get, class Done>
  static Answer poll(Get get, Done done) {
    const auto until = Clock::now() + std::chrono::seconds(30);
    Answer a = get();
    while (!done(a) && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      a = get();
    }
    return a;
  }

  Answer run_until(const std::string& id, const std::function<bool(const json&)>& done) {
    return poll([&] { return h_.api("GET", "/api/v1/chain-runs/" + id); },
                [&](const Answer& a) { return a.status == 200 && done(a.doc); });
  }

  Answer runs_of(const Agent& host) {
    return as("viewer", "GET", "/api/v1/runs?host=" + host.host_id);
  }

  TempDir tmp_;
  Harness h_{tmp_.path(), [](pf::server::Config& c) {
               c.findings_interval = std::chrono::seconds(1);
               c.chain_interval = std::chrono::seconds(1);
             }};
  std::unique_ptr<pf::store::SqliteStore> store_;
  std::map<std::string, std::string> tokens_;
  Agent db1_, db2_, web1_, web2_, web3_;
};

TEST_F(ChainsApi, ApplyCreatesThenLeavesUnchangedThenRecordsTheDiff) {
  auto created = apply({file("baselines.yaml", kBaselines)});
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.doc["dry_run"], false);
  ASSERT_EQ(created.doc["documents"].size(), 2U) << created.body;
  for (const auto& d : created.doc["documents"]) {
    EXPECT_EQ(d["kind"], "Baseline");
    EXPECT_EQ(d["outcome"], "created") << d.dump();
    EXPECT_EQ(d["revision"], 1) << d.dump();
  }
  EXPECT_EQ(names_of(created.doc["documents"]), (std::vector<std::string>{"sec-high", "spare"}));
  const auto after_create = audit("policy.apply");
  ASSERT_EQ(after_create.size(), 2U);
  EXPECT_EQ(after_create[0]["actor"], "u-operator");
  EXPECT_EQ(after_create[0]["target"], "Baseline/sec-high");
  EXPECT_TRUE(after_create[0]["before"].is_null()) << after_create[0].dump();

  // The same file again: nothing changes, nothing is recorded.
  auto again = apply({file("baselines.yaml", kBaselines)});
  ASSERT_EQ(again.status, 200) << again.body;
  for (const auto& d : again.doc["documents"]) {
    EXPECT_EQ(d["outcome"], "unchanged") << d.dump();
    EXPECT_EQ(d["revision"], 1) << d.dump();
    EXPECT_TRUE(d["diff"].empty()) << d.dump();
  }
  EXPECT_EQ(audit("policy.apply").size(), 2U) << "an unchanged apply writes no audit entry";
  // The same content from another file and two lines further down: still unchanged.
  auto moved = apply({file("elsewhere/policy.yaml", "# moved\n# here\n" + std::string(kBaselines))});
  ASSERT_EQ(moved.status, 200) << moved.body;
  for (const auto& d : moved.doc["documents"]) EXPECT_EQ(d["outcome"], "unchanged") << d.dump();
  EXPECT_EQ(audit("policy.apply").size(), 2U) << "where a document came from is not a change";

  // One value changed on its line: sec-high changes (revision 2), spare does not.
  std::string edited = kBaselines;
  edited.replace(edited.find("min_severity: high"), 18, "min_severity: critical");
  auto changed = apply({file("baselines.yaml", edited)});
  ASSERT_EQ(changed.status, 200) << changed.body;
  const json& sec = changed.doc["documents"][0];
  EXPECT_EQ(sec["outcome"], "changed") << changed.body;
  EXPECT_EQ(sec["revision"], 2);
  ASSERT_EQ(sec["diff"].size(), 1U) << changed.body;
  const std::string line = sec["diff"][0];
  EXPECT_TRUE(line.starts_with("spec.min_severity: ")) << line;
  EXPECT_NE(line.find("high"), std::string::npos) << line;
  EXPECT_NE(line.find("→"), std::string::npos) << line;
  EXPECT_NE(line.find("critical"), std::string::npos) << line;
  EXPECT_EQ(changed.doc["documents"][1]["outcome"], "unchanged");

  const auto entries = audit("policy.apply");
  ASSERT_EQ(entries.size(), 3U);
  const json& last = entries.back();
  EXPECT_EQ(last["target"], "Baseline/sec-high");
  EXPECT_EQ(last["after"]["diff"], json::array({line})) << last.dump();
  EXPECT_EQ(last["after"]["document"]["spec"]["min_severity"], "critical") << last.dump();
  EXPECT_EQ(last["before"]["spec"]["min_severity"], "high") << last.dump();

  auto stored = as("viewer", "GET", "/api/v1/policies/baseline/sec-high");
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(stored.doc["revision"], 2);
  EXPECT_EQ(stored.doc["updated_by"], "u-operator");
  EXPECT_EQ(stored.doc["document"]["spec"]["min_severity"], "critical");

  // A viewer may not apply.
  EXPECT_EQ(as("viewer", "POST", "/api/v1/policies",
               apply_body({file("baselines.yaml", kBaselines)}))
                .status,
            403);
}

TEST_F(ChainsApi, RefusedAndDryAppliesStoreNothing) {
  const auto nothing_stored = [&] {
    auto list = as("viewer", "GET", "/api/v1/policies");
    EXPECT_EQ(list.status, 200) << list.body;
    return list.doc["policies"].empty();
  };

  auto dry = apply({file("baselines.yaml", kBaselines), file("chains.yaml", kChains)}, true);
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(dry.doc["dry_run"], true);
  ASSERT_EQ(dry.doc["documents"].size(), 4U) << dry.body;
  EXPECT_EQ(dry.doc["documents"][2]["outcome"], "created");
  EXPECT_EQ(dry.doc["documents"][2]["name"], "tiers");
  EXPECT_TRUE(nothing_stored()) << "a dry run stores nothing";
  EXPECT_TRUE(audit("policy.apply").empty());

  // A bad value: 400 naming FILE:LINE:COL of the value, then the key path.
  auto bad = apply({file("baselines.yaml", kBaselines), file("bad.yaml", kBadValue)});
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.doc["error"]["code"], "invalid_request");
  EXPECT_EQ(bad.doc["error"]["field"], "files[1].source");
  const std::string message = bad.doc["error"]["message"];
  EXPECT_TRUE(message.starts_with("bad.yaml:9:31: ")) << message;
  EXPECT_NE(message.find("max_parallel"), std::string::npos) << message;
  EXPECT_TRUE(nothing_stored()) << "one bad file: the good one is not stored either";

  // A gate reading a field stages do not have is refused at apply time.
  auto gate = apply({file("baselines.yaml", kBaselines), file("misspelt.yaml", kUnknownGateField)});
  ASSERT_EQ(gate.status, 400) << gate.body;
  EXPECT_NE(gate.doc["error"]["message"].get<std::string>().find("succes_ratio"),
            std::string::npos)
      << gate.body;
  EXPECT_TRUE(gate.doc["error"]["message"].get<std::string>().starts_with("misspelt.yaml:"))
      << gate.body;
  EXPECT_TRUE(nothing_stored());

  // Two files, the second bad: the window of the first is not stored.
  auto two = apply({file("window.yaml", kWindow), file("bad.yaml", kBadValue)});
  EXPECT_EQ(two.status, 400) << two.body;
  EXPECT_EQ(as("viewer", "GET", "/api/v1/policies/window/nightly").status, 404);
  // A chain whose baseline is neither stored nor applied: the set check refuses it.
  auto orphan = apply({file("chains.yaml", kChains)});
  ASSERT_EQ(orphan.status, 400) << orphan.body;
  EXPECT_EQ(orphan.doc["error"]["field"], "files");
  EXPECT_NE(orphan.doc["error"]["message"].get<std::string>().find("sec-high"), std::string::npos)
      << orphan.body;
  EXPECT_TRUE(nothing_stored());
  EXPECT_TRUE(audit("policy.apply").empty());
}

TEST_F(ChainsApi, GetListAndDeleteByKind) {
  ASSERT_EQ(apply({file("baselines.yaml", kBaselines), file("chains.yaml", kChains)}).status, 200);

  auto baselines = as("viewer", "GET", "/api/v1/policies?kind=BASELINES");
  ASSERT_EQ(baselines.status, 200) << baselines.body;
  EXPECT_EQ(names_of(baselines.doc["policies"]), (std::vector<std::string>{"sec-high", "spare"}));
  auto chains = as("viewer", "GET", "/api/v1/policies?kind=chain");
  ASSERT_EQ(chains.status, 200) << chains.body;
  EXPECT_EQ(names_of(chains.doc["policies"]), (std::vector<std::string>{"gated", "tiers"}));
  EXPECT_EQ(chains.doc["policies"][0]["kind"], "Chain");
  EXPECT_EQ(as("viewer", "GET", "/api/v1/policies").doc["policies"].size(), 4U);
  auto wrong = as("viewer", "GET", "/api/v1/policies?kind=widgets");
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  EXPECT_EQ(wrong.doc["error"]["field"], "kind");

  for (const std::string kind : {"Chain", "chains", "CHAIN"}) {
    auto one = as("viewer", "GET", "/api/v1/policies/" + kind + "/tiers");
    ASSERT_EQ(one.status, 200) << kind << ": " << one.body;
    EXPECT_EQ(one.doc["kind"], "Chain");
    EXPECT_EQ(one.doc["name"], "tiers");
    EXPECT_EQ(one.doc["revision"], 1);
    EXPECT_EQ(one.doc["document"]["spec"]["stages"].size(), 2U) << one.body;
  }
  auto missing = as("viewer", "GET", "/api/v1/policies/chain/nowhere");
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(missing.doc["error"]["field"], "name");
  EXPECT_EQ(as("viewer", "GET", "/api/v1/policies/baseline/tiers").status, 404)
      << "a name is per kind";

  // sec-high is the baseline of both chains: refused, naming it and its user.
  auto used = as("operator", "DELETE", "/api/v1/policies/baseline/sec-high");
  ASSERT_EQ(used.status, 409) << used.body;
  const std::string why = used.doc["error"]["message"];
  EXPECT_NE(why.find("Baseline/sec-high is still in use"), std::string::npos) << why;
  EXPECT_NE(why.find("chain "), std::string::npos) << why;
  EXPECT_EQ(as("viewer", "GET", "/api/v1/policies/baseline/sec-high").status, 200);
  EXPECT_EQ(as("viewer", "DELETE", "/api/v1/policies/baseline/spare").status, 403);

  // spare is used by nothing: deleted and audited.
  auto gone = as("operator", "DELETE", "/api/v1/policies/Baselines/spare");
  ASSERT_EQ(gone.status, 200) << gone.body;
  EXPECT_EQ(gone.doc, json({{"kind", "Baseline"}, {"name", "spare"}, {"deleted", true}}));
  EXPECT_EQ(as("viewer", "GET", "/api/v1/policies/baseline/spare").status, 404);
  EXPECT_EQ(as("operator", "DELETE", "/api/v1/policies/baseline/spare").status, 404);
  const auto deletes = audit("policy.delete");
  ASSERT_EQ(deletes.size(), 1U);
  EXPECT_EQ(deletes[0]["target"], "Baseline/spare");
  EXPECT_EQ(deletes[0]["actor"], "u-operator");
  EXPECT_EQ(deletes[0]["before"]["name"], "spare") << deletes[0].dump();
}

TEST_F(ChainsApi, PlanShowsStagesWavesUpdatesAndExclusions) {
  ASSERT_EQ(apply({file("baselines.yaml", kBaselines), file("chains.yaml", kChains)}).status, 200);
  fleet();
  auto plan = as("viewer", "GET", "/api/v1/chains/tiers/plan");
  ASSERT_EQ(plan.status, 200) << plan.body;
  EXPECT_EQ(plan.doc["chain"], "tiers");
  EXPECT_EQ(plan.doc["baseline"], "sec-high");
  EXPECT_EQ(plan.doc["emergency"], false);
  ASSERT_EQ(plan.doc["stages"].size(), 2U) << plan.body;

  const json& db = plan.doc["stages"][0];
  EXPECT_EQ(db["name"], "db");
  EXPECT_EQ(db["waves"], 2) << "one host per wave";
  ASSERT_EQ(db["hosts"].size(), 2U) << plan.body;
  EXPECT_EQ(db["hosts"][0]["name"], "db-1");
  EXPECT_EQ(db["hosts"][0]["id"], db1_.host_id);
  EXPECT_EQ(db["hosts"][0]["wave"], 1);
  EXPECT_EQ(db["hosts"][1]["name"], "db-2");
  EXPECT_EQ(db["hosts"][1]["wave"], 2);
  for (const auto& h : db["hosts"]) {
    ASSERT_EQ(h["updates"].size(), 1U) << h.dump();
    EXPECT_EQ(h["updates"][0]["package"], "openssl");
    EXPECT_EQ(h["updates"][0]["candidate"], "3.0.13-1");
    EXPECT_EQ(h["updates"][0]["advisories"], json::array({"DSA-1000-1"}));
    EXPECT_TRUE(h["updates"][0]["reason"].get<std::string>().starts_with("approved"))
        << h.dump();
    EXPECT_TRUE(h["not_approved"].empty());
  }

  const json& web = plan.doc["stages"][1];
  EXPECT_EQ(web["name"], "web");
  EXPECT_EQ(web["after"], json::array({"db"}));
  EXPECT_EQ(web["when"], "stages.db.failed == 0");
  EXPECT_EQ(names_of(web["hosts"]), (std::vector<std::string>{"web-3"}));

  // Left out, with why: web-1's only update is held, web-2 sent no inventory.
  ASSERT_EQ(plan.doc["excluded"].size(), 2U) << plan.body;
  std::map<std::string, json> excluded;
  for (const auto& e : plan.doc["excluded"]) excluded[e.value("name", "")] = e;
  ASSERT_TRUE(excluded.contains("web-1")) << plan.body;
  EXPECT_EQ(excluded["web-1"]["host_id"], web1_.host_id);
  EXPECT_EQ(excluded["web-1"]["stage"], "web");
  const std::string held = excluded["web-1"]["reason"];
  EXPECT_NE(held.find("curl"), std::string::npos) << held;
  EXPECT_NE(held.find("held: matches hold 'curl*'"), std::string::npos) << held;
  ASSERT_TRUE(excluded.contains("web-2")) << plan.body;
  EXPECT_EQ(excluded["web-2"]["reason"], "no inventory received yet");

  auto unknown = as("viewer", "GET", "/api/v1/chains/nowhere/plan");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(unknown.doc["error"]["field"], "name");
  // Planning an emergency run of a chain that allows none.
  EXPECT_EQ(as("viewer", "GET", "/api/v1/chains/tiers/plan?emergency=true").status, 409);
  auto urgent = as("viewer", "GET", "/api/v1/chains/gated/plan?emergency=true");
  ASSERT_EQ(urgent.status, 200) << urgent.body;
  EXPECT_EQ(urgent.doc["emergency"], true);
}

TEST_F(ChainsApi, RunsQueueTheFirstWaveAndEmergenciesNeedPermissionAndReason) {
  ASSERT_EQ(apply({file("baselines.yaml", kBaselines), file("chains.yaml", kChains)}).status, 200);
  fleet();

  auto no_reason = as("operator", "POST", "/api/v1/chains/gated/runs", {{"emergency", true}});
  EXPECT_EQ(no_reason.status, 400) << no_reason.body;
  EXPECT_EQ(no_reason.doc["error"]["field"], "justification");
  auto not_allowed = as("operator", "POST", "/api/v1/chains/tiers/runs",
                        {{"emergency", true}, {"justification", "CVE-2024-1000 exploited"}});
  EXPECT_EQ(not_allowed.status, 409) << not_allowed.body;
  EXPECT_EQ(not_allowed.doc["error"]["field"], "emergency");
  EXPECT_EQ(as("operator", "POST", "/api/v1/chains/nowhere/runs", json::object()).status, 404);
  EXPECT_EQ(as("viewer", "POST", "/api/v1/chains/tiers/runs", json::object()).status, 403);
  EXPECT_TRUE(as("viewer", "GET", "/api/v1/chain-runs").doc["chain_runs"].empty())
      << "refused runs leave nothing";

  auto started = as("operator", "POST", "/api/v1/chains/tiers/runs", json::object());
  ASSERT_EQ(started.status, 201) << started.body;
  const std::string id = started.doc["id"];
  EXPECT_TRUE(id.starts_with("c_")) << id;
  EXPECT_EQ(started.doc["chain"], "tiers");
  EXPECT_EQ(started.doc["hosts"], 3);
  EXPECT_EQ(started.doc["excluded"], 2);
  EXPECT_EQ(started.doc["emergency"], false);
  EXPECT_EQ(started.doc["created_by"], "u-operator");

  auto listed = as("viewer", "GET", "/api/v1/chain-runs");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.doc["chain_runs"].size(), 1U) << listed.body;
  EXPECT_EQ(listed.doc["chain_runs"][0]["id"], id);
  EXPECT_EQ(listed.doc["chain_runs"][0]["active"], true);

  // The orchestrator ticks: db-1 (wave 1) gets its job; db-2 (wave 2) waits for it.
  auto queued = poll([&] { return runs_of(db1_); },
                     [](const Answer& a) { return a.status == 200 && a.doc["runs"].size() == 1; });
  ASSERT_EQ(queued.doc["runs"].size(), 1U) << queued.body;
  EXPECT_EQ(queued.doc["runs"][0]["job"], "tiers/db");
  EXPECT_EQ(queued.doc["runs"][0]["state"], "queued");
  auto shown = run_until(id, [](const json& d) {
    return !d["stages"].empty() && d["stages"][0]["hosts"][0]["job_run_id"].is_string();
  });
  ASSERT_EQ(shown.status, 200) << shown.body;
  ASSERT_EQ(shown.doc["stages"].size(), 2U) << shown.body;
  EXPECT_EQ(shown.doc["status"], "running");
  const json& db = shown.doc["stages"][0];
  EXPECT_EQ(db["status"], "running");
  ASSERT_EQ(db["hosts"].size(), 2U);
  EXPECT_EQ(db["hosts"][0]["name"], "db-1");
  EXPECT_EQ(db["hosts"][0]["status"], "dispatched");
  EXPECT_EQ(db["hosts"][0]["job_run_id"], queued.doc["runs"][0]["id"]);
  EXPECT_EQ(db["hosts"][1]["status"], "pending");
  EXPECT_EQ(db["counts"]["in_work"], 1);
  EXPECT_EQ(shown.doc["stages"][1]["status"], "pending");
  EXPECT_TRUE(runs_of(db2_).doc["runs"].empty()) << "wave 2 waits for wave 1";
  EXPECT_TRUE(runs_of(web3_).doc["runs"].empty()) << "web waits for db";
  EXPECT_TRUE(runs_of(web1_).doc["runs"].empty()) << "an excluded host gets nothing";

  // An emergency run of a chain that allows them, with its justification in the audit log.
  // (Started a second later: runs are ordered by their creation second, then by id.)
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto emergency = as("operator", "POST", "/api/v1/chains/gated/runs",
                      {{"emergency", true}, {"justification", "CVE-2024-1000 exploited"}});
  ASSERT_EQ(emergency.status, 201) << emergency.body;
  EXPECT_EQ(emergency.doc["emergency"], true);
  const auto entries = audit("chain.run.emergency");
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0]["target"], emergency.doc["id"]);
  EXPECT_EQ(entries[0]["after"]["justification"], "CVE-2024-1000 exploited");
  EXPECT_EQ(entries[0]["actor"], "u-operator");
  const auto plain = audit("chain.run");
  ASSERT_EQ(plain.size(), 1U);
  EXPECT_EQ(plain[0]["target"], id);
  auto both = as("viewer", "GET", "/api/v1/chain-runs");
  EXPECT_EQ(names_of(both.doc["chain_runs"], "id"),
            (std::vector<std::string>{emergency.doc["id"].get<std::string>(), id}))
      << "newest first";
  EXPECT_EQ(as("viewer", "GET", "/api/v1/chain-runs/c_0000000000000000").status, 404);
}

TEST_F(ChainsApi, ApproveNeedsTheApproverPauseResumeAndCancelEndTheRun) {
  ASSERT_EQ(apply({file("baselines.yaml", kBaselines), file("chains.yaml", kChains)}).status, 200);
  fleet();
  auto started = as("operator", "POST", "/api/v1/chains/gated/runs", json::object());
  ASSERT_EQ(started.status, 201) << started.body;
  const std::string id = started.doc["id"];
  const std::string path = "/api/v1/chain-runs/" + id;

  auto waiting = run_until(id, [](const json& d) {
    return !d["stages"].empty() && d["stages"][0]["status"] == "waiting_approval";
  });
  ASSERT_EQ(waiting.doc["stages"][0]["status"], "waiting_approval") << waiting.body;
  EXPECT_EQ(waiting.doc["stages"][0]["approved_by"], "");
  EXPECT_TRUE(runs_of(db1_).doc["runs"].empty()) << "nothing starts before the approval";

  auto by_operator = as("operator", "POST", path + "/approve", {{"stage", "db"}});
  EXPECT_EQ(by_operator.status, 403) << by_operator.body;
  EXPECT_EQ(by_operator.doc["error"]["code"], "forbidden");
  auto approved = as("approver", "POST", path + "/approve", {{"stage", "db"}});
  ASSERT_EQ(approved.status, 202) << approved.body;
  EXPECT_EQ(approved.doc["event"], json({{"type", "approve"}, {"stage", "db"}}));
  EXPECT_EQ(approved.doc["by"], "u-approver");
  auto consumed = run_until(id, [](const json& d) {
    return !d["stages"].empty() && d["stages"][0]["approved_by"] == "u-approver";
  });
  ASSERT_EQ(consumed.doc["stages"][0]["approved_by"], "u-approver") << consumed.body;
  // Both db hosts (one wave of 100%) get their jobs.
  for (const Agent* a : {&db1_, &db2_}) {
    auto q = poll([&] { return runs_of(*a); },
                  [](const Answer& x) { return x.status == 200 && x.doc["runs"].size() == 1; });
    EXPECT_EQ(q.doc["runs"].size(), 1U) << q.body;
  }
  EXPECT_EQ(audit("chain.approve").size(), 1U);

  auto paused = as("operator", "POST", path + "/pause", {{"reason", "incident 4711"}});
  ASSERT_EQ(paused.status, 202) << paused.body;
  EXPECT_EQ(paused.doc["event"]["reason"], "incident 4711");
  auto p = run_until(id, [](const json& d) { return d["status"] == "paused"; });
  EXPECT_EQ(p.doc["status"], "paused") << p.body;
  EXPECT_EQ(p.doc["active"], true);
  ASSERT_EQ(as("operator", "POST", path + "/resume", json::object()).status, 202);
  auto r = run_until(id, [](const json& d) { return d["status"] == "running"; });
  EXPECT_EQ(r.doc["status"], "running") << r.body;

  EXPECT_EQ(as("approver", "POST", path + "/cancel", json::object()).status, 403);
  auto canceled = as("operator", "POST", path + "/cancel", {{"reason", "change freeze"}});
  ASSERT_EQ(canceled.status, 202) << canceled.body;
  auto ended = run_until(id, [](const json& d) { return d["active"] == false; });
  EXPECT_EQ(ended.doc["active"], false) << ended.body;
  EXPECT_EQ(ended.doc["status"], "canceled") << ended.body;
  auto late = as("approver", "POST", path + "/approve", {{"stage", "db"}});
  EXPECT_EQ(late.status, 409) << late.body;
  EXPECT_EQ(late.doc["error"]["code"], "conflict");
  EXPECT_EQ(as("operator", "POST", path + "/resume", json::object()).status, 409);
  EXPECT_EQ(as("viewer", "GET", "/api/v1/chain-runs?active=true").doc["chain_runs"].size(), 0U);
  for (const std::string action : {"chain.pause", "chain.resume", "chain.cancel"}) {
    const auto e = audit(action);
    ASSERT_EQ(e.size(), 1U) << action;
    EXPECT_EQ(e[0]["target"], id) << action;
  }
  EXPECT_EQ(as("approver", "POST", "/api/v1/chain-runs/c_0000000000000000/approve",
               {{"stage", "db"}})
                .status,
            404);
}

}  // namespace
