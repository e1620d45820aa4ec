// SPDX-License-Identifier: Apache-2.0
// The AdvisoryStore contract, one typed suite for every backend: SQLite, and PostgreSQL on a
// real server that the test setup starts (pf::testing::PgCluster, one per test binary).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <thread>

#include "patchflow/store_postgres/postgres_store.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "patchflow/testing/pg_cluster.hpp"

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

// A new database on this binary's PostgreSQL cluster: its URL.
pf::Result<std::string> fresh_database() {
  auto cluster = pf::testing::PgCluster::shared();
  if (!cluster) return pf::Unexpected(cluster.error());
  return (*cluster)->create_database();
}

// One database per test directory: created at the first open, found again (through
// DIR/postgres.url) when the test opens the store again.
struct PostgresBackend {
  static std::unique_ptr<AdvisoryStore> open(const fs::path& dir) {
    const fs::path marker = dir / "postgres.url";
    std::string url;
    if (std::ifstream in(marker); in) {
      std::getline(in, url);
    } else {
      auto made = fresh_database();
      if (!made) {
        ADD_FAILURE() << "no PostgreSQL database: " << pf::to_string(made.error());
        return nullptr;
      }
      url = *made;
      std::ofstream(marker) << url << '\n';
    }
    auto s = pf::store::PostgresStore::open(url);
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

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
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

TYPED_TEST(AdvisoryStoreContract, AdvisoriesAreOrderedByIdAsBytes) {
  // Byte order, whatever the database's locale: a locale-aware order would put "_3" first and
  // ignore case.
  ASSERT_TRUE(this->store_->put_advisories(
      std::vector{sample("a-1"), sample("_3"), sample("Z-4"), sample("B-2")}));
  auto all = this->store_->advisories("Debian:12");
  ASSERT_TRUE(all);
  std::vector<std::string> ids;
  for (const auto& a : *all) ids.push_back(a.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"B-2", "Z-4", "_3", "a-1"}));
}

