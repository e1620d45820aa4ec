// SPDX-License-Identifier: Apache-2.0
// The FleetStore contract, one typed suite for every backend: SQLite, and PostgreSQL on a real
// server that the test binary starts (pf::testing::PgCluster, one per test process).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <latch>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "patchflow/store_postgres/postgres_store.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "patchflow/testing/pg_cluster.hpp"

namespace fs = std::filesystem;
using pf::Errc;
using pf::store::ApiToken;
using pf::store::AuditEntry;
using pf::store::AvailableUpdate;
using pf::store::CheckinFacts;
using pf::store::EnrollmentToken;
using pf::store::FleetStore;
using pf::store::Host;
using pf::store::HostQuery;
using pf::store::Labels;
using pf::store::User;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pf-fleet-XXXXXX").string();
    PF_ASSERT(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// What the suite needs of a backend, given a fresh directory per test:
/// - open(dir): a store on the test's database; called again, a second, independent store
///   object (its own connection) on the same database;
/// - exec_raw(dir, sql): runs SQL beside the store, as someone with direct access to the
///   database would; "" on success, else the database's message;
/// - drop_audit_guards(dir): removes the database-level guards of audit_log (its triggers),
///   as such a person could, so that the tampering tests reach the hash chain.
struct SqliteBackend {
  static fs::path file(const fs::path& dir) { return dir / "patchflow.db"; }

  static std::unique_ptr<FleetStore> open(const fs::path& dir) {
    auto s = pf::store::SqliteStore::open(file(dir));
    EXPECT_TRUE(s) << (s ? "" : pf::to_string(s.error()));
    return s ? std::unique_ptr<FleetStore>(std::move(*s)) : nullptr;
  }

  static std::string exec_raw(const fs::path& dir, const std::string& sql) {
    sqlite3* db = nullptr;
    if (sqlite3_open(file(dir).c_str(), &db) != SQLITE_OK) {
      sqlite3_close(db);
      return "cannot open";
    }
    sqlite3_busy_timeout(db, 5000);
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    std::string out = rc == SQLITE_OK ? "" : (message != nullptr ? message : "error");
    sqlite3_free(message);
    sqlite3_close(db);
    return out;
  }

  static std::string drop_audit_guards(const fs::path& dir) {
    return exec_raw(dir,
                    "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
                    " DROP TRIGGER audit_log_append_at_head;");
  }
};

/// One database per test directory on this process's PostgreSQL cluster; each open() is a
/// new connection to it.
struct PostgresBackend {
  static pf::testing::PgCluster& cluster() {
    auto c = pf::testing::PgCluster::shared();
    PF_ASSERT(c);  // database_for() has reported why, and open() is called first
    return **c;
  }

  static std::string database(const fs::path& dir) {
    auto url = pf::testing::PgCluster::database_for(dir);
    PF_ASSERT(url);
    return url->substr(url->rfind('/') + 1);
  }

  static std::unique_ptr<FleetStore> open(const fs::path& dir) {
    auto url = pf::testing::PgCluster::database_for(dir);
    if (!url) {
      ADD_FAILURE() << "no PostgreSQL database: " << pf::to_string(url.error());
      return nullptr;
    }
    auto s = pf::store::PostgresStore::open(*url);
    EXPECT_TRUE(s) << (s ? "" : pf::to_string(s.error()));
    return s ? std::unique_ptr<FleetStore>(std::move(*s)) : nullptr;
  }

  static std::string exec_raw(const fs::path& dir, const std::string& sql) {
    auto r = cluster().psql(sql, database(dir));
    if (r) return "";
    return r.error().message.empty() ? "error" : r.error().message;
  }

  static std::string drop_audit_guards(const fs::path& dir) {
    return exec_raw(dir,
                    "DROP TRIGGER audit_log_no_update ON audit_log;"
                    " DROP TRIGGER audit_log_no_delete ON audit_log;"
                    " DROP TRIGGER audit_log_no_truncate ON audit_log;"
                    " DROP TRIGGER audit_log_append_at_head ON audit_log;");
  }
};

std::string hex64(std::uint64_t n) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(n));
  return buf;
}

/// A token hash of the stored form, distinct per n.
std::string token_hash(std::uint64_t n) { return "sha256:" + hex64(n) + std::string(48, 'a'); }

/// Host ids whose order differs from their creation order.
std::string host_id(std::uint64_t i) { return "h_" + hex64(i * 0x9E3779B97F4A7C15ULL); }

Host make_host(std::uint64_t i, Labels labels = {}) {
  Host h;
  h.id = host_id(i);
  h.name = "web-" + std::to_string(i) + ".example.org";
  h.labels = std::move(labels);
  h.os_id = "debian";
  h.os_version_id = "12";
  h.ecosystem = "Debian:12";
  h.arch = "amd64";
  h.kernel_release = "6.1.0-18-amd64";
  h.boot_id = "boot-" + std::to_string(i);
  h.criticality = static_cast<int>(i % 4);
  h.cert_fingerprint = "fp-" + std::to_string(i);
  h.cert_not_after = 1800000000;
  h.enrolled_at = 1700000000;
  h.last_seen = 1700000000;
  h.reboot_required = i % 2 == 1;
  if (h.reboot_required) h.reboot_reasons = {"kernel 6.1.0-20 installed", "libc6\nupdated \\n"};
  return h;
}

AuditEntry audit(std::string action, std::string target, std::string before = "",
                 std::string after = "") {
  return AuditEntry{"alice", std::move(action), std::move(target), std::move(before),
                    std::move(after), 1710000000};
}

void expect_same(const Host& a, const Host& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.os_id, b.os_id);
  EXPECT_EQ(a.os_version_id, b.os_version_id);
  EXPECT_EQ(a.ecosystem, b.ecosystem);
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.kernel_release, b.kernel_release);
  EXPECT_EQ(a.boot_id, b.boot_id);
  EXPECT_EQ(a.criticality, b.criticality);
  EXPECT_EQ(a.cert_fingerprint, b.cert_fingerprint);
  EXPECT_EQ(a.cert_not_after, b.cert_not_after);
  EXPECT_EQ(a.enrolled_at, b.enrolled_at);
  EXPECT_EQ(a.last_seen, b.last_seen);
  EXPECT_EQ(a.reboot_required, b.reboot_required);
  EXPECT_EQ(a.reboot_reasons, b.reboot_reasons);
  EXPECT_EQ(a.inventory_hash, b.inventory_hash);
  EXPECT_EQ(a.revoked_at, b.revoked_at);
}

void expect_same(const AuditEntry& a, const AuditEntry& b) {
  EXPECT_EQ(a.actor, b.actor);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.before_json, b.before_json);
  EXPECT_EQ(a.after_json, b.after_json);
  EXPECT_EQ(a.at, b.at);
}

// Rows as comparable, printable strings.
std::vector<std::string> rows(const std::vector<pf::inventory::Package>& packages) {
  std::vector<std::string> out;
  for (const auto& p : packages) {
    out.push_back(p.name + "|" + p.arch + "|" + p.version + "|" + p.source_name + "|" +
                  p.source_version);
  }
  return out;
}

std::vector<std::string> rows(const std::vector<AvailableUpdate>& updates) {
  std::vector<std::string> out;
  for (const auto& u : updates) {
    std::string row = u.name + "|" + u.arch + "|" + u.installed_version + "|" +
                      u.candidate_version + "|" + u.origin + "|" + (u.security ? "S" : "-") +
                      "|" + u.held_reason + "|" + std::to_string(u.advisories.size());
    for (const auto& a : u.advisories) row += "|" + a;
    out.push_back(row);
  }
  return out;
}

std::vector<pf::inventory::Package> make_packages(int n, std::string version) {
  std::vector<pf::inventory::Package> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({"pkg" + std::to_string(i), i % 2 == 0 ? "amd64" : "all", version,
                   "src" + std::to_string(i / 2), version});
  }
  return out;
}

template <class Backend>
class FleetStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Backend::open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  /// The seq of the newest audit entry (0 for none).
  std::int64_t head_seq() {
    auto head = store_->audit_head();
    EXPECT_TRUE(head) << pf::to_string(head.error());
    return head ? head->seq : -1;
  }

  /// The newest audit entry, which must exist.
  pf::store::AuditRecord last_entry() {
    const std::int64_t seq = head_seq();
    auto entries = store_->audit_entries(seq, 1);
    EXPECT_TRUE(entries && entries->size() == 1u);
    return entries && !entries->empty() ? entries->front() : pf::store::AuditRecord{};
  }

  /// Every page of `query`, walked to the end; fails the test on a repeated id.
  std::vector<std::string> walk(HostQuery query, int* pages = nullptr) {
    std::vector<std::string> ids;
    std::set<std::string> seen;
    int count = 0;
    for (;;) {
      auto page = store_->list_hosts(query);
      EXPECT_TRUE(page) << pf::to_string(page.error());
      if (!page) break;
      ++count;
      EXPECT_LE(page->hosts.size(), static_cast<std::size_t>(query.limit));
      for (const auto& h : page->hosts) {
        EXPECT_TRUE(seen.insert(h.id).second) << "listed twice: " << h.id;
        ids.push_back(h.id);
      }
      if (page->next_cursor.empty()) break;
      query.cursor = page->next_cursor;
      EXPECT_LE(count, 10000) << "pagination does not end";
      if (count > 10000) break;
    }
    if (pages != nullptr) *pages = count;
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<FleetStore> store_;
};

using FleetBackends = ::testing::Types<SqliteBackend, PostgresBackend>;
TYPED_TEST_SUITE(FleetStoreContract, FleetBackends);

// Hosts.

