// SPDX-License-Identifier: Apache-2.0
// The FindingStore and RunStore contracts, one typed suite for SQLite and PostgreSQL (a real
// server started by the test binary, pf::testing::PgCluster).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
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
using pf::store::FindingQuery;
using pf::store::FindingRow;
using pf::store::FindingStatus;
using pf::store::Host;
using pf::store::Run;
using pf::store::RunEvent;
using pf::store::RunState;

namespace {

struct SqliteBackend {
  using Store = pf::store::SqliteStore;
  static std::unique_ptr<Store> open(const fs::path& dir) {
    auto s = Store::open(dir / "patchflow.db");
    EXPECT_TRUE(s) << (s ? "" : pf::to_string(s.error()));
    return s ? std::move(*s) : nullptr;
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
};

Host make_host(int i, pf::store::Labels labels = {}) {
  Host h;
  h.id = "h_" + std::to_string(1000 + i);
  h.name = "host-" + std::to_string(i);
  h.labels = std::move(labels);
  h.os_id = "debian";
  h.os_version_id = "12";
  h.ecosystem = "Debian:12";
  h.arch = "amd64";
  h.kernel_release = "6.1.0";
  h.boot_id = "b";
  h.cert_fingerprint = "fp-" + std::to_string(i);
  h.cert_not_after = 1800000000;
  h.enrolled_at = 1700000000;
  h.last_seen = 1700000000;
  return h;
}

FindingRow finding(std::string advisory, std::string package, int severity, std::int64_t risk,
                   bool kev = false) {
  FindingRow r;
  r.advisory_id = std::move(advisory);
  r.package = std::move(package);
  r.arch = "amd64";
  r.installed_version = "1.0-1";
  r.fixed_version = "1.0-2";
  r.severity = severity;
  r.kev = kev;
  r.risk_milli = risk;
  r.detail = R"({"cves":["CVE-2026-0001"]})";
  return r;
}

AuditEntry audit(std::string action, std::string target) {
  return AuditEntry{"alice", std::move(action), std::move(target), "", "{}", 1710000000};
}

Run make_run(std::string id, std::string host, std::int64_t at) {
  Run r;
  r.id = std::move(id);
  r.host_id = std::move(host);
  r.job = "weekly";
  r.envelope = R"({"work":"{}","signature":"x"})";
  r.created_by = "alice";
  r.created_at = at;
  return r;
}

RunEvent event(std::string id, std::int64_t seq, std::optional<RunState> state = std::nullopt,
               std::string body = R"({"step":"disk","status":"passed"})") {
  RunEvent e;
  e.event_id = std::move(id);
  e.seq = seq;
  e.kind = state ? "state" : "step";
  e.body = std::move(body);
  e.state = state;
  e.received_at = 1710000100 + seq;
  return e;
}

template <class Backend>
class WorkStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Backend::open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  void add_host(int i, pf::store::Labels labels = {}, std::string inventory_hash = "") {
    ASSERT_TRUE(store_->create_host(make_host(i, std::move(labels))));
    if (!inventory_hash.empty()) {
      const std::vector<pf::inventory::Package> packages = {
          {"openssl", "amd64", "1.0-1", "openssl", "1.0-1"}};
      auto put = store_->put_inventory(make_host(i).id, inventory_hash, packages, {});
      ASSERT_TRUE(put) << pf::to_string(put.error());
    }
  }

  std::vector<pf::store::StoredFinding> all(FindingQuery q) {
    std::vector<pf::store::StoredFinding> out;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = store_->list_findings(q);
      EXPECT_TRUE(page) << pf::to_string(page.error());
      if (!page) break;
      out.insert(out.end(), page->findings.begin(), page->findings.end());
      if (page->next_cursor.empty()) break;
      q.cursor = page->next_cursor;
    }
    return out;
  }