TYPED_TEST(AdvisoryStoreContract, LaterCopiesOfAnIdInOneBatchWin) {
  adv::Advisory first = sample("DSA-1");
  adv::Advisory second = sample("DSA-1");
  second.summary = "the second copy";
  second.affected.resize(1);
  ASSERT_TRUE(this->store_->put_advisories(std::vector{first, sample("DSA-0"), second}));
  auto all = this->store_->advisories("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  expect_same((*all)[1], second);

  adv::CveInfo a{.id = "CVE-2024-0001"};
  a.epss = 0.1;
  adv::CveInfo b{.id = "CVE-2024-0001"};
  b.epss = 0.2;
  ASSERT_TRUE(this->store_->put_cves(std::vector{a, b}, static_cast<unsigned>(CveFields::epss)));
  const std::vector<std::string> ids = {"CVE-2024-0001"};
  auto got = this->store_->cves(ids);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_DOUBLE_EQ((*got)[0].epss.value(), 0.2);
}

TYPED_TEST(AdvisoryStoreContract, EmptyPartsAndUnusualTextRoundTrip) {
  adv::Advisory a = sample("RHSA-2024:0001 \"q\", {b}\\");
  a.cves.clear();
  a.summary = "";
  a.affected[0].events.clear();  // an entry with no range events at all
  a.affected[1].package = "lib,{bar}";
  a.affected[1].events = {{adv::EventType::introduced, "NULL"},
                          {adv::EventType::fixed, "1:2.0~rc1+\"x\"\\y, \u00e9"}};
  adv::Advisory none = sample("DSA-2");
  none.affected.clear();  // no affected entry: listed only when no ecosystem is asked for
  ASSERT_TRUE(this->store_->put_advisories(std::vector{a, none}));
  auto all = this->store_->advisories("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  expect_same((*all)[0], none);
  expect_same((*all)[1], a);
  auto debian = this->store_->advisories("Debian:12");
  ASSERT_TRUE(debian);
  ASSERT_EQ(debian->size(), 1u);
  expect_same((*debian)[0], a);
  const std::vector<std::string> ids = {"CVE-\"1\"", "CVE-{2},3"};
  adv::CveInfo odd{.id = ids[0]};
  odd.kev = true;
  ASSERT_TRUE(this->store_->put_cves(std::vector{odd}, static_cast<unsigned>(CveFields::kev)));
  auto got = this->store_->cves(ids);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, ids[0]);
  EXPECT_TRUE((*got)[0].kev);
  EXPECT_FALSE((*got)[0].epss);
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

// PostgreSQL-specific: migrations under concurrency, connection errors, a killed client.

std::string database_name(const std::string& url) {
  return url.substr(url.rfind('/') + 1);
}

pf::testing::PgCluster& cluster() {
  auto c = pf::testing::PgCluster::shared();
  PF_ASSERT(c);  // fresh_database() has reported why, and every caller checks it first
  return **c;
}

TEST(PgCluster, RefusesADirectoryThatIsNotEmptyAndLeavesItAlone) {
  TempDir dir;
  std::ofstream(dir.path() / "keep.txt") << "mine\n";
  auto c = pf::testing::PgCluster::start(dir.path());
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("not empty"), std::string::npos) << c.error().message;
  EXPECT_TRUE(fs::exists(dir.path() / "keep.txt"));
}

TEST(PostgresStore, MigratesOnceAndRefusesANewerSchema) {
  auto url = fresh_database();
  ASSERT_TRUE(url) << pf::to_string(url.error());
  {
    auto s = pf::store::PostgresStore::open(*url);
    ASSERT_TRUE(s) << pf::to_string(s.error());
    EXPECT_EQ((*s)->schema_version().value(), pf::store::PostgresStore::latest_schema_version());
  }
  {
    auto again = pf::store::PostgresStore::open(*url);  // no migration runs twice
    ASSERT_TRUE(again) << pf::to_string(again.error());
  }
  const std::string db = database_name(*url);
  const std::string latest = std::to_string(pf::store::PostgresStore::latest_schema_version());
  EXPECT_EQ(cluster().psql("SELECT count(*), max(version) FROM schema_migrations", db).value(),
            latest + "|" + latest);
  ASSERT_TRUE(cluster().psql("INSERT INTO schema_migrations(version, name) VALUES (999, 'x')", db));
  auto newer = pf::store::PostgresStore::open(*url);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, pf::Errc::conflict);
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos) << newer.error().message;
}

TEST(PostgresStore, StoresOpeningAnEmptyDatabaseTogetherMigrateItOnce) {
  constexpr int kStores = 4;
  for (int round = 0; round < 3; ++round) {
    auto url = fresh_database();
    ASSERT_TRUE(url) << pf::to_string(url.error());
    std::latch go(kStores);
    std::vector<std::string> outcomes(kStores);
    std::vector<std::thread> threads;
    for (int i = 0; i < kStores; ++i) {
      threads.emplace_back([&, i] {
        go.arrive_and_wait();
        auto s = pf::store::PostgresStore::open(*url);
        outcomes[i] = s ? "ok" : pf::to_string(s.error());
        if (s) outcomes[i] += " v" + std::to_string((*s)->schema_version().value_or(-1));
      });
    }
    for (auto& t : threads) t.join();
    const std::string want =
        "ok v" + std::to_string(pf::store::PostgresStore::latest_schema_version());
    for (const auto& o : outcomes) EXPECT_EQ(o, want);
    auto rows = cluster().psql("SELECT count(*), count(DISTINCT version) FROM schema_migrations",
                               database_name(*url));
    const std::string latest = std::to_string(pf::store::PostgresStore::latest_schema_version());
    EXPECT_EQ(rows.value(), latest + "|" + latest);
  }
}

