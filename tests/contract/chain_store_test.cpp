// SPDX-License-Identifier: Apache-2.0
// The PolicyStore and ChainStore contracts and the orchestrator's Leadership, one typed suite
// for SQLite and PostgreSQL (a real server started by the test binary, pf::testing::PgCluster).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "patchflow/store_postgres/postgres_store.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "patchflow/testing/pg_cluster.hpp"
#include "patchflow/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using pf::Errc;
using pf::store::AuditEntry;
using pf::store::ChainEvent;
using pf::store::ChainRun;
using pf::store::PolicyDoc;
using pf::store::PolicyPut;

namespace {

struct SqliteBackend {
  using Store = pf::store::SqliteStore;
  static std::unique_ptr<Store> open(const fs::path& dir) {
    auto s = Store::open(dir / "patchflow.db");
    EXPECT_TRUE(s) << (s ? "" : pf::to_string(s.error()));
    return s ? std::move(*s) : nullptr;
  }
  static std::unique_ptr<pf::store::Leadership> leadership(const fs::path& dir) {
    auto l = Store::open_leadership(dir / "patchflow.db");
    EXPECT_TRUE(l) << (l ? "" : pf::to_string(l.error()));
    return l ? std::move(*l) : nullptr;
  }
};

struct PostgresBackend {
  using Store = pf::store::PostgresStore;
  static std::unique_ptr<Store> open(const fs::path& dir) {
    auto url = pf::testing::PgCluster::database_for(dir);
    if (!url) {
      ADD_FAILURE() << "no PostgreSQL database: " << pf::to_string(url.error());
      return nullptr;
    }
    auto s = Store::open(*url);
    EXPECT_TRUE(s) << (s ? "" : pf::to_string(s.error()));
    return s ? std::move(*s) : nullptr;
  }
  static std::unique_ptr<pf::store::Leadership> leadership(const fs::path& dir) {
    auto url = pf::testing::PgCluster::database_for(dir);
    if (!url) {
      ADD_FAILURE() << "no PostgreSQL database: " << pf::to_string(url.error());
      return nullptr;
    }
    auto l = Store::open_leadership(*url);
    EXPECT_TRUE(l) << (l ? "" : pf::to_string(l.error()));
    return l ? std::move(*l) : nullptr;
  }
};

AuditEntry audit(std::string action, std::string target) {
  return AuditEntry{"alice", std::move(action), std::move(target), "", "{}", 1710000000};
}

PolicyPut put(std::string kind, std::string name, std::string json, std::int64_t expected) {
  PolicyPut p;
  p.doc.kind = kind;
  p.doc.name = name;
  p.doc.json = std::move(json);
  p.doc.updated_by = "alice";
  p.expected_revision = expected;
  p.audit = audit("policy.apply", kind + "/" + name);
  return p;
}

ChainRun make_chain_run(std::string id, std::int64_t at) {
  ChainRun r;
  r.id = std::move(id);
  r.chain = "three-tier-monthly";
  r.chain_revision = 3;
  r.status = "running";
  r.state = R"({"stage":0})";
  r.created_by = "alice";
  r.created_at = at;
  return r;
}

ChainEvent make_event(std::string run, std::string json) {
  ChainEvent e;
  e.run_id = std::move(run);
  e.json = std::move(json);
  e.by = "bob";
  e.at = 1710000500;
  return e;
}

template <class Backend>
class ChainStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Backend::open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  std::int64_t audit_seq() {
    auto head = store_->audit_head();
    EXPECT_TRUE(head) << pf::to_string(head.error());
    return head ? head->seq : -1;
  }

  std::vector<std::string> apply(const std::vector<PolicyPut>& puts, std::int64_t now = 100) {
    auto r = store_->apply_policies(puts, now);
    EXPECT_TRUE(r) << pf::to_string(r.error());
    return r ? *r : std::vector<std::string>{};
  }

