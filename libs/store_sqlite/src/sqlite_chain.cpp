// SPDX-License-Identifier: Apache-2.0
// SqliteStore's PolicyStore and ChainStore halves, and its Leadership: policy documents with
// their revisions, chain runs with their command outbox, operator events and journal (schema:
// migration 4 in migrations.cpp).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "store_impl.hpp"

namespace pf::store {

using sqlite::Db;
using sqlite::Stmt;
using sqlite::Transaction;

namespace {

// Rows of a statement with `params` bound as text.
template <class Read>
Result<void> each_row(Db& d, const std::string& sql, const std::vector<std::string>& params,
                      Read&& read) {
  PF_TRY(stmt, d.prepare(sql));
  int index = 1;
  for (const auto& p : params) stmt->bind(index++, p);
  for (;;) {
    PF_TRY(row, stmt->step());
    if (!*row) break;
    read(*stmt);
  }
  return {};
}

constexpr std::string_view kPolicyColumns = "kind, name, json, revision, updated_at, updated_by";

PolicyDoc read_policy(const Stmt& s) {
  PolicyDoc d;
  d.kind = s.text(0);
  d.name = s.text(1);
  d.json = s.text(2);
  d.revision = s.integer(3);
  d.updated_at = s.integer(4);
  d.updated_by = s.text(5);
  return d;
}

constexpr std::string_view kChainRunColumns =
    "id, chain, chain_revision, status, active, state, revision, created_by, created_at,"
    " updated_at";

ChainRun read_chain_run(const Stmt& s) {
  ChainRun r;
  r.id = s.text(0);
  r.chain = s.text(1);
  r.chain_revision = s.integer(2);
  r.status = s.text(3);
  r.active = s.integer(4) != 0;
  r.state = s.text(5);
  r.revision = s.integer(6);
  r.created_by = s.text(7);
  r.created_at = s.integer(8);
  r.updated_at = s.integer(9);
  return r;
}

std::string doc_name(std::string_view kind, std::string_view name) {
  return std::string(kind) + "/" + std::string(name);
}

Unexpected no_chain_run(std::string_view id) {
  return make_error(Errc::not_found, "no chain run " + std::string(id), std::string(id));
}

// Whether the run exists (nullopt), else whether it is active.
Result<std::optional<bool>> run_active(Db& d, std::string_view id) {
  std::optional<bool> active;
  PF_CHECK(each_row(d, "SELECT active FROM chain_runs WHERE id = ?", {std::string(id)},
                    [&](const Stmt& s) { active = s.integer(0) != 0; }));
  return active;
}

Result<void> bump_policies_generation(Db& d) {
  return d.exec("UPDATE store_meta SET value = value + 1 WHERE key = 'policies_generation'");
}

}  // namespace

// Policies.

Result<std::vector<std::string>> SqliteStore::apply_policies(std::span<const PolicyPut> puts,
                                                             std::int64_t now) {
  PF_CHECK(validate_policy_puts(puts));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  std::vector<std::string> outcomes;
  outcomes.reserve(puts.size());
  bool changed = false;
  PF_TRY(read, d.prepare("SELECT revision, json FROM policies WHERE kind = ? AND name = ?"));
  PF_TRY(upsert, d.prepare("INSERT INTO policies(" + std::string(kPolicyColumns) +
                           ") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(kind, name) DO UPDATE SET"
                           " json = excluded.json, revision = excluded.revision,"
                           " updated_at = excluded.updated_at, updated_by = excluded.updated_by"));
  for (const auto& put : puts) {
    const PolicyDoc& doc = put.doc;
    std::optional<std::int64_t> stored_revision;
    bool same = false;
    {
      ResetOnExit reset{*read};
      read->bind(1, doc.kind).bind(2, doc.name);
      PF_TRY(row, read->step());
      if (*row) {
        stored_revision = read->integer(0);
        same = read->text(1) == doc.json;
      }
    }
    if (same) {
      outcomes.emplace_back(kPolicyUnchanged);
      continue;
    }
    const std::int64_t current = stored_revision.value_or(0);
    if (current != put.expected_revision) {
      return make_error(
          Errc::conflict,
          doc_name(doc.kind, doc.name) + " is at revision " + std::to_string(current) + ", not " +
              std::to_string(put.expected_revision) + ": it was changed by another apply",
          doc_name(doc.kind, doc.name));
    }
    upsert->bind(1, doc.kind)
        .bind(2, doc.name)
        .bind(3, doc.json)
        .bind(4, current + 1)
        .bind(5, now)
        .bind(6, doc.updated_by);
    PF_CHECK(upsert->run());
    PF_CHECK(append_audit(put.audit));
    outcomes.emplace_back(stored_revision ? kPolicyChanged : kPolicyCreated);
    changed = true;
  }
  if (changed) PF_CHECK(bump_policies_generation(d));
  PF_CHECK(tx.commit());
  return outcomes;
}

Result<std::optional<PolicyDoc>> SqliteStore::policy(std::string_view kind, std::string_view name) {
  std::optional<PolicyDoc> out;
  PF_CHECK(each_row(
      impl_->db,
      "SELECT " + std::string(kPolicyColumns) + " FROM policies WHERE kind = ? AND name = ?",
      {std::string(kind), std::string(name)}, [&](const Stmt& s) { out = read_policy(s); }));
  return out;
}

Result<std::vector<PolicyDoc>> SqliteStore::policies(std::string_view kind) {
  if (!kind.empty() && !is_policy_kind(kind)) {
    return make_error(Errc::invalid_input, "kind must be Baseline, Group, Window or Chain", "kind");
  }
  std::vector<PolicyDoc> out;
  std::string sql = "SELECT " + std::string(kPolicyColumns) + " FROM policies";
  std::vector<std::string> params;
  if (!kind.empty()) {
    sql += " WHERE kind = ?";
    params.emplace_back(kind);
  }
  sql += " ORDER BY kind, name";
  PF_CHECK(each_row(impl_->db, sql, params, [&](const Stmt& s) { out.push_back(read_policy(s)); }));
  return out;
}

Result<void> SqliteStore::delete_policy(std::string_view kind, std::string_view name,
                                        std::int64_t expected_revision, const AuditEntry& audit) {
  PF_CHECK(validate_audit_entry(audit));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  std::optional<std::int64_t> revision;
  PF_CHECK(each_row(d, "SELECT revision FROM policies WHERE kind = ? AND name = ?",
                    {std::string(kind), std::string(name)},
                    [&](const Stmt& s) { revision = s.integer(0); }));
  if (!revision) {
    return make_error(Errc::not_found, "no policy document " + doc_name(kind, name),
                      doc_name(kind, name));
  }
  if (*revision != expected_revision) {
    return make_error(Errc::conflict,
                      doc_name(kind, name) + " is at revision " + std::to_string(*revision) +
                          ", not " + std::to_string(expected_revision),
                      doc_name(kind, name));
  }
  PF_TRY(del, d.prepare("DELETE FROM policies WHERE kind = ? AND name = ?"));
  del->bind(1, kind).bind(2, name);
  PF_CHECK(del->run());
  PF_CHECK(bump_policies_generation(d));
  PF_CHECK(append_audit(audit));
  return tx.commit();
}

Result<std::int64_t> SqliteStore::policies_generation() {
  std::int64_t value = 0;
  PF_CHECK(each_row(impl_->db, "SELECT value FROM store_meta WHERE key = 'policies_generation'", {},
                    [&](const Stmt& s) { value = s.integer(0); }));
  return value;
}

// Chain runs.

Result<void> SqliteStore::create_chain_run(const ChainRun& run, const AuditEntry& audit) {
  PF_CHECK(validate_chain_run(run));
  PF_CHECK(validate_audit_entry(audit));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  PF_TRY(ins, d.prepare("INSERT INTO chain_runs(" + std::string(kChainRunColumns) +
                        ") VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"));
  ins->bind(1, run.id)
      .bind(2, run.chain)
      .bind(3, run.chain_revision)
      .bind(4, run.status)
      .bind(5, std::int64_t{run.active})
      .bind(6, run.state)
      .bind(7, run.created_by)
      .bind(8, run.created_at)
      .bind(9, run.created_at);
  if (auto ok = ins->run(); !ok) {
    if (ok.error().code == Errc::conflict) {
      return make_error(Errc::conflict, "chain run id " + run.id + " is taken", "id");
    }
    return ok;
  }
  PF_CHECK(append_audit(audit));
  return tx.commit();
}

Result<std::optional<ChainRun>> SqliteStore::chain_run(std::string_view id) {
  std::optional<ChainRun> out;
  PF_CHECK(each_row(impl_->db,
                    "SELECT " + std::string(kChainRunColumns) + " FROM chain_runs WHERE id = ?",
                    {std::string(id)}, [&](const Stmt& s) { out = read_chain_run(s); }));
  return out;
}

Result<std::vector<ChainRun>> SqliteStore::chain_runs(bool active_only, int limit) {
  PF_CHECK(validate_chain_limit(limit));
  std::vector<ChainRun> out;
  PF_CHECK(each_row(impl_->db,
                    "SELECT " + std::string(kChainRunColumns) + " FROM chain_runs" +
                        (active_only ? " WHERE active = 1" : "") +
                        " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(limit),
                    {}, [&](const Stmt& s) { out.push_back(read_chain_run(s)); }));
  return out;
}

Result<std::int64_t> SqliteStore::commit_decision(
    std::string_view run_id, std::int64_t expected_revision, std::string_view state,
    std::string_view status, bool active, std::span<const std::string> commands,
    std::span<const std::int64_t> consumed_events, std::int64_t now) {
  PF_CHECK(validate_chain_decision(run_id, state, status, commands, consumed_events));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  std::optional<std::pair<std::int64_t, bool>> current;  // revision, active
  PF_CHECK(each_row(d, "SELECT revision, active FROM chain_runs WHERE id = ?",
                    {std::string(run_id)},
                    [&](const Stmt& s) { current.emplace(s.integer(0), s.integer(1) != 0); }));
  if (!current) return no_chain_run(run_id);
  if (current->first != expected_revision) {
    return make_error(Errc::conflict,
                      "chain run " + std::string(run_id) + " is at revision " +
                          std::to_string(current->first) + ", not " +
                          std::to_string(expected_revision) + ": another decision was committed",
                      std::string(run_id));
  }
  if (!current->second) {
    return make_error(Errc::conflict, "chain run " + std::string(run_id) + " is finished",
                      std::string(run_id));
  }
  const std::int64_t revision = expected_revision + 1;
  PF_TRY(upd, d.prepare("UPDATE chain_runs SET state = ?, status = ?, active = ?, revision = ?,"
                        " updated_at = ? WHERE id = ?"));
  upd->bind(1, state)
      .bind(2, status)
      .bind(3, std::int64_t{active})
      .bind(4, revision)
      .bind(5, now)
      .bind(6, run_id);
  PF_CHECK(upd->run());
  if (!commands.empty()) {
    PF_TRY(ins, d.prepare("INSERT INTO chain_commands(run_id, json, done, created_at)"
                          " VALUES (?, ?, 0, ?)"));
    for (const auto& c : commands) {
      ins->bind(1, run_id).bind(2, c).bind(3, now);
      PF_CHECK(ins->run());
    }
  }
  if (!consumed_events.empty()) {
    PF_TRY(consume, d.prepare("UPDATE chain_events SET consumed_at = ? WHERE seq = ?"
                              " AND run_id = ? AND consumed_at IS NULL"));
    for (const std::int64_t seq : consumed_events) {
      consume->bind(1, now).bind(2, seq).bind(3, run_id);
      PF_CHECK(consume->run());
      if (sqlite3_changes(d.handle()) != 1) {
        return make_error(Errc::conflict,
                          "event " + std::to_string(seq) + " is not a pending event of chain run " +
                              std::string(run_id),
                          "events");
      }
    }
  }
  PF_CHECK(tx.commit());
  return revision;
}

Result<std::vector<ChainCommand>> SqliteStore::pending_commands(std::string_view run_id) {
  std::vector<ChainCommand> out;
  std::string sql = "SELECT seq, run_id, json FROM chain_commands WHERE done = 0";
  std::vector<std::string> params;
  if (!run_id.empty()) {
    sql += " AND run_id = ?";
    params.emplace_back(run_id);
  }
  sql += " ORDER BY seq";
  PF_CHECK(each_row(impl_->db, sql, params, [&](const Stmt& s) {
    out.push_back(ChainCommand{s.integer(0), s.text(1), s.text(2), false});
  }));
  return out;
}

Result<void> SqliteStore::mark_command_done(std::int64_t seq, std::int64_t now) {
  Db& d = impl_->db;
  PF_TRY(upd, d.prepare("UPDATE chain_commands SET done = 1, done_at = ? WHERE seq = ?"
                        " AND done = 0"));
  upd->bind(1, now).bind(2, seq);
  PF_CHECK(upd->run());
  if (sqlite3_changes(d.handle()) == 1) return {};
  bool exists = false;
  PF_CHECK(each_row(d, "SELECT 1 FROM chain_commands WHERE seq = ?", {std::to_string(seq)},
                    [&](const Stmt&) { exists = true; }));
  if (!exists) {
    return make_error(Errc::not_found, "no chain command " + std::to_string(seq), "seq");
  }
  return {};
}

Result<std::int64_t> SqliteStore::add_chain_event(const ChainEvent& event,
                                                  const AuditEntry& audit) {
  PF_CHECK(validate_chain_event(event));
  PF_CHECK(validate_audit_entry(audit));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  PF_TRY(active, run_active(d, event.run_id));
  if (!*active) return no_chain_run(event.run_id);
  if (!**active) {
    return make_error(Errc::conflict, "chain run " + event.run_id + " is finished", event.run_id);
  }
  PF_TRY(ins, d.prepare("INSERT INTO chain_events(run_id, json, actor, at, consumed_at)"
                        " VALUES (?, ?, ?, ?, NULL)"));
  ins->bind(1, event.run_id).bind(2, event.json).bind(3, event.by).bind(4, event.at);
  PF_CHECK(ins->run());
  const std::int64_t seq = sqlite3_last_insert_rowid(d.handle());
  PF_CHECK(append_audit(audit));
  PF_CHECK(tx.commit());
  return seq;
}

Result<std::vector<ChainEvent>> SqliteStore::pending_chain_events(std::string_view run_id) {
  std::vector<ChainEvent> out;
  PF_CHECK(each_row(
      impl_->db,
      "SELECT seq, run_id, json, actor, at FROM chain_events WHERE run_id = ?"
      " AND consumed_at IS NULL ORDER BY seq",
      {std::string(run_id)}, [&](const Stmt& s) {
        out.push_back(ChainEvent{s.integer(0), s.text(1), s.text(2), s.text(3), s.integer(4)});
      }));
  return out;
}

Result<void> SqliteStore::append_chain_log(std::string_view run_id, std::int64_t at,
                                           std::string_view line) {
  PF_CHECK(validate_chain_log_line(run_id, line));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  PF_TRY(active, run_active(d, run_id));
  if (!*active) return no_chain_run(run_id);
  PF_TRY(ins, d.prepare("INSERT INTO chain_log(run_id, at, line) VALUES (?, ?, ?)"));
  ins->bind(1, run_id).bind(2, at).bind(3, line);
  PF_CHECK(ins->run());
  return tx.commit();
}

Result<std::vector<ChainLogLine>> SqliteStore::chain_log(std::string_view run_id,
                                                         std::int64_t after_seq, int limit) {
  PF_CHECK(validate_chain_limit(limit));
  std::vector<ChainLogLine> out;
  PF_TRY(s, impl_->db.prepare("SELECT seq, at, line FROM chain_log WHERE run_id = ? AND seq > ?"
                              " ORDER BY seq LIMIT ?"));
  s->bind(1, run_id).bind(2, after_seq).bind(3, std::int64_t{limit});
  for (;;) {
    PF_TRY(row, s->step());
    if (!*row) break;
    out.push_back(ChainLogLine{s->integer(0), s->integer(1), s->text(2)});
  }
  return out;
}

// Leadership.

namespace {

// One server per database file leads: an exclusive flock(2) on "<db>.leader". flock locks
// belong to the open file description, so two objects in one process exclude each other too,
// and the kernel drops the lock when the process dies.
class SqliteLeadership final : public Leadership {
 public:
  explicit SqliteLeadership(std::string path) : path_(std::move(path)) {}
  ~SqliteLeadership() override {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

  Result<bool> try_lead() override {
    if (path_.empty()) return true;  // ":memory:": a private database
    if (held_) return true;
    if (fd_ < 0) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd_ < 0) {
        const int err = errno;
        return make_error(Errc::io,
                          "cannot open the leader lock file: " + std::string(std::strerror(err)),
                          path_);
      }
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      held_ = true;
      return true;
    }
    const int err = errno;
    if (err == EWOULDBLOCK || err == EINTR) return false;
    return make_error(
        Errc::io, "cannot lock the leader lock file: " + std::string(std::strerror(err)), path_);
  }

 private:
  std::string path_;
  int fd_{-1};
  bool held_{false};
};

}  // namespace

Result<std::unique_ptr<Leadership>> SqliteStore::open_leadership(
    const std::filesystem::path& path) {
  if (path.empty()) {
    return make_error(Errc::invalid_input, "no database path", "database");
  }
  if (path == ":memory:") return std::unique_ptr<Leadership>(new SqliteLeadership(""));
  return std::unique_ptr<Leadership>(new SqliteLeadership(path.string() + ".leader"));
}

}  // namespace pf::store
