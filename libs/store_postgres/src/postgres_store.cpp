// SPDX-License-Identifier: Apache-2.0
#include "patchflow/store_postgres/postgres_store.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <map>
#include <numeric>
#include <pqxx/pqxx>

#include "conninfo.hpp"
#include "migrations.hpp"

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

// A statement parameter: text, or SQL NULL. Passed as text, the server converts it.
struct Param {
  std::optional<std::string> text;
};

Param text(std::string_view s) {
  return Param{std::string(s)};
}
Param integer(std::int64_t v) {
  return Param{std::to_string(v)};
}

// Shortest text that reads back as the same double.
std::string real_text(double v) {
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NULL";
}

// A PostgreSQL array literal, each element quoted ("NULL" for a null element).
class ArrayText {
 public:
  void add(std::string_view element) {
    open();
    out_ += '"';
    for (char c : element) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  void add_null() {
    open();
    out_ += "NULL";
  }
  // NaN is stored as NULL, as SQLite stores it.
  void add_real(std::optional<double> v) {
    if (!v || std::isnan(*v)) return add_null();
    open();
    out_ += real_text(*v);
  }
  void add_bool(bool v) {
    open();
    out_ += v ? "t" : "f";
  }
  [[nodiscard]] Param done() const { return Param{out_ + "}"}; }

 private:
  void open() { out_ += out_.size() == 1 ? "" : ","; }
  std::string out_{"{"};
};

std::int64_t integer_of(const pqxx::field& f) {
  std::int64_t v = 0;
  const char* s = f.c_str();
  std::from_chars(s, s + f.size(), v);
  return v;
}

std::optional<double> real_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  const std::string_view s(f.c_str(), f.size());
  if (s == "Infinity") return HUGE_VAL;
  if (s == "-Infinity") return -HUGE_VAL;
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string text_of(const pqxx::field& f) {
  return std::string(f.c_str(), f.size());
}
bool bool_of(const pqxx::field& f) {
  return f.size() == 1 && f.c_str()[0] == 't';
}

pqxx::result exec(pqxx::transaction_base& tx, const std::string& statement,
                  const std::vector<Param>& params) {
  return tx.exec_prepared(statement, pqxx::prepare::make_dynamic_params(params));
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

// Puts the current transaction pointer back when a (sub)transaction ends.
class CurrentGuard {
 public:
  CurrentGuard(pqxx::dbtransaction*& slot, pqxx::dbtransaction* now) : slot_(slot), saved_(slot) {
    slot_ = now;
  }
  CurrentGuard(const CurrentGuard&) = delete;
  CurrentGuard& operator=(const CurrentGuard&) = delete;
  ~CurrentGuard() { slot_ = saved_; }

 private:
  pqxx::dbtransaction*& slot_;
  pqxx::dbtransaction* saved_;
};

}  // namespace

}  // namespace pf::store

// libpqxx converts each parameter through string_traits: Param is text or NULL.
namespace pqxx {
template <>
struct string_traits<pf::store::Param> {
  static constexpr const char* name() noexcept { return "pf::store::Param"; }
  static constexpr bool has_null() noexcept { return true; }
  static bool is_null(const pf::store::Param& p) { return !p.text.has_value(); }
  static pf::store::Param null() { return {}; }
  static std::string to_string(const pf::store::Param& p) { return p.text.value_or(""); }
};
}  // namespace pqxx

namespace pf::store {

struct PostgresStore::Impl {
  postgres::ConnInfo info;
  std::unique_ptr<pqxx::connection> conn;
  // Declared after conn, so it is unregistered before the connection goes. Server notices
  // (and libpqxx's complaints about a rollback on a dead connection) are not printed.
  std::unique_ptr<pqxx::quiet_errorhandler> quiet;
  // The innermost open (sub)transaction: a store call made inside atomically() nests in it.
  pqxx::dbtransaction* current{nullptr};
  std::map<unsigned, std::string> cve_statements;