TYPED_TEST(FleetStoreContract, HostsAreFoundByIdAndFingerprint) {
  FleetStore& s = *this->store_;
  const Host a = make_host(1, {{"env", "prod"}, {"tier", "db"}, {"team", "Payments, EU"}});
  ASSERT_FALSE(s.create_host(a)) << "',' is not allowed in a label value";
  Host good = a;
  good.labels = {{"env", "prod"}, {"tier", "db"}, {"team", "Payments = EU"}};
  ASSERT_TRUE(s.create_host(good)) << pf::to_string(s.create_host(good).error());
  ASSERT_TRUE(s.create_host(make_host(2)));

  auto by_id = s.host(good.id);
  ASSERT_TRUE(by_id && by_id->has_value());
  expect_same(**by_id, good);
  auto by_fp = s.host_by_fingerprint(good.cert_fingerprint);
  ASSERT_TRUE(by_fp && by_fp->has_value());
  expect_same(**by_fp, good);
  EXPECT_EQ(s.host_by_fingerprint("fp-2").value()->id, host_id(2));
  EXPECT_FALSE(s.host("h_missing").value().has_value());
  EXPECT_FALSE(s.host_by_fingerprint("fp-none").value().has_value());

  Host same_id = make_host(3);
  same_id.id = good.id;
  auto dup = s.create_host(same_id);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);
  Host same_fp = make_host(4);
  same_fp.cert_fingerprint = good.cert_fingerprint;
  auto dup_fp = s.create_host(same_fp);
  ASSERT_FALSE(dup_fp);
  EXPECT_EQ(dup_fp.error().code, Errc::conflict);
  EXPECT_EQ(dup_fp.error().where, "cert_fingerprint");
  EXPECT_FALSE(s.host(same_fp.id).value().has_value()) << "a refused host is not half-stored";

  Host bad = make_host(5);
  bad.id = "";
  EXPECT_EQ(s.create_host(bad).error().code, Errc::invalid_input);
  bad = make_host(5);
  bad.inventory_hash = "sha256:abc";
  EXPECT_EQ(s.create_host(bad).error().code, Errc::invalid_input);
  bad = make_host(5);
  bad.labels = {{"-starts-with-dash", "x"}};
  EXPECT_EQ(s.create_host(bad).error().code, Errc::invalid_input);
  bad = make_host(5);
  bad.cert_fingerprint = "";
  EXPECT_EQ(s.create_host(bad).error().code, Errc::invalid_input);
  EXPECT_EQ(this->head_seq(), 0) << "enrollment is not audited by create_host";
}

TYPED_TEST(FleetStoreContract, ListingFiltersAndPagesThroughEveryHostOnce) {
  FleetStore& s = *this->store_;
  constexpr int kHosts = 2500;
  std::set<std::string> all, prod_db, alma, prefix_db, alma_prod_db_prefix;
  auto created = s.atomically([&]() -> pf::Result<void> {
    for (int i = 0; i < kHosts; ++i) {
      const bool prod = i % 2 == 0;
      const bool db = i % 3 == 0;
      const bool alma9 = i % 5 == 0;
      Host h = make_host(static_cast<std::uint64_t>(i),
                         {{"env", prod ? "prod" : "staging"}, {"tier", db ? "db" : "app"}});
      h.name = (db ? "db-" : "app-") + std::to_string(i);
      if (alma9) h.ecosystem = "AlmaLinux:9";
      if (auto r = s.create_host(h); !r) return r;
      all.insert(h.id);
      if (prod && db) prod_db.insert(h.id);
      if (alma9) alma.insert(h.id);
      if (db) prefix_db.insert(h.id);
      if (alma9 && prod && db) alma_prod_db_prefix.insert(h.id);
    }
    return {};
  });
  ASSERT_TRUE(created) << pf::to_string(created.error());

  HostQuery everything;
  everything.limit = 1000;
  int pages = 0;
  const auto ids = this->walk(everything, &pages);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kHosts));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), all);

  HostQuery by_labels;
  by_labels.labels = {{"env", "prod"}, {"tier", "db"}};
  by_labels.limit = 97;
  auto got = this->walk(by_labels);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), prod_db);

  HostQuery by_ecosystem;
  by_ecosystem.ecosystem = "AlmaLinux:9";
  by_ecosystem.limit = 200;
  got = this->walk(by_ecosystem);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), alma);

  HostQuery by_prefix;
  by_prefix.name_prefix = "db-";
  by_prefix.limit = 1000;
  got = this->walk(by_prefix);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), prefix_db);

  HostQuery combined;
  combined.labels = {{"env", "prod"}, {"tier", "db"}};
  combined.ecosystem = "AlmaLinux:9";
  combined.name_prefix = "db-";
  combined.limit = 7;
  got = this->walk(combined);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), alma_prod_db_prefix);

  HostQuery none;
  none.labels = {{"env", "prod"}, {"tier", "nowhere"}};
  auto empty = s.list_hosts(none);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->hosts.empty());
  EXPECT_TRUE(empty->next_cursor.empty());

  HostQuery bad;
  bad.limit = 0;
  EXPECT_EQ(s.list_hosts(bad).error().code, Errc::invalid_input);
  bad.limit = 1001;
  EXPECT_EQ(s.list_hosts(bad).error().code, Errc::invalid_input);
  bad.limit = 10;
  bad.cursor = "'; DROP TABLE hosts; --";
  EXPECT_EQ(s.list_hosts(bad).error().code, Errc::invalid_input);
  bad.cursor.clear();
  bad.labels = {{"", "x"}};
  EXPECT_EQ(s.list_hosts(bad).error().code, Errc::invalid_input);
}

TYPED_TEST(FleetStoreContract, CheckinsUpdateTheFacts) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_host(make_host(2)));
  CheckinFacts f;
  f.at = 1700000500;
  f.boot_id = "boot-new";
  f.kernel_release = "6.1.0-20-amd64";
  f.reboot_required = true;
  f.reboot_reasons = {"kernel", "", "systemd\\"};
  f.os_id = "debian";
  f.os_version_id = "13";
  f.ecosystem = "Debian:13";
  ASSERT_TRUE(s.record_checkin(host_id(1), f));
  auto h = s.host(host_id(1)).value().value();
  EXPECT_EQ(h.last_seen, 1700000500);
  EXPECT_EQ(h.boot_id, "boot-new");
  EXPECT_EQ(h.kernel_release, "6.1.0-20-amd64");
  EXPECT_TRUE(h.reboot_required);
  EXPECT_EQ(h.reboot_reasons, f.reboot_reasons);
  EXPECT_EQ(h.ecosystem, "Debian:13");
  EXPECT_EQ(h.os_version_id, "13");
  EXPECT_EQ(h.name, make_host(1).name) << "a check-in leaves the other fields alone";
  EXPECT_EQ(h.cert_fingerprint, "fp-1");

  f.reboot_required = false;
  f.reboot_reasons.clear();
  f.at = 1700000600;
  ASSERT_TRUE(s.record_checkin(host_id(1), f));
  h = s.host(host_id(1)).value().value();
  EXPECT_FALSE(h.reboot_required);
  EXPECT_TRUE(h.reboot_reasons.empty());
  EXPECT_EQ(h.last_seen, 1700000600);
  EXPECT_EQ(s.host(host_id(2)).value()->last_seen, 1700000000) << "only that host";

  EXPECT_EQ(s.record_checkin("h_unknown", f).error().code, Errc::not_found);
  CheckinFacts huge = f;
  huge.boot_id = std::string(5000, 'x');
  EXPECT_EQ(s.record_checkin(host_id(1), huge).error().code, Errc::invalid_input);

  // A batch: unknown hosts are skipped, the others updated in one commit.
  f.at = 1700000700;
  const std::vector<pf::store::Checkin> batch = {
      {host_id(1), f}, {"h_unknown", f}, {host_id(2), f}};
  auto n = s.record_checkins(batch);
  ASSERT_TRUE(n) << pf::to_string(n.error());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(s.host(host_id(2)).value()->last_seen, 1700000700);
  EXPECT_EQ(s.host(host_id(2)).value()->ecosystem, "Debian:13");
}

TYPED_TEST(FleetStoreContract, CertificateRotation) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_host(make_host(2)));
  ASSERT_TRUE(s.set_certificate(host_id(1), "fp-1-rotated", 1900000000));
  EXPECT_FALSE(s.host_by_fingerprint("fp-1").value().has_value());
  auto h = s.host_by_fingerprint("fp-1-rotated").value();
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->id, host_id(1));
  EXPECT_EQ(h->cert_not_after, 1900000000);
  auto taken = s.set_certificate(host_id(1), "fp-2", 1900000000);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, Errc::conflict);
  EXPECT_EQ(s.host_by_fingerprint("fp-2").value()->id, host_id(2));
  EXPECT_EQ(s.set_certificate("h_unknown", "fp-x", 1).error().code, Errc::not_found);
  EXPECT_EQ(s.set_certificate(host_id(1), "", 1).error().code, Errc::invalid_input);
}

TYPED_TEST(FleetStoreContract, RevokingHidesTheHostAndIsAudited) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_host(make_host(2)));
  const AuditEntry entry =
      audit("host.revoke", host_id(1), R"({"revoked_at":null})", R"({"revoked_at":1710000000})");
  ASSERT_TRUE(s.revoke_host(host_id(1), 1710000000, entry));
  EXPECT_EQ(s.host(host_id(1)).value()->revoked_at, 1710000000);
  EXPECT_EQ(s.host_by_fingerprint("fp-1").value()->revoked_at, 1710000000)
      << "still found, so that the gateway can say why it refuses";
  EXPECT_EQ(this->head_seq(), 1);
  expect_same(this->last_entry().entry, entry);

  HostQuery q;
  auto listed = this->walk(q);
  EXPECT_EQ(listed, std::vector<std::string>{host_id(2)});
  q.include_revoked = true;
  EXPECT_EQ(this->walk(q).size(), 2u);

  auto again = s.revoke_host(host_id(1), 1710000100, entry);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_EQ(s.revoke_host("h_unknown", 1710000100, entry).error().code, Errc::not_found);
  EXPECT_EQ(this->head_seq(), 1) << "a refused change leaves no audit entry";
  EXPECT_EQ(s.host(host_id(1)).value()->revoked_at, 1710000000);

  CheckinFacts f;
  f.at = 1710000200;
  EXPECT_EQ(s.record_checkin(host_id(1), f).error().code, Errc::conflict);
  EXPECT_EQ(s.set_certificate(host_id(1), "fp-new", 1).error().code, Errc::conflict);
  EXPECT_EQ(s.put_inventory(host_id(1), "sha256:x", {}, {}).error().code, Errc::conflict);
}

