// SPDX-License-Identifier: Apache-2.0
#include "patchflow/store_postgres/postgres_store.hpp"

#include <algorithm>
#include <numeric>

#include "store_impl.hpp"

namespace pf::store {

namespace adv = pf::advisories;

namespace {

std::string_view kind_name(adv::Kind kind) {
  switch (kind) {
    case adv::Kind::security:
      return "security";
    case adv::Kind::bugfix:
      return "bugfix";
    case adv::Kind::enhancement:
      return "enhancement";
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
    case adv::EventType::introduced:
      return "introduced";
    case adv::EventType::fixed:
      return "fixed";
    case adv::EventType::last_affected:
      return "last_affected";
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

// The statements, prepared once per connection (libpqxx prepares them again after a reconnect).
constexpr const char* kUpsertAdvisory =
    "INSERT INTO advisories(id, source, kind, severity, summary, published, modified)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET"
    " source = EXCLUDED.source, kind = EXCLUDED.kind, severity = EXCLUDED.severity,"
    " summary = EXCLUDED.summary, published = EXCLUDED.published, modified = EXCLUDED.modified";
// Runs after the upsert has locked the advisory's row, so that it sees (and removes) the
// entries of a writer that replaced the same advisory just before.
constexpr const char* kClearAdvisory =
    "WITH c AS (DELETE FROM advisory_cves WHERE advisory_id = $1)"
    " DELETE FROM affected WHERE advisory_id = $1";
constexpr const char* kInsertAdvisoryCves =
    "INSERT INTO advisory_cves(advisory_id, cve_id) SELECT $1, c FROM unnest($2::text[]) AS c"
    " ON CONFLICT DO NOTHING";
constexpr const char* kInsertAffected =
    "WITH a AS (INSERT INTO affected(advisory_id, seq, ecosystem, package, package_kind,"
    " severity) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)"
    " INSERT INTO affected_events(affected_id, seq, type, version)"
    " SELECT a.id, e.n - 1, e.type, e.version"
    " FROM a, unnest($7::text[], $8::text[]) WITH ORDINALITY AS e(type, version, n)";
constexpr const char* kPutCursor =
    "INSERT INTO feed_cursors(source, location, etag, last_modified, imported_at, records)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source) DO UPDATE SET"
    " location = EXCLUDED.location, etag = EXCLUDED.etag,"
    " last_modified = EXCLUDED.last_modified, imported_at = EXCLUDED.imported_at,"
    " records = EXCLUDED.records";

// CVE records go in slices of this many rows per statement.
constexpr std::size_t kCveSlice = 1000;

std::string put_cves_sql(unsigned fields) {
  const bool cvss = (fields & static_cast<unsigned>(CveFields::cvss)) != 0;
  const bool epss = (fields & static_cast<unsigned>(CveFields::epss)) != 0;
  const bool kev = (fields & static_cast<unsigned>(CveFields::kev)) != 0;
  std::string sql =
      "INSERT INTO cves(id, cvss3_score, cvss3_vector, cvss4_score, cvss4_vector, epss,"
      " epss_percentile, kev, kev_date_added, kev_ransomware)"
      " SELECT * FROM unnest($1::text[], $2::float8[], $3::text[], $4::float8[], $5::text[],"
      " $6::float8[], $7::float8[], $8::bool[], $9::text[], $10::bool[])"
      " ON CONFLICT (id) DO UPDATE SET ";
  std::string sets;
  auto add = [&](const char* s) {
    if (!sets.empty()) sets += ", ";
    sets += s;
  };
  if (cvss) {
    add("cvss3_score = EXCLUDED.cvss3_score, cvss3_vector = EXCLUDED.cvss3_vector,"
        " cvss4_score = EXCLUDED.cvss4_score, cvss4_vector = EXCLUDED.cvss4_vector");
  }
  if (epss) add("epss = EXCLUDED.epss, epss_percentile = EXCLUDED.epss_percentile");
  if (kev) {
    add("kev = EXCLUDED.kev, kev_date_added = EXCLUDED.kev_date_added,"
        " kev_ransomware = EXCLUDED.kev_ransomware");
  }
  return sql + sets;
}

}  // namespace

Errc errc_for_sqlstate(std::string_view state) {
  if (state.starts_with("23")) return Errc::conflict;  // integrity constraint
  if (state == "40001" || state == "40P01" || state == "55P03") return Errc::lock_held;
  if (state == "57014") return Errc::timeout;               // statement_timeout
  if (state.starts_with("22")) return Errc::invalid_input;  // data exception
  return Errc::io;
}

bool lost_sqlstate(std::string_view state) {
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

std::vector<std::string> text_array_of(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  const std::string_view s(f.c_str(), f.size());
  if (s.size() < 2 || s.front() != '{' || s == "{}") return out;
  std::size_t i = 1;
  while (i < s.size()) {
    std::string item;
    bool quoted = false;
    if (s[i] == '"') {
      quoted = true;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        item += s[i];
      }
      ++i;  // the closing quote
    } else {
      for (; i < s.size() && s[i] != ',' && s[i] != '}'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        item += s[i];
      }
    }
    if (quoted || item != "NULL") out.push_back(std::move(item));
    if (i >= s.size() || s[i] == '}') break;
    ++i;  // the ','
  }
  return out;
}

bool storable(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if ((c & 0xe0U) == 0xc0U) {
      n = 1, min = 0x80, cp = c & 0x1fU;
    } else if ((c & 0xf0U) == 0xe0U) {
      n = 2, min = 0x800, cp = c & 0x0fU;
    } else if ((c & 0xf8U) == 0xf0U) {
      n = 3, min = 0x10000, cp = c & 0x07U;
    } else {
      return false;
    }
    if (n > s.size() - i - 1) return false;  // cut short
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0U) != 0x80U) return false;
      cp = (cp << 6U) | (cc & 0x3fU);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

Error PostgresStore::Impl::failure(std::string_view what) const {
  std::string detail;
  std::string state;
  Errc code = Errc::io;
  bool lost = false;
  bool in_doubt = false;
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    detail = e.what();
    lost = in_doubt = true;
  } catch (const pqxx::broken_connection& e) {
    detail = e.what();
    lost = true;
    // libpqxx 6.4 says this when the connection broke under a query (and leaks that
    // query's PGresult, 2 KiB: once per lost connection, since the next call reconnects).
    if (detail.starts_with("Could not obtain client encoding")) {
      detail = "the server closed the connection, or the network failed";
    }
  } catch (const pqxx::sql_error& e) {
    detail = e.what();
    state = e.sqlstate();
    code = errc_for_sqlstate(state);
    lost = lost_sqlstate(state);
  } catch (const pqxx::transaction_rollback& e) {
    detail = e.what();
    code = Errc::lock_held;
  } catch (const NulInParameter& e) {
    detail = e.what();
    code = Errc::invalid_input;
  } catch (const std::exception& e) {
    detail = e.what();
  } catch (...) {
    detail = "unknown exception";
  }
  if (conn && !conn->is_open()) lost = true;
  std::string message(what);
  message += ": ";
  if (in_doubt) {
    message += "the connection to PostgreSQL at " + info.host_port +
               " was lost while committing; the transaction may or may not have been "
               "committed: ";
  } else if (lost) {
    code = Errc::io;
    message += "connection to PostgreSQL at " + info.host_port + " lost: ";
  }
  message += one_line_detail(detail);
  if (!state.empty() && !lost) message += " (SQLSTATE " + state + ")";
  return Error{code, postgres::scrub(std::move(message), info.secrets), info.location};
}

std::string PostgresStore::Impl::one_line_detail(std::string_view detail) {
  std::string s = postgres::one_line(detail);
  return s.empty() ? "no detail from the server" : s;
}

Result<void> PostgresStore::Impl::connect() {
  quiet.reset();
  conn.reset();
  try {
    conn = std::make_unique<pqxx::connection>(info.conninfo);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    quiet = std::make_unique<pqxx::quiet_errorhandler>(*conn);
  } catch (const std::exception& e) {
    quiet.reset();
    conn.reset();
    return make_error(Errc::io,
                      postgres::scrub("cannot connect to PostgreSQL at " + info.host_port + ": " +
                                          one_line_detail(e.what()),
                                      info.secrets),
                      info.location);
  }
  return prepare();
}

// libpqxx 6.4 prepares a statement on the server at its first use: statements on tables a
// pending migration creates can be named here.
Result<void> PostgresStore::Impl::prepare() {
  try {
    conn->prepare("pf_upsert_advisory", kUpsertAdvisory);
    conn->prepare("pf_clear_advisory", kClearAdvisory);
    conn->prepare("pf_insert_advisory_cves", kInsertAdvisoryCves);
    conn->prepare("pf_insert_affected", kInsertAffected);
    conn->prepare("pf_put_cursor", kPutCursor);
    for (unsigned fields = 1; fields <= 7; ++fields) {
      const std::string name = "pf_put_cves_" + std::to_string(fields);
      conn->prepare(name, put_cves_sql(fields));
      cve_statements.emplace(fields, name);
    }
    prepare_fleet_statements(*conn);
    return {};
  } catch (...) {
    return Unexpected(failure("preparing statements"));
  }
}

// The version is read again under the lock, so a migration another server applied meanwhile
// is not run twice.
Result<void> PostgresStore::Impl::migrate() {
  const auto all = postgres::migrations();
  const int latest = all.back().version;
  for (;;) {
    const postgres::Migration* next = nullptr;
    int found = 0;
    auto step =
        in_transaction<pqxx::work>("migrating", [&](pqxx::transaction_base& tx) -> Result<void> {
          tx.exec("SET LOCAL client_min_messages = warning");
          tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(postgres::kMigrationLock) + ")");
          tx.exec(std::string(postgres::kSchemaMigrations));
          found = static_cast<int>(
              integer_of(tx.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0]));
          if (found > latest) {
            return make_error(Errc::conflict,
                              "the database schema is version " + std::to_string(found) +
                                  ", newer than this patchflow knows (" + std::to_string(latest) +
                                  "): upgrade patchflow",
                              info.location);
          }
          for (const auto& m : all) {
            if (m.version > found) {
              next = &m;
              break;
            }
          }
          if (next == nullptr) return {};
          try {
            tx.exec(std::string(next->sql));
          } catch (...) {
            Error e = failure("migration " + std::to_string(next->version) + " (" +
                              std::string(next->name) + ") failed");
            return Unexpected(std::move(e));
          }
          tx.exec_params("INSERT INTO schema_migrations(version, name) VALUES ($1, $2)",
                         next->version, std::string(next->name));
          return {};
        });
    if (!step) return step;
    if (next == nullptr) return {};
  }
}

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

