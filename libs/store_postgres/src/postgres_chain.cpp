// SPDX-License-Identifier: Apache-2.0
// PostgresStore's PolicyStore and ChainStore halves, and its Leadership (schema: migration 4 in
// migrations.cpp). The same contract as sqlite_chain.cpp.
#include <libpq-fe.h>

#include <algorithm>
#include <utility>

#include "store_impl.hpp"

#define PF_CHECK(expr)                                                             \
  do {                                                                             \
    auto pf_check_result_ = (expr);                                                \
    if (!pf_check_result_) return Unexpected(std::move(pf_check_result_.error())); \
  } while (false)

namespace pf::store {

using Tx = pqxx::transaction_base;

namespace {

constexpr std::string_view kPolicyColumns = "kind, name, json, revision, updated_at, updated_by";

PolicyDoc read_policy(const pqxx::row& r) {
  PolicyDoc d;
  d.kind = text_of(r[0]);
  d.name = text_of(r[1]);
  d.json = text_of(r[2]);
  d.revision = integer_of(r[3]);
  d.updated_at = integer_of(r[4]);
  d.updated_by = text_of(r[5]);
  return d;
}

constexpr std::string_view kChainRunColumns =
    "id, chain, chain_revision, status, active, state, revision, created_by, created_at,"
    " updated_at";

ChainRun read_chain_run(const pqxx::row& r) {
  ChainRun run;
  run.id = text_of(r[0]);
  run.chain = text_of(r[1]);
  run.chain_revision = integer_of(r[2]);
  run.status = text_of(r[3]);
  run.active = bool_of(r[4]);
  run.state = text_of(r[5]);
  run.revision = integer_of(r[6]);
  run.created_by = text_of(r[7]);
  run.created_at = integer_of(r[8]);
  run.updated_at = integer_of(r[9]);
  return run;
}

std::string doc_name(std::string_view kind, std::string_view name) {
  return std::string(kind) + "/" + std::string(name);
}

Unexpected no_chain_run(std::string_view id) {
  return make_error(Errc::not_found, "no chain run " + std::string(id), std::string(id));
}

void bump_policies_generation(Tx& tx) {
  tx.exec0("UPDATE store_meta SET value = value + 1 WHERE key = 'policies_generation'");
}

}  // namespace

// Policies.

Result<std::vector<std::string>> PostgresStore::apply_policies(std::span<const PolicyPut> puts,
                                                               std::int64_t now) {
  PF_CHECK(validate_policy_puts(puts));
  return impl_->in_transaction<pqxx::work>(
      "applying policy documents", [&](Tx& tx) -> Result<std::vector<std::string>> {
        // Audited writes take it first (postgres_fleet.cpp): applies are serialised, so the
        // revisions read below are the latest committed ones.
        exec(tx, "pf_audit_lock", {});
        std::vector<std::string> outcomes;
        outcomes.reserve(puts.size());
        bool changed = false;
        for (const auto& put : puts) {
          const PolicyDoc& doc = put.doc;
          const pqxx::result r = exec_sql(tx,
                                          "SELECT revision, json = $3 FROM policies"
                                          " WHERE kind = $1 AND name = $2 FOR UPDATE",
                                          {text(doc.kind), text(doc.name), text(doc.json)});
          if (!r.empty() && bool_of(r[0][1])) {
            outcomes.emplace_back(kPolicyUnchanged);
            continue;
          }
          const std::int64_t current = r.empty() ? 0 : integer_of(r[0][0]);
          if (current != put.expected_revision) {
            return make_error(Errc::conflict,
                              doc_name(doc.kind, doc.name) + " is at revision " +
                                  std::to_string(current) + ", not " +
                                  std::to_string(put.expected_revision) +
                                  ": it was changed by another apply",
                              doc_name(doc.kind, doc.name));
          }
          exec_sql(tx,
                   "INSERT INTO policies(" + std::string(kPolicyColumns) +
                       ") VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6)"
                       " ON CONFLICT (kind, name) DO UPDATE SET json = excluded.json,"
                       " revision = excluded.revision, updated_at = excluded.updated_at,"
                       " updated_by = excluded.updated_by",
                   {text(doc.kind), text(doc.name), text(doc.json), integer(current + 1),
                    integer(now), text(doc.updated_by)});
          auto head = append_audit(put.audit);
          if (!head) return Unexpected(std::move(head.error()));
          outcomes.emplace_back(r.empty() ? kPolicyCreated : kPolicyChanged);
          changed = true;
        }
        if (changed) bump_policies_generation(tx);
        return outcomes;
      });
}

Result<std::optional<PolicyDoc>> PostgresStore::policy(std::string_view kind,
                                                       std::string_view name) {
  if (!storable(kind) || !storable(name)) return std::optional<PolicyDoc>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading a policy document", [&](Tx& tx) -> Result<std::optional<PolicyDoc>> {
        const pqxx::result r = exec_sql(tx,
                                        "SELECT " + std::string(kPolicyColumns) +
                                            " FROM policies WHERE kind = $1 AND name = $2",
                                        {text(kind), text(name)});
        if (r.empty()) return std::optional<PolicyDoc>();
        return std::optional<PolicyDoc>(read_policy(r[0]));
      });
}