  pf::testing::TempDir dir_{"pf-work"};
  std::unique_ptr<typename Backend::Store> store_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
TYPED_TEST_SUITE(WorkStoreContract, Backends);

TYPED_TEST(WorkStoreContract, FindingsKeepTheirHistory) {
  auto& s = *this->store_;
  this->add_host(1);
  const std::string h = make_host(1).id;
  const std::vector<FindingRow> first = {finding("DSA-1", "openssl", 4, 9000),
                                         finding("DSA-2", "curl", 3, 5000),
                                         finding("DSA-3", "bash", 2, 1000)};
  auto d1 = s.put_findings(h, "inv1:1", first, 100);
  ASSERT_TRUE(d1) << pf::to_string(d1.error());
  EXPECT_EQ(d1->opened, 3u);
  EXPECT_EQ(d1->fixed, 0u);
  EXPECT_EQ(d1->open, 3u);
  auto host = s.host(h);
  ASSERT_TRUE(host && *host);
  EXPECT_EQ((*host)->max_severity, 4);
  EXPECT_EQ((*host)->open_findings, 3);

  // The same state again writes nothing (first_seen stays 100 even at a later time).
  auto same = s.put_findings(h, "inv1:1", {}, 200);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->opened, 0u);
  EXPECT_EQ(same->fixed, 0u);
  EXPECT_EQ(same->open, 3u);

  // openssl fixed, a new finding for zlib; curl's risk changed.
  std::vector<FindingRow> second = {finding("DSA-2", "curl", 3, 7000),
                                    finding("DSA-3", "bash", 2, 1000),
                                    finding("DSA-4", "zlib", 1, 500)};
  auto d2 = s.put_findings(h, "inv2:1", second, 300);
  ASSERT_TRUE(d2) << pf::to_string(d2.error());
  EXPECT_EQ(d2->opened, 1u);
  EXPECT_EQ(d2->fixed, 1u);
  EXPECT_EQ(d2->open, 3u);

  auto open = this->all(FindingQuery{});
  ASSERT_EQ(open.size(), 3u);
  EXPECT_EQ(open[0].row.advisory_id, "DSA-2");  // risk 7000 first
  EXPECT_EQ(open[0].row.risk_milli, 7000);
  EXPECT_EQ(open[0].first_seen, 100) << "a finding still open keeps its first_seen";
  EXPECT_EQ(open[2].row.advisory_id, "DSA-4");
  EXPECT_EQ(open[2].first_seen, 300);
  EXPECT_EQ(open[0].row.detail, R"({"cves":["CVE-2026-0001"]})");

  FindingQuery fixed_q;
  fixed_q.status = FindingStatus::fixed;
  auto fixed = this->all(fixed_q);
  ASSERT_EQ(fixed.size(), 1u);
  EXPECT_EQ(fixed[0].row.advisory_id, "DSA-1");
  EXPECT_FALSE(fixed[0].open);
  EXPECT_EQ(fixed[0].fixed_at, std::optional<std::int64_t>(300));
  host = s.host(h);
  EXPECT_EQ((*host)->max_severity, 3);

  // openssl comes back (a downgrade): open again, seen anew; nothing left: max -1.
  auto d3 = s.put_findings(h, "inv3:1", std::vector<FindingRow>{finding("DSA-1", "openssl", 4, 9000)}, 400);
  ASSERT_TRUE(d3);
  EXPECT_EQ(d3->opened, 1u);
  EXPECT_EQ(d3->fixed, 3u);
  auto reopened = this->all(FindingQuery{});
  ASSERT_EQ(reopened.size(), 1u);
  EXPECT_EQ(reopened[0].first_seen, 400);
  EXPECT_FALSE(reopened[0].fixed_at);
  auto d4 = s.put_findings(h, "inv4:1", {}, 500);
  ASSERT_TRUE(d4);
  EXPECT_EQ(d4->fixed, 1u);
  host = s.host(h);
  EXPECT_EQ((*host)->max_severity, -1);
  EXPECT_EQ((*host)->open_findings, 0);
  FindingQuery any;
  any.status = FindingStatus::any;
  EXPECT_EQ(this->all(any).size(), 4u);

