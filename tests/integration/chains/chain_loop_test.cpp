// SPDX-License-Identifier: Apache-2.0
// The server's chain loop (libs/server/src/chain_loop.hpp) on a real store: policy documents
// resolved against hosts and their updates, runs driven tick by tick to their end, jobs signed
// and queued in the run store. The hosts' agents are played by the test through the run store
// (the jobs' envelopes are verified and their post steps answered): what is under test is the
// server's side. Restart safety: the loop runs in a forked child that SIGKILLs itself at the
// Nth command boundary, for every N, and a second child finishes the run; the outcome must be
// the uninterrupted run's. Failover: two replicas on PostgreSQL, the leader killed mid-chain.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chain_loop.hpp"
#include "chain_plan.hpp"
#include "log.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/orchestrator/state.hpp"
#include "patchflow/pki/signing.hpp"
#include "patchflow/policy/document.hpp"
#include "patchflow/server/store_open.hpp"
#include "patchflow/testing/pg_cluster.hpp"
#include "patchflow/testing/temp_dir.hpp"

namespace {

using json = nlohmann::json;
using pf::server::OpenedStore;
using Seconds = std::chrono::sys_seconds;

// Monday 2026-11-30 12:00 UTC.
const Seconds kStart{std::chrono::seconds(1796040000)};

constexpr std::string_view kPolicies = R"yaml(apiVersion: patchflow/v1
kind: Baseline
metadata: {name: lab-all}
spec:
  classifications: [security, bugfix, enhancement]
  min_severity: low
---
apiVersion: patchflow/v1
kind: Chain
metadata: {name: three-tier}
spec:
  patches: {baseline: lab-all}
  stages:
    - name: db
      targets: {selector: "tier=db"}
      rollout: {max_parallel: 1, max_failed: 0}
      reboot: never
      post:
        - {name: db-healthy, run: "true"}
    - name: app
      after: [db]
      when: "stages.db.hosts.all(h, h.post['db-healthy'].passed)"
      targets: {selector: "tier=app"}
      rollout: {max_parallel: "50%", max_failed: 0}
      reboot: never
      post:
        - {name: app-healthy, run: "true"}
    - name: web
      after: [app]
      when: "stages.app.hosts.all(h, h.post['app-healthy'].passed)"
      targets: {selector: "tier=web"}
      rollout: {max_parallel: 2, max_failed: 0}
      reboot: never
)yaml";

pf::store::Host make_host(const std::string& name, const std::string& tier) {
  pf::store::Host h;
  h.id = "h_" + name;
  h.name = name;
  h.labels = {{"tier", tier}, {"env", "lab"}};
  h.os_id = "debian";
  h.os_version_id = "12";
  h.ecosystem = "Debian:12";
  h.arch = "amd64";
  h.kernel_release = "6.1.0";
  h.boot_id = "b";
  h.cert_fingerprint = "fp-" + name;
  h.cert_not_after = 1900000000;
  h.enrolled_at = 1700000000;
  h.last_seen = 1700000000;
  return h;
}

const std::vector<std::pair<std::string, std::string>> kHosts = {
    {"db-1", "db"}, {"db-2", "db"}, {"app-1", "app"}, {"app-2", "app"}, {"web-1", "web"},
    {"web-2", "web"}, {"web-3", "web"}};