// A port on 127.0.0.1 where nothing listens.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  PF_ASSERT(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  PF_ASSERT(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(PostgresStore, AnUnreachableServerIsAClearErrorWithoutThePassword) {
  const std::string port = std::to_string(closed_port());
  auto s = pf::store::PostgresStore::open("postgresql://pf_user:Sup3r-secret%21@127.0.0.1:" + port +
                                          "/patchflow");
  ASSERT_FALSE(s);
  const std::string all = pf::to_string(s.error());
  EXPECT_EQ(s.error().code, pf::Errc::io);
  EXPECT_NE(all.find("cannot connect to PostgreSQL at 127.0.0.1:" + port), std::string::npos)
      << all;
  EXPECT_NE(all.find("refused"), std::string::npos) << all;  // libpq's reason is kept
  EXPECT_EQ(all.find("Sup3r-secret"), std::string::npos) << all;
  EXPECT_EQ(s.error().where, "postgresql://pf_user@127.0.0.1:" + port + "/patchflow");

  // A malformed string is refused before any connection, its password kept out as well.
  auto bad = pf::store::PostgresStore::open("postgresql://pf_user:Sup3r-secret@127.0.0.1:" + port +
                                            "/db?no_such_option=Sup3r-secret");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, pf::Errc::invalid_input);
  EXPECT_NE(bad.error().message.find("no_such_option"), std::string::npos) << bad.error().message;
  EXPECT_EQ(pf::to_string(bad.error()).find("Sup3r-secret"), std::string::npos)
      << pf::to_string(bad.error());
  EXPECT_EQ(pf::store::PostgresStore::open("").error().code, pf::Errc::invalid_input);
}

TEST(PostgresStore, AWrongPasswordIsRefusedWithoutEchoingIt) {
  auto url = fresh_database();
  ASSERT_TRUE(url) << pf::to_string(url.error());
  const std::string db = database_name(*url);
  const std::string user = db + "_owner";
  ASSERT_TRUE(cluster().psql("CREATE ROLE " + user + " LOGIN PASSWORD 'right-pass-1' IN ROLE " +
                             std::string(pf::testing::PgCluster::kPasswordRole)));
  ASSERT_TRUE(cluster().psql("ALTER DATABASE " + db + " OWNER TO " + user));

  auto wrong = pf::store::PostgresStore::open(cluster().url(db, user, "wrong-pass-2"));
  ASSERT_FALSE(wrong);
  const std::string all = pf::to_string(wrong.error());
  EXPECT_NE(all.find("password authentication failed"), std::string::npos) << all;
  EXPECT_NE(all.find("127.0.0.1:" + std::to_string(cluster().port())), std::string::npos) << all;
  EXPECT_EQ(all.find("wrong-pass-2"), std::string::npos) << all;

  auto right = pf::store::PostgresStore::open(cluster().url(db, user, "right-pass-1"));
  ASSERT_TRUE(right) << pf::to_string(right.error());
  EXPECT_TRUE((*right)->put_advisories(std::vector{sample("DSA-1")}));
}

// Ends every server process serving `db` (what a server restart or a network cut does).
void cut_connections(const std::string& db) {
  const std::string sql =
      "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      " WHERE datname = '" + db + "' AND pid <> pg_backend_pid()) AS t";
  auto ended = cluster().psql(sql);
  ASSERT_TRUE(ended) << pf::to_string(ended.error());
  EXPECT_EQ(*ended, "1");
}

TEST(PostgresStore, ALostConnectionIsAnErrorAndTheNextCallConnectsAgain) {
  auto url = fresh_database();
  ASSERT_TRUE(url) << pf::to_string(url.error());
  const std::string db = database_name(*url);
  auto s = pf::store::PostgresStore::open(*url);
  ASSERT_TRUE(s) << pf::to_string(s.error());
  auto& store = **s;
  ASSERT_TRUE(store.put_advisories(std::vector{sample("DSA-1")}));

  // Lost between calls.
  cut_connections(db);
  auto lost = store.counts();
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, pf::Errc::io);
  EXPECT_NE(lost.error().message.find("connection to PostgreSQL at 127.0.0.1:" +
                                      std::to_string(cluster().port()) + " lost"),
            std::string::npos)
      << lost.error().message;
  auto counts = store.counts();
  ASSERT_TRUE(counts) << pf::to_string(counts.error());
  EXPECT_EQ(counts->advisories, 1);

  // Lost in the middle of a transaction: that call fails, the transaction is gone.
  auto r = store.atomically([&]() -> pf::Result<void> {
    if (auto p = store.put_advisories(std::vector{sample("DSA-2")}); !p) return p;
    cut_connections(db);
    return store.put_advisories(std::vector{sample("DSA-3")});
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::io);
  EXPECT_NE(r.error().message.find("lost"), std::string::npos) << r.error().message;
  auto all = store.advisories("");
  ASSERT_TRUE(all) << pf::to_string(all.error());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].id, "DSA-1");
}