TYPED_TEST(FleetStoreContract, SettingLabelsReplacesThemAll) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1, {{"env", "prod"}, {"tier", "db"}})));
  const Labels next = {{"env", "staging"}, {"owner", "team-a"}};
  ASSERT_TRUE(s.set_labels(host_id(1), next, audit("host.labels", host_id(1), "{}", "{}")));
  EXPECT_EQ(s.host(host_id(1)).value()->labels, next);
  HostQuery q;
  q.labels = {{"tier", "db"}};
  EXPECT_TRUE(this->walk(q).empty());
  q.labels = {{"owner", "team-a"}};
  EXPECT_EQ(this->walk(q).size(), 1u);
  EXPECT_EQ(this->head_seq(), 1);
  EXPECT_EQ(s.set_labels("h_unknown", next, audit("host.labels", "h_unknown")).error().code,
            Errc::not_found);
  EXPECT_EQ(s.set_labels(host_id(1), {{"a,b", "c"}}, audit("host.labels", host_id(1)))
                .error()
                .code,
            Errc::invalid_input);
  EXPECT_EQ(this->head_seq(), 1);
  EXPECT_EQ(s.host(host_id(1)).value()->labels, next);
}

// Inventories.

TYPED_TEST(FleetStoreContract, AnUnchangedInventoryWritesNothing) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_host(make_host(2)));
  EXPECT_TRUE(s.packages(host_id(1)).value().empty());
  EXPECT_EQ(s.packages("h_unknown").error().code, Errc::not_found);
  EXPECT_EQ(s.updates("h_unknown").error().code, Errc::not_found);

  const auto first = make_packages(300, "1.0-1");
  std::vector<AvailableUpdate> updates(2);
  updates[0] = {"pkg1", "all", "1.0-1", "1.0-2", "Debian-Security:12/stable-security", true,
                {"DSA-5001-1", "weird\nid\\n"}, ""};
  updates[1] = {"pkg2", "amd64", "1.0-1", "1.1-1", "Debian:12/stable", false, {}, "held by apt-mark"};
  auto put = s.put_inventory(host_id(1), "sha256:one", first, updates);
  ASSERT_TRUE(put) << pf::to_string(put.error());
  EXPECT_TRUE(*put);
  EXPECT_EQ(rows(s.packages(host_id(1)).value()), rows(first));
  EXPECT_EQ(rows(s.updates(host_id(1)).value()), rows(updates));
  EXPECT_EQ(s.host(host_id(1)).value()->inventory_hash, "sha256:one");

  // Same hash, different rows: the rows are not looked at, nothing is written.
  const auto other = make_packages(5, "9.9-9");
  put = s.put_inventory(host_id(1), "sha256:one", other, {});
  ASSERT_TRUE(put);
  EXPECT_FALSE(*put);
  EXPECT_EQ(rows(s.packages(host_id(1)).value()), rows(first));
  EXPECT_EQ(rows(s.updates(host_id(1)).value()), rows(updates));

  // A new hash replaces every row, exactly.
  put = s.put_inventory(host_id(1), "sha256:two", other, {});
  ASSERT_TRUE(put);
  EXPECT_TRUE(*put);
  EXPECT_EQ(rows(s.packages(host_id(1)).value()), rows(other));
  EXPECT_TRUE(s.updates(host_id(1)).value().empty());
  EXPECT_EQ(s.host(host_id(1)).value()->inventory_hash, "sha256:two");
  EXPECT_TRUE(s.packages(host_id(2)).value().empty()) << "another host's rows are apart";

  put = s.put_inventory(host_id(1), "sha256:empty", {}, {});
  ASSERT_TRUE(put);
  EXPECT_TRUE(s.packages(host_id(1)).value().empty());

  EXPECT_EQ(s.put_inventory("h_unknown", "sha256:one", first, {}).error().code, Errc::not_found);
  EXPECT_EQ(s.put_inventory(host_id(1), "", first, {}).error().code, Errc::invalid_input);
  std::vector<pf::inventory::Package> nameless(1);
  EXPECT_EQ(s.put_inventory(host_id(1), "sha256:three", nameless, {}).error().code,
            Errc::invalid_input);
  EXPECT_EQ(s.host(host_id(1)).value()->inventory_hash, "sha256:empty");
}

// Text the databases treat specially somewhere (quotes, escapes, separators, the word NULL,
// multi-byte UTF-8): every backend stores and returns it exactly.
const std::vector<std::string>& unusual_text() {
  static const std::vector<std::string> all = {
      "", "NULL", "null", "\"quoted\"", "back\\slash", "a,b", "{braces}", " spaced ",
      "tab\there", "line\nbreak", "caf\xc3\xa9 \xe2\x82\xac", "'single'", "$1", "semi;colon",
      "\\\"", "}", "{"};
  return all;
}

TYPED_TEST(FleetStoreContract, ALargeInventoryWithUnusualTextRoundTrips) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_host(make_host(2)));
  const auto& odd = unusual_text();
  auto packages = make_packages(1500, "2:1.0-1~deb12u1");
  for (std::size_t i = 0; i < odd.size(); ++i) {
    packages[i].version = odd[i];
    packages[i + 20].arch = odd[i];
    packages[i + 40].source_name = odd[i];
    packages[i + 60].source_version = odd[i];
    if (!odd[i].empty()) packages[i + 80].name = odd[i];
  }
  std::vector<AvailableUpdate> updates;
  for (std::size_t i = 0; i < odd.size(); ++i) {
    AvailableUpdate u{"pkg" + std::to_string(i), odd[i], odd[i], odd[i], odd[i], i % 2 == 0, {},
                      odd[i]};
    for (std::size_t j = 0; j <= i; ++j) {
      if (!odd[j].empty()) u.advisories.push_back(odd[j]);
    }
    updates.push_back(std::move(u));
  }
  const auto began = std::chrono::steady_clock::now();
  auto put = s.put_inventory(host_id(1), "sha256:odd", packages, updates);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - began);
  ASSERT_TRUE(put) << pf::to_string(put.error());
  EXPECT_TRUE(*put);
  std::printf("[timing] put_inventory of %zu packages and %zu updates: %.1f ms\n",
              packages.size(), updates.size(), static_cast<double>(took.count()) / 1000.0);
  EXPECT_EQ(rows(s.packages(host_id(1)).value()), rows(packages));
  EXPECT_EQ(rows(s.updates(host_id(1)).value()), rows(updates));
  EXPECT_TRUE(s.packages(host_id(2)).value().empty());

  // Lists and labels of unusual text as well.
  CheckinFacts f;
  f.at = 1700000900;
  f.reboot_reasons = odd;
  ASSERT_TRUE(s.record_checkin(host_id(1), f));
  EXPECT_EQ(s.host(host_id(1)).value()->reboot_reasons, odd);
  f.reboot_reasons = {"", "\"", "NULL"};
  const std::vector<pf::store::Checkin> batch = {{host_id(2), f}};
  ASSERT_EQ(s.record_checkins(batch).value(), 1u);
  EXPECT_EQ(s.host(host_id(2)).value()->reboot_reasons, f.reboot_reasons);
  const Labels labels = {{"k1", "\"q\""}, {"k2", "back\\slash"}, {"k3", "{b}"}, {"k4", "NULL"},
                         {"k5", ""},     {"k6", "a=b=c"},       {"k.7/x-y_z", " "}};
  ASSERT_TRUE(s.set_labels(host_id(1), labels, audit("host.labels", host_id(1))));
  EXPECT_EQ(s.host(host_id(1)).value()->labels, labels);
  HostQuery q;
  q.labels = {{"k1", "\"q\""}, {"k4", "NULL"}};
  EXPECT_EQ(this->walk(q), std::vector<std::string>{host_id(1)});
  EnrollmentToken t;
  t.token_hash = token_hash(1);
  t.token_id = "et_odd";
  t.labels = labels;
  t.created_by = "alice";
  t.created_at = 1;
  t.expires_at = 2;
  ASSERT_TRUE(s.create_enrollment_token(t, audit("enrollment_token.create", "et_odd")));
  EXPECT_EQ(s.list_enrollment_tokens().value().at(0).labels, labels);
  AuditEntry e = audit("test.odd", "\"x\"", "{\"a\":\"b\\\\\"}", "caf\xc3\xa9\n");
  ASSERT_TRUE(s.append_audit(e));
  expect_same(this->last_entry().entry, e);
  EXPECT_TRUE(s.verify_audit().value().ok);
}

TYPED_TEST(FleetStoreContract, ABatchNamingAHostTwiceAppliesItsCheckinsInOrder) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_host(make_host(2)));
  CheckinFacts first;
  first.at = 1700000100;
  first.boot_id = "first";
  CheckinFacts second = first;
  second.at = 1700000200;
  second.boot_id = "second";
  const std::vector<pf::store::Checkin> batch = {
      {host_id(1), first}, {host_id(2), first}, {host_id(1), second}};
  auto n = s.record_checkins(batch);
  ASSERT_TRUE(n) << pf::to_string(n.error());
  EXPECT_EQ(*n, 3u) << "each check-in of a known host counts";
  EXPECT_EQ(s.host(host_id(1)).value()->boot_id, "second");
  EXPECT_EQ(s.host(host_id(1)).value()->last_seen, 1700000200);
  EXPECT_EQ(s.host(host_id(2)).value()->boot_id, "first");
  EXPECT_EQ(s.record_checkins({}).value(), 0u);
  CheckinFacts bad = first;
  bad.kernel_release = std::string(5000, 'k');
  const std::vector<pf::store::Checkin> refused = {{host_id(2), second}, {host_id(1), bad}};
  EXPECT_EQ(s.record_checkins(refused).error().code, Errc::invalid_input);
  EXPECT_EQ(s.host(host_id(2)).value()->boot_id, "first") << "nothing of a refused batch";
}

