// SPDX-License-Identifier: Apache-2.0
// The AdvisoryStore contract, one typed suite for every backend (SQLite now; PostgreSQL joins
// with the server).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "patchflow/store_sqlite/sqlite_store.hpp"

namespace adv = pf::advisories;
namespace fs = std::filesystem;
using pf::store::AdvisoryStore;
using pf::store::CveFields;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pf-store-XXXXXX").string();
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

struct SqliteBackend {
  static std::unique_ptr<AdvisoryStore> open(const fs::path& dir) {
    auto s = pf::store::SqliteStore::open(dir / "patchflow.db");
    EXPECT_TRUE(s) << (s ? "" : pf::to_string(s.error()));
    return s ? std::unique_ptr<AdvisoryStore>(std::move(*s)) : nullptr;
  }
};

adv::Advisory sample(std::string id, std::string ecosystem = "Debian:12") {
  adv::Advisory a;
  a.id = std::move(id);
  a.kind = adv::Kind::security;
  a.severity = adv::Severity::high;
  a.cves = {"CVE-2024-0001", "CVE-2024-0002"};
  a.summary = "heap overflow in libfoo";
  a.published = 1700000000;
  a.modified = 1700003600;
  a.source = "osv";
  adv::Affected af;
  af.ecosystem = std::move(ecosystem);
  af.package = "libfoo";
  af.package_kind = adv::PackageKind::source;
  af.severity = adv::Severity::medium;
  af.events = {{adv::EventType::introduced, "0"}, {adv::EventType::fixed, "1.2-3+deb12u1"}};
  a.affected.push_back(af);
  af.package = "libbar";
  af.package_kind = adv::PackageKind::binary;
  af.events = {{adv::EventType::introduced, "2.0"}, {adv::EventType::last_affected, "2.4"}};
  a.affected.push_back(af);
  return a;
}

void expect_same(const adv::Advisory& x, const adv::Advisory& y) {
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.kind, y.kind);
  EXPECT_EQ(x.severity, y.severity);
  EXPECT_EQ(x.cves, y.cves);
  EXPECT_EQ(x.summary, y.summary);
  EXPECT_EQ(x.published, y.published);
  EXPECT_EQ(x.modified, y.modified);
  EXPECT_EQ(x.source, y.source);
  ASSERT_EQ(x.affected.size(), y.affected.size());
  for (std::size_t i = 0; i < x.affected.size(); ++i) {
    EXPECT_EQ(x.affected[i].ecosystem, y.affected[i].ecosystem);
    EXPECT_EQ(x.affected[i].package, y.affected[i].package);
    EXPECT_EQ(x.affected[i].package_kind, y.affected[i].package_kind);
    EXPECT_EQ(x.affected[i].severity, y.affected[i].severity);
    ASSERT_EQ(x.affected[i].events.size(), y.affected[i].events.size());
    for (std::size_t j = 0; j < x.affected[i].events.size(); ++j) {
      EXPECT_EQ(x.affected[i].events[j].type, y.affected[i].events[j].type);
      EXPECT_EQ(x.affected[i].events[j].version, y.affected[i].events[j].version);
    }
  }
}

template <class Backend>
class AdvisoryStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Backend::open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }
  TempDir dir_;
  std::unique_ptr<AdvisoryStore> store_;
};

using Backends = ::testing::Types<SqliteBackend>;
TYPED_TEST_SUITE(AdvisoryStoreContract, Backends);