Result<std::vector<PolicyDoc>> PostgresStore::policies(std::string_view kind) {
  if (!kind.empty() && !is_policy_kind(kind)) {
    return make_error(Errc::invalid_input, "kind must be Baseline, Group, Window or Chain", "kind");
  }
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing policy documents", [&](Tx& tx) -> Result<std::vector<PolicyDoc>> {
        const pqxx::result r = exec_sql(tx,
                                        "SELECT " + std::string(kPolicyColumns) +
                                            " FROM policies WHERE $1 = '' OR kind = $1"
                                            " ORDER BY kind, name",
                                        {text(kind)});
        std::vector<PolicyDoc> out;
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(read_policy(row));
        return out;
      });
}

Result<void> PostgresStore::delete_policy(std::string_view kind, std::string_view name,
                                          std::int64_t expected_revision, const AuditEntry& audit) {
  PF_CHECK(validate_audit_entry(audit));
  if (!storable(kind) || !storable(name)) {
    return make_error(Errc::not_found, "no policy document " + doc_name(kind, name),
                      doc_name(kind, name));
  }
  return impl_->in_transaction<
      pqxx::work>("deleting a policy document", [&](Tx& tx) -> Result<void> {
    exec(tx, "pf_audit_lock", {});
    const pqxx::result r =
        exec_sql(tx, "SELECT revision FROM policies WHERE kind = $1 AND name = $2 FOR UPDATE",
                 {text(kind), text(name)});
    if (r.empty()) {
      return make_error(Errc::not_found, "no policy document " + doc_name(kind, name),
                        doc_name(kind, name));
    }
    const std::int64_t revision = integer_of(r[0][0]);
    if (revision != expected_revision) {
      return make_error(Errc::conflict,
                        doc_name(kind, name) + " is at revision " + std::to_string(revision) +
                            ", not " + std::to_string(expected_revision),
                        doc_name(kind, name));
    }
    exec_sql(tx, "DELETE FROM policies WHERE kind = $1 AND name = $2", {text(kind), text(name)});
    bump_policies_generation(tx);
    auto head = append_audit(audit);
    if (!head) return Unexpected(std::move(head.error()));
    return {};
  });
}

Result<std::int64_t> PostgresStore::policies_generation() {
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading the policies' generation", [&](Tx& tx) -> Result<std::int64_t> {
        const pqxx::result r =
            tx.exec("SELECT value FROM store_meta WHERE key = 'policies_generation'");
        return r.empty() ? std::int64_t{0} : integer_of(r[0][0]);
      });
}

// Chain runs.

Result<void> PostgresStore::create_chain_run(const ChainRun& run, const AuditEntry& audit) {
  PF_CHECK(validate_chain_run(run));
  PF_CHECK(validate_audit_entry(audit));
  return impl_->in_transaction<pqxx::work>("creating a chain run", [&](Tx& tx) -> Result<void> {
    exec(tx, "pf_audit_lock", {});
    const pqxx::result ins = exec_sql(
        tx,
        "INSERT INTO chain_runs(" + std::string(kChainRunColumns) +
            ") VALUES ($1, $2, $3::bigint, $4, $5::boolean, $6, 1, $7, $8::bigint, $8::bigint)"
            " ON CONFLICT (id) DO NOTHING RETURNING id",
        {text(run.id), text(run.chain), integer(run.chain_revision), text(run.status),
         boolean(run.active), text(run.state), text(run.created_by), integer(run.created_at)});
    if (ins.empty())
      return make_error(Errc::conflict, "chain run id " + run.id + " is taken", "id");
    auto head = append_audit(audit);
    if (!head) return Unexpected(std::move(head.error()));
    return {};
  });
}