  void create_run(const std::string& id, std::int64_t at = 1710000000) {
    auto r = store_->create_chain_run(make_chain_run(id, at), audit("chain.start", id));
    ASSERT_TRUE(r) << pf::to_string(r.error());
  }

  pf::testing::TempDir dir_{"pf-chain"};
  std::unique_ptr<typename Backend::Store> store_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
TYPED_TEST_SUITE(ChainStoreContract, Backends);

TYPED_TEST(ChainStoreContract, PolicyApplyCreatesChangesAndLeavesUnchanged) {
  auto& s = *this->store_;
  const auto gen0 = s.policies_generation().value();
  const auto audit0 = this->audit_seq();
  EXPECT_EQ(this->apply({put("Chain", "monthly", R"({"a":1})", 0),
                         put("Baseline", "critical", R"({"b":1})", 0)}),
            (std::vector<std::string>{"created", "created"}));
  const auto gen1 = s.policies_generation().value();
  EXPECT_NE(gen1, gen0);
  EXPECT_EQ(this->audit_seq(), audit0 + 2);
  auto doc = s.policy("Chain", "monthly").value();
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->json, R"({"a":1})");
  EXPECT_EQ(doc->revision, 1);
  EXPECT_EQ(doc->updated_at, 100);
  EXPECT_EQ(doc->updated_by, "alice");

  // The same documents again: nothing written, nothing audited, the generation stays.
  EXPECT_EQ(this->apply({put("Chain", "monthly", R"({"a":1})", 1),
                         put("Baseline", "critical", R"({"b":1})", 1)},
                        200),
            (std::vector<std::string>{"unchanged", "unchanged"}));
  EXPECT_EQ(s.policies_generation().value(), gen1);
  EXPECT_EQ(this->audit_seq(), audit0 + 2);
  EXPECT_EQ(s.policy("Chain", "monthly").value()->updated_at, 100);

  // One changed, one unchanged.
  EXPECT_EQ(this->apply({put("Baseline", "critical", R"({"b":1})", 1),
                         put("Chain", "monthly", R"({"a":2})", 1)},
                        300),
            (std::vector<std::string>{"unchanged", "changed"}));
  const auto gen2 = s.policies_generation().value();
  EXPECT_NE(gen2, gen1);
  EXPECT_EQ(this->audit_seq(), audit0 + 3);
  doc = s.policy("Chain", "monthly").value();
  EXPECT_EQ(doc->revision, 2);
  EXPECT_EQ(doc->json, R"({"a":2})");
  EXPECT_EQ(doc->updated_at, 300);
  EXPECT_EQ(s.policy("Baseline", "critical").value()->revision, 1);
  auto entries = s.audit_entries(audit0 + 1, 10).value();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].entry.target, "Chain/monthly");

  // Listing: by kind, then name; filtered by kind.
  this->apply({put("Chain", "a-first", "{}", 0), put("Window", "nights", "{}", 0)});
  std::vector<std::string> names;
  const auto listed = s.policies("").value();
  for (const auto& d : listed) names.push_back(d.kind + "/" + d.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Baseline/critical", "Chain/a-first", "Chain/monthly",
                                             "Window/nights"}));
  auto chains = s.policies("Chain").value();
  ASSERT_EQ(chains.size(), 2u);
  EXPECT_EQ(chains[0].name, "a-first");
  EXPECT_EQ(chains[1].name, "monthly");
  EXPECT_EQ(s.policies("Nope").error().code, Errc::invalid_input);
  EXPECT_FALSE(s.policy("Chain", "absent").value());
}