TYPED_TEST(FleetStoreContract, CheckinBatchesFromSeveralConnectionsInAnyOrderAllCommit) {
  constexpr int kHosts = 40;
  constexpr int kWriters = 3;
  constexpr int kRounds = 12;
  auto created = this->store_->atomically([&]() -> pf::Result<void> {
    for (int i = 0; i < kHosts; ++i) {
      if (auto r = this->store_->create_host(make_host(static_cast<std::uint64_t>(i))); !r) return r;
    }
    return {};
  });
  ASSERT_TRUE(created) << pf::to_string(created.error());
  std::vector<std::unique_ptr<FleetStore>> stores;
  for (int i = 0; i < kWriters; ++i) {
    stores.push_back(TypeParam::open(this->dir_.path()));
    ASSERT_NE(stores.back(), nullptr);
  }
  std::latch start(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      // Each writer names every host, in an order of its own.
      constexpr int kStride[kWriters] = {1, 7, 13};  // coprime with kHosts
      std::vector<pf::store::Checkin> batch;
      for (int i = 0; i < kHosts; ++i) {
        const int k = w % 2 == 0 ? i : kHosts - 1 - i;
        CheckinFacts f;
        f.at = 1700001000 + w;
        f.boot_id = "writer-" + std::to_string(w);
        batch.push_back({host_id(static_cast<std::uint64_t>((k * kStride[w]) % kHosts)), f});
      }
      start.arrive_and_wait();
      for (int round = 0; round < kRounds; ++round) {
        auto n = stores[static_cast<std::size_t>(w)]->record_checkins(batch);
        ASSERT_TRUE(n) << "writer " << w << ": " << pf::to_string(n.error());
        EXPECT_EQ(*n, batch.size());
      }
    });
  }
  for (auto& t : threads) t.join();
  HostQuery all;
  all.limit = 1000;
  auto page = this->store_->list_hosts(all).value();
  ASSERT_EQ(page.hosts.size(), static_cast<std::size_t>(kHosts));
  for (const auto& h : page.hosts) {
    EXPECT_TRUE(h.boot_id.starts_with("writer-")) << h.id << " " << h.boot_id;
    EXPECT_EQ(h.last_seen, 1700001000 + (h.boot_id.back() - '0')) << "one check-in's facts, whole";
  }
}

TYPED_TEST(FleetStoreContract, ConcurrentWritersOfOneInventoryLeaveOneWholeInventory) {
  ASSERT_TRUE(this->store_->create_host(make_host(1)));
  constexpr int kWriters = 3;
  constexpr int kEach = 8;
  std::map<std::string, std::vector<pf::inventory::Package>> by_hash;
  for (int w = 0; w < kWriters; ++w) {
    for (int j = 0; j < kEach; ++j) {
      by_hash["sha256:w" + std::to_string(w) + "-" + std::to_string(j)] =
          make_packages(40 + 13 * w + j, std::to_string(w) + "." + std::to_string(j));
    }
  }
  std::vector<std::unique_ptr<FleetStore>> stores;
  for (int i = 0; i < kWriters; ++i) {
    stores.push_back(TypeParam::open(this->dir_.path()));
    ASSERT_NE(stores.back(), nullptr);
  }
  std::latch start(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      start.arrive_and_wait();
      for (int j = 0; j < kEach; ++j) {
        const std::string hash = "sha256:w" + std::to_string(w) + "-" + std::to_string(j);
        auto r = stores[static_cast<std::size_t>(w)]->put_inventory(host_id(1), hash,
                                                                    by_hash.at(hash), {});
        ASSERT_TRUE(r) << "writer " << w << ": " << pf::to_string(r.error());
        EXPECT_TRUE(*r);
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string stored = this->store_->host(host_id(1)).value()->inventory_hash;
  ASSERT_EQ(by_hash.count(stored), 1u) << stored;
  EXPECT_EQ(rows(this->store_->packages(host_id(1)).value()), rows(by_hash.at(stored)))
      << "the rows are those of the stored hash, and only those";
}

// A changed inventory is written as a difference against the stored rows (by position): each
// kind of change must still leave exactly the rows put, in their order.
TYPED_TEST(FleetStoreContract, ChangedInventoriesKeepExactlyTheRowsPutInTheirOrder) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_host(make_host(2)));
  const auto other = make_packages(40, "7.0-1");
  ASSERT_TRUE(s.put_inventory(host_id(2), "sha256:other", other, {}).value());

  std::vector<AvailableUpdate> updates = {
      {"pkg1", "all", "1.0-1", "1.0-2", "Debian-Security", true, {"DSA-1-1", "CVE-2024-1"}, ""},
      {"pkg2", "amd64", "1.0-1", "1.1-1", "Debian", false, {}, "held"},
      {"pkg3", "amd64", "1.0-1", "1.2-1", "Debian", false, {"DLA-3-1"}, ""}};
  auto packages = make_packages(300, "1.0-1");
  int generation = 0;
  const auto put_and_check = [&](const std::string& what) {
    const std::string hash = "sha256:gen-" + std::to_string(++generation);
    auto put = s.put_inventory(host_id(1), hash, packages, updates);
    ASSERT_TRUE(put) << what << ": " << pf::to_string(put.error());
    EXPECT_TRUE(*put) << what;
    EXPECT_EQ(rows(s.packages(host_id(1)).value()), rows(packages)) << what;
    EXPECT_EQ(rows(s.updates(host_id(1)).value()), rows(updates)) << what;
    EXPECT_EQ(s.host(host_id(1)).value()->inventory_hash, hash) << what;
  };
  put_and_check("first");

  for (std::size_t i = 3; i < packages.size(); i += 20) packages[i].version = "1.0-2";
  packages[7].source_version = "1.0-1+b1";
  packages[8].source_name = "renamed-src";
  updates[0].advisories.push_back("CVE-2024-2");
  updates[1].security = true;
  updates[2].held_reason = "pinned";
  put_and_check("versions and update fields changed in place");

  packages[10].name = "pkg10-renamed";
  packages[11].arch = "i386";
  put_and_check("names and arches changed in place");

  packages.insert(packages.begin() + 50, {"inserted", "amd64", "1.0", "inserted", "1.0"});
  packages.erase(packages.begin() + 200);
  put_and_check("a row inserted and one removed in the middle");

  // Two installed versions of one package (installonly kernels), then one of them removed.
  packages.push_back({"kernel", "x86_64", "5.14.0-1", "kernel", "5.14.0-1"});
  packages.push_back({"kernel", "x86_64", "5.14.0-2", "kernel", "5.14.0-2"});
  updates.push_back({"kernel", "x86_64", "5.14.0-2", "5.14.0-3", "BaseOS", true, {}, ""});
  put_and_check("rows appended, with a repeated name and arch");
  packages.erase(packages.end() - 2);
  put_and_check("the first of the repeated rows removed");

  std::reverse(packages.begin(), packages.end());
  std::reverse(updates.begin(), updates.end());
  put_and_check("every row in the opposite order");

  packages.resize(120);
  updates.resize(1);
  put_and_check("shrunk");

  packages = make_packages(500, "3.0-1");
  updates.clear();
  put_and_check("grown, no updates");

  const auto same = packages;
  packages.clear();
  put_and_check("emptied");
  packages = same;
  put_and_check("filled again");

  EXPECT_EQ(rows(s.packages(host_id(2)).value()), rows(other)) << "another host's rows are apart";
}

TYPED_TEST(FleetStoreContract, ABatchOfInventoriesGivesEachItsOutcome) {
  using pf::store::InventoryOutcome;
  using pf::store::InventoryPut;
  FleetStore& s = *this->store_;
  for (std::uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(s.create_host(make_host(i)));
  ASSERT_TRUE(s.put_inventory(host_id(2), "sha256:held", make_packages(10, "1"), {}).value());
  ASSERT_TRUE(s.revoke_host(host_id(3), 1710000000, audit("host.revoke", host_id(3))));
  EXPECT_TRUE(s.put_inventories({}).value().empty());

  const std::vector<AvailableUpdate> updates = {
      {"pkg0", "amd64", "1", "2", "Debian-Security", true, {"DSA-9-1"}, ""}};
  std::vector<InventoryPut> batch = {
      {host_id(1), "sha256:a", make_packages(30, "1.0"), updates},
      {host_id(2), "sha256:held", make_packages(3, "9.9"), {}},  // the stored hash: untouched
      {"h_unknown", "sha256:x", make_packages(3, "1.0"), {}},
      {host_id(3), "sha256:r", make_packages(3, "1.0"), {}},
      {host_id(4), "sha256:d", make_packages(25, "4.0"), {}},
      {host_id(1), "sha256:b", make_packages(20, "2.0"), {}},  // the same host again: it wins
  };
  auto out = s.put_inventories(batch);
  ASSERT_TRUE(out) << pf::to_string(out.error());
  EXPECT_EQ(*out, (std::vector<InventoryOutcome>{
                      InventoryOutcome::stored, InventoryOutcome::unchanged,
                      InventoryOutcome::unknown_host, InventoryOutcome::revoked,
                      InventoryOutcome::stored, InventoryOutcome::stored}));
  EXPECT_EQ(s.host(host_id(1)).value()->inventory_hash, "sha256:b");
  EXPECT_EQ(rows(s.packages(host_id(1)).value()), rows(make_packages(20, "2.0")));
  EXPECT_TRUE(s.updates(host_id(1)).value().empty());
  EXPECT_EQ(rows(s.packages(host_id(2)).value()), rows(make_packages(10, "1")));
  EXPECT_TRUE(s.packages(host_id(3)).value().empty());
  EXPECT_EQ(s.host(host_id(3)).value()->inventory_hash, "");
  EXPECT_EQ(rows(s.packages(host_id(4)).value()), rows(make_packages(25, "4.0")));

  // One bad item: the batch is refused whole, naming the item.
  std::vector<InventoryPut> bad = {{host_id(4), "sha256:e", make_packages(5, "5.0"), {}},
                                   {host_id(1), "sha256:c", make_packages(5, "5.0"), {}}};
  bad[1].packages[2].name.clear();
  auto refused = s.put_inventories(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_input);
  EXPECT_NE(refused.error().where.find(host_id(1)), std::string::npos) << refused.error().where;
  EXPECT_NE(refused.error().where.find("packages[2]"), std::string::npos) << refused.error().where;
  bad[1].packages[2].name = "ok";
  bad[1].hash.clear();
  EXPECT_EQ(s.put_inventories(bad).error().code, Errc::invalid_input);
  EXPECT_EQ(s.host(host_id(4)).value()->inventory_hash, "sha256:d") << "nothing was written";
  EXPECT_EQ(rows(s.packages(host_id(4)).value()), rows(make_packages(25, "4.0")));
}

// Batches from several servers (store objects) naming the same hosts in opposite orders all
// commit (no deadlock between their host locks), and each host ends with one whole inventory.
TYPED_TEST(FleetStoreContract, InventoryBatchesFromSeveralConnectionsInAnyOrderAllCommit) {
  using pf::store::InventoryOutcome;
  using pf::store::InventoryPut;
  constexpr int kHosts = 12;
  constexpr int kWriters = 3;
  constexpr int kRounds = 4;
  for (int i = 0; i < kHosts; ++i) {
    ASSERT_TRUE(this->store_->create_host(make_host(static_cast<std::uint64_t>(i))));
  }
  std::vector<std::unique_ptr<FleetStore>> stores;
  for (int i = 0; i < kWriters; ++i) {
    stores.push_back(TypeParam::open(this->dir_.path()));
    ASSERT_NE(stores.back(), nullptr);
  }
  // The rows each (writer, round) puts, and so each hash stands for.
  const auto version = [](int w, int round) {
    return std::to_string(w) + "." + std::to_string(round);
  };
  std::latch start(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      start.arrive_and_wait();
      for (int round = 0; round < kRounds; ++round) {
        std::vector<InventoryPut> batch;
        for (int i = 0; i < kHosts; ++i) {
          const int k = w % 2 == 0 ? i : kHosts - 1 - i;
          batch.push_back({host_id(static_cast<std::uint64_t>(k)),
                           "sha256:" + version(w, round), make_packages(60 + k, version(w, round)),
                           {}});
        }
        auto out = stores[static_cast<std::size_t>(w)]->put_inventories(batch);
        ASSERT_TRUE(out) << "writer " << w << ": " << pf::to_string(out.error());
        for (auto o : *out) EXPECT_EQ(o, InventoryOutcome::stored);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int k = 0; k < kHosts; ++k) {
    const std::string id = host_id(static_cast<std::uint64_t>(k));
    const std::string hash = this->store_->host(id).value()->inventory_hash;
    ASSERT_TRUE(hash.starts_with("sha256:")) << hash;
    EXPECT_EQ(rows(this->store_->packages(id).value()), rows(make_packages(60 + k, hash.substr(7))))
        << id << ": the rows are those of the stored hash";
  }
}

TYPED_TEST(FleetStoreContract, LookupsMatchTheWholeKey) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_user({"bob", "", "viewer", false, 1}, audit("user.create", "bob")));
  ASSERT_TRUE(s.create_api_token({token_hash(1), "tk_1", "bob", "viewer", 1, {}, {}, {}},
                                 audit("api_token.create", "tk_1")));
  using namespace std::string_literals;
  // A key with a NUL byte, or bytes that are not UTF-8, equals no stored key.
  EXPECT_FALSE(s.host(host_id(1) + "\0x"s).value().has_value());
  EXPECT_FALSE(s.host_by_fingerprint("fp-1\0"s).value().has_value());
  EXPECT_FALSE(s.host_by_fingerprint("fp-1\xff").value().has_value());
  EXPECT_FALSE(s.user("bob\0"s).value().has_value());
  EXPECT_FALSE(s.user("bob\xc3").value().has_value());
  EXPECT_FALSE(s.api_token(token_hash(1) + "\0"s).value().has_value());
  EXPECT_TRUE(s.list_api_tokens(std::string_view("bob\0"s)).value().empty());
  CheckinFacts f;
  f.at = 1700000500;
  EXPECT_EQ(s.record_checkin(host_id(1) + "\0"s, f).error().code, Errc::not_found);
  EXPECT_EQ(s.packages(host_id(1) + "\xff").error().code, Errc::not_found);
  EXPECT_EQ(s.put_inventory(host_id(1) + "\0"s, "sha256:x", {}, {}).error().code,
            Errc::not_found);
  EXPECT_EQ(s.set_role("bob\0"s, "admin", audit("user.set_role", "bob")).error().code,
            Errc::not_found);
  EXPECT_TRUE(s.record_api_token_use("tk_1\0"s, 1750000000));
  EXPECT_FALSE(s.api_token(token_hash(1)).value()->last_used_at.has_value());
  EXPECT_EQ(s.host(host_id(1)).value()->last_seen, 1700000000);
  EXPECT_EQ(s.user("bob").value()->role, "viewer");
  EXPECT_EQ(this->head_seq(), 2);
}