TYPED_TEST(AdvisoryStoreContract, AdvisoriesRoundTrip) {
  const std::vector<adv::Advisory> batch = {sample("DSA-1"), sample("ALSA-2", "AlmaLinux:9")};
  ASSERT_TRUE(this->store_->put_advisories(batch));
  auto all = this->store_->advisories("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  expect_same((*all)[0], batch[1]);  // ordered by id: ALSA-2 < DSA-1
  expect_same((*all)[1], batch[0]);
  auto debian = this->store_->advisories("Debian:12");
  ASSERT_TRUE(debian);
  ASSERT_EQ(debian->size(), 1u);
  EXPECT_EQ((*debian)[0].id, "DSA-1");
  EXPECT_TRUE(this->store_->advisories("Ubuntu:22.04:LTS")->empty());
}

TYPED_TEST(AdvisoryStoreContract, PuttingAnAdvisoryAgainReplacesIt) {
  ASSERT_TRUE(this->store_->put_advisories(std::vector{sample("DSA-1")}));
  adv::Advisory updated = sample("DSA-1");
  updated.cves = {"CVE-2024-0003"};
  updated.affected.resize(1);
  updated.affected[0].events.back().version = "1.2-3+deb12u2";
  ASSERT_TRUE(this->store_->put_advisories(std::vector{updated}));
  auto all = this->store_->advisories("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  expect_same((*all)[0], updated);
  auto counts = this->store_->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->advisories, 1);
  EXPECT_EQ(counts->affected, 1);
}

TYPED_TEST(AdvisoryStoreContract, ABatchIsAllOrNothing) {
  std::vector<adv::Advisory> batch = {sample("DSA-1"), sample(""), sample("DSA-3")};
  auto r = this->store_->put_advisories(batch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  EXPECT_TRUE(this->store_->advisories("")->empty());
}

TYPED_TEST(AdvisoryStoreContract, AtomicallyCommitsAllOrNothing) {
  // A feed that fails halfway: the batches already put inside are rolled back too.
  auto failed = this->store_->atomically([&]() -> pf::Result<void> {
    if (auto r = this->store_->put_advisories(std::vector{sample("DSA-1")}); !r) return r;
    if (auto r = this->store_->put_cursor({"osv", "x", "", "", 1, 1}); !r) return r;
    return pf::make_error(pf::Errc::invalid_input, "malformed record", "feed.json:3:7");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().where, "feed.json:3:7");
  EXPECT_TRUE(this->store_->advisories("")->empty());
  EXPECT_FALSE(this->store_->cursor("osv")->has_value());

  auto ok = this->store_->atomically([&]() -> pf::Result<void> {
    if (auto r = this->store_->put_advisories(std::vector{sample("DSA-1")}); !r) return r;
    if (auto r = this->store_->put_advisories(std::vector{sample("DSA-2")}); !r) return r;
    // A failing batch inside is undone alone when the work goes on and succeeds.
    EXPECT_FALSE(this->store_->put_advisories(std::vector{sample("DSA-3"), sample("")}));
    return this->store_->put_cursor({"osv", "x", "", "", 1, 2});
  });
  ASSERT_TRUE(ok) << pf::to_string(ok.error());
  auto all = this->store_->advisories("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id, "DSA-2");
  EXPECT_EQ(this->store_->cursor("osv")->value().records, 2);
}

TYPED_TEST(AdvisoryStoreContract, EachEnrichmentFeedWritesOnlyItsFields) {
  adv::CveInfo kev{.id = "CVE-2024-0001"};
  kev.kev = true;
  kev.kev_date_added = "2024-05-01";
  kev.kev_ransomware = true;
  ASSERT_TRUE(this->store_->put_cves(std::vector{kev}, static_cast<unsigned>(CveFields::kev)));
  adv::CveInfo epss{.id = "CVE-2024-0001"};
  epss.epss = 0.97;
  epss.epss_percentile = 0.999;
  ASSERT_TRUE(this->store_->put_cves(std::vector{epss}, static_cast<unsigned>(CveFields::epss)));
  adv::CveInfo nvd{.id = "CVE-2024-0001"};
  nvd.cvss3_score = 9.8;
  nvd.cvss3_vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
  ASSERT_TRUE(this->store_->put_cves(std::vector{nvd}, static_cast<unsigned>(CveFields::cvss)));

  const std::vector<std::string> ids = {"CVE-2024-0001", "CVE-2099-9999"};
  auto got = this->store_->cves(ids);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  const auto& c = (*got)[0];
  EXPECT_TRUE(c.kev);
  EXPECT_TRUE(c.kev_ransomware);
  EXPECT_EQ(c.kev_date_added, "2024-05-01");
  EXPECT_DOUBLE_EQ(c.epss.value(), 0.97);
  EXPECT_DOUBLE_EQ(c.epss_percentile.value(), 0.999);
  EXPECT_DOUBLE_EQ(c.cvss3_score.value(), 9.8);
  EXPECT_FALSE(c.cvss4_score);
  EXPECT_EQ(this->store_->put_cves(std::vector{nvd}, 0u).error().code, pf::Errc::invalid_input);
}

TYPED_TEST(AdvisoryStoreContract, FeedCursorsRoundTrip) {
  auto none = this->store_->cursor("kev");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  pf::store::FeedCursor c{"kev", "/data/kev.json", "\"abc\"", "Tue, 01 Oct 2024 00:00:00 GMT",
                          1727740800, 1404};
  ASSERT_TRUE(this->store_->put_cursor(c));
  c.records = 1405;
  ASSERT_TRUE(this->store_->put_cursor(c));
  auto got = this->store_->cursor("kev");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->records, 1405);
  EXPECT_EQ((*got)->etag, "\"abc\"");
  EXPECT_EQ((*got)->imported_at, 1727740800);
}

TYPED_TEST(AdvisoryStoreContract, DataSurvivesReopening) {
  ASSERT_TRUE(this->store_->put_advisories(std::vector{sample("DSA-1")}));
  this->store_.reset();
  auto reopened = TypeParam::open(this->dir_.path());
  ASSERT_NE(reopened, nullptr);
  auto all = reopened->advisories("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  expect_same((*all)[0], sample("DSA-1"));
}

// SQLite-specific: migrations, and a writer killed in the middle of a transaction.
TEST(SqliteStore, MigratesOnceAndRefusesANewerSchema) {
  TempDir dir;
  const fs::path db = dir.path() / "patchflow.db";
  {
    auto s = pf::store::SqliteStore::open(db);
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)->schema_version().value(), pf::store::SqliteStore::latest_schema_version());
  }
  {
    auto again = pf::store::SqliteStore::open(db);  // no migration runs twice
    ASSERT_TRUE(again) << pf::to_string(again.error());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "INSERT INTO schema_migrations(version, name) VALUES (999, 'x')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto newer = pf::store::SqliteStore::open(db);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, pf::Errc::conflict);
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos);
}

TEST(SqliteStore, AWriterKilledMidTransactionLeavesNothingHalfWritten) {
  TempDir dir;
  const fs::path db = dir.path() / "patchflow.db";
  {
    auto s = pf::store::SqliteStore::open(db);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->put_advisories(std::vector{sample("DSA-1")}));
  }
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child opens the store, starts replacing DSA-1 and adding many more, and dies
    // before the commit.
    sqlite3* raw = nullptr;
    if (sqlite3_open(db.c_str(), &raw) != SQLITE_OK) ::_exit(3);
    sqlite3_exec(raw, "PRAGMA foreign_keys=ON; BEGIN IMMEDIATE; DELETE FROM advisories;", nullptr,
                 nullptr, nullptr);
    for (int i = 0; i < 1000; ++i) {
      const std::string sql = "INSERT INTO advisories VALUES ('X-" + std::to_string(i) +
                              "', 'osv', 'security', 'high', '', 0, 0)";
      sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr);
    }
    ::_exit(0);  // no COMMIT, no close: as if killed
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto s = pf::store::SqliteStore::open(db);
  ASSERT_TRUE(s) << pf::to_string(s.error());
  auto all = (*s)->advisories("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  expect_same((*all)[0], sample("DSA-1"));
}

}  // namespace