TYPED_TEST(ChainStoreContract, PolicyApplyIsAllOrNothing) {
  auto& s = *this->store_;
  this->apply({put("Group", "web", R"({"v":1})", 0)});
  this->apply({put("Group", "web", R"({"v":2})", 1)});  // revision 2 now
  const auto gen = s.policies_generation().value();
  const auto audit0 = this->audit_seq();
  // The middle put read revision 1, but another apply made it 2 since.
  auto r = s.apply_policies(
      std::vector<PolicyPut>{put("Chain", "new-one", "{}", 0), put("Group", "web", R"({"v":3})", 1),
                             put("Window", "later", "{}", 0)},
      500);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_NE(r.error().message.find("Group/web"), std::string::npos) << r.error().message;
  EXPECT_FALSE(s.policy("Chain", "new-one").value()) << "nothing of the batch is written";
  EXPECT_FALSE(s.policy("Window", "later").value());
  EXPECT_EQ(s.policy("Group", "web").value()->json, R"({"v":2})");
  EXPECT_EQ(s.policy("Group", "web").value()->revision, 2);
  EXPECT_EQ(this->audit_seq(), audit0) << "no audit row";
  EXPECT_EQ(s.policies_generation().value(), gen);

  // Creating a document that exists already is a conflict too (expected 0).
  r = s.apply_policies(std::vector<PolicyPut>{put("Group", "web", R"({"v":9})", 0)}, 600);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  // And changing one that is not there (another apply deleted it).
  r = s.apply_policies(std::vector<PolicyPut>{put("Group", "gone", R"({"v":9})", 4)}, 600);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(this->audit_seq(), audit0);
}

TYPED_TEST(ChainStoreContract, PolicyDocumentsAreValidated) {
  auto& s = *this->store_;
  auto bad = [&](PolicyPut p, std::string where) {
    auto r = s.apply_policies(std::vector<PolicyPut>{std::move(p)}, 1);
    ASSERT_FALSE(r) << where;
    EXPECT_EQ(r.error().code, Errc::invalid_input) << where;
    EXPECT_NE(r.error().where.find(where), std::string::npos) << r.error().where;
  };
  bad(put("Policy", "x", "{}", 0), "kind");
  bad(put("Chain", "Upper", "{}", 0), "name");
  bad(put("Chain", std::string(64, 'a'), "{}", 0), "name");
  bad(put("Chain", "", "{}", 0), "name");
  bad(put("Chain", "ok", "", 0), "json");
  bad(put("Chain", "ok", std::string(pf::store::kMaxPolicyJson + 1, ' '), 0), "json");
  bad(put("Chain", "ok", std::string("{\0}", 3), 0), "json");
  auto no_actor = put("Chain", "ok", "{}", 0);
  no_actor.audit.actor.clear();
  bad(no_actor, "audit");
  auto twice = s.apply_policies(
      std::vector<PolicyPut>{put("Chain", "ok", "{}", 0), put("Chain", "ok", "{}", 0)}, 1);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::invalid_input);
  EXPECT_TRUE(s.policies("").value().empty());
  // 63 characters is the longest name.
  EXPECT_EQ(this->apply({put("Chain", std::string(63, 'a'), "{}", 0)}),
            (std::vector<std::string>{"created"}));
}