// Hosts with one update each, the policies applied.
void seed(OpenedStore& s) {
  for (const auto& [name, tier] : kHosts) {
    ASSERT_TRUE(s.fleet->create_host(make_host(name, tier)));
    pf::inventory::Package p;
    p.name = "pf-" + tier;
    p.arch = "amd64";
    p.version = "1.0-1";
    pf::store::AvailableUpdate u;
    u.name = p.name;
    u.arch = "amd64";
    u.installed_version = "1.0-1";
    u.candidate_version = "1.1-1";
    u.origin = "lab";
    auto ok = s.fleet->put_inventory("h_" + name, "hash-" + name, std::vector{p}, std::vector{u});
    ASSERT_TRUE(ok) << ok.error().message;
  }
  auto docs = pf::policy::parse_documents(kPolicies, "policies.yaml");
  ASSERT_TRUE(docs) << docs.error().where << ": " << docs.error().message;
  std::vector<pf::store::PolicyPut> puts;
  for (const auto& d : *docs) {
    pf::store::PolicyPut p;
    p.doc.kind = std::string(pf::policy::doc_kind_name(d.kind));
    p.doc.name = d.name;
    p.doc.json = pf::policy::to_json(d);
    p.doc.updated_by = "test";
    p.audit = {"test", "policy.apply", p.doc.kind + "/" + d.name, "", p.doc.json, 1};
    puts.push_back(std::move(p));
  }
  auto applied = s.policies->apply_policies(puts, 1);
  ASSERT_TRUE(applied) << applied.error().message;
}

// Starts a run of the chain with a fixed id, as POST /api/v1/chains/{name}/runs does.
void start_run(OpenedStore& s, const std::string& id, Seconds now) {
  auto resolved = pf::server::resolve_chain(s, "three-tier", false, "", now);
  ASSERT_TRUE(resolved) << resolved.error().where << ": " << resolved.error().message;
  ASSERT_TRUE(resolved->excluded.empty()) << resolved->excluded.front().reason;
  pf::server::RunRecord record;
  record.plan = pf::orch::plan_to_json(resolved->plan);
  record.chain_json = resolved->chain_json;
  for (const auto& [host, work] : resolved->work) record.selections[host] = work.selection;
  pf::store::ChainRun run;
  run.id = id;
  run.chain = "three-tier";
  run.chain_revision = resolved->revision;
  run.status = "starting";
  run.state = pf::server::to_json(record);
  run.created_by = "test";
  run.created_at = now.time_since_epoch().count();
  auto ok = s.chains->create_chain_run(run, {"test", "chain.run", id, "", "{}", run.created_at});
  ASSERT_TRUE(ok) << ok.error().message;
}

// The agents: every queued job is opened (its signature checked), and answered with its post
// steps' results and an outcome. `failing` names hosts whose post steps fail.
struct Agents {
  std::string public_pem;
  std::set<std::string> failing;

  // How many jobs were answered.
  int play(OpenedStore& s, Seconds now) const {
    int answered = 0;
    pf::store::RunQuery q;
    q.state = pf::store::RunState::queued;
    q.limit = 1000;
    auto page = s.runs->list_runs(q);
    EXPECT_TRUE(page);
    if (!page) return 0;
    for (const auto& r : page->runs) {
      auto job = pf::jobs::open_envelope(r.envelope, public_pem);
      EXPECT_TRUE(job) << job.error().message;
      if (!job) continue;
      EXPECT_EQ(job->host_id, r.host_id);
      EXPECT_TRUE(job->install.has_value());
      const bool fail = failing.contains(r.host_id);
      std::vector<pf::store::RunEvent> events;
      std::int64_t seq = 0;
      for (const auto& step : job->post) {
        pf::store::RunEvent e;
        e.event_id = r.id + ":" + std::to_string(seq);
        e.seq = seq++;
        e.kind = "step";
        e.body = json{{"type", "result"}, {"step_id", step.id}, {"phase", "post"},
                      {"status", fail ? "failed" : "passed"}, {"exit_code", fail ? 1 : 0}}
                     .dump();
        e.state = pf::store::RunState::running;
        e.received_at = now.time_since_epoch().count();
        events.push_back(std::move(e));
      }
      pf::store::RunEvent out;
      out.event_id = r.id + ":" + std::to_string(seq);
      out.seq = seq;
      out.kind = "outcome";
      out.body = json{{"type", "outcome"}, {"outcome", fail ? "failed" : "succeeded"}}.dump();
      out.state = fail ? pf::store::RunState::failed : pf::store::RunState::succeeded;
      out.received_at = now.time_since_epoch().count();
      events.push_back(std::move(out));
      auto ok = s.runs->record_run_events(r.host_id, r.id, events);
      EXPECT_TRUE(ok) << ok.error().message;
      ++answered;
    }
    return answered;
  }
};