Result<std::optional<ChainRun>> PostgresStore::chain_run(std::string_view id) {
  if (!is_chain_id(id)) return std::optional<ChainRun>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading a chain run", [&](Tx& tx) -> Result<std::optional<ChainRun>> {
        const pqxx::result r = exec_sql(
            tx, "SELECT " + std::string(kChainRunColumns) + " FROM chain_runs WHERE id = $1",
            {text(id)});
        if (r.empty()) return std::optional<ChainRun>();
        return std::optional<ChainRun>(read_chain_run(r[0]));
      });
}

Result<std::vector<ChainRun>> PostgresStore::chain_runs(bool active_only, int limit) {
  PF_CHECK(validate_chain_limit(limit));
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing chain runs", [&](Tx& tx) -> Result<std::vector<ChainRun>> {
        const pqxx::result r =
            exec_sql(tx,
                     "SELECT " + std::string(kChainRunColumns) + " FROM chain_runs" +
                         (active_only ? " WHERE active" : "") +
                         " ORDER BY created_at DESC, id DESC LIMIT $1::bigint",
                     {integer(limit)});
        std::vector<ChainRun> out;
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(read_chain_run(row));
        return out;
      });
}

Result<std::int64_t> PostgresStore::commit_decision(
    std::string_view run_id, std::int64_t expected_revision, std::string_view state,
    std::string_view status, bool active, std::span<const std::string> commands,
    std::span<const std::int64_t> consumed_events, std::int64_t now) {
  PF_CHECK(validate_chain_decision(run_id, state, status, commands, consumed_events));
  return impl_->in_transaction<pqxx::work>(
      "committing a chain decision", [&](Tx& tx) -> Result<std::int64_t> {
        // The run's row lock orders decisions, and the commands' seqs with them.
        const pqxx::result r = exec_sql(
            tx, "SELECT revision, active FROM chain_runs WHERE id = $1 FOR UPDATE", {text(run_id)});
        if (r.empty()) return no_chain_run(run_id);
        const std::int64_t current = integer_of(r[0][0]);
        if (current != expected_revision) {
          return make_error(
              Errc::conflict,
              "chain run " + std::string(run_id) + " is at revision " + std::to_string(current) +
                  ", not " + std::to_string(expected_revision) + ": another decision was committed",
              std::string(run_id));
        }
        if (!bool_of(r[0][1])) {
          return make_error(Errc::conflict, "chain run " + std::string(run_id) + " is finished",
                            std::string(run_id));
        }
        const std::int64_t revision = expected_revision + 1;
        exec_sql(tx,
                 "UPDATE chain_runs SET state = $1, status = $2, active = $3::boolean,"
                 " revision = $4::bigint, updated_at = $5::bigint WHERE id = $6",
                 {text(state), text(status), boolean(active), integer(revision), integer(now),
                  text(run_id)});
        if (!commands.empty()) {
          ArrayText json;
          for (const auto& c : commands) json.add(c);
          exec_sql(tx,
                   "INSERT INTO chain_commands(run_id, json, done, created_at)"
                   " SELECT $1, c, false, $3::bigint FROM unnest($2::text[]) WITH ORDINALITY"
                   " AS t(c, n) ORDER BY n",
                   {text(run_id), json.done(), integer(now)});
        }
        if (!consumed_events.empty()) {
          ArrayText seqs;
          for (const std::int64_t seq : consumed_events) seqs.add_integer(seq);
          const pqxx::result consumed =
              exec_sql(tx,
                       "UPDATE chain_events SET consumed_at = $1::bigint WHERE run_id = $2"
                       " AND consumed_at IS NULL AND seq = ANY($3::bigint[]) RETURNING seq",
                       {integer(now), text(run_id), seqs.done()});
          if (consumed.size() != consumed_events.size()) {
            std::vector<std::int64_t> done;
            for (const auto& row : consumed) done.push_back(integer_of(row[0]));
            std::int64_t missing = 0;
            for (const std::int64_t seq : consumed_events) {
              if (std::find(done.begin(), done.end(), seq) == done.end()) {
                missing = seq;
                break;
              }
            }
            return make_error(Errc::conflict,
                              "event " + std::to_string(missing) +
                                  " is not a pending event of chain run " + std::string(run_id),
                              "events");
          }
        }
        return revision;
      });
}