TYPED_TEST(ChainStoreContract, PolicyDeleteNeedsTheStoredRevision) {
  auto& s = *this->store_;
  this->apply({put("Window", "nights", "{}", 0)});
  this->apply({put("Window", "nights", R"({"x":1})", 1)});
  const auto gen = s.policies_generation().value();
  const auto audit0 = this->audit_seq();
  auto r = s.delete_policy("Window", "nights", 1, audit("policy.delete", "Window/nights"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_TRUE(s.policy("Window", "nights").value());
  EXPECT_EQ(this->audit_seq(), audit0);
  EXPECT_EQ(s.policies_generation().value(), gen);

  ASSERT_TRUE(s.delete_policy("Window", "nights", 2, audit("policy.delete", "Window/nights")));
  EXPECT_FALSE(s.policy("Window", "nights").value());
  EXPECT_EQ(this->audit_seq(), audit0 + 1);
  EXPECT_NE(s.policies_generation().value(), gen);

  r = s.delete_policy("Window", "nights", 2, audit("policy.delete", "Window/nights"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  // Applied again after the delete: a new document, revision 1.
  EXPECT_EQ(this->apply({put("Window", "nights", R"({"x":1})", 0)}),
            (std::vector<std::string>{"created"}));
  EXPECT_EQ(s.policy("Window", "nights").value()->revision, 1);
}

TYPED_TEST(ChainStoreContract, GenerationIsSharedByConnections) {
  auto other = TypeParam::open(this->dir_.path());
  ASSERT_NE(other, nullptr);
  const auto gen = other->policies_generation().value();
  this->apply({put("Baseline", "b", "{}", 0)});
  EXPECT_NE(other->policies_generation().value(), gen);
  EXPECT_EQ(other->policy("Baseline", "b").value()->revision, 1);
}

TYPED_TEST(ChainStoreContract, ChainRunsAreCreatedReadAndListed) {
  auto& s = *this->store_;
  const auto audit0 = this->audit_seq();
  this->create_run("c_01", 100);
  this->create_run("c_02", 300);
  this->create_run("c_03", 200);
  EXPECT_EQ(this->audit_seq(), audit0 + 3);
  auto taken = s.create_chain_run(make_chain_run("c_01", 400), audit("chain.start", "c_01"));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, Errc::conflict);
  EXPECT_EQ(this->audit_seq(), audit0 + 3);

  auto run = s.chain_run("c_01").value();
  ASSERT_TRUE(run);
  EXPECT_EQ(run->chain, "three-tier-monthly");
  EXPECT_EQ(run->chain_revision, 3);
  EXPECT_EQ(run->status, "running");
  EXPECT_TRUE(run->active);
  EXPECT_EQ(run->state, R"({"stage":0})");
  EXPECT_EQ(run->revision, 1);
  EXPECT_EQ(run->created_by, "alice");
  EXPECT_EQ(run->created_at, 100);
  EXPECT_EQ(run->updated_at, 100);
  EXPECT_FALSE(s.chain_run("c_none").value());
  EXPECT_FALSE(s.chain_run("not an id").value());

  auto ids = [](const std::vector<ChainRun>& runs) {
    std::vector<std::string> out;
    for (const auto& r : runs) out.push_back(r.id);
    return out;
  };
  EXPECT_EQ(ids(s.chain_runs(false, 10).value()),
            (std::vector<std::string>{"c_02", "c_03", "c_01"}));
  EXPECT_EQ(ids(s.chain_runs(false, 2).value()), (std::vector<std::string>{"c_02", "c_03"}));
  // Finishing c_03 takes it out of the active list.
  ASSERT_TRUE(s.commit_decision("c_03", 1, R"({"done":true})", "succeeded", false, {}, {}, 250));
  EXPECT_EQ(ids(s.chain_runs(true, 10).value()), (std::vector<std::string>{"c_02", "c_01"}));
  EXPECT_EQ(s.chain_runs(false, 10).value().size(), 3u);
  EXPECT_EQ(s.chain_runs(true, 0).error().code, Errc::invalid_input);

  auto bad = make_chain_run("c bad", 1);
  EXPECT_EQ(s.create_chain_run(bad, audit("chain.start", "x")).error().code, Errc::invalid_input);
  bad = make_chain_run("c_04", 1);
  bad.state.clear();
  EXPECT_EQ(s.create_chain_run(bad, audit("chain.start", "x")).error().code, Errc::invalid_input);
  bad = make_chain_run("c_04", 1);
  bad.state.assign(pf::store::kMaxChainState + 1, ' ');
  EXPECT_EQ(s.create_chain_run(bad, audit("chain.start", "x")).error().code, Errc::invalid_input);

  // A big fleet's state (larger than a policy document may be) is stored whole.
  auto big = make_chain_run("c_big", 500);
  big.state = "{\"hosts\":\"" + std::string(3 << 20, 'h') + "\"}";
  ASSERT_TRUE(s.create_chain_run(big, audit("chain.start", "c_big")));
  EXPECT_EQ(s.chain_run("c_big").value()->state, big.state);
}

TYPED_TEST(ChainStoreContract, StaleDecisionWritesNothing) {
  auto& s = *this->store_;
  this->create_run("c_1");
  const auto e1 =
      s.add_chain_event(make_event("c_1", R"({"approve":"db"})"), audit("chain.approve", "c_1"));
  ASSERT_TRUE(e1) << pf::to_string(e1.error());

  const std::vector<std::string> cmds = {R"({"dispatch":"h1"})", R"({"dispatch":"h2"})"};
  const std::vector<std::int64_t> consumed = {*e1};
  auto rev = s.commit_decision("c_1", 1, R"({"stage":1})", "running", true, cmds, consumed, 600);
  ASSERT_TRUE(rev) << pf::to_string(rev.error());
  EXPECT_EQ(*rev, 2);

  // A second decider still at revision 1 (it lost the race): conflict, nothing written.
  const auto e2 =
      s.add_chain_event(make_event("c_1", R"({"pause":true})"), audit("chain.pause", "c_1"));
  ASSERT_TRUE(e2);
  const std::vector<std::int64_t> consumed2 = {*e2};
  const std::vector<std::string> cmds2 = {R"({"dispatch":"h3"})"};
  auto stale =
      s.commit_decision("c_1", 1, R"({"stage":9})", "paused", false, cmds2, consumed2, 700);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, Errc::conflict);
  auto run = s.chain_run("c_1").value();
  EXPECT_EQ(run->state, R"({"stage":1})");
  EXPECT_EQ(run->status, "running");
  EXPECT_TRUE(run->active);
  EXPECT_EQ(run->revision, 2);
  EXPECT_EQ(run->updated_at, 600);
  EXPECT_EQ(s.pending_commands("c_1").value().size(), 2u) << "no command of the stale decision";
  auto events = s.pending_chain_events("c_1").value();
  ASSERT_EQ(events.size(), 1u) << "the stale decision consumed nothing";
  EXPECT_EQ(events[0].seq, *e2);

  // A decision listing an event that is not pending (consumed already) writes nothing either.
  const std::vector<std::int64_t> both = {*e2, *e1};
  auto reused = s.commit_decision("c_1", 2, R"({"stage":2})", "running", true, cmds2, both, 800);
  ASSERT_FALSE(reused);
  EXPECT_EQ(reused.error().code, Errc::conflict);
  EXPECT_EQ(s.chain_run("c_1").value()->revision, 2);
  EXPECT_EQ(s.pending_chain_events("c_1").value().size(), 1u);
  EXPECT_EQ(s.pending_commands("c_1").value().size(), 2u);

  EXPECT_EQ(s.commit_decision("c_none", 1, "{}", "running", true, {}, {}, 1).error().code,
            Errc::not_found);
  EXPECT_EQ(s.commit_decision("c_1", 2, "", "running", true, {}, {}, 1).error().code,
            Errc::invalid_input);
  const std::vector<std::string> empty_cmd = {""};
  EXPECT_EQ(s.commit_decision("c_1", 2, "{}", "running", true, empty_cmd, {}, 1).error().code,
            Errc::invalid_input);

  // The final decision; the run takes no more decisions or events.
  ASSERT_EQ(
      s.commit_decision("c_1", 2, R"({"end":1})", "canceled", false, {}, consumed2, 900).value(),
      3);
  EXPECT_EQ(s.commit_decision("c_1", 3, "{}", "running", true, {}, {}, 1).error().code,
            Errc::conflict);
  EXPECT_EQ(s.add_chain_event(make_event("c_1", "{}"), audit("chain.resume", "c_1")).error().code,
            Errc::conflict);
}

TYPED_TEST(ChainStoreContract, DecisionsFromTwoConnectionsOneWins) {
  this->create_run("c_race");
  auto other = TypeParam::open(this->dir_.path());
  ASSERT_NE(other, nullptr);
  const std::vector<std::string> a = {R"({"by":"a"})"};
  const std::vector<std::string> b = {R"({"by":"b"})"};
  auto first =
      this->store_->commit_decision("c_race", 1, R"({"by":"a"})", "running", true, a, {}, 10);
  auto second = other->commit_decision("c_race", 1, R"({"by":"b"})", "running", true, b, {}, 11);
  ASSERT_TRUE(first) << pf::to_string(first.error());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::conflict);
  auto cmds = other->pending_commands("c_race").value();
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].json, R"({"by":"a"})");
  EXPECT_EQ(other->chain_run("c_race").value()->state, R"({"by":"a"})");
}