int PostgresStore::latest_schema_version() noexcept {
  return postgres::migrations().back().version;
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(std::string_view conninfo) {
  auto info = postgres::parse_conninfo(conninfo);
  if (!info) return Unexpected(std::move(info.error()));
  auto impl = std::make_unique<Impl>();
  impl->info = std::move(*info);
  if (auto r = impl->connect(); !r) return Unexpected(std::move(r.error()));
  if (auto r = impl->migrate(); !r) return Unexpected(std::move(r.error()));
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

Result<int> PostgresStore::schema_version() {
  return impl_->in_transaction<pqxx::work>(
      "reading the schema version", [](pqxx::transaction_base& tx) -> Result<int> {
        auto r = tx.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        return static_cast<int>(integer_of(r[0][0]));
      });
}

Result<void> PostgresStore::put_advisories(std::span<const adv::Advisory> batch) {
  for (const auto& a : batch) {
    if (a.id.empty()) return make_error(Errc::invalid_input, "advisory without an id", "id");
  }
  // Written in id order (the last of equal ids wins, as it would in batch order), so that
  // writers replacing the same advisories lock their rows in the same order.
  std::vector<std::size_t> order(batch.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return batch[x].id < batch[y].id; });
  return impl_->in_transaction<pqxx::work>(
      "storing advisories", [&](pqxx::transaction_base& tx) -> Result<void> {
        // Findings derived from advisories are stale from now on (FindingStore).
        tx.exec0("UPDATE store_meta SET value = value + 1 WHERE key = 'advisories_generation'");
        for (std::size_t i : order) {
          const adv::Advisory& a = batch[i];
          exec(tx, "pf_upsert_advisory",
               {text(a.id), text(a.source), text(kind_name(a.kind)),
                text(adv::severity_name(a.severity)), text(a.summary), integer(a.published),
                integer(a.modified)});
          exec(tx, "pf_clear_advisory", {text(a.id)});
          if (!a.cves.empty()) {
            ArrayText cves;
            for (const auto& c : a.cves) cves.add(c);
            exec(tx, "pf_insert_advisory_cves", {text(a.id), cves.done()});
          }
          std::int64_t seq = 0;
          for (const auto& af : a.affected) {
            ArrayText types;
            ArrayText versions;
            for (const auto& e : af.events) {
              types.add(event_name(e.type));
              versions.add(e.version);
            }
            exec(tx, "pf_insert_affected",
                 {text(a.id), integer(seq++), text(af.ecosystem), text(af.package),
                  text(af.package_kind == adv::PackageKind::source ? "source" : "binary"),
                  text(adv::severity_name(af.severity)), types.done(), versions.done()});
          }
        }
        return {};
      });
}

Result<void> PostgresStore::put_cves(std::span<const adv::CveInfo> batch, unsigned fields) {
  const bool cvss = (fields & static_cast<unsigned>(CveFields::cvss)) != 0;
  const bool epss = (fields & static_cast<unsigned>(CveFields::epss)) != 0;
  const bool kev = (fields & static_cast<unsigned>(CveFields::kev)) != 0;
  if (!cvss && !epss && !kev) {
    return make_error(Errc::invalid_input, "put_cves without any field group", "fields");
  }
  for (const auto& c : batch) {
    if (c.id.empty()) return make_error(Errc::invalid_input, "CVE record without an id", "id");
  }
  // One statement may not update a row twice: of equal ids, the last one is written (as
  // row-by-row updates would leave it).
  std::map<std::string_view, std::size_t> last;
  for (std::size_t i = 0; i < batch.size(); ++i) last[batch[i].id] = i;
  std::vector<std::size_t> rows;
  rows.reserve(last.size());
  for (const auto& [id, i] : last) rows.push_back(i);
  const std::string& statement = impl_->cve_statements.at(fields & 7u);
  return impl_->in_transaction<pqxx::work>(
      "storing CVE records", [&](pqxx::transaction_base& tx) -> Result<void> {
        // Findings derived from advisories are stale from now on (FindingStore).
        tx.exec0("UPDATE store_meta SET value = value + 1 WHERE key = 'advisories_generation'");
        for (std::size_t start = 0; start < rows.size(); start += kCveSlice) {
          ArrayText ids, c3, v3, c4, v4, ep, pc, k, kd, kr;
          for (std::size_t j = start; j < std::min(rows.size(), start + kCveSlice); ++j) {
            const adv::CveInfo& c = batch[rows[j]];
            ids.add(c.id);
            c3.add_real(cvss ? c.cvss3_score : std::nullopt);
            v3.add(cvss ? c.cvss3_vector : "");
            c4.add_real(cvss ? c.cvss4_score : std::nullopt);
            v4.add(cvss ? c.cvss4_vector : "");
            ep.add_real(epss ? c.epss : std::nullopt);
            pc.add_real(epss ? c.epss_percentile : std::nullopt);
            k.add_bool(kev && c.kev);
            kd.add(kev ? std::string_view(c.kev_date_added) : std::string_view());
            kr.add_bool(kev && c.kev_ransomware);
          }
          exec(tx, statement,
               {ids.done(), c3.done(), v3.done(), c4.done(), v4.done(), ep.done(), pc.done(),
                k.done(), kd.done(), kr.done()});
        }
        return {};
      });
}

Result<std::vector<adv::Advisory>> PostgresStore::advisories(std::string_view ecosystem) {
  // One snapshot for the three queries (unless the caller's transaction is open).
  return impl_->in_transaction<Snapshot>(
      "reading advisories", [&](pqxx::transaction_base& tx) -> Result<std::vector<adv::Advisory>> {
        const bool all = ecosystem.empty();
        const std::string filter =
            all ? ""
                : " WHERE advisory_id IN (SELECT advisory_id FROM affected WHERE ecosystem = $1)";
        auto run = [&](const std::string& sql) {
          return all ? tx.exec(sql) : tx.exec_params(sql, std::string(ecosystem));
        };
        const pqxx::result advs =
            run("SELECT id, source, kind, severity, summary, published, modified FROM advisories" +
                (all ? std::string()
                     : " WHERE id IN (SELECT advisory_id FROM affected WHERE ecosystem = $1)") +
                " ORDER BY id");
        std::vector<adv::Advisory> out;
        out.reserve(advs.size());
        std::map<std::string, std::size_t, std::less<>> index;
        for (const auto& row : advs) {
          adv::Advisory a;
          a.id = text_of(row[0]);
          a.source = text_of(row[1]);
          a.kind = kind_from(text_of(row[2]));
          a.severity = severity_from(text_of(row[3]));
          a.summary = text_of(row[4]);
          a.published = integer_of(row[5]);
          a.modified = integer_of(row[6]);
          index.emplace(a.id, out.size());
          out.push_back(std::move(a));
        }
        const pqxx::result cves = run("SELECT advisory_id, cve_id FROM advisory_cves" + filter +
                                      " ORDER BY advisory_id, cve_id");
        for (const auto& row : cves) {
          if (auto it = index.find(std::string_view(row[0].c_str(), row[0].size()));
              it != index.end()) {
            out[it->second].cves.push_back(text_of(row[1]));
          }
        }
        const pqxx::result affected =
            run("SELECT a.id, a.advisory_id, a.ecosystem, a.package, a.package_kind, a.severity,"
                " e.type, e.version FROM affected a LEFT JOIN affected_events e ON e.affected_id = "
                "a.id" +
                (all ? std::string()
                     : " WHERE a.advisory_id IN (SELECT advisory_id FROM affected WHERE ecosystem "
                       "= $1)") +
                " ORDER BY a.advisory_id, a.seq, e.seq");
        std::int64_t current = -1;
        adv::Affected* target = nullptr;
        for (const auto& row : affected) {
          const std::int64_t affected_id = integer_of(row[0]);
          if (affected_id != current) {
            current = affected_id;
            target = nullptr;
            if (auto it = index.find(std::string_view(row[1].c_str(), row[1].size()));
                it != index.end()) {
              adv::Affected af;
              af.ecosystem = text_of(row[2]);
              af.package = text_of(row[3]);
              af.package_kind =
                  text_of(row[4]) == "source" ? adv::PackageKind::source : adv::PackageKind::binary;
              af.severity = severity_from(text_of(row[5]));
              out[it->second].affected.push_back(std::move(af));
              target = &out[it->second].affected.back();
            }
          }
          if (target != nullptr && !row[6].is_null()) {
            target->events.push_back({event_from(text_of(row[6])), text_of(row[7])});
          }
        }
        return out;
      });
}

Result<std::vector<adv::CveInfo>> PostgresStore::cves(std::span<const std::string> ids) {
  if (ids.empty()) return std::vector<adv::CveInfo>();
  ArrayText wanted;
  for (const auto& id : ids) wanted.add(id);
  return impl_->in_transaction<pqxx::work>(
      "reading CVE records", [&](pqxx::transaction_base& tx) -> Result<std::vector<adv::CveInfo>> {
        const pqxx::result rows = tx.exec_params(
            "SELECT id, cvss3_score, cvss3_vector, cvss4_score, cvss4_vector, epss,"
            " epss_percentile, kev, kev_date_added, kev_ransomware FROM cves"
            " WHERE id = ANY($1::text[])",
            *wanted.done().text);
        std::map<std::string, adv::CveInfo, std::less<>> found;
        for (const auto& row : rows) {
          adv::CveInfo c;
          c.id = text_of(row[0]);
          c.cvss3_score = real_of(row[1]);
          c.cvss3_vector = text_of(row[2]);
          c.cvss4_score = real_of(row[3]);
          c.cvss4_vector = text_of(row[4]);
          c.epss = real_of(row[5]);
          c.epss_percentile = real_of(row[6]);
          c.kev = bool_of(row[7]);
          c.kev_date_added = text_of(row[8]);
          c.kev_ransomware = bool_of(row[9]);
          found.emplace(c.id, std::move(c));
        }
        // In the order asked for, as SQLite's one lookup per id gives them.
        std::vector<adv::CveInfo> out;
        for (const auto& id : ids) {
          if (auto it = found.find(id); it != found.end()) out.push_back(it->second);
        }
        return out;
      });
}

Result<void> PostgresStore::put_cursor(const FeedCursor& c) {
  if (c.source.empty()) {
    return make_error(Errc::invalid_input, "feed cursor without a source", "source");
  }
  return impl_->in_transaction<pqxx::work>(
      "storing the feed cursor", [&](pqxx::transaction_base& tx) -> Result<void> {
        exec(tx, "pf_put_cursor",
             {text(c.source), text(c.location), text(c.etag), text(c.last_modified),
              integer(c.imported_at), integer(c.records)});
        return {};
      });
}

Result<std::optional<FeedCursor>> PostgresStore::cursor(std::string_view source) {
  return impl_->in_transaction<pqxx::work>(
      "reading the feed cursor",
      [&](pqxx::transaction_base& tx) -> Result<std::optional<FeedCursor>> {
        const pqxx::result r = tx.exec_params(
            "SELECT source, location, etag, last_modified, imported_at, records FROM feed_cursors"
            " WHERE source = $1",
            std::string(source));
        if (r.empty()) return std::optional<FeedCursor>();
        return std::optional<FeedCursor>(FeedCursor{text_of(r[0][0]), text_of(r[0][1]),
                                                    text_of(r[0][2]), text_of(r[0][3]),
                                                    integer_of(r[0][4]), integer_of(r[0][5])});
      });
}

Result<StoreCounts> PostgresStore::counts() {
  return impl_->in_transaction<pqxx::work>(
      "counting", [](pqxx::transaction_base& tx) -> Result<StoreCounts> {
        const pqxx::result r = tx.exec(
            "SELECT (SELECT COUNT(*) FROM advisories), (SELECT COUNT(*) FROM affected),"
            " (SELECT COUNT(*) FROM cves)");
        return StoreCounts{integer_of(r[0][0]), integer_of(r[0][1]), integer_of(r[0][2])};
      });
}

Result<void> PostgresStore::atomically(const std::function<Result<void>()>& work) {
  // An exception thrown by `work` is the caller's: it passes through, after the rollback.
  std::exception_ptr thrown;
  auto r = impl_->in_transaction<pqxx::work>(
      "transaction", [&](pqxx::transaction_base&) -> Result<void> {
        try {
          return work();
        } catch (...) {
          thrown = std::current_exception();
          return make_error(Errc::interrupted, "the work threw", "atomically");
        }
      });
  if (thrown) std::rethrow_exception(thrown);
  return r;
}

}  // namespace pf::store