// Enrollment tokens.

EnrollmentToken make_token(std::uint64_t n, std::int64_t expires_at = 1800000000) {
  EnrollmentToken t;
  t.token_hash = token_hash(n);
  t.token_id = "et_" + std::to_string(n);
  t.labels = {{"env", "prod"}, {"site", "fra 1"}};
  t.created_by = "alice";
  t.created_at = 1700000000 + static_cast<std::int64_t>(n);
  t.expires_at = expires_at;
  return t;
}

TYPED_TEST(FleetStoreContract, AnEnrollmentTokenIsConsumedOnce) {
  FleetStore& s = *this->store_;
  const auto t = make_token(1);
  ASSERT_TRUE(s.create_enrollment_token(t, audit("enrollment_token.create", t.token_id, "", "{}")));
  EXPECT_EQ(this->head_seq(), 1);
  auto dup = s.create_enrollment_token(t, audit("enrollment_token.create", t.token_id));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);
  EXPECT_EQ(this->head_seq(), 1);

  auto used = s.consume_enrollment_token(t.token_hash, 1750000000, "h_0000000000000001");
  ASSERT_TRUE(used) << pf::to_string(used.error());
  EXPECT_EQ(used->token_id, t.token_id);
  EXPECT_EQ(used->labels, t.labels);
  EXPECT_EQ(used->created_by, "alice");
  EXPECT_EQ(used->used_at, 1750000000);
  EXPECT_EQ(used->used_by_host, "h_0000000000000001");

  auto twice = s.consume_enrollment_token(t.token_hash, 1750000001, "h_0000000000000002");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::conflict);
  auto unknown = s.consume_enrollment_token(token_hash(99), 1750000000, "h_1");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);

  const auto old = make_token(2, 1700000100);
  ASSERT_TRUE(s.create_enrollment_token(old, audit("enrollment_token.create", old.token_id)));
  auto expired = s.consume_enrollment_token(old.token_hash, 1700000100, "h_1");
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Errc::invalid_input);
  EXPECT_EQ(expired.error().message, "expired");

  auto list = s.list_enrollment_tokens();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].token_id, "et_1");
  EXPECT_EQ((*list)[0].used_by_host, "h_0000000000000001");
  EXPECT_EQ((*list)[1].token_id, "et_2");
  EXPECT_FALSE((*list)[1].used_at.has_value()) << "an expired token stays unused";
  EXPECT_EQ((*list)[1].labels, old.labels);

  EnrollmentToken bad = make_token(3);
  bad.token_hash = "sha256:ABC";
  EXPECT_EQ(s.create_enrollment_token(bad, audit("x", "y")).error().code, Errc::invalid_input);
  bad = make_token(3);
  bad.expires_at = bad.created_at;
  EXPECT_EQ(s.create_enrollment_token(bad, audit("x", "y")).error().code, Errc::invalid_input);
  EXPECT_EQ(this->head_seq(), 2);
}