TYPED_TEST(ChainStoreContract, CommandsComeInSeqOrderUntilDone) {
  auto& s = *this->store_;
  this->create_run("c_a");
  this->create_run("c_b");
  std::vector<std::string> first;
  for (int i = 0; i < 5; ++i) first.push_back(R"({"n":)" + std::to_string(i) + "}");
  ASSERT_TRUE(s.commit_decision("c_a", 1, "{}", "running", true, first, {}, 10));
  const std::vector<std::string> other = {R"({"b":0})"};
  ASSERT_TRUE(s.commit_decision("c_b", 1, "{}", "running", true, other, {}, 11));
  const std::vector<std::string> second = {R"({"n":5})", R"({"n":6})"};
  ASSERT_TRUE(s.commit_decision("c_a", 2, "{}", "running", true, second, {}, 12));

  auto cmds = s.pending_commands("c_a").value();
  ASSERT_EQ(cmds.size(), 7u);
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    EXPECT_EQ(cmds[i].json, R"({"n":)" + std::to_string(i) + "}") << i;
    EXPECT_EQ(cmds[i].run_id, "c_a");
    EXPECT_FALSE(cmds[i].done);
    if (i > 0) {
      EXPECT_GT(cmds[i].seq, cmds[i - 1].seq);
    }
  }
  auto all = s.pending_commands("").value();
  ASSERT_EQ(all.size(), 8u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].seq, all[i - 1].seq);
  EXPECT_EQ(all[5].run_id, "c_b") << "commands of both runs, in commit order";

  ASSERT_TRUE(s.mark_command_done(cmds[0].seq, 20));
  ASSERT_TRUE(s.mark_command_done(cmds[3].seq, 20));
  ASSERT_TRUE(s.mark_command_done(cmds[3].seq, 21)) << "idempotent";
  auto after = s.pending_commands("c_a").value();
  ASSERT_EQ(after.size(), 5u);
  EXPECT_EQ(after[0].seq, cmds[1].seq);
  EXPECT_EQ(after[1].seq, cmds[2].seq);
  EXPECT_EQ(after[2].seq, cmds[4].seq);
  EXPECT_EQ(s.pending_commands("").value().size(), 6u);
  EXPECT_TRUE(s.pending_commands("c_none").value().empty());
  auto missing = s.mark_command_done(all.back().seq + 1000, 22);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);

  // After a restart (a new connection), the commands not done are still there, in order.
  auto reopened = TypeParam::open(this->dir_.path());
  ASSERT_NE(reopened, nullptr);
  auto again = reopened->pending_commands("c_a").value();
  ASSERT_EQ(again.size(), 5u);
  EXPECT_EQ(again[0].json, R"({"n":1})");
  EXPECT_EQ(again[4].json, R"({"n":6})");
}

