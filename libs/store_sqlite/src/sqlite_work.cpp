// SPDX-License-Identifier: Apache-2.0
// SqliteStore's FindingStore and RunStore halves: findings with their history, runs and their
// events (schema: migration 3 in migrations.cpp).
#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "store_impl.hpp"

namespace pf::store {

using sqlite::Db;
using sqlite::Stmt;
using sqlite::Transaction;

namespace {

constexpr std::string_view kFindingColumns =
    "f.host_id, f.advisory_id, f.package, f.arch, f.open, f.severity, f.kev, f.risk_milli,"
    " f.installed_version, f.fixed_version, f.detail, f.first_seen, f.fixed_at";

StoredFinding read_finding(const Stmt& s) {
  StoredFinding f;
  f.host_id = s.text(0);
  f.row.advisory_id = s.text(1);
  f.row.package = s.text(2);
  f.row.arch = s.text(3);
  f.open = s.integer(4) != 0;
  f.row.severity = static_cast<int>(s.integer(5));
  f.row.kev = s.integer(6) != 0;
  f.row.risk_milli = s.integer(7);
  f.row.installed_version = s.text(8);
  f.row.fixed_version = s.text(9);
  f.row.detail = s.text(10);
  f.first_seen = s.integer(11);
  f.fixed_at = s.opt_integer(12);
  return f;
}

constexpr std::string_view kRunColumns =
    "id, host_id, job, envelope, state, created_by, created_at, delivered_at, finished_at,"
    " outcome, events";

Run read_run(const Stmt& s) {
  Run r;
  r.id = s.text(0);
  r.host_id = s.text(1);
  r.job = s.text(2);
  r.envelope = s.text(3);
  r.state = run_state_from(s.text(4)).value_or(RunState::failed);
  r.created_by = s.text(5);
  r.created_at = s.integer(6);
  r.delivered_at = s.opt_integer(7);
  r.finished_at = s.opt_integer(8);
  r.outcome = s.text(9);
  r.events = s.integer(10);
  return r;
}

Unexpected no_host(std::string_view id) {
  return make_error(Errc::not_found, "no host " + std::string(id), std::string(id));
}

Unexpected no_run(std::string_view id) {
  return make_error(Errc::not_found, "no run " + std::string(id), std::string(id));
}

// Rows of a statement with `params` bound as text, `limit` (when > 0) last.
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

}  // namespace

// Findings.

Result<FindingsDelta> SqliteStore::put_findings(std::string_view host_id, std::string_view state,
                                                std::span<const FindingRow> rows,
                                                std::int64_t now) {
  PF_CHECK(validate_finding_rows(rows));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  FindingsDelta delta;
  {
    PF_TRY(s, d.prepare("SELECT findings_state, open_findings FROM hosts WHERE id = ?"));
    s->bind(1, host_id);
    PF_TRY(row, s->step());
    if (!*row) return no_host(host_id);
    if (s->text(0) == state) {
      delta.open = static_cast<std::size_t>(s->integer(1));
      return delta;
    }
  }
  std::map<std::tuple<std::string, std::string, std::string>, bool> stored;  // key → open
  PF_CHECK(each_row(d, "SELECT advisory_id, package, arch, open FROM findings WHERE host_id = ?",
                    {std::string(host_id)}, [&](const Stmt& s) {
                      stored.emplace(std::make_tuple(s.text(0), s.text(1), s.text(2)),
                                     s.integer(3) != 0);
                    }));
  PF_TRY(upsert,
         d.prepare("INSERT INTO findings(host_id, advisory_id, package, arch, open, severity, kev,"
                   " risk_milli, installed_version, fixed_version, detail, first_seen, fixed_at)"
                   " VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL)"
                   " ON CONFLICT(host_id, advisory_id, package, arch) DO UPDATE SET open = 1,"
                   " severity = excluded.severity, kev = excluded.kev,"
                   " risk_milli = excluded.risk_milli,"
                   " installed_version = excluded.installed_version,"
                   " fixed_version = excluded.fixed_version, detail = excluded.detail,"
                   " first_seen = CASE WHEN findings.open = 1 THEN findings.first_seen"
                   " ELSE excluded.first_seen END, fixed_at = NULL"));
  int max_severity = -1;
  for (const auto& r : rows) {
    upsert->bind(1, host_id)
        .bind(2, r.advisory_id)
        .bind(3, r.package)
        .bind(4, r.arch)
        .bind(5, std::int64_t{r.severity})
        .bind(6, std::int64_t{r.kev})
        .bind(7, r.risk_milli)
        .bind(8, r.installed_version)
        .bind(9, r.fixed_version)
        .bind(10, r.detail)
        .bind(11, now);
    PF_CHECK(upsert->run());
    max_severity = std::max(max_severity, r.severity);
    auto it = stored.find(std::make_tuple(r.advisory_id, r.package, r.arch));
    if (it == stored.end() || !it->second) ++delta.opened;
    if (it != stored.end()) it->second = false;  // handled: not to be fixed below
  }
  PF_TRY(fix, d.prepare("UPDATE findings SET open = 0, fixed_at = ? WHERE host_id = ?"
                        " AND advisory_id = ? AND package = ? AND arch = ?"));
  for (const auto& [key, still_open] : stored) {
    if (!still_open) continue;
    fix->bind(1, now)
        .bind(2, host_id)
        .bind(3, std::get<0>(key))
        .bind(4, std::get<1>(key))
        .bind(5, std::get<2>(key));
    PF_CHECK(fix->run());
    ++delta.fixed;
  }
  delta.open = rows.size();
  PF_TRY(host, d.prepare("UPDATE hosts SET findings_state = ?, max_severity = ?,"
                         " open_findings = ? WHERE id = ?"));
  host->bind(1, state)
      .bind(2, std::int64_t{max_severity})
      .bind(3, static_cast<std::int64_t>(rows.size()))
      .bind(4, host_id);
  PF_CHECK(host->run());
  PF_CHECK(tx.commit());
  return delta;
}

Result<std::vector<std::string>> SqliteStore::hosts_with_stale_findings(
    std::string_view generation, std::string_view after_id, int limit) {
  std::vector<std::string> ids;
  PF_CHECK(each_row(impl_->db,
                    "SELECT id FROM hosts WHERE revoked_at IS NULL AND inventory_hash <> ''"
                    " AND findings_state <> inventory_hash || ':' || ? AND id > ?"
                    " ORDER BY id LIMIT " + std::to_string(std::clamp(limit, 1, kMaxPageSize)),
                    {std::string(generation), std::string(after_id)},
                    [&](const Stmt& s) { ids.push_back(s.text(0)); }));
  return ids;
}

Result<FindingPage> SqliteStore::list_findings(const FindingQuery& q) {
  PF_CHECK(validate_finding_query(q));
  std::string sql = "SELECT " + std::string(kFindingColumns) +
                    " FROM findings f JOIN hosts h ON h.id = f.host_id WHERE 1";
  std::vector<std::string> params;
  if (q.status == FindingStatus::open) sql += " AND f.open = 1";
  if (q.status == FindingStatus::fixed) sql += " AND f.open = 0";
  if (q.min_severity) {
    sql += " AND f.severity >= ?";
    params.push_back(std::to_string(*q.min_severity));
  }
  if (q.kev_only) sql += " AND f.kev = 1";
  for (const auto& [field, value] : {std::pair{"f.host_id", &q.host_id},
                                     std::pair{"f.advisory_id", &q.advisory_id},
                                     std::pair{"f.package", &q.package}}) {
    if (value->empty()) continue;
    sql += std::string(" AND ") + field + " = ?";
    params.push_back(*value);
  }
  for (const auto& [key, value] : q.labels) {
    sql += " AND EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = f.host_id AND l.key = ?"
           " AND l.value = ?)";
    params.push_back(key);
    params.push_back(value);
  }
  if (!q.include_revoked) sql += " AND h.revoked_at IS NULL";
  if (!q.cursor.empty()) {
    PF_TRY(c, parse_finding_cursor(q.cursor));
    sql += " AND (f.risk_milli < ? OR (f.risk_milli = ? AND (f.host_id, f.advisory_id, f.package,"
           " f.arch) > (?, ?, ?, ?)))";
    params.push_back(std::to_string(c->risk_milli));
    params.push_back(std::to_string(c->risk_milli));
    params.push_back(c->host_id);
    params.push_back(c->advisory_id);
    params.push_back(c->package);
    params.push_back(c->arch);
  }
  sql += " ORDER BY f.risk_milli DESC, f.host_id, f.advisory_id, f.package, f.arch LIMIT " +
         std::to_string(q.limit + 1);
  FindingPage page;
  {
    // One read transaction: the page is one state of the table.
    PF_CHECK(each_row(impl_->db, sql, params,
                      [&](const Stmt& s) { page.findings.push_back(read_finding(s)); }));
  }
  if (page.findings.size() > static_cast<std::size_t>(q.limit)) {
    page.findings.pop_back();
    page.next_cursor = finding_cursor(page.findings.back());
  }
  return page;
}

Result<std::int64_t> SqliteStore::advisories_generation() {
  std::int64_t value = 0;
  PF_CHECK(each_row(impl_->db,
                    "SELECT value FROM store_meta WHERE key = 'advisories_generation'", {},
                    [&](const Stmt& s) { value = s.integer(0); }));
  return value;
}

// Runs.

Result<void> SqliteStore::create_run(const Run& run, const AuditEntry& audit) {
  PF_CHECK(validate_run(run));
  PF_CHECK(validate_audit_entry(audit));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  {
    PF_TRY(s, d.prepare("SELECT revoked_at IS NOT NULL FROM hosts WHERE id = ?"));
    s->bind(1, run.host_id);
    PF_TRY(row, s->step());
    if (!*row) return no_host(run.host_id);
    if (s->integer(0) != 0) {
      return make_error(Errc::conflict, "host " + run.host_id + " is revoked", run.host_id);
    }
  }
  PF_TRY(ins, d.prepare("INSERT INTO runs(" + std::string(kRunColumns) +
                        ") VALUES (?, ?, ?, ?, 'queued', ?, ?, NULL, NULL, '', 0)"));
  ins->bind(1, run.id)
      .bind(2, run.host_id)
      .bind(3, run.job)
      .bind(4, run.envelope)
      .bind(5, run.created_by)
      .bind(6, run.created_at);
  if (auto ok = ins->run(); !ok) {
    if (ok.error().code == Errc::conflict) {
      return make_error(Errc::conflict, "run id " + run.id + " is taken", "id");
    }
    return ok;
  }
  PF_CHECK(d.exec("UPDATE hosts SET pending_runs = pending_runs + 1 WHERE id = '" +
                  run.host_id + "'"));  // host ids are [A-Za-z0-9_-] (validate_run)
  PF_CHECK(append_audit(audit));
  return tx.commit();
}

Result<std::optional<Run>> SqliteStore::run(std::string_view id) {
  std::optional<Run> out;
  PF_CHECK(each_row(impl_->db, "SELECT " + std::string(kRunColumns) + " FROM runs WHERE id = ?",
                    {std::string(id)}, [&](const Stmt& s) { out = read_run(s); }));
  return out;
}

Result<std::optional<Run>> SqliteStore::next_run(std::string_view host_id, std::int64_t now) {
  Db& d = impl_->db;
  std::optional<Run> out;
  // Nothing to hand out is the common answer: a read without the write lock.
  PF_CHECK(each_row(d,
                    "SELECT " + std::string(kRunColumns) +
                        " FROM runs WHERE host_id = ? AND state IN ('queued', 'delivered',"
                        " 'running') ORDER BY created_at, id LIMIT 1",
                    {std::string(host_id)}, [&](const Stmt& s) { out = read_run(s); }));
  if (!out || out->state != RunState::queued) return out;
  PF_TRY(upd, d.prepare("UPDATE runs SET state = 'delivered', delivered_at = ?"
                        " WHERE id = ? AND state = 'queued'"));
  upd->bind(1, now).bind(2, out->id);
  PF_CHECK(upd->run());
  if (sqlite3_changes(d.handle()) == 1) {
    out->state = RunState::delivered;
    out->delivered_at = now;
  }
  return out;
}

Result<std::size_t> SqliteStore::record_run_events(std::string_view host_id,
                                                   std::string_view run_id,
                                                   std::span<const RunEvent> events) {
  PF_CHECK(validate_run_events(events));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  std::optional<Run> current;
  PF_CHECK(each_row(d, "SELECT " + std::string(kRunColumns) + " FROM runs WHERE id = ?",
                    {std::string(run_id)}, [&](const Stmt& s) { current = read_run(s); }));
  if (!current || current->host_id != host_id) return no_run(run_id);
  if (current->state == RunState::canceled) {
    return make_error(Errc::conflict, "run " + std::string(run_id) + " was canceled",
                      std::string(run_id));
  }
  std::vector<const RunEvent*> ordered;
  for (const auto& e : events) ordered.push_back(&e);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const RunEvent* a, const RunEvent* b) { return a->seq < b->seq; });
  PF_TRY(ins, d.prepare("INSERT OR IGNORE INTO run_events(run_id, event_id, seq, kind, body,"
                        " state, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  RunState state = current->state;
  std::optional<std::int64_t> finished_at = current->finished_at;
  std::string outcome = current->outcome;
  std::size_t added = 0;
  for (const RunEvent* e : ordered) {
    ins->bind(1, run_id).bind(2, e->event_id).bind(3, e->seq).bind(4, e->kind).bind(5, e->body);
    if (e->state) {
      ins->bind(6, to_string(*e->state));
    } else {
      ins->bind_null(6);
    }
    ins->bind(7, e->received_at);
    PF_CHECK(ins->run());
    if (sqlite3_changes(d.handle()) == 0) continue;  // reported before
    ++added;
    if (e->state && !is_final(state)) {
      state = *e->state;
      if (is_final(state)) {
        finished_at = e->received_at;
        outcome = e->body;
      }
    }
  }
  if (current->events + static_cast<std::int64_t>(added) > kMaxRunEvents) {
    return make_error(Errc::invalid_input,
                      "a run holds at most " + std::to_string(kMaxRunEvents) + " events",
                      "events");
  }
  if (added == 0) return std::size_t{0};
  PF_TRY(upd, d.prepare("UPDATE runs SET state = ?, finished_at = ?, outcome = ?,"
                        " events = events + ? WHERE id = ?"));
  upd->bind(1, to_string(state))
      .bind_opt(2, finished_at)
      .bind(3, outcome)
      .bind(4, static_cast<std::int64_t>(added))
      .bind(5, run_id);
  PF_CHECK(upd->run());
  if (is_final(state) && !is_final(current->state)) {
    PF_TRY(host, d.prepare("UPDATE hosts SET pending_runs = pending_runs - 1 WHERE id = ?"
                           " AND pending_runs > 0"));
    host->bind(1, host_id);
    PF_CHECK(host->run());
  }
  PF_CHECK(tx.commit());
  return added;
}

Result<std::vector<RunEvent>> SqliteStore::run_events(std::string_view run_id) {
  std::vector<RunEvent> out;
  PF_CHECK(each_row(impl_->db,
                    "SELECT event_id, seq, kind, body, state, received_at FROM run_events"
                    " WHERE run_id = ? ORDER BY seq, event_id",
                    {std::string(run_id)}, [&](const Stmt& s) {
                      RunEvent e;
                      e.event_id = s.text(0);
                      e.seq = s.integer(1);
                      e.kind = s.text(2);
                      e.body = s.text(3);
                      if (!s.is_null(4)) e.state = run_state_from(s.text(4));
                      e.received_at = s.integer(5);
                      out.push_back(std::move(e));
                    }));
  return out;
}

Result<RunPage> SqliteStore::list_runs(const RunQuery& q) {
  PF_CHECK(validate_run_query(q));
  std::string sql = "SELECT " + std::string(kRunColumns) + " FROM runs WHERE 1";
  std::vector<std::string> params;
  if (!q.host_id.empty()) {
    sql += " AND host_id = ?";
    params.push_back(q.host_id);
  }
  if (q.state) {
    sql += " AND state = ?";
    params.push_back(std::string(to_string(*q.state)));
  }
  if (!q.cursor.empty()) {
    const auto dot = q.cursor.find('.');
    sql += " AND (created_at, id) < (CAST(? AS INTEGER), ?)";
    params.push_back(q.cursor.substr(0, dot));
    params.push_back(q.cursor.substr(dot + 1));
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(q.limit + 1);
  RunPage page;
  PF_CHECK(each_row(impl_->db, sql, params,
                    [&](const Stmt& s) { page.runs.push_back(read_run(s)); }));
  if (page.runs.size() > static_cast<std::size_t>(q.limit)) {
    page.runs.pop_back();
    page.next_cursor = std::to_string(page.runs.back().created_at) + "." + page.runs.back().id;
  }
  return page;
}

Result<void> SqliteStore::cancel_run(std::string_view id, std::int64_t at,
                                     const AuditEntry& audit) {
  PF_CHECK(validate_audit_entry(audit));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  std::optional<Run> current;
  PF_CHECK(each_row(d, "SELECT " + std::string(kRunColumns) + " FROM runs WHERE id = ?",
                    {std::string(id)}, [&](const Stmt& s) { current = read_run(s); }));
  if (!current) return no_run(id);
  if (is_final(current->state)) {
    return make_error(Errc::conflict,
                      "run " + std::string(id) + " is " + std::string(to_string(current->state)),
                      std::string(id));
  }
  PF_TRY(upd, d.prepare("UPDATE runs SET state = 'canceled', finished_at = ? WHERE id = ?"));
  upd->bind(1, at).bind(2, id);
  PF_CHECK(upd->run());
  PF_TRY(host, d.prepare("UPDATE hosts SET pending_runs = pending_runs - 1 WHERE id = ?"
                         " AND pending_runs > 0"));
  host->bind(1, current->host_id);
  PF_CHECK(host->run());
  PF_CHECK(append_audit(audit));
  return tx.commit();
}

Result<std::int64_t> SqliteStore::pending_runs(std::string_view host_id) {
  std::optional<std::int64_t> n;
  PF_CHECK(each_row(impl_->db, "SELECT pending_runs FROM hosts WHERE id = ?",
                    {std::string(host_id)}, [&](const Stmt& s) { n = s.integer(0); }));
  if (!n) return no_host(host_id);
  return *n;
}

}  // namespace pf::store