TYPED_TEST(FleetStoreContract, ConcurrentConsumersOfOneTokenHaveExactlyOneWinner) {
  constexpr int kThreads = 6;
  constexpr int kRounds = 5;
  std::vector<std::unique_ptr<FleetStore>> stores;
  for (int i = 0; i < kThreads; ++i) {
    stores.push_back(TypeParam::open(this->dir_.path()));  // a connection each
    ASSERT_NE(stores.back(), nullptr);
  }
  for (int round = 0; round < kRounds; ++round) {
    const auto t = make_token(100 + static_cast<std::uint64_t>(round));
    ASSERT_TRUE(this->store_->create_enrollment_token(t, audit("enrollment_token.create", t.token_id)));
    std::latch start(kThreads);
    std::atomic<int> won{0}, lost{0}, other{0};
    std::vector<std::string> winner(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        auto r = stores[static_cast<std::size_t>(i)]->consume_enrollment_token(
            t.token_hash, 1750000000, "h_thread" + std::to_string(i));
        if (r) {
          ++won;
          winner[static_cast<std::size_t>(i)] = *r->used_by_host;
        } else if (r.error().code == Errc::conflict) {
          ++lost;
        } else {
          ++other;
          ADD_FAILURE() << pf::to_string(r.error());
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(lost.load(), kThreads - 1);
    EXPECT_EQ(other.load(), 0);
    auto list = this->store_->list_enrollment_tokens().value();
    const auto stored = std::find_if(list.begin(), list.end(),
                                     [&](const auto& x) { return x.token_id == t.token_id; });
    ASSERT_NE(stored, list.end());
    EXPECT_NE(std::find(winner.begin(), winner.end(), stored->used_by_host.value_or("")),
              winner.end());
  }
}

TYPED_TEST(FleetStoreContract, ConsumingATokenAndCreatingTheHostIsOneStep) {
  FleetStore& s = *this->store_;
  const auto t = make_token(7);
  ASSERT_TRUE(s.create_enrollment_token(t, audit("enrollment_token.create", t.token_id)));
  ASSERT_TRUE(s.create_host(make_host(1)));
  // The host cannot be created (its fingerprint is taken): the token is not used up either.
  Host clash = make_host(2);
  clash.cert_fingerprint = "fp-1";
  auto failed = s.atomically([&]() -> pf::Result<void> {
    auto used = s.consume_enrollment_token(t.token_hash, 1750000000, clash.id);
    if (!used) return pf::Unexpected(used.error());
    clash.labels = used->labels;
    return s.create_host(clash);
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::conflict);
  EXPECT_FALSE(s.list_enrollment_tokens().value()[0].used_at.has_value());
  Host ok = make_host(3);
  auto done = s.atomically([&]() -> pf::Result<void> {
    auto used = s.consume_enrollment_token(t.token_hash, 1750000000, ok.id);
    if (!used) return pf::Unexpected(used.error());
    ok.labels = used->labels;
    return s.create_host(ok);
  });
  ASSERT_TRUE(done) << pf::to_string(done.error());
  EXPECT_EQ(s.host(ok.id).value()->labels, t.labels);
  EXPECT_EQ(s.list_enrollment_tokens().value()[0].used_by_host, ok.id);
}

// Users and API tokens.

TYPED_TEST(FleetStoreContract, UsersAndRoles) {
  FleetStore& s = *this->store_;
  const User bob{"bob", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "operator", false, 1700000000};
  const User ann{"ann@example.org", "", "viewer", false, 1700000001};
  ASSERT_TRUE(s.create_user(bob, audit("user.create", "bob", "", R"({"name":"bob"})")));
  ASSERT_TRUE(s.create_user(ann, audit("user.create", "ann@example.org")));
  EXPECT_EQ(this->head_seq(), 2);
  auto got = s.user("bob").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->password_hash, bob.password_hash);
  EXPECT_EQ(got->role, "operator");
  EXPECT_FALSE(got->disabled);
  EXPECT_EQ(got->created_at, 1700000000);
  EXPECT_FALSE(s.user("nobody").value().has_value());
  auto all = s.list_users().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "ann@example.org");
  EXPECT_EQ(all[1].name, "bob");

  EXPECT_EQ(s.create_user(bob, audit("user.create", "bob")).error().code, Errc::conflict);
  User root = bob;
  root.name = "root";
  root.role = "superuser";
  EXPECT_EQ(s.create_user(root, audit("user.create", "root")).error().code, Errc::invalid_input);
  root.role = "admin";
  root.password_hash = "plain-text";
  EXPECT_EQ(s.create_user(root, audit("user.create", "root")).error().code, Errc::invalid_input);
  root.password_hash = "";
  root.name = "has space";
  EXPECT_EQ(s.create_user(root, audit("user.create", "x")).error().code, Errc::invalid_input);
  EXPECT_EQ(s.set_role("bob", "root", audit("user.set_role", "bob")).error().code,
            Errc::invalid_input);
  EXPECT_EQ(s.set_role("nobody", "admin", audit("user.set_role", "nobody")).error().code,
            Errc::not_found);
  EXPECT_EQ(s.set_password_hash("bob", "nope", audit("user.set_password", "bob")).error().code,
            Errc::invalid_input);
  EXPECT_EQ(this->head_seq(), 2) << "refused changes leave no entry";

  ASSERT_TRUE(s.set_role("bob", "approver", audit("user.set_role", "bob")));
  ASSERT_TRUE(s.set_password_hash("bob", "$argon2id$v=19$new", audit("user.set_password", "bob")));
  ASSERT_TRUE(s.set_disabled("bob", true, audit("user.disable", "bob")));
  got = s.user("bob").value();
  EXPECT_EQ(got->role, "approver");
  EXPECT_EQ(got->password_hash, "$argon2id$v=19$new");
  EXPECT_TRUE(got->disabled);
  ASSERT_TRUE(s.set_disabled("bob", false, audit("user.enable", "bob")));
  EXPECT_FALSE(s.user("bob").value()->disabled);
  EXPECT_EQ(this->head_seq(), 6);
  for (auto role : pf::store::kRoles) {
    EXPECT_TRUE(s.set_role("ann@example.org", role, audit("user.set_role", "ann")));
  }
}

TYPED_TEST(FleetStoreContract, ApiTokensAreLookedUpByHashAndRevoked) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_user({"bob", "", "admin", false, 1}, audit("user.create", "bob")));
  ASSERT_TRUE(s.create_user({"cat", "", "viewer", false, 1}, audit("user.create", "cat")));
  ApiToken t{token_hash(1), "tk_1", "bob", "operator", 1700000000, 1800000000, {}, {}};
  ASSERT_TRUE(s.create_api_token(t, audit("api_token.create", "tk_1")));
  ApiToken t2{token_hash(2), "tk_2", "cat", "viewer", 1700000001, {}, {}, {}};
  ASSERT_TRUE(s.create_api_token(t2, audit("api_token.create", "tk_2")));
  ApiToken t3{token_hash(3), "tk_3", "bob", "admin", 1700000002, {}, {}, {}};
  ASSERT_TRUE(s.create_api_token(t3, audit("api_token.create", "tk_3")));

  auto got = s.api_token(token_hash(1)).value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->token_id, "tk_1");
  EXPECT_EQ(got->user, "bob");
  EXPECT_EQ(got->role, "operator");
  EXPECT_EQ(got->expires_at, 1800000000);
  EXPECT_FALSE(got->revoked_at.has_value());
  EXPECT_FALSE(got->last_used_at.has_value());
  EXPECT_FALSE(s.api_token(token_hash(9)).value().has_value());

  ApiToken orphan{token_hash(4), "tk_4", "nobody", "viewer", 1, {}, {}, {}};
  EXPECT_EQ(s.create_api_token(orphan, audit("api_token.create", "tk_4")).error().code,
            Errc::not_found);
  ApiToken dup = t;
  dup.token_id = "tk_5";
  EXPECT_EQ(s.create_api_token(dup, audit("api_token.create", "tk_5")).error().code,
            Errc::conflict);
  ApiToken bad_role{token_hash(6), "tk_6", "bob", "god", 1, {}, {}, {}};
  EXPECT_EQ(s.create_api_token(bad_role, audit("api_token.create", "tk_6")).error().code,
            Errc::invalid_input);
  const std::int64_t seq = this->head_seq();
  EXPECT_EQ(seq, 5);

  auto bobs = s.list_api_tokens(std::string_view("bob")).value();
  ASSERT_EQ(bobs.size(), 2u);
  EXPECT_EQ(bobs[0].token_id, "tk_1");
  EXPECT_EQ(bobs[1].token_id, "tk_3");
  EXPECT_EQ(s.list_api_tokens(std::nullopt).value().size(), 3u);

  ASSERT_TRUE(s.revoke_api_token("tk_1", 1750000000, audit("api_token.revoke", "tk_1")));
  EXPECT_EQ(s.api_token(token_hash(1)).value()->revoked_at, 1750000000);
  EXPECT_EQ(s.revoke_api_token("tk_1", 1750000001, audit("api_token.revoke", "tk_1")).error().code,
            Errc::conflict);
  EXPECT_EQ(s.revoke_api_token("tk_9", 1750000001, audit("api_token.revoke", "tk_9")).error().code,
            Errc::not_found);
  EXPECT_EQ(this->head_seq(), seq + 1);

  ASSERT_TRUE(s.record_api_token_use("tk_2", 1750000000));
  EXPECT_EQ(s.api_token(token_hash(2)).value()->last_used_at, 1750000000);
  ASSERT_TRUE(s.record_api_token_use("tk_2", 1750000030));  // within the resolution: kept
  EXPECT_EQ(s.api_token(token_hash(2)).value()->last_used_at, 1750000000);
  ASSERT_TRUE(s.record_api_token_use("tk_2", 1750000061));
  EXPECT_EQ(s.api_token(token_hash(2)).value()->last_used_at, 1750000061);
  EXPECT_TRUE(s.record_api_token_use("tk_missing", 1750000000));
  EXPECT_EQ(this->head_seq(), seq + 1) << "use is not audited";
}

// Audit log.

TYPED_TEST(FleetStoreContract, EveryAuditedChangeLeavesExactlyOneEntry) {
  FleetStore& s = *this->store_;
  ASSERT_TRUE(s.create_host(make_host(1)));
  ASSERT_TRUE(s.create_user({"bob", "", "viewer", false, 1}, audit("user.create", "bob")));
  std::int64_t expected = 1;
  auto step = [&](const AuditEntry& e, const pf::Result<void>& r) {
    ASSERT_TRUE(r) << e.action << ": " << pf::to_string(r.error());
    ++expected;
    EXPECT_EQ(this->head_seq(), expected) << e.action;
    expect_same(this->last_entry().entry, e);
  };
  const std::vector<AuditEntry> entries = {
      audit("user.create", "dan", "", R"({"name":"dan","role":"viewer"})"),
      audit("user.set_role", "bob", R"({"role":"viewer"})", R"({"role":"admin"})"),
      audit("user.set_password", "bob", R"({"password":"set"})", R"({"password":"changed"})"),
      audit("user.disable", "bob", R"({"disabled":false})", R"({"disabled":true})"),
      audit("api_token.create", "tk_1", "", R"({"token_id":"tk_1"})"),
      audit("api_token.revoke", "tk_1", R"({"revoked_at":null})", R"({"revoked_at":5})"),
      audit("enrollment_token.create", "et_1", "", R"({"token_id":"et_1"})"),
      audit("host.labels", host_id(1), R"({"labels":{}})", R"({"labels":{"a":"b"}})"),
      audit("host.revoke", host_id(1), R"({"revoked_at":null})", R"({"revoked_at":6})"),
      audit("policy.apply", "chain/monthly", R"({"v":1})", R"({"v":2})"),
  };
  step(entries[0], s.create_user({"dan", "", "viewer", false, 2}, entries[0]));
  step(entries[1], s.set_role("bob", "admin", entries[1]));
  step(entries[2], s.set_password_hash("bob", "$scrypt$x", entries[2]));
  step(entries[3], s.set_disabled("bob", true, entries[3]));
  step(entries[4], s.create_api_token({token_hash(1), "tk_1", "bob", "viewer", 3, {}, {}, {}},
                                      entries[4]));
  step(entries[5], s.revoke_api_token("tk_1", 5, entries[5]));
  step(entries[6], s.create_enrollment_token(make_token(1), entries[6]));
  step(entries[7], s.set_labels(host_id(1), {{"a", "b"}}, entries[7]));
  step(entries[8], s.revoke_host(host_id(1), 6, entries[8]));
  auto appended = s.append_audit(entries[9]);
  ASSERT_TRUE(appended);
  EXPECT_EQ(appended->seq, expected + 1);
  step(entries[9], {});

  // A change with an invalid audit entry is refused whole.
  AuditEntry anonymous = audit("user.set_role", "bob");
  anonymous.actor.clear();
  EXPECT_EQ(s.set_role("bob", "viewer", anonymous).error().code, Errc::invalid_input);
  EXPECT_EQ(s.user("bob").value()->role, "admin");
  EXPECT_EQ(this->head_seq(), 11);

  auto records = s.audit_entries(1, 1000).value();
  ASSERT_EQ(records.size(), 11u);
  EXPECT_EQ(records[0].prev_hash, pf::store::kAuditGenesisHash);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(records[i].hash,
              pf::store::audit_hash(records[i].prev_hash, records[i].seq, records[i].entry));
    if (i > 0) {
      EXPECT_EQ(records[i].prev_hash, records[i - 1].hash);
    }
  }
  auto page = s.audit_entries(4, 3).value();
  ASSERT_EQ(page.size(), 3u);
  EXPECT_EQ(page[0].seq, 4);
  EXPECT_EQ(page[2].seq, 6);
  EXPECT_EQ(s.audit_entries(1, 0).error().code, Errc::invalid_input);
  auto head = s.audit_head().value();
  EXPECT_EQ(head.seq, 11);
  EXPECT_EQ(head.hash, records.back().hash);
  auto v = s.verify_audit().value();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries_checked, 11);
  EXPECT_EQ(v.first_bad_seq, 0);
}