TYPED_TEST(ChainStoreContract, EventsAreConsumedExactlyOnce) {
  auto& s = *this->store_;
  this->create_run("c_e");
  this->create_run("c_f");
  const auto audit0 = this->audit_seq();
  auto unknown = s.add_chain_event(make_event("c_none", "{}"), audit("chain.pause", "c_none"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_EQ(s.add_chain_event(make_event("c_e", ""), audit("chain.pause", "c_e")).error().code,
            Errc::invalid_input);
  EXPECT_EQ(this->audit_seq(), audit0);

  std::vector<std::int64_t> seqs;
  for (const char* json : {R"({"pause":1})", R"({"resume":1})", R"({"approve":"web"})"}) {
    auto seq = s.add_chain_event(make_event("c_e", json), audit("chain.event", "c_e"));
    ASSERT_TRUE(seq) << pf::to_string(seq.error());
    seqs.push_back(*seq);
  }
  ASSERT_TRUE(
      s.add_chain_event(make_event("c_f", R"({"cancel":1})"), audit("chain.cancel", "c_f")));
  EXPECT_EQ(this->audit_seq(), audit0 + 4);
  EXPECT_LT(seqs[0], seqs[1]);
  EXPECT_LT(seqs[1], seqs[2]);

  auto pending = s.pending_chain_events("c_e").value();
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[0].seq, seqs[0]);
  EXPECT_EQ(pending[0].json, R"({"pause":1})");
  EXPECT_EQ(pending[0].by, "bob");
  EXPECT_EQ(pending[0].at, 1710000500);
  EXPECT_EQ(pending[0].run_id, "c_e");
  EXPECT_EQ(pending[2].json, R"({"approve":"web"})");

  // An event of another run cannot be consumed by this one.
  const auto f_event = s.pending_chain_events("c_f").value().at(0).seq;
  const std::vector<std::int64_t> foreign = {f_event};
  EXPECT_EQ(s.commit_decision("c_e", 1, "{}", "paused", true, {}, foreign, 5).error().code,
            Errc::conflict);

  const std::vector<std::int64_t> two = {seqs[0], seqs[1]};
  ASSERT_TRUE(s.commit_decision("c_e", 1, "{}", "running", true, {}, two, 5));
  pending = s.pending_chain_events("c_e").value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].seq, seqs[2]);
  // Consuming one of them again is refused: each event is consumed by one decision.
  const std::vector<std::int64_t> again = {seqs[1]};
  EXPECT_EQ(s.commit_decision("c_e", 2, "{}", "running", true, {}, again, 6).error().code,
            Errc::conflict);
  const std::vector<std::int64_t> last = {seqs[2]};
  ASSERT_TRUE(s.commit_decision("c_e", 2, "{}", "running", true, {}, last, 6));
  EXPECT_TRUE(s.pending_chain_events("c_e").value().empty());
  EXPECT_EQ(s.pending_chain_events("c_f").value().size(), 1u);
}