pf::server::Log quiet_log() {
  return pf::server::Log(pf::server::LogFormat::text, [](std::string_view) {});
}

// What a run ended as: its status, each stage's and host's status, how many jobs each host got.
struct Outcome {
  std::string status;
  std::vector<std::string> stages;
  std::map<std::string, std::string> hosts;
  std::map<std::string, int> jobs;
  std::set<std::string> log;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

Outcome outcome_of(OpenedStore& s, const std::string& id) {
  Outcome o;
  auto run = s.chains->chain_run(id);
  EXPECT_TRUE(run && *run);
  if (!run || !*run) return o;
  o.status = (*run)->status;
  auto record = pf::server::run_record_from_json((*run)->state);
  EXPECT_TRUE(record);
  if (record && !record->orch.empty()) {
    auto state = pf::orch::state_from_json(record->orch);
    EXPECT_TRUE(state);
    for (const auto& [rid, r] : state->runs) {
      for (std::size_t i = 0; i < r.stages.size(); ++i) {
        o.stages.push_back(r.plan.stages[i].name + "=" + std::string(pf::orch::name(r.stages[i].status)));
        for (std::size_t h = 0; h < r.stages[i].hosts.size(); ++h) {
          o.hosts[r.plan.stages[i].hosts[h].name] =
              std::string(pf::orch::name(r.stages[i].hosts[h].status));
        }
      }
    }
  }
  for (const auto& [name, tier] : kHosts) {
    pf::store::RunQuery q;
    q.host_id = "h_" + name;
    auto page = s.runs->list_runs(q);
    EXPECT_TRUE(page);
    if (page) o.jobs[name] = static_cast<int>(page->runs.size());
  }
  auto log = s.chains->chain_log(id, 0, 1000);
  EXPECT_TRUE(log);
  if (log) {
    for (const auto& l : *log) o.log.insert(l.line);
  }
  return o;
}

class ChainLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = pf::pki::generate_signing_key();
    ASSERT_TRUE(key);
    key_ = *key;
    agents_.public_pem = key_.public_pem;
  }

  std::string db(const std::string& name) const { return (dir_.path() / name).string(); }

  pf::Result<OpenedStore> open(const std::string& database) { return pf::server::open_store(database); }

  // Drives the run to its end (at most `ticks` ticks, a minute apart), the agents answering
  // between ticks. crash_at: the loop kills its process at that boundary.
  void drive(const std::string& database, const std::string& id, std::uint64_t crash_at,
             int ticks = 60) {
    auto s = pf::server::open_store(database);
    ASSERT_TRUE(s) << s.error().message;
    auto lead = pf::server::open_leadership(database);
    ASSERT_TRUE(lead) << lead.error().message;
    auto log = quiet_log();
    pf::server::ChainLoopOptions options;
    options.crash_at = crash_at;
    options.signing_key_pem = key_.private_pem;
    pf::server::ChainLoop loop(std::move(*s), std::move(*lead), options, log, nullptr, false);
    auto view = pf::server::open_store(database);
    ASSERT_TRUE(view);
    Seconds now = kStart;
    for (int i = 0; i < ticks; ++i) {
      auto led = loop.tick(now);
      ASSERT_TRUE(led) << led.error().message;
      ASSERT_TRUE(*led);
      agents_.play(*view, now);
      auto run = view->chains->chain_run(id);
      ASSERT_TRUE(run && *run);
      if (!(*run)->active) {
        // One more tick executes what the final decision committed.
        ASSERT_TRUE(loop.tick(now));
        return;
      }
      now += std::chrono::minutes(1);
    }
    FAIL() << "the run did not end in " << ticks << " ticks";
  }

  pf::testing::TempDir dir_{"pf-chain-loop"};
  pf::pki::SigningKey key_;
  Agents agents_;
};