  // Bad rows change nothing.
  auto dup = s.put_findings(h, "inv5:1",
                            std::vector<FindingRow>{finding("DSA-9", "a", 1, 1), finding("DSA-9", "a", 1, 1)}, 600);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::invalid_input);
  auto unknown = s.put_findings("h_none", "x:1", {}, 600);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
}

TYPED_TEST(WorkStoreContract, StaleFindingsFollowInventoryAndAdvisories) {
  auto& s = *this->store_;
  this->add_host(1, {}, "hash-a");
  this->add_host(2, {}, "hash-b");
  this->add_host(3);  // no inventory: nothing to derive
  auto gen = s.advisories_generation();
  ASSERT_TRUE(gen);
  const std::string g = std::to_string(*gen);
  auto stale = s.hosts_with_stale_findings(g, "", 100);
  ASSERT_TRUE(stale) << pf::to_string(stale.error());
  EXPECT_EQ(*stale, (std::vector<std::string>{make_host(1).id, make_host(2).id}));
  auto paged = s.hosts_with_stale_findings(g, make_host(1).id, 100);
  EXPECT_EQ(*paged, std::vector<std::string>{make_host(2).id});

  ASSERT_TRUE(s.put_findings(make_host(1).id, pf::store::findings_state("hash-a", g), {}, 10));
  stale = s.hosts_with_stale_findings(g, "", 100);
  EXPECT_EQ(*stale, std::vector<std::string>{make_host(2).id});

  // A new inventory makes the host stale again...
  const std::vector<pf::inventory::Package> packages = {
      {"openssl", "amd64", "1.0-2", "openssl", "1.0-2"}};
  ASSERT_TRUE(s.put_inventory(make_host(1).id, "hash-a2", packages, {}));
  stale = s.hosts_with_stale_findings(g, "", 100);
  EXPECT_EQ(stale->size(), 2u);

  // ...and so do new advisories or CVE records, written through any connection.
  auto other = TypeParam::open(this->dir_.path());
  ASSERT_NE(other, nullptr);
  pf::advisories::Advisory a;
  a.id = "DSA-5000-1";
  a.source = "test";
  ASSERT_TRUE(other->put_advisories(std::vector<pf::advisories::Advisory>{a}));
  auto gen2 = s.advisories_generation();
  ASSERT_TRUE(gen2);
  EXPECT_GT(*gen2, *gen);
  pf::advisories::CveInfo c;
  c.id = "CVE-2026-1";
  c.kev = true;
  ASSERT_TRUE(other->put_cves(std::vector<pf::advisories::CveInfo>{c},
                              static_cast<unsigned>(pf::store::CveFields::kev)));
  auto gen3 = s.advisories_generation();
  EXPECT_GT(*gen3, *gen2);
}