TYPED_TEST(ChainStoreContract, ChainLogPages) {
  auto& s = *this->store_;
  this->create_run("c_log");
  this->create_run("c_other");
  EXPECT_EQ(s.append_chain_log("c_none", 1, "x").error().code, Errc::not_found);
  EXPECT_EQ(s.append_chain_log("c_log", 1, "").error().code, Errc::invalid_input);
  EXPECT_EQ(s.append_chain_log("c_log", 1, std::string(pf::store::kMaxChainLogLine + 1, 'x'))
                .error()
                .code,
            Errc::invalid_input);
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(s.append_chain_log("c_log", 1000 + i, "line " + std::to_string(i)));
    if (i % 5 == 0) {
      ASSERT_TRUE(s.append_chain_log("c_other", 1, "other"));
    }
  }
  std::vector<std::string> lines;
  std::int64_t after = 0;
  int pages = 0;
  for (; pages < 20; ++pages) {
    auto page = s.chain_log("c_log", after, 10).value();
    if (page.empty()) break;
    EXPECT_LE(page.size(), 10u);
    for (const auto& l : page) {
      EXPECT_GT(l.seq, after);
      after = l.seq;
      EXPECT_EQ(l.at, 1000 + static_cast<std::int64_t>(lines.size()));
      lines.push_back(l.line);
    }
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(lines.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(lines[i], "line " + std::to_string(i));
  EXPECT_EQ(s.chain_log("c_other", 0, 100).value().size(), 5u);
  EXPECT_TRUE(s.chain_log("c_none", 0, 100).value().empty());
  EXPECT_EQ(s.chain_log("c_log", 0, 0).error().code, Errc::invalid_input);
}

TYPED_TEST(ChainStoreContract, LeadershipHasOneHolder) {
  auto a = TypeParam::leadership(this->dir_.path());
  auto b = TypeParam::leadership(this->dir_.path());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto la = a->try_lead();
  auto lb = b->try_lead();
  ASSERT_TRUE(la) << pf::to_string(la.error());
  ASSERT_TRUE(lb) << pf::to_string(lb.error());
  EXPECT_TRUE(*la);
  EXPECT_FALSE(*lb);
  // Re-callable: the leader stays the leader.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(a->try_lead().value());
    EXPECT_FALSE(b->try_lead().value());
  }
  a.reset();  // the leader stops
  EXPECT_TRUE(b->try_lead().value()) << "the other leads at its next try";
  EXPECT_TRUE(b->try_lead().value());
  auto c = TypeParam::leadership(this->dir_.path());
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->try_lead().value());
}