TEST(PostgresStore, SqlErrorsAreErrorValues) {
  auto url = fresh_database();
  ASSERT_TRUE(url) << pf::to_string(url.error());
  auto s = pf::store::PostgresStore::open(*url);
  ASSERT_TRUE(s) << pf::to_string(s.error());
  auto& store = **s;
  ASSERT_TRUE(cluster().psql("DROP TABLE cves", database_name(*url)));
  adv::CveInfo c{.id = "CVE-2024-0001"};
  c.epss = 0.5;
  auto put = store.put_cves(std::vector{c}, static_cast<unsigned>(CveFields::epss));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, pf::Errc::io);
  EXPECT_NE(put.error().message.find("relation \"cves\" does not exist"), std::string::npos)
      << put.error().message;
  EXPECT_FALSE(store.counts());
  // Text PostgreSQL cannot hold (not UTF-8) is invalid input, and the batch is not stored.
  adv::Advisory bad = sample("DSA-2");
  bad.summary = "caf\xe9";
  auto invalid = store.put_advisories(std::vector{sample("DSA-1"), bad});
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, pf::Errc::invalid_input) << pf::to_string(invalid.error());
  // The connection is still good.
  ASSERT_TRUE(store.put_advisories(std::vector{sample("DSA-3")}));
  EXPECT_EQ(store.advisories("")->size(), 1u);
}

TEST(PostgresStore, AClientKilledMidTransactionLeavesNothingBehind) {
  auto url = fresh_database();
  ASSERT_TRUE(url) << pf::to_string(url.error());
  {
    auto s = pf::store::PostgresStore::open(*url);
    ASSERT_TRUE(s) << pf::to_string(s.error());
    ASSERT_TRUE((*s)->put_advisories(std::vector{sample("DSA-1")}));
  }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child replaces DSA-1 and adds many more inside one transaction, says so, and is
    // killed before the commit.
    ::close(ready[0]);
    auto s = pf::store::PostgresStore::open(*url);
    if (!s) ::_exit(3);
    (void)(*s)->atomically([&]() -> pf::Result<void> {
      std::vector<adv::Advisory> batch;
      adv::Advisory changed = sample("DSA-1");
      changed.summary = "half written";
      batch.push_back(changed);
      for (int i = 0; i < 1000; ++i) batch.push_back(sample("X-" + std::to_string(i)));
      if (!(*s)->put_advisories(batch)) ::_exit(4);
      const char done = 1;
      if (::write(ready[1], &done, 1) != 1) ::_exit(5);
      ::kill(::getpid(), SIGKILL);
      ::_exit(6);
    });
    ::_exit(7);
  }
  ::close(ready[1]);
  char done = 0;
  const bool said = ::read(ready[0], &done, 1) == 1;
  ::close(ready[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(said) << "the child did not reach the middle of its transaction, status " << status;
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // A lock the dead client still held would make this wait: give up after 20 s instead.
  auto s = pf::store::PostgresStore::open(*url + "?options=-c%20lock_timeout%3D20000");
  ASSERT_TRUE(s) << pf::to_string(s.error());
  auto all = (*s)->advisories("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  expect_same((*all)[0], sample("DSA-1"));
  EXPECT_EQ((*s)->counts()->affected, 2);
  adv::Advisory next = sample("DSA-1");
  next.summary = "replaced after the crash";
  auto put = (*s)->put_advisories(std::vector{next});
  ASSERT_TRUE(put) << pf::to_string(put.error());
  EXPECT_EQ((*s)->advisories("")->at(0).summary, "replaced after the crash");
}

}  // namespace