Result<std::vector<ChainCommand>> PostgresStore::pending_commands(std::string_view run_id) {
  if (!run_id.empty() && !is_chain_id(run_id)) return std::vector<ChainCommand>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading pending chain commands", [&](Tx& tx) -> Result<std::vector<ChainCommand>> {
        const pqxx::result r = exec_sql(tx,
                                        "SELECT seq, run_id, json FROM chain_commands"
                                        " WHERE NOT done AND ($1 = '' OR run_id = $1)"
                                        " ORDER BY seq",
                                        {text(run_id)});
        std::vector<ChainCommand> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          out.push_back(ChainCommand{integer_of(row[0]), text_of(row[1]), text_of(row[2]), false});
        }
        return out;
      });
}

Result<void> PostgresStore::mark_command_done(std::int64_t seq, std::int64_t now) {
  return impl_->in_transaction<pqxx::nontransaction>(
      "marking a chain command done", [&](Tx& tx) -> Result<void> {
        const pqxx::result r = exec_sql(tx,
                                        "UPDATE chain_commands SET done = true,"
                                        " done_at = $1::bigint WHERE seq = $2::bigint"
                                        " AND NOT done RETURNING seq",
                                        {integer(now), integer(seq)});
        if (!r.empty()) return {};
        const pqxx::result e =
            exec_sql(tx, "SELECT 1 FROM chain_commands WHERE seq = $1::bigint", {integer(seq)});
        if (e.empty()) {
          return make_error(Errc::not_found, "no chain command " + std::to_string(seq), "seq");
        }
        return {};
      });
}

Result<std::int64_t> PostgresStore::add_chain_event(const ChainEvent& event,
                                                    const AuditEntry& audit) {
  PF_CHECK(validate_chain_event(event));
  PF_CHECK(validate_audit_entry(audit));
  return impl_->in_transaction<pqxx::work>(
      "adding a chain event", [&](Tx& tx) -> Result<std::int64_t> {
        exec(tx, "pf_audit_lock", {});
        const pqxx::result r = exec_sql(tx, "SELECT active FROM chain_runs WHERE id = $1 FOR SHARE",
                                        {text(event.run_id)});
        if (r.empty()) return no_chain_run(event.run_id);
        if (!bool_of(r[0][0])) {
          return make_error(Errc::conflict, "chain run " + event.run_id + " is finished",
                            event.run_id);
        }
        const pqxx::result ins =
            exec_sql(tx,
                     "INSERT INTO chain_events(run_id, json, actor, at, consumed_at)"
                     " VALUES ($1, $2, $3, $4::bigint, NULL) RETURNING seq",
                     {text(event.run_id), text(event.json), text(event.by), integer(event.at)});
        auto head = append_audit(audit);
        if (!head) return Unexpected(std::move(head.error()));
        return integer_of(ins[0][0]);
      });
}

Result<std::vector<ChainEvent>> PostgresStore::pending_chain_events(std::string_view run_id) {
  if (!is_chain_id(run_id)) return std::vector<ChainEvent>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading pending chain events", [&](Tx& tx) -> Result<std::vector<ChainEvent>> {
        const pqxx::result r = exec_sql(tx,
                                        "SELECT seq, run_id, json, actor, at FROM chain_events"
                                        " WHERE run_id = $1 AND consumed_at IS NULL ORDER BY seq",
                                        {text(run_id)});
        std::vector<ChainEvent> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          out.push_back(ChainEvent{integer_of(row[0]), text_of(row[1]), text_of(row[2]),
                                   text_of(row[3]), integer_of(row[4])});
        }
        return out;
      });
}

Result<void> PostgresStore::append_chain_log(std::string_view run_id, std::int64_t at,
                                             std::string_view line) {
  PF_CHECK(validate_chain_log_line(run_id, line));
  return impl_->in_transaction<pqxx::work>(
      "appending to a chain run's journal", [&](Tx& tx) -> Result<void> {
        // The run's row lock makes the lines' seqs follow their commit order within the run,
        // so that a reader paging with after_seq misses none.
        const pqxx::result r =
            exec_sql(tx, "SELECT 1 FROM chain_runs WHERE id = $1 FOR UPDATE", {text(run_id)});
        if (r.empty()) return no_chain_run(run_id);
        exec_sql(tx, "INSERT INTO chain_log(run_id, at, line) VALUES ($1, $2::bigint, $3)",
                 {text(run_id), integer(at), text(line)});
        return {};
      });
}