TEST_F(ChainLoopTest, ThreeTiersRunInOrderEachHostPatchedOnce) {
  const auto database = db("run.db");
  auto s = open(database);
  ASSERT_TRUE(s) << s.error().message;
  seed(*s);
  start_run(*s, "c_order", kStart);
  drive(database, "c_order", 0);
  const Outcome o = outcome_of(*s, "c_order");
  EXPECT_EQ(o.status, "succeeded");
  EXPECT_EQ(o.stages, (std::vector<std::string>{"db=succeeded", "app=succeeded", "web=succeeded"}));
  for (const auto& [name, tier] : kHosts) {
    EXPECT_EQ(o.hosts.at(name), "succeeded") << name;
    EXPECT_EQ(o.jobs.at(name), 1) << name;
  }
  // Order: every db job was queued before any app job, every app job before any web job.
  pf::store::RunQuery q;
  q.limit = 100;
  auto page = s->runs->list_runs(q);
  ASSERT_TRUE(page);
  std::map<std::string, std::int64_t> first, last;
  for (const auto& r : page->runs) {
    const std::string tier = r.job.substr(r.job.find('/') + 1);
    first[tier] = first.contains(tier) ? std::min(first[tier], r.created_at) : r.created_at;
    last[tier] = std::max(last[tier], r.created_at);
  }
  EXPECT_LT(last["db"], first["app"]);
  EXPECT_LT(last["app"], first["web"]);
  // db went one host at a time.
  EXPECT_NE(first["db"], last["db"]);
}

TEST_F(ChainLoopTest, AFailedPostCheckHaltsTheStageAndTheRestIsSkipped) {
  const auto database = db("halt.db");
  auto s = open(database);
  ASSERT_TRUE(s);
  seed(*s);
  agents_.failing = {"h_db-1"};
  start_run(*s, "c_halt", kStart);
  drive(database, "c_halt", 0);
  const Outcome o = outcome_of(*s, "c_halt");
  EXPECT_EQ(o.status, "halted");
  EXPECT_EQ(o.hosts.at("db-1"), "failed");
  EXPECT_EQ(o.jobs.at("db-2"), 0) << "max_failed 0: nothing more of db starts";
  EXPECT_EQ(o.jobs.at("app-1"), 0);
  EXPECT_EQ(o.jobs.at("web-1"), 0);
  EXPECT_EQ(o.stages.at(1), "app=skipped");
}