TYPED_TEST(FleetStoreContract, AnEmptyLogVerifies) {
  auto head = this->store_->audit_head().value();
  EXPECT_EQ(head.seq, 0);
  EXPECT_EQ(head.hash, pf::store::kAuditGenesisHash);
  auto v = this->store_->verify_audit().value();
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.entries_checked, 0);
}

TYPED_TEST(FleetStoreContract, AppendsFromSeveralStoreObjectsFormOneChain) {
  constexpr int kThreads = 3;
  constexpr int kEach = 60;
  std::vector<std::unique_ptr<FleetStore>> stores;
  for (int i = 0; i < kThreads; ++i) {
    stores.push_back(TypeParam::open(this->dir_.path()));
    ASSERT_NE(stores.back(), nullptr);
  }
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int j = 0; j < kEach; ++j) {
        auto r = stores[static_cast<std::size_t>(i)]->append_audit(
            audit("test.append", "writer-" + std::to_string(i), "", std::to_string(j)));
        EXPECT_TRUE(r) << pf::to_string(r.error());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(this->head_seq(), kThreads * kEach);
  auto v = this->store_->verify_audit().value();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries_checked, kThreads * kEach);
}

template <class Store>
void append_five(Store& s) {
  for (int i = 1; i <= 5; ++i) {
    auto r = s.append_audit(audit("test.entry", "t" + std::to_string(i), "{}",
                                  R"({"n":)" + std::to_string(i) + "}"));
    ASSERT_TRUE(r) << pf::to_string(r.error());
  }
}

TYPED_TEST(FleetStoreContract, TheDatabaseRefusesToChangeOrDeleteAuditEntries) {
  append_five(*this->store_);
  const auto& dir = this->dir_.path();
  EXPECT_NE(TypeParam::exec_raw(dir, "UPDATE audit_log SET after_json = '{}' WHERE seq = 3"), "");
  EXPECT_NE(TypeParam::exec_raw(dir, "DELETE FROM audit_log WHERE seq = 3"), "");
  EXPECT_NE(TypeParam::exec_raw(dir, "DELETE FROM audit_log"), "");
  auto v = this->store_->verify_audit().value();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries_checked, 5);
}

TYPED_TEST(FleetStoreContract, VerifyFindsAChangedEntry) {
  append_five(*this->store_);
  const auto& dir = this->dir_.path();
  ASSERT_EQ(TypeParam::drop_audit_guards(dir), "");
  ASSERT_EQ(TypeParam::exec_raw(dir, R"(UPDATE audit_log SET after_json = '{"n":33}' WHERE seq = 3)"),
            "");
  auto v = this->store_->verify_audit();
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3);
  EXPECT_EQ(v->entries_checked, 2);
  EXPECT_NE(v->problem.find("hash"), std::string::npos) << v->problem;
}

TYPED_TEST(FleetStoreContract, VerifyFindsAChangedEntryWhoseHashWasRecomputed) {
  append_five(*this->store_);
  const auto& dir = this->dir_.path();
  auto third = this->store_->audit_entries(3, 1).value().at(0);
  third.entry.after_json = R"({"n":33})";
  const std::string forged = pf::store::audit_hash(third.prev_hash, 3, third.entry);
  ASSERT_EQ(TypeParam::drop_audit_guards(dir), "");
  ASSERT_EQ(TypeParam::exec_raw(dir, "UPDATE audit_log SET after_json = '{\"n\":33}', hash = '" +
                                         forged + "' WHERE seq = 3"),
            "");
  auto v = this->store_->verify_audit().value();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 4) << "entry 4 no longer follows entry 3";
  EXPECT_NE(v.problem.find("prev_hash"), std::string::npos) << v.problem;
}

TYPED_TEST(FleetStoreContract, VerifyFindsARemovedEntryButNotARemovedTail) {
  append_five(*this->store_);
  const auto& dir = this->dir_.path();
  const auto anchored = this->store_->audit_head().value();  // kept elsewhere
  ASSERT_EQ(TypeParam::drop_audit_guards(dir), "");
  ASSERT_EQ(TypeParam::exec_raw(dir, "DELETE FROM audit_log WHERE seq = 5"), "");
  // The chain alone cannot tell that its tail is gone; the anchored head can.
  auto v = this->store_->verify_audit().value();
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.entries_checked, 4);
  EXPECT_NE(this->store_->audit_head().value().hash, anchored.hash);

  ASSERT_EQ(TypeParam::exec_raw(dir, "DELETE FROM audit_log WHERE seq = 2"), "");
  v = this->store_->verify_audit().value();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2);
  EXPECT_EQ(v.entries_checked, 1);
  EXPECT_NE(v.problem.find("missing"), std::string::npos) << v.problem;

  // Renumbering the rest to close the gap breaks the link instead.
  ASSERT_EQ(TypeParam::exec_raw(dir, "UPDATE audit_log SET seq = 2 WHERE seq = 3;"
                                     " UPDATE audit_log SET seq = 3 WHERE seq = 4;"),
            "");
  v = this->store_->verify_audit().value();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2);
  EXPECT_NE(v.problem.find("prev_hash"), std::string::npos) << v.problem;
}

// The hash function itself (pure, shared by every backend): the documented serialisation.

std::string sha256_hex(const std::string& bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  PF_ASSERT(EVP_Digest(bytes.data(), bytes.size(), md.data(), &n, EVP_sha256(), nullptr) == 1);
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

std::string field(const std::string& s) {
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) {
    out[7 - i] = static_cast<char>((s.size() >> (8 * i)) & 0xff);
  }
  return out + s;
}

TEST(AuditHash, IsSha256OverLengthPrefixedFields) {
  const AuditEntry e{"alice", "user.create", "bob", "", R"({"name":"bob"})", 1710000000};
  const std::string prev(pf::store::kAuditGenesisHash);
  const std::string expected =
      sha256_hex(field(prev) + field("1") + field("alice") + field("user.create") + field("bob") +
                 field("") + field(R"({"name":"bob"})") + field("1710000000"));
  EXPECT_EQ(pf::store::audit_hash(prev, 1, e), expected);
  EXPECT_EQ(expected.size(), 64u);

  // Moving bytes from one field to the next changes the hash (no ambiguous concatenation).
  AuditEntry shifted = e;
  shifted.actor = "alic";
  shifted.action = "euser.create";
  EXPECT_NE(pf::store::audit_hash(prev, 1, shifted), expected);
  AuditEntry swapped = e;
  std::swap(swapped.before_json, swapped.after_json);
  EXPECT_NE(pf::store::audit_hash(prev, 1, swapped), expected);
  EXPECT_NE(pf::store::audit_hash(prev, 2, e), expected);
}

// SQLite-specific: the schema's own guards and indexes, and the migration of an older file.

std::string query_plan(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  PF_ASSERT(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &st, nullptr) ==
            SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    plan += "\n";
  }
  sqlite3_finalize(st);
  return plan;
}

TEST(SqliteFleetStore, HotLookupsUseIndexes) {
  TempDir dir;
  ASSERT_NE(SqliteBackend::open(dir.path()), nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(SqliteBackend::file(dir.path()).c_str(), &db), SQLITE_OK);
  const std::string fp = query_plan(db, "SELECT id FROM hosts WHERE cert_fingerprint = 'x'");
  EXPECT_NE(fp.find("SEARCH hosts USING INDEX hosts_by_fingerprint"), std::string::npos) << fp;
  const std::string tok = query_plan(db, "SELECT * FROM api_tokens WHERE token_hash = 'x'");
  EXPECT_NE(tok.find("SEARCH api_tokens USING INDEX sqlite_autoindex_api_tokens_1"),
            std::string::npos)
      << tok;
  const std::string label = query_plan(
      db, "SELECT h.id FROM hosts h JOIN host_labels l0 ON l0.host_id = h.id AND l0.key = 'env'"
          " AND l0.value = 'prod' WHERE l0.host_id > '' ORDER BY l0.host_id LIMIT 10");
  EXPECT_NE(label.find("host_labels_by_pair"), std::string::npos) << label;
  EXPECT_EQ(label.find("TEMP B-TREE"), std::string::npos) << "no sort per page:\n" << label;
  sqlite3_close(db);
}

TEST(SqliteFleetStore, InsertOrReplaceCannotOverwriteAnAuditEntry) {
  TempDir dir;
  auto store = SqliteBackend::open(dir.path());
  ASSERT_NE(store, nullptr);
  append_five(*store);
  const auto e2 = store->audit_entries(2, 1).value().at(0);
  // REPLACE's implicit delete fires no DELETE trigger; the insert guard catches it.
  EXPECT_NE(SqliteBackend::exec_raw(dir.path(),
                                    "INSERT OR REPLACE INTO audit_log VALUES (2, 'mallory', 'x',"
                                    " 'y', '', '', 0, '" + e2.prev_hash + "', '" + e2.hash + "')"),
            "");
  // Nor can an entry be appended out of the chain.
  EXPECT_NE(SqliteBackend::exec_raw(dir.path(),
                                    "INSERT INTO audit_log VALUES (6, 'mallory', 'x', 'y', '', '',"
                                    " 0, '" + std::string(pf::store::kAuditGenesisHash) + "', 'h')"),
            "");
  EXPECT_NE(SqliteBackend::exec_raw(dir.path(),
                                    "INSERT INTO audit_log VALUES (9, 'mallory', 'x', 'y', '', '',"
                                    " 0, '" + store->audit_head().value().hash + "', 'h')"),
            "");
  EXPECT_EQ(store->audit_entries(2, 1).value().at(0).entry.actor, "alice");
  EXPECT_TRUE(store->verify_audit().value().ok);
}