Result<std::vector<ChainLogLine>> PostgresStore::chain_log(std::string_view run_id,
                                                           std::int64_t after_seq, int limit) {
  PF_CHECK(validate_chain_limit(limit));
  if (!is_chain_id(run_id)) return std::vector<ChainLogLine>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading a chain run's journal", [&](Tx& tx) -> Result<std::vector<ChainLogLine>> {
        const pqxx::result r = exec_sql(tx,
                                        "SELECT seq, at, line FROM chain_log WHERE run_id = $1"
                                        " AND seq > $2::bigint ORDER BY seq LIMIT $3::bigint",
                                        {text(run_id), integer(after_seq), integer(limit)});
        std::vector<ChainLogLine> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          out.push_back(ChainLogLine{integer_of(row[0]), integer_of(row[1]), text_of(row[2])});
        }
        return out;
      });
}

// Leadership.

namespace {

/// The session advisory lock of the orchestrator's leader: "pflead".
constexpr long long kLeaderLock = 0x7066'6c65'6164;

struct PgConnDeleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// A connection of its own (libpq directly: it runs a handful of statements, no transactions).
class PostgresLeadership final : public Leadership {
 public:
  explicit PostgresLeadership(postgres::ConnInfo info) : info_(std::move(info)) {}

  ~PostgresLeadership() override {
    // The backend ends its session (and frees the lock) a moment after the connection
    // closes; unlocking first lets another server lead at its very next try.
    if (conn_ && held_ && PQstatus(conn_.get()) == CONNECTION_OK) {
      PgResult(PQexec(conn_.get(), "SELECT pg_advisory_unlock_all()"));
    }
  }

  Result<bool> try_lead() override {
    if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK && held_) {
      // Confirms the session still holds the lock (a round trip: a terminated session or a
      // dead network shows here).
      auto held = query_bool(
          "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
          " AND pid = pg_backend_pid() AND classid = " +
          std::to_string(kLeaderLock >> 32) +
          " AND objid = " + std::to_string(kLeaderLock & 0xffffffffLL) + " AND objsubid = 1)");
      if (held && *held) return true;
      held_ = false;
      if (!held) conn_.reset();  // lost: connect again below, and lead only if the lock is free
    }
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      held_ = false;
      if (auto c = connect(); !c) return Unexpected(std::move(c.error()));
    }
    auto got = query_bool("SELECT pg_try_advisory_lock(" + std::to_string(kLeaderLock) + ")");
    if (!got) {
      conn_.reset();
      return Unexpected(std::move(got.error()));
    }
    held_ = *got;
    return held_;
  }

 private:
  Error error(std::string message) const {
    return Error{Errc::io, postgres::scrub(std::move(message), info_.secrets), info_.location};
  }

  Result<void> connect() {
    // Keepalives on both ends: the server notices a leader that vanished (and frees its lock)
    // within about 30 s, and this side notices a dead server as fast. Settings in the
    // connection string, which is expanded after these, win.
    const char* keys[] = {"keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "dbname",
                          nullptr};
    const char* values[] = {"1", "5", "5", "3", "20000", info_.conninfo.c_str(), nullptr};
    conn_.reset(PQconnectdbParams(keys, values, 1));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      std::string detail =
          conn_ ? postgres::one_line(PQerrorMessage(conn_.get())) : "out of memory";
      conn_.reset();
      return Unexpected(error("cannot connect to PostgreSQL at " + info_.host_port +
                              " for the leadership: " + detail));
    }
    PgResult r(PQexec(conn_.get(),
                      "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 5;"
                      " SET tcp_keepalives_count = 3; SET tcp_user_timeout = 20000"));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      std::string detail = postgres::one_line(PQerrorMessage(conn_.get()));
      conn_.reset();
      return Unexpected(error("setting up the leadership connection to PostgreSQL at " +
                              info_.host_port + ": " + detail));
    }
    return {};
  }

  Result<bool> query_bool(const std::string& sql) {
    PgResult r(PQexec(conn_.get(), sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
      return Unexpected(error("the leadership connection to PostgreSQL at " + info_.host_port +
                              " failed: " + postgres::one_line(PQerrorMessage(conn_.get()))));
    }
    return std::string_view(PQgetvalue(r.get(), 0, 0)) == "t";
  }

  postgres::ConnInfo info_;
  PgConn conn_;
  bool held_{false};
};

}  // namespace

Result<std::unique_ptr<Leadership>> PostgresStore::open_leadership(std::string_view conninfo) {
  auto info = postgres::parse_conninfo(conninfo);
  if (!info) return Unexpected(std::move(info.error()));
  return std::unique_ptr<Leadership>(new PostgresLeadership(std::move(*info)));
}

}  // namespace pf::store