  // Turns the exception being handled into an Error. Call only from a catch block.
  Error failure(std::string_view what) const {
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

  static std::string one_line_detail(std::string_view detail) {
    std::string s = postgres::one_line(detail);
    return s.empty() ? "no detail from the server" : s;
  }

  // Runs `body(tx)` in a transaction of its own (of type Top), or in a savepoint of the open
  // one. Commits when the body succeeds; rolls back when it fails or throws.
  template <class Top, class Body>
  auto in_transaction(std::string_view what, Body&& body)
      -> decltype(body(std::declval<pqxx::dbtransaction&>())) {
    try {
      if (current != nullptr) {
        pqxx::subtransaction sub(*current, "pf_nested");
        CurrentGuard guard(current, &sub);
        auto result = body(static_cast<pqxx::dbtransaction&>(sub));
        if (result) sub.commit();
        return result;
      }
      if (!conn || !conn->is_open()) {
        if (auto c = connect(); !c) return Unexpected(std::move(c.error()));
      }
      Top tx(*conn);
      CurrentGuard guard(current, &tx);
      auto result = body(static_cast<pqxx::dbtransaction&>(tx));
      if (result) tx.commit();
      return result;
    } catch (...) {
      return Unexpected(failure(what));
    }
  }

  // A new connection (the first, or after one was lost), with the statements prepared on it.
  // libpqxx's own reconnection is off: it reuses the dead handle (6.4), and leaks on the way.
  Result<void> connect() {
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

  Result<void> prepare() {
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
      return {};
    } catch (...) {
      return Unexpected(failure("preparing statements"));
    }
  }

  // Each migration in its own transaction, under the migration lock; the version is read
  // again under the lock, so a migration another server applied meanwhile is not run twice.
  Result<void> migrate() {
    const auto all = postgres::migrations();
    const int latest = all.back().version;
    for (;;) {
      const postgres::Migration* next = nullptr;
      int found = 0;
      auto step =
          in_transaction<pqxx::work>("migrating", [&](pqxx::dbtransaction& tx) -> Result<void> {
            tx.exec("SET LOCAL client_min_messages = warning");
            tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(postgres::kMigrationLock) +
                    ")");
            tx.exec(std::string(postgres::kSchemaMigrations));
            found = static_cast<int>(integer_of(
                tx.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0]));
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
};

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
      "reading the schema version", [](pqxx::dbtransaction& tx) -> Result<int> {
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
      "storing advisories", [&](pqxx::dbtransaction& tx) -> Result<void> {
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
      "storing CVE records", [&](pqxx::dbtransaction& tx) -> Result<void> {
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
  using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;
  return impl_->in_transaction<Snapshot>(
      "reading advisories", [&](pqxx::dbtransaction& tx) -> Result<std::vector<adv::Advisory>> {
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
      "reading CVE records", [&](pqxx::dbtransaction& tx) -> Result<std::vector<adv::CveInfo>> {
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
      "storing the feed cursor", [&](pqxx::dbtransaction& tx) -> Result<void> {
        exec(tx, "pf_put_cursor",
             {text(c.source), text(c.location), text(c.etag), text(c.last_modified),
              integer(c.imported_at), integer(c.records)});
        return {};
      });
}

Result<std::optional<FeedCursor>> PostgresStore::cursor(std::string_view source) {
  return impl_->in_transaction<pqxx::work>(
      "reading the feed cursor", [&](pqxx::dbtransaction& tx) -> Result<std::optional<FeedCursor>> {
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
      "counting", [](pqxx::dbtransaction& tx) -> Result<StoreCounts> {
        const pqxx::result r = tx.exec(
            "SELECT (SELECT COUNT(*) FROM advisories), (SELECT COUNT(*) FROM affected),"
            " (SELECT COUNT(*) FROM cves)");
        return StoreCounts{integer_of(r[0][0]), integer_of(r[0][1]), integer_of(r[0][2])};
      });
}

Result<void> PostgresStore::atomically(const std::function<Result<void>()>& work) {
  // An exception thrown by `work` is the caller's: it passes through, after the rollback.
  std::exception_ptr thrown;
  auto r =
      impl_->in_transaction<pqxx::work>("transaction", [&](pqxx::dbtransaction&) -> Result<void> {
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