TEST(PostgresLeadership, KilledLeaderConnectionLosesLeadership) {
  pf::testing::TempDir dir{"pf-leader"};
  auto url = pf::testing::PgCluster::database_for(dir.path());
  ASSERT_TRUE(url) << pf::to_string(url.error());
  auto cluster = pf::testing::PgCluster::shared();
  ASSERT_TRUE(cluster) << pf::to_string(cluster.error());
  // The store's migrations run first, as in a server.
  ASSERT_NE(PostgresBackend::open(dir.path()), nullptr);
  auto a = PostgresBackend::leadership(dir.path());
  auto b = PostgresBackend::leadership(dir.path());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->try_lead().value());
  ASSERT_FALSE(b->try_lead().value());

  const std::string database =
      url->substr(url->rfind('/') + 1, url->find('?') - url->rfind('/') - 1);
  // From a third connection: end the session that holds the leader's lock.
  auto killed = (*cluster)->psql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
      " AND granted AND database = (SELECT oid FROM pg_database WHERE datname = "
      "current_database())",
      database);
  ASSERT_TRUE(killed) << pf::to_string(killed.error());
  EXPECT_EQ(*killed, "1");

  // The other takes over (the backend ends a moment after it is signalled).
  bool b_leads = false;
  for (int i = 0; i < 100 && !b_leads; ++i) {
    auto r = b->try_lead();
    ASSERT_TRUE(r) << pf::to_string(r.error());
    b_leads = *r;
    if (!b_leads) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(b_leads);
  // The killed leader notices: it does not lead any more (it reconnects, the lock is taken).
  auto r = a->try_lead();
  if (r) {
    EXPECT_FALSE(*r);
  } else {
    EXPECT_EQ(r.error().code, Errc::io);
  }
  EXPECT_FALSE(a->try_lead().value()) << "reconnected, and the lock is the other's";
  EXPECT_TRUE(b->try_lead().value());

  // When the new leader stops, the old one (reconnected) takes the lock again.
  b.reset();
  EXPECT_TRUE(a->try_lead().value());
}

TEST(SqliteLeadership, MemoryDatabaseAlwaysLeads) {
  auto l = pf::store::SqliteStore::open_leadership(":memory:");
  ASSERT_TRUE(l);
  EXPECT_TRUE((*l)->try_lead().value());
  EXPECT_TRUE((*l)->try_lead().value());
}

}  // namespace