TYPED_TEST(WorkStoreContract, FindingPagesVisitEveryFindingOnceInRiskOrder) {
  auto& s = *this->store_;
  for (int i = 1; i <= 4; ++i) {
    this->add_host(i, {{"tier", i % 2 == 0 ? "web" : "db"}});
    std::vector<FindingRow> rows;
    for (int j = 0; j < 9; ++j) {
      // Ties in risk across hosts, so the cursor's tie-break matters.
      rows.push_back(finding("DSA-" + std::to_string(j), "pkg" + std::to_string(j), j % 6,
                             (j % 3) * 1000, j == 4));
    }
    ASSERT_TRUE(s.put_findings(make_host(i).id, "s:" + std::to_string(i), rows, 50));
  }
  FindingQuery q;
  q.limit = 5;
  auto all = this->all(q);
  ASSERT_EQ(all.size(), 36u);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(seen.insert(all[i].host_id + "/" + all[i].row.advisory_id).second);
    if (i > 0) EXPECT_GE(all[i - 1].row.risk_milli, all[i].row.risk_milli);
  }
  q.kev_only = true;
  EXPECT_EQ(this->all(q).size(), 4u);
  q.kev_only = false;
  q.min_severity = 5;
  EXPECT_EQ(this->all(q).size(), 4u);  // j = 5
  q.min_severity.reset();
  q.labels = {{"tier", "web"}};
  auto web = this->all(q);
  EXPECT_EQ(web.size(), 18u);
  for (const auto& f : web) EXPECT_TRUE(f.host_id == make_host(2).id || f.host_id == make_host(4).id);
  q.labels.clear();
  q.advisory_id = "DSA-1";
  EXPECT_EQ(this->all(q).size(), 4u);
  q.advisory_id.clear();
  q.host_id = make_host(3).id;
  EXPECT_EQ(this->all(q).size(), 9u);
  q.host_id.clear();

  // A revoked host's findings are left out unless asked for.
  ASSERT_TRUE(s.revoke_host(make_host(1).id, 60, audit("revoke", make_host(1).id)));
  EXPECT_EQ(this->all(q).size(), 27u);
  q.include_revoked = true;
  EXPECT_EQ(this->all(q).size(), 36u);

  // The hosts listing filters by severity of open findings.
  pf::store::HostQuery hq;
  hq.min_severity = 5;
  auto hosts = s.list_hosts(hq);
  ASSERT_TRUE(hosts);
  EXPECT_EQ(hosts->hosts.size(), 3u);  // host 1 is revoked
  ASSERT_TRUE(s.put_findings(make_host(2).id, "s:2b", std::vector<FindingRow>{finding("DSA-1", "pkg1", 2, 10)}, 70));
  hosts = s.list_hosts(hq);
  EXPECT_EQ(hosts->hosts.size(), 2u);
  hq.min_severity = 2;
  EXPECT_EQ(s.list_hosts(hq)->hosts.size(), 3u);

  FindingQuery bad;
  bad.cursor = "zz";
  auto r = s.list_findings(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_input);
  EXPECT_EQ(r.error().where, "cursor");
}