TEST_F(ChainLoopTest, KilledAtEveryCommandBoundaryTheRunEndsAsAnUninterruptedOne) {
  // The reference: no kill.
  const auto reference_db = db("reference.db");
  {
    auto s = open(reference_db);
    ASSERT_TRUE(s);
    seed(*s);
    start_run(*s, "c_kill", kStart);
  }
  drive(reference_db, "c_kill", 0);
  auto ref_store = open(reference_db);
  ASSERT_TRUE(ref_store);
  const Outcome reference = outcome_of(*ref_store, "c_kill");
  ASSERT_EQ(reference.status, "succeeded");

  int killed = 0;
  for (std::uint64_t n = 1; n < 400; ++n) {
    const auto database = db("kill-" + std::to_string(n) + ".db");
    {
      auto s = open(database);
      ASSERT_TRUE(s);
      seed(*s);
      start_run(*s, "c_kill", kStart);
    }
    std::fflush(nullptr);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      drive(database, "c_kill", n);
      std::_Exit(::testing::Test::HasFailure() ? 3 : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    if (WIFEXITED(status)) {
      // Past the last boundary: every boundary has been tried.
      ASSERT_EQ(WEXITSTATUS(status), 0) << "the run failed without being killed at " << n;
      std::filesystem::remove(database);
      break;
    }
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "boundary " << n;
    ++killed;
    // A restarted server finishes the run.
    drive(database, "c_kill", 0);
    auto s = open(database);
    ASSERT_TRUE(s);
    const Outcome o = outcome_of(*s, "c_kill");
    EXPECT_EQ(o, reference) << "killed at boundary " << n;
    std::filesystem::remove(database);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(killed, 20) << "the run has few command boundaries?";
  std::printf("killed at %d boundaries, each time resumed to the reference outcome\n", killed);
}

}  // namespace

namespace {

// Two replicas on one PostgreSQL database, each running the chain loop; the one leading is
// SIGKILLed mid-chain. The other must take the leadership over within 30 s and finish the run,
// each host patched exactly once.
TEST_F(ChainLoopTest, PostgresReplicaTakesOverWhenTheLeaderIsKilledMidChain) {
  auto cluster = pf::testing::PgCluster::shared();
  ASSERT_TRUE(cluster) << cluster.error().message;
  auto database = (*cluster)->create_database();
  ASSERT_TRUE(database) << database.error().message;
  auto s = open(*database);
  ASSERT_TRUE(s) << s.error().message;
  seed(*s);
  const auto start = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  start_run(*s, "c_failover", start);

  auto replica = [&](int n) -> pid_t {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    auto store = pf::server::open_store(*database);
    auto lead = pf::server::open_leadership(*database);
    if (!store || !lead) std::_Exit(3);
    auto log = quiet_log();
    pf::server::ChainLoopOptions options;
    options.signing_key_pem = key_.private_pem;
    pf::server::ChainLoop loop(std::move(*store), std::move(*lead), options, log, nullptr, false);
    const auto marker = dir_.path() / ("leader-" + std::to_string(n));
    while (true) {
      const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
      auto led = loop.tick(now);
      if (led && *led && !std::filesystem::exists(marker)) std::ofstream(marker) << "leading\n";
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  };
  const pid_t pids[2] = {replica(0), replica(1)};
  ASSERT_GT(pids[0], 0);
  ASSERT_GT(pids[1], 0);
  auto leader_marker = [&](int n) { return std::filesystem::exists(dir_.path() / ("leader-" + std::to_string(n))); };
  auto jobs_answered = 0;
  auto now = [] {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  };
  // Play the agents until the chain is mid-way (the db tier done), noting who leads.
  int leader = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && jobs_answered < 2) {
    if (leader < 0) {
      if (leader_marker(0)) leader = 0;
      if (leader_marker(1)) leader = 1;
    }
    jobs_answered += agents_.play(*s, now());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(leader, 0) << "no replica led";
  ASSERT_EQ(jobs_answered, 2);
  EXPECT_FALSE(leader_marker(1 - leader)) << "both replicas led at once";
  ASSERT_EQ(::kill(pids[leader], SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pids[leader], &status, 0), pids[leader]);
  const auto killed_at = std::chrono::steady_clock::now();
  std::optional<double> takeover_s;
  bool done = false;
  const auto end = killed_at + std::chrono::seconds(150);
  while (std::chrono::steady_clock::now() < end) {
    if (!takeover_s && leader_marker(1 - leader)) {
      takeover_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
    }
    agents_.play(*s, now());
    auto run = s->chains->chain_run("c_failover");
    ASSERT_TRUE(run && *run);
    if (!(*run)->active) {
      auto pending = s->chains->pending_commands("c_failover");
      ASSERT_TRUE(pending);
      if (pending->empty()) {
        done = true;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pids[1 - leader], SIGKILL);
  ::waitpid(pids[1 - leader], &status, 0);
  ASSERT_TRUE(takeover_s) << "the other replica never took over";
  EXPECT_LE(*takeover_s, 30.0);
  std::printf("the second replica led %.1f s after the leader was killed\n", *takeover_s);
  ASSERT_TRUE(done) << "the run did not end after the failover";
  const Outcome o = outcome_of(*s, "c_failover");
  EXPECT_EQ(o.status, "succeeded");
  for (const auto& [name, tier] : kHosts) {
    EXPECT_EQ(o.hosts.at(name), "succeeded") << name;
    EXPECT_EQ(o.jobs.at(name), 1) << name << " patched more than once or not at all";
  }
}

}  // namespace
