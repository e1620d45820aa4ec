// SPDX-License-Identifier: Apache-2.0
#include "patchflow/store_sqlite/sqlite_store.hpp"

#include <map>

#include "migrations.hpp"
#include "sqlite.hpp"
#include "store_impl.hpp"

namespace pf::store {

namespace adv = pf::advisories;
using sqlite::Db;
using sqlite::Stmt;
using sqlite::Transaction;

namespace {

std::string_view kind_name(adv::Kind kind) {
  switch (kind) {
    case adv::Kind::security: return "security";
    case adv::Kind::bugfix: return "bugfix";
    case adv::Kind::enhancement: return "enhancement";
  }
  return "security";
}

adv::Kind kind_from(std::string_view name) {
  if (name == "bugfix") return adv::Kind::bugfix;
  if (name == "enhancement") return adv::Kind::enhancement;
  return adv::Kind::security;
}

std::string_view event_name(adv::EventType type) {
  switch (type) {
    case adv::EventType::introduced: return "introduced";
    case adv::EventType::fixed: return "fixed";
    case adv::EventType::last_affected: return "last_affected";
  }
  return "introduced";
}

adv::EventType event_from(std::string_view name) {
  if (name == "fixed") return adv::EventType::fixed;
  if (name == "last_affected") return adv::EventType::last_affected;
  return adv::EventType::introduced;
}

adv::Severity severity_from(std::string_view name) {
  return adv::severity_from_name(name).value_or(adv::Severity::unknown);
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::latest_schema_version() noexcept {
  return sqlite::migrations().back().version;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path) {
  PF_TRY(db, Db::open(path.string()));
  auto impl = std::make_unique<Impl>(Impl{std::move(*db)});
  Db& d = impl->db;
  // Durability first: every committed transaction survives a crash or a power cut.
  if (path != ":memory:") PF_CHECK(d.exec("PRAGMA journal_mode=WAL"));
  PF_CHECK(d.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  PF_CHECK(d.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                  " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"));
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  PF_TRY(current, store->schema_version());
  if (*current > latest_schema_version()) {
    return make_error(Errc::conflict,
                      "the database schema is version " + std::to_string(*current) +
                          ", newer than this patchflow knows (" +
                          std::to_string(latest_schema_version()) + "): upgrade patchflow",
                      path.string());
  }
  for (const auto& m : sqlite::migrations()) {
    if (m.version <= *current) continue;
    Transaction tx(d);
    PF_CHECK(tx.begin());
    auto applied = d.exec(m.sql);
    if (!applied) {
      Error e = std::move(applied.error());
      e.message = "migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                  ") failed: " + e.message;
      e.where = path.string();
      return Unexpected(std::move(e));
    }
    PF_TRY(record, d.prepare("INSERT INTO schema_migrations(version, name) VALUES (?, ?)"));
    record->bind(1, std::int64_t{m.version}).bind(2, m.name);
    PF_CHECK(record->run());
    PF_CHECK(tx.commit());
  }
  return store;
}

Result<int> SqliteStore::schema_version() {
  PF_TRY(stmt, impl_->db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  PF_TRY(row, stmt->step());
  return static_cast<int>(*row ? stmt->integer(0) : 0);
}

Result<void> SqliteStore::put_advisories(std::span<const adv::Advisory> batch) {
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  // Findings derived from advisories are stale from now on (FindingStore).
  PF_CHECK(d.exec("UPDATE store_meta SET value = value + 1 WHERE key = 'advisories_generation'"));
  // Replacing by id: the old row and, by cascade, its CVEs, affected entries and events go.
  PF_TRY(del, d.prepare("DELETE FROM advisories WHERE id = ?"));
  PF_TRY(ins, d.prepare("INSERT INTO advisories(id, source, kind, severity, summary, published,"
                        " modified) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  PF_TRY(ins_cve, d.prepare("INSERT OR IGNORE INTO advisory_cves(advisory_id, cve_id)"
                            " VALUES (?, ?)"));
  PF_TRY(ins_aff, d.prepare("INSERT INTO affected(advisory_id, seq, ecosystem, package,"
                            " package_kind, severity) VALUES (?, ?, ?, ?, ?, ?)"));
  PF_TRY(ins_evt, d.prepare("INSERT INTO affected_events(affected_id, seq, type, version)"
                            " VALUES (?, ?, ?, ?)"));
  for (const auto& a : batch) {
    if (a.id.empty()) return make_error(Errc::invalid_input, "advisory without an id", "id");
    del->bind(1, a.id);
    PF_CHECK(del->run());
    ins->bind(1, a.id)
        .bind(2, a.source)
        .bind(3, kind_name(a.kind))
        .bind(4, adv::severity_name(a.severity))
        .bind(5, a.summary)
        .bind(6, a.published)
        .bind(7, a.modified);
    PF_CHECK(ins->run());
    for (const auto& cve : a.cves) {
      ins_cve->bind(1, a.id).bind(2, cve);
      PF_CHECK(ins_cve->run());
    }
    std::int64_t seq = 0;
    for (const auto& af : a.affected) {
      ins_aff->bind(1, a.id)
          .bind(2, seq++)
          .bind(3, af.ecosystem)
          .bind(4, af.package)
          .bind(5, af.package_kind == adv::PackageKind::source ? "source" : "binary")
          .bind(6, adv::severity_name(af.severity));
      PF_CHECK(ins_aff->run());
      const std::int64_t affected_id = sqlite3_last_insert_rowid(d.handle());
      std::int64_t eseq = 0;
      for (const auto& e : af.events) {
        ins_evt->bind(1, affected_id).bind(2, eseq++).bind(3, event_name(e.type)).bind(4, e.version);
        PF_CHECK(ins_evt->run());
      }
    }
  }
  return tx.commit();
}

Result<void> SqliteStore::put_cves(std::span<const adv::CveInfo> batch, unsigned fields) {
  const bool cvss = (fields & static_cast<unsigned>(CveFields::cvss)) != 0;
  const bool epss = (fields & static_cast<unsigned>(CveFields::epss)) != 0;
  const bool kev = (fields & static_cast<unsigned>(CveFields::kev)) != 0;
  if (!cvss && !epss && !kev) {
    return make_error(Errc::invalid_input, "put_cves without any field group", "fields");
  }
  std::string sql =
      "INSERT INTO cves(id, cvss3_score, cvss3_vector, cvss4_score, cvss4_vector, epss,"
      " epss_percentile, kev, kev_date_added, kev_ransomware)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO UPDATE SET ";
  std::string sets;
  auto add = [&](const char* s) {
    if (!sets.empty()) sets += ", ";
    sets += s;
  };
  if (cvss) {
    add("cvss3_score = excluded.cvss3_score, cvss3_vector = excluded.cvss3_vector,"
        " cvss4_score = excluded.cvss4_score, cvss4_vector = excluded.cvss4_vector");
  }
  if (epss) add("epss = excluded.epss, epss_percentile = excluded.epss_percentile");
  if (kev) {
    add("kev = excluded.kev, kev_date_added = excluded.kev_date_added,"
        " kev_ransomware = excluded.kev_ransomware");
  }
  sql += sets;
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  // Findings derived from advisories are stale from now on (FindingStore).
  PF_CHECK(d.exec("UPDATE store_meta SET value = value + 1 WHERE key = 'advisories_generation'"));
  PF_TRY(stmt, d.prepare(sql));
  for (const auto& c : batch) {
    if (c.id.empty()) return make_error(Errc::invalid_input, "CVE record without an id", "id");
    stmt->bind(1, c.id);
    stmt->bind(2, cvss ? c.cvss3_score : std::nullopt).bind(3, cvss ? c.cvss3_vector : "");
    stmt->bind(4, cvss ? c.cvss4_score : std::nullopt).bind(5, cvss ? c.cvss4_vector : "");
    stmt->bind(6, epss ? c.epss : std::nullopt)
        .bind(7, epss ? c.epss_percentile : std::nullopt);
    stmt->bind(8, std::int64_t{kev && c.kev})
        .bind(9, kev ? std::string_view(c.kev_date_added) : std::string_view())
        .bind(10, std::int64_t{kev && c.kev_ransomware});
    PF_CHECK(stmt->run());
  }
  return tx.commit();
}

Result<std::vector<adv::Advisory>> SqliteStore::advisories(std::string_view ecosystem) {
  Db& d = impl_->db;
  // One read transaction, so the queries see one state (unless the caller's is open).
  const bool own = sqlite3_get_autocommit(d.handle()) != 0;
  if (own) PF_CHECK(d.exec("BEGIN"));
  struct EndRead {
    Db& db;
    bool own;
    ~EndRead() {
      if (own) (void)db.exec("COMMIT");
    }
  } end_read{d, own};

  const std::string filter =
      ecosystem.empty() ? "" : " WHERE id IN (SELECT advisory_id FROM affected WHERE ecosystem = ?1)";
  PF_TRY(q_adv, d.prepare("SELECT id, source, kind, severity, summary, published, modified"
                          " FROM advisories" + filter + " ORDER BY id"));
  if (!ecosystem.empty()) q_adv->bind(1, ecosystem);
  std::vector<adv::Advisory> out;
  std::map<std::string, std::size_t, std::less<>> index;
  for (;;) {
    PF_TRY(row, q_adv->step());
    if (!*row) break;
    adv::Advisory a;
    a.id = q_adv->text(0);
    a.source = q_adv->text(1);
    a.kind = kind_from(q_adv->text(2));
    a.severity = severity_from(q_adv->text(3));
    a.summary = q_adv->text(4);
    a.published = q_adv->integer(5);
    a.modified = q_adv->integer(6);
    index.emplace(a.id, out.size());
    out.push_back(std::move(a));
  }
  const std::string sub =
      ecosystem.empty() ? "" : " WHERE advisory_id IN (SELECT advisory_id FROM affected WHERE ecosystem = ?1)";
  PF_TRY(q_cve, d.prepare("SELECT advisory_id, cve_id FROM advisory_cves" + sub +
                          " ORDER BY advisory_id, cve_id"));
  if (!ecosystem.empty()) q_cve->bind(1, ecosystem);
  for (;;) {
    PF_TRY(row, q_cve->step());
    if (!*row) break;
    if (auto it = index.find(q_cve->text(0)); it != index.end()) {
      out[it->second].cves.push_back(q_cve->text(1));
    }
  }
  std::string aff_sql =
      "SELECT a.id, a.advisory_id, a.ecosystem, a.package, a.package_kind, a.severity,"
      " e.type, e.version FROM affected a LEFT JOIN affected_events e ON e.affected_id = a.id";
  if (!ecosystem.empty()) {
    aff_sql += " WHERE a.advisory_id IN (SELECT advisory_id FROM affected WHERE ecosystem = ?1)";
  }
  aff_sql += " ORDER BY a.advisory_id, a.seq, e.seq";
  PF_TRY(q, d.prepare(aff_sql));
  if (!ecosystem.empty()) q->bind(1, ecosystem);
  std::int64_t current = -1;
  adv::Affected* target = nullptr;
  for (;;) {
    PF_TRY(row, q->step());
    if (!*row) break;
    const std::int64_t affected_id = q->integer(0);
    if (affected_id != current) {
      current = affected_id;
      target = nullptr;
      if (auto it = index.find(q->text(1)); it != index.end()) {
        adv::Affected af;
        af.ecosystem = q->text(2);
        af.package = q->text(3);
        af.package_kind = q->text(4) == "source" ? adv::PackageKind::source : adv::PackageKind::binary;
        af.severity = severity_from(q->text(5));
        out[it->second].affected.push_back(std::move(af));
        target = &out[it->second].affected.back();
      }
    }
    if (target != nullptr && !q->text(6).empty()) {
      target->events.push_back({event_from(q->text(6)), q->text(7)});
    }
  }
  return out;
}

Result<std::vector<adv::CveInfo>> SqliteStore::cves(std::span<const std::string> ids) {
  PF_TRY(stmt, impl_->db.prepare(
                   "SELECT id, cvss3_score, cvss3_vector, cvss4_score, cvss4_vector, epss,"
                   " epss_percentile, kev, kev_date_added, kev_ransomware FROM cves WHERE id = ?"));
  std::vector<adv::CveInfo> out;
  for (const auto& id : ids) {
    stmt->bind(1, id);
    PF_TRY(row, stmt->step());
    if (*row) {
      adv::CveInfo c;
      c.id = stmt->text(0);
      c.cvss3_score = stmt->real(1);
      c.cvss3_vector = stmt->text(2);
      c.cvss4_score = stmt->real(3);
      c.cvss4_vector = stmt->text(4);
      c.epss = stmt->real(5);
      c.epss_percentile = stmt->real(6);
      c.kev = stmt->integer(7) != 0;
      c.kev_date_added = stmt->text(8);
      c.kev_ransomware = stmt->integer(9) != 0;
      out.push_back(std::move(c));
    }
    stmt->reset();
  }
  return out;
}

Result<void> SqliteStore::put_cursor(const FeedCursor& c) {
  if (c.source.empty()) return make_error(Errc::invalid_input, "feed cursor without a source", "source");
  PF_TRY(stmt, impl_->db.prepare(
                   "INSERT INTO feed_cursors(source, location, etag, last_modified, imported_at,"
                   " records) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET"
                   " location = excluded.location, etag = excluded.etag,"
                   " last_modified = excluded.last_modified, imported_at = excluded.imported_at,"
                   " records = excluded.records"));
  stmt->bind(1, c.source)
      .bind(2, c.location)
      .bind(3, c.etag)
      .bind(4, c.last_modified)
      .bind(5, c.imported_at)
      .bind(6, c.records);
  return stmt->run();
}

Result<std::optional<FeedCursor>> SqliteStore::cursor(std::string_view source) {
  PF_TRY(stmt, impl_->db.prepare("SELECT source, location, etag, last_modified, imported_at,"
                                 " records FROM feed_cursors WHERE source = ?"));
  stmt->bind(1, source);
  PF_TRY(row, stmt->step());
  if (!*row) return std::optional<FeedCursor>();
  return std::optional<FeedCursor>(FeedCursor{stmt->text(0), stmt->text(1), stmt->text(2),
                                              stmt->text(3), stmt->integer(4), stmt->integer(5)});
}

Result<StoreCounts> SqliteStore::counts() {
  PF_TRY(stmt, impl_->db.prepare("SELECT (SELECT COUNT(*) FROM advisories),"
                                 " (SELECT COUNT(*) FROM affected), (SELECT COUNT(*) FROM cves)"));
  PF_TRY(row, stmt->step());
  return StoreCounts{stmt->integer(0), stmt->integer(1), stmt->integer(2)};
}

Result<void> SqliteStore::atomically(const std::function<Result<void>()>& work) {
  Transaction tx(impl_->db);
  PF_CHECK(tx.begin());
  PF_CHECK(work());
  return tx.commit();
}

}  // namespace pf::store