TYPED_TEST(WorkStoreContract, RunsAreHandedOutUntilFinalAndEventsCountOnce) {
  auto& s = *this->store_;
  this->add_host(1);
  this->add_host(2);
  const std::string h1 = make_host(1).id;
  auto none = s.next_run(h1, 10);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  auto head = s.audit_head();
  ASSERT_TRUE(head);
  ASSERT_TRUE(s.create_run(make_run("r_1", h1, 100), audit("run.create", "r_1")));
  EXPECT_EQ(s.audit_head()->seq, head->seq + 1) << "queuing a run is audited";
  ASSERT_TRUE(s.create_run(make_run("r_2", h1, 101), audit("run.create", "r_2")));
  EXPECT_EQ(*s.pending_runs(h1), 2);
  EXPECT_EQ(s.host(h1).value()->pending_runs, 2);

  auto taken = s.create_run(make_run("r_1", h1, 102), audit("run.create", "r_1"));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, Errc::conflict);
  auto unknown = s.create_run(make_run("r_9", "h_none", 102), audit("run.create", "r_9"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);

  auto next = s.next_run(h1, 110);
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->id, "r_1");
  EXPECT_EQ((*next)->state, RunState::delivered);
  EXPECT_EQ((*next)->delivered_at, std::optional<std::int64_t>(110));
  EXPECT_EQ((*next)->envelope, make_run("r_1", h1, 100).envelope);
  auto again = s.next_run(h1, 120);
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->id, "r_1") << "handed out again until it is final";
  EXPECT_EQ((*again)->delivered_at, std::optional<std::int64_t>(110));

  const std::vector<RunEvent> report = {event("r_1:1", 1, RunState::running),
                                        event("r_1:2", 2),
                                        event("r_1:3", 3, RunState::succeeded,
                                              R"({"outcome":"succeeded"})")};
  auto added = s.record_run_events(h1, "r_1", report);
  ASSERT_TRUE(added) << pf::to_string(added.error());
  EXPECT_EQ(*added, 3u);
  // The same report retried (its answer was lost) counts nothing twice.
  auto retried = s.record_run_events(h1, "r_1", report);
  ASSERT_TRUE(retried);
  EXPECT_EQ(*retried, 0u);
  auto run = s.run("r_1");
  ASSERT_TRUE(run && *run);
  EXPECT_EQ((*run)->state, RunState::succeeded);
  EXPECT_EQ((*run)->events, 3);
  EXPECT_EQ((*run)->outcome, R"({"outcome":"succeeded"})");
  EXPECT_EQ((*run)->finished_at, std::optional<std::int64_t>(1710000103));
  EXPECT_EQ(*s.pending_runs(h1), 1);
  // A late event does not reopen a final run.
  ASSERT_TRUE(s.record_run_events(h1, "r_1", std::vector<RunEvent>{event("r_1:4", 4, RunState::failed)}));
  EXPECT_EQ(s.run("r_1").value()->state, RunState::succeeded);
  auto events = s.run_events("r_1");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].event_id, "r_1:1");
  EXPECT_EQ((*events)[2].state, std::optional<RunState>(RunState::succeeded));

  // Another host cannot report for this run.
  auto foreign = s.record_run_events(make_host(2).id, "r_1", std::vector<RunEvent>{event("x", 9)});
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, Errc::not_found);
  auto bad = s.record_run_events(h1, "r_2", std::vector<RunEvent>{event("", 1)});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_input);

  next = s.next_run(h1, 130);
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->id, "r_2");
  ASSERT_TRUE(s.cancel_run("r_2", 140, audit("run.cancel", "r_2")));
  EXPECT_EQ(s.run("r_2").value()->state, RunState::canceled);
  EXPECT_EQ(*s.pending_runs(h1), 0);
  EXPECT_FALSE(*s.next_run(h1, 150));
  auto twice = s.cancel_run("r_2", 150, audit("run.cancel", "r_2"));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::conflict);
  auto late = s.record_run_events(h1, "r_2", std::vector<RunEvent>{event("r_2:1", 1)});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::conflict);

  // Listing: newest first, paged.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s.create_run(make_run("r_p" + std::to_string(i), make_host(2).id, 200 + i / 2),
                             audit("run.create", "p")));
  }
  pf::store::RunQuery q;
  q.limit = 2;
  std::vector<std::string> ids;
  for (int pages = 0; pages < 20; ++pages) {
    auto page = s.list_runs(q);
    ASSERT_TRUE(page) << pf::to_string(page.error());
    for (const auto& r : page->runs) ids.push_back(r.id);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"r_p4", "r_p3", "r_p2", "r_p1", "r_p0", "r_2", "r_1"}));
  pf::store::RunQuery by_host;
  by_host.host_id = h1;
  EXPECT_EQ(s.list_runs(by_host)->runs.size(), 2u);
}

TYPED_TEST(WorkStoreContract, ConcurrentReportsOfOneEventStoreItOnce) {
  this->add_host(1);
  const std::string h1 = make_host(1).id;
  ASSERT_TRUE(this->store_->create_run(make_run("r_c", h1, 100), audit("run.create", "r_c")));
  std::vector<RunEvent> report;
  for (int i = 0; i < 50; ++i) report.push_back(event("r_c:" + std::to_string(i), i));
  std::vector<std::size_t> added(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto store = TypeParam::open(this->dir_.path());
      ASSERT_NE(store, nullptr);
      for (int attempt = 0; attempt < 50; ++attempt) {
        auto r = store->record_run_events(h1, "r_c", report);
        if (r) {
          added[t] = *r;
          return;
        }
        // SQLite may answer busy under contention: the agent retries, as here.
        ASSERT_EQ(r.error().code, Errc::lock_held) << pf::to_string(r.error());
      }
    });
  }
  for (auto& th : threads) th.join();
  std::size_t total = 0;
  for (auto n : added) total += n;
  EXPECT_EQ(total, 50u) << "each event counted once across concurrent reports";
  EXPECT_EQ(this->store_->run("r_c").value()->events, 50);
  EXPECT_EQ(this->store_->run_events("r_c")->size(), 50u);
}

}  // namespace