TEST(SqliteFleetStore, AnAdvisoryOnlyDatabaseIsMigrated) {
  TempDir dir;
  const fs::path file = SqliteBackend::file(dir.path());
  {
    auto s = pf::store::SqliteStore::open(file);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->put_cursor({"kev", "x", "", "", 1, 42}));
  }
  // Back to schema 1, as a database written before the fleet tables existed.
  ASSERT_EQ(SqliteBackend::exec_raw(
                dir.path(),
                "DROP TABLE chain_log; DROP TABLE chain_events; DROP TABLE chain_commands;"
                " DROP TABLE chain_runs; DROP TABLE policies;"
                " DROP TABLE run_events; DROP TABLE runs; DROP TABLE findings;"
                " DROP TABLE store_meta;"
                " DROP TABLE audit_log; DROP TABLE api_tokens; DROP TABLE users;"
                " DROP TABLE enrollment_tokens; DROP TABLE host_updates; DROP TABLE host_packages;"
                " DROP TABLE host_labels; DROP TABLE hosts;"
                " DELETE FROM schema_migrations WHERE version >= 2"),
            "");
  auto s = pf::store::SqliteStore::open(file);
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_EQ((*s)->schema_version().value(), pf::store::SqliteStore::latest_schema_version());
  EXPECT_EQ((*s)->cursor("kev").value()->records, 42);
  ASSERT_TRUE((*s)->create_host(make_host(1)));
  ASSERT_TRUE((*s)->append_audit(audit("test", "x")));
  EXPECT_TRUE((*s)->verify_audit().value().ok);
}

// PostgreSQL-specific: the schema's own guards and indexes, and the migration of an older
// database (the twins of the SQLite tests above).

std::string pg_plan(const fs::path& dir, const std::string& query) {
  // With sequential scans and sorts priced out, a plan still holding one has no index to use.
  auto plan = PostgresBackend::cluster().psql(
      "SET enable_seqscan = off; SET enable_sort = off; EXPLAIN " + query,
      PostgresBackend::database(dir));
  EXPECT_TRUE(plan) << pf::to_string(plan.error());
  return plan ? *plan : "";
}

TEST(PostgresFleetStore, HotLookupsUseIndexes) {
  TempDir dir;
  auto store = PostgresBackend::open(dir.path());
  ASSERT_NE(store, nullptr);
  const std::string fp = pg_plan(dir.path(), "SELECT id FROM hosts WHERE cert_fingerprint = 'x'");
  EXPECT_NE(fp.find("Index Scan using hosts_by_fingerprint"), std::string::npos) << fp;
  const std::string tok = pg_plan(dir.path(), "SELECT * FROM api_tokens WHERE token_hash = 'x'");
  EXPECT_NE(tok.find("Index Scan using api_tokens_pkey"), std::string::npos) << tok;
  const std::string label = pg_plan(
      dir.path(),
      "SELECT h.id FROM hosts h JOIN host_labels l0 ON l0.host_id = h.id AND l0.key = 'env'"
      " AND l0.value = 'prod' WHERE l0.host_id > '' ORDER BY l0.host_id LIMIT 10");
  EXPECT_NE(label.find("host_labels_by_pair"), std::string::npos) << label;
  EXPECT_EQ(label.find("Sort"), std::string::npos) << "no sort per page:\n" << label;
  const std::string page = pg_plan(
      dir.path(), "SELECT id FROM hosts WHERE ecosystem = 'Debian:12' AND id > '' ORDER BY id"
                  " LIMIT 10");
  EXPECT_EQ(page.find("Sort"), std::string::npos) << page;
  EXPECT_EQ(page.find("Seq Scan"), std::string::npos) << page;
}

TEST(PostgresFleetStore, TheGuardsRefuseOverwritesOutOfChainInsertsAndTruncate) {
  TempDir dir;
  auto store = PostgresBackend::open(dir.path());
  ASSERT_NE(store, nullptr);
  append_five(*store);
  const auto e2 = store->audit_entries(2, 1).value().at(0);
  // An upsert's insert is refused by the insert guard (and its update would be by the other).
  std::string refused = PostgresBackend::exec_raw(
      dir.path(), "INSERT INTO audit_log VALUES (2, 'mallory', 'x', 'y', '', '', 0, '" +
                      e2.prev_hash + "', '" + e2.hash +
                      "') ON CONFLICT (seq) DO UPDATE SET actor = EXCLUDED.actor");
  EXPECT_NE(refused.find("appended at the head"), std::string::npos) << refused;
  // Nor can an entry be appended out of the chain.
  refused = PostgresBackend::exec_raw(
      dir.path(), "INSERT INTO audit_log VALUES (6, 'mallory', 'x', 'y', '', '', 0, '" +
                      std::string(pf::store::kAuditGenesisHash) + "', 'h')");
  EXPECT_NE(refused.find("appended at the head"), std::string::npos) << refused;
  refused = PostgresBackend::exec_raw(
      dir.path(), "INSERT INTO audit_log VALUES (9, 'mallory', 'x', 'y', '', '', 0, '" +
                      store->audit_head().value().hash + "', 'h')");
  EXPECT_NE(refused.find("appended at the head"), std::string::npos) << refused;
  refused = PostgresBackend::exec_raw(dir.path(), "TRUNCATE audit_log");
  EXPECT_NE(refused.find("append-only"), std::string::npos) << refused;
  refused = PostgresBackend::exec_raw(dir.path(), "DELETE FROM audit_log WHERE seq = 5");
  EXPECT_NE(refused.find("append-only"), std::string::npos) << refused;
  EXPECT_EQ(store->audit_entries(2, 1).value().at(0).entry.actor, "alice");
  EXPECT_EQ(store->audit_head().value().seq, 5);
  EXPECT_TRUE(store->verify_audit().value().ok);
  // The next link, made by hand, is taken (its hash is what verify_audit judges).
  EXPECT_EQ(PostgresBackend::exec_raw(
                dir.path(), "INSERT INTO audit_log VALUES (6, 'alice', 'x', 'y', '', '', 0, '" +
                                store->audit_head().value().hash + "', 'h')"),
            "");
  auto v = store->verify_audit().value();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 6);
}

TEST(PostgresFleetStore, AnAdvisoryOnlyDatabaseIsMigrated) {
  TempDir dir;
  {
    auto s = pf::store::PostgresStore::open(
        pf::testing::PgCluster::database_for(dir.path()).value());
    ASSERT_TRUE(s) << pf::to_string(s.error());
    ASSERT_TRUE((*s)->put_cursor({"kev", "x", "", "", 1, 42}));
  }
  // Back to schema 1, as a database written before the fleet tables existed.
  ASSERT_EQ(PostgresBackend::exec_raw(
                dir.path(),
                "DROP TABLE chain_log, chain_events, chain_commands, chain_runs, policies;"
                " DROP TABLE run_events, runs, findings, store_meta;"
                " DROP TABLE audit_log, api_tokens, users, enrollment_tokens, host_updates,"
                " host_packages, host_labels, hosts; DROP FUNCTION audit_log_guard();"
                " DELETE FROM schema_migrations WHERE version >= 2"),
            "");
  auto s = pf::store::PostgresStore::open(pf::testing::PgCluster::database_for(dir.path()).value());
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_EQ((*s)->schema_version().value(), pf::store::PostgresStore::latest_schema_version());
  EXPECT_EQ((*s)->cursor("kev").value()->records, 42);
  ASSERT_TRUE((*s)->create_host(make_host(1)));
  ASSERT_TRUE((*s)->append_audit(audit("test", "x")));
  EXPECT_TRUE((*s)->verify_audit().value().ok);
}

TEST(PostgresFleetStore, TextPostgresqlCannotHoldIsRefusedAndNothingIsWritten) {
  TempDir dir;
  auto store = PostgresBackend::open(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_user({"bob", "", "viewer", false, 1}, audit("user.create", "bob")));
  using namespace std::string_literals;
  // NUL: libpq would cut the text there; the store refuses it instead.
  auto nul = store->set_role("bob", "admin", audit("user.set_role", "bob", "", "{\"r\":\"a\0\"}"s));
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().code, Errc::invalid_input);
  EXPECT_EQ(nul.error().where, "after_json");
  // Not UTF-8: the server refuses it (a data exception), and the change goes with its entry.
  auto latin1 = store->set_role("bob", "admin", audit("user.set_role", "caf\xe9"));
  ASSERT_FALSE(latin1);
  EXPECT_EQ(latin1.error().code, Errc::invalid_input) << pf::to_string(latin1.error());
  EXPECT_EQ(store->user("bob").value()->role, "viewer");
  EXPECT_EQ(store->audit_head().value().seq, 1);
  Host h = make_host(1);
  h.kernel_release = "6.1\xff";
  EXPECT_EQ(store->create_host(h).error().code, Errc::invalid_input);
  EXPECT_FALSE(store->host(h.id).value().has_value());
  ASSERT_TRUE(store->create_host(make_host(1)));
  std::vector<pf::inventory::Package> bad = make_packages(10, "1");
  bad[7].version = "1\xc3";
  EXPECT_EQ(store->put_inventory(host_id(1), "sha256:bad", bad, {}).error().code,
            Errc::invalid_input);
  EXPECT_TRUE(store->packages(host_id(1)).value().empty());
  EXPECT_EQ(store->host(host_id(1)).value()->inventory_hash, "");
}

TEST(PostgresFleetStore, ALostConnectionFailsOneCallAndTheNextConnectsAgain) {
  TempDir dir;
  auto store = PostgresBackend::open(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_host(make_host(1)));
  const std::string db = PostgresBackend::database(dir.path());
  // Ends the store's server process, as a server restart or a network cut does.
  auto cut = [&] {
    auto ended = PostgresBackend::cluster().psql(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
        " WHERE datname = '" + db + "' AND pid <> pg_backend_pid()) AS t");
    ASSERT_TRUE(ended) << pf::to_string(ended.error());
    EXPECT_EQ(*ended, "1");
  };
  cut();
  auto lost = store->host_by_fingerprint("fp-1");  // a statement on its own
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Errc::io);
  EXPECT_NE(lost.error().message.find("lost"), std::string::npos) << lost.error().message;
  auto found = store->host_by_fingerprint("fp-1");
  ASSERT_TRUE(found) << pf::to_string(found.error());
  EXPECT_EQ(found->value().id, host_id(1));

  cut();
  auto lost_append = store->append_audit(audit("test.append", "x"));  // a transaction
  ASSERT_FALSE(lost_append);
  EXPECT_EQ(lost_append.error().code, Errc::io);
  auto appended = store->append_audit(audit("test.append", "y"));
  ASSERT_TRUE(appended) << pf::to_string(appended.error());
  EXPECT_EQ(appended->seq, 1);
  EXPECT_EQ(store->audit_entries(1, 10).value().at(0).entry.target, "y");
}

}  // namespace
