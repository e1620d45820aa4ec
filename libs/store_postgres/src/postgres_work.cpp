// SPDX-License-Identifier: Apache-2.0
// PostgresStore's FindingStore and RunStore halves: findings with their history, runs and
// their events (schema: migration 3 in migrations.cpp). The same contract as sqlite_work.cpp.
#include <algorithm>
#include <map>
#include <tuple>
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

constexpr std::string_view kFindingColumns =
    "f.host_id, f.advisory_id, f.package, f.arch, f.open, f.severity, f.kev, f.risk_milli,"
    " f.installed_version, f.fixed_version, f.detail, f.first_seen, f.fixed_at";

StoredFinding read_finding(const pqxx::row& r) {
  StoredFinding f;
  f.host_id = text_of(r[0]);
  f.row.advisory_id = text_of(r[1]);
  f.row.package = text_of(r[2]);
  f.row.arch = text_of(r[3]);
  f.open = bool_of(r[4]);
  f.row.severity = static_cast<int>(integer_of(r[5]));
  f.row.kev = bool_of(r[6]);
  f.row.risk_milli = integer_of(r[7]);
  f.row.installed_version = text_of(r[8]);
  f.row.fixed_version = text_of(r[9]);
  f.row.detail = text_of(r[10]);
  f.first_seen = integer_of(r[11]);
  f.fixed_at = opt_integer_of(r[12]);
  return f;
}

constexpr std::string_view kRunColumns =
    "id, host_id, job, envelope, state, created_by, created_at, delivered_at, finished_at,"
    " outcome, events";

Run read_run(const pqxx::row& r) {
  Run run;
  run.id = text_of(r[0]);
  run.host_id = text_of(r[1]);
  run.job = text_of(r[2]);
  run.envelope = text_of(r[3]);
  run.state = run_state_from(text_of(r[4])).value_or(RunState::failed);
  run.created_by = text_of(r[5]);
  run.created_at = integer_of(r[6]);
  run.delivered_at = opt_integer_of(r[7]);
  run.finished_at = opt_integer_of(r[8]);
  run.outcome = text_of(r[9]);
  run.events = integer_of(r[10]);
  return run;
}

Unexpected no_host(std::string_view id) {
  return make_error(Errc::not_found, "no host " + std::string(id), std::string(id));
}

Unexpected no_run(std::string_view id) {
  return make_error(Errc::not_found, "no run " + std::string(id), std::string(id));
}

std::optional<Run> run_locked(Tx& tx, std::string_view id) {
  const pqxx::result r = exec_sql(
      tx, "SELECT " + std::string(kRunColumns) + " FROM runs WHERE id = $1 FOR UPDATE",
      {text(id)});
  if (r.empty()) return std::nullopt;
  return read_run(r[0]);
}

}  // namespace

// Findings.

Result<FindingsDelta> PostgresStore::put_findings(std::string_view host_id,
                                                  std::string_view state,
                                                  std::span<const FindingRow> rows,
                                                  std::int64_t now) {
  PF_CHECK(validate_finding_rows(rows));
  if (!storable(host_id)) return no_host(host_id);
  return impl_->in_transaction<pqxx::work>(
      "storing findings", [&](Tx& tx) -> Result<FindingsDelta> {
        FindingsDelta delta;
        // The host's row lock orders concurrent writers of its findings.
        const pqxx::result h = exec_sql(
            tx, "SELECT findings_state, open_findings FROM hosts WHERE id = $1 FOR UPDATE",
            {text(host_id)});
        if (h.empty()) return no_host(host_id);
        if (text_of(h[0][0]) == state) {
          delta.open = static_cast<std::size_t>(integer_of(h[0][1]));
          return delta;
        }
        std::map<std::tuple<std::string, std::string, std::string>, bool> stored;
        for (const auto& r : exec_sql(
                 tx, "SELECT advisory_id, package, arch, open FROM findings WHERE host_id = $1",
                 {text(host_id)})) {
          stored.emplace(std::make_tuple(text_of(r[0]), text_of(r[1]), text_of(r[2])),
                         bool_of(r[3]));
        }
        ArrayText adv, pkg, arch, sev, kev, risk, inst, fixed, detail;
        int max_severity = -1;
        for (const auto& r : rows) {
          adv.add(r.advisory_id);
          pkg.add(r.package);
          arch.add(r.arch);
          sev.add_integer(r.severity);
          kev.add_bool(r.kev);
          risk.add_integer(r.risk_milli);
          inst.add(r.installed_version);
          fixed.add(r.fixed_version);
          detail.add(r.detail);
          max_severity = std::max(max_severity, r.severity);
          auto it = stored.find(std::make_tuple(r.advisory_id, r.package, r.arch));
          if (it == stored.end() || !it->second) ++delta.opened;
          if (it != stored.end()) it->second = false;  // handled: not to be fixed below
        }
        if (!rows.empty()) {
          exec_sql(tx,
                   "INSERT INTO findings AS f(host_id, advisory_id, package, arch, open, severity,"
                   " kev, risk_milli, installed_version, fixed_version, detail, first_seen,"
                   " fixed_at) SELECT $1::text, a, p, r, true, s, k, m, i, x, d, $11::bigint,"
                   " NULL FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[],"
                   " $6::boolean[], $7::bigint[], $8::text[], $9::text[], $10::text[])"
                   " AS t(a, p, r, s, k, m, i, x, d)"
                   " ON CONFLICT (host_id, advisory_id, package, arch) DO UPDATE SET open = true,"
                   " severity = excluded.severity, kev = excluded.kev,"
                   " risk_milli = excluded.risk_milli,"
                   " installed_version = excluded.installed_version,"
                   " fixed_version = excluded.fixed_version, detail = excluded.detail,"
                   " first_seen = CASE WHEN f.open THEN f.first_seen"
                   " ELSE excluded.first_seen END, fixed_at = NULL",
                   {text(host_id), adv.done(), pkg.done(), arch.done(), sev.done(), kev.done(),
                    risk.done(), inst.done(), fixed.done(), detail.done(), integer(now)});
        }
        ArrayText gone_adv, gone_pkg, gone_arch;
        for (const auto& [key, still_open] : stored) {
          if (!still_open) continue;
          gone_adv.add(std::get<0>(key));
          gone_pkg.add(std::get<1>(key));
          gone_arch.add(std::get<2>(key));
          ++delta.fixed;
        }
        if (delta.fixed > 0) {
          exec_sql(tx,
                   "UPDATE findings f SET open = false, fixed_at = $2::bigint FROM unnest("
                   "$3::text[], $4::text[], $5::text[]) AS g(a, p, r) WHERE f.host_id = $1"
                   " AND f.advisory_id = g.a AND f.package = g.p AND f.arch = g.r",
                   {text(host_id), integer(now), gone_adv.done(), gone_pkg.done(),
                    gone_arch.done()});
        }
        delta.open = rows.size();
        exec_sql(tx,
                 "UPDATE hosts SET findings_state = $1, max_severity = $2::bigint,"
                 " open_findings = $3::bigint WHERE id = $4",
                 {text(state), integer(max_severity), integer(static_cast<std::int64_t>(rows.size())),
                  text(host_id)});
        return delta;
      });
}

Result<std::vector<std::string>> PostgresStore::hosts_with_stale_findings(
    std::string_view generation, std::string_view after_id, int limit) {
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing hosts with stale findings", [&](Tx& tx) -> Result<std::vector<std::string>> {
        std::vector<std::string> ids;
        for (const auto& r : exec_sql(
                 tx,
                 "SELECT id FROM hosts WHERE revoked_at IS NULL AND inventory_hash <> ''"
                 " AND findings_state <> inventory_hash || ':' || $1 AND id > $2"
                 " ORDER BY id LIMIT $3::bigint",
                 {text(generation), text(after_id),
                  integer(std::clamp(limit, 1, kMaxPageSize))})) {
          ids.push_back(text_of(r[0]));
        }
        return ids;
      });
}

Result<FindingPage> PostgresStore::list_findings(const FindingQuery& q) {
  PF_CHECK(validate_finding_query(q));
  std::vector<Param> params;
  auto param = [&](Param p) {
    params.push_back(std::move(p));
    return "$" + std::to_string(params.size());
  };
  std::string s = "SELECT " + std::string(kFindingColumns) +
                  " FROM findings f JOIN hosts h ON h.id = f.host_id WHERE true";
  if (q.status == FindingStatus::open) s += " AND f.open";
  if (q.status == FindingStatus::fixed) s += " AND NOT f.open";
  if (q.min_severity) s += " AND f.severity >= " + param(integer(*q.min_severity)) + "::bigint";
  if (q.kev_only) s += " AND f.kev";
  for (const auto& [field, value] : {std::pair{"f.host_id", &q.host_id},
                                     std::pair{"f.advisory_id", &q.advisory_id},
                                     std::pair{"f.package", &q.package}}) {
    if (value->empty()) continue;
    if (!storable(*value)) return FindingPage{};
    s += std::string(" AND ") + field + " = " + param(text(*value));
  }
  for (const auto& [key, value] : q.labels) {
    s += " AND EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = f.host_id AND l.key = " +
         param(text(key)) + " AND l.value = " + param(text(value)) + ")";
  }
  if (!q.include_revoked) s += " AND h.revoked_at IS NULL";
  if (!q.cursor.empty()) {
    auto c = parse_finding_cursor(q.cursor);
    if (!c) return Unexpected(std::move(c.error()));
    if (!storable(c->host_id) || !storable(c->advisory_id) || !storable(c->package) ||
        !storable(c->arch)) {
      return make_error(Errc::invalid_input, "not a cursor returned by this listing", "cursor");
    }
    const std::string risk = param(integer(c->risk_milli));
    s += " AND (f.risk_milli < " + risk + "::bigint OR (f.risk_milli = " + risk +
         "::bigint AND (f.host_id, f.advisory_id, f.package, f.arch) > (" +
         param(text(c->host_id)) + ", " + param(text(c->advisory_id)) + ", " +
         param(text(c->package)) + ", " + param(text(c->arch)) + ")))";
  }
  s += " ORDER BY f.risk_milli DESC, f.host_id, f.advisory_id, f.package, f.arch LIMIT " +
       std::to_string(q.limit + 1);
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing findings", [&](Tx& tx) -> Result<FindingPage> {
        FindingPage page;
        for (const auto& r : exec_sql(tx, s, params)) page.findings.push_back(read_finding(r));
        if (page.findings.size() > static_cast<std::size_t>(q.limit)) {
          page.findings.pop_back();
          page.next_cursor = finding_cursor(page.findings.back());
        }
        return page;
      });
}

Result<std::int64_t> PostgresStore::advisories_generation() {
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading the advisories' generation", [&](Tx& tx) -> Result<std::int64_t> {
        const pqxx::result r =
            tx.exec("SELECT value FROM store_meta WHERE key = 'advisories_generation'");
        return r.empty() ? std::int64_t{0} : integer_of(r[0][0]);
      });
}

// Runs.

Result<void> PostgresStore::create_run(const Run& run, const AuditEntry& audit) {
  PF_CHECK(validate_run(run));
  return impl_->in_transaction<pqxx::work>("queuing a run", [&](Tx& tx) -> Result<void> {
    exec(tx, "pf_audit_lock", {});  // audited changes take it first (postgres_fleet.cpp)
    const pqxx::result h =
        exec_sql(tx, "SELECT revoked_at IS NOT NULL FROM hosts WHERE id = $1 FOR UPDATE",
                 {text(run.host_id)});
    if (h.empty()) return no_host(run.host_id);
    if (bool_of(h[0][0])) {
      return make_error(Errc::conflict, "host " + run.host_id + " is revoked", run.host_id);
    }
    const pqxx::result ins = exec_sql(
        tx,
        "INSERT INTO runs(" + std::string(kRunColumns) +
            ") VALUES ($1, $2, $3, $4, 'queued', $5, $6::bigint, NULL, NULL, '', 0)"
            " ON CONFLICT (id) DO NOTHING RETURNING id",
        {text(run.id), text(run.host_id), text(run.job), text(run.envelope),
         text(run.created_by), integer(run.created_at)});
    if (ins.empty()) return make_error(Errc::conflict, "run id " + run.id + " is taken", "id");
    exec_sql(tx, "UPDATE hosts SET pending_runs = pending_runs + 1 WHERE id = $1",
             {text(run.host_id)});
    auto head = append_audit(audit);
    if (!head) return Unexpected(std::move(head.error()));
    return {};
  });
}

Result<std::optional<Run>> PostgresStore::run(std::string_view id) {
  if (!storable(id)) return std::optional<Run>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading a run", [&](Tx& tx) -> Result<std::optional<Run>> {
        const pqxx::result r = exec_sql(
            tx, "SELECT " + std::string(kRunColumns) + " FROM runs WHERE id = $1", {text(id)});
        if (r.empty()) return std::optional<Run>();
        return std::optional<Run>(read_run(r[0]));
      });
}

Result<std::optional<Run>> PostgresStore::next_run(std::string_view host_id, std::int64_t now) {
  if (!storable(host_id)) return std::optional<Run>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "handing out a run", [&](Tx& tx) -> Result<std::optional<Run>> {
        const pqxx::result r =
            exec_sql(tx,
                     "SELECT " + std::string(kRunColumns) +
                         " FROM runs WHERE host_id = $1 AND state IN ('queued', 'delivered',"
                         " 'running') ORDER BY created_at, id LIMIT 1",
                     {text(host_id)});
        if (r.empty()) return std::optional<Run>();
        Run run = read_run(r[0]);
        if (run.state == RunState::queued) {
          const pqxx::result upd = exec_sql(
              tx,
              "UPDATE runs SET state = 'delivered', delivered_at = $1::bigint"
              " WHERE id = $2 AND state = 'queued' RETURNING id",
              {integer(now), text(run.id)});
          if (!upd.empty()) {
            run.state = RunState::delivered;
            run.delivered_at = now;
          }
        }
        return std::optional<Run>(std::move(run));
      });
}

Result<std::size_t> PostgresStore::record_run_events(std::string_view host_id,
                                                     std::string_view run_id,
                                                     std::span<const RunEvent> events) {
  PF_CHECK(validate_run_events(events));
  if (!storable(run_id)) return no_run(run_id);
  for (const auto& e : events) {
    if (!storable(e.event_id) || !storable(e.body)) {
      return make_error(Errc::invalid_input, "event text is not UTF-8 or holds a NUL byte",
                        "events");
    }
  }
  return impl_->in_transaction<pqxx::work>(
      "storing run events", [&](Tx& tx) -> Result<std::size_t> {
        // The run's row lock orders concurrent reports of one run.
        auto current = run_locked(tx, run_id);
        if (!current || current->host_id != host_id) return no_run(run_id);
        if (current->state == RunState::canceled) {
          return make_error(Errc::conflict, "run " + std::string(run_id) + " was canceled",
                            std::string(run_id));
        }
        std::vector<const RunEvent*> ordered;
        for (const auto& e : events) ordered.push_back(&e);
        std::stable_sort(ordered.begin(), ordered.end(),
                         [](const RunEvent* a, const RunEvent* b) { return a->seq < b->seq; });
        RunState state = current->state;
        std::optional<std::int64_t> finished_at = current->finished_at;
        std::string outcome = current->outcome;
        std::size_t added = 0;
        for (const RunEvent* e : ordered) {
          const pqxx::result ins = exec_sql(
              tx,
              "INSERT INTO run_events(run_id, event_id, seq, kind, body, state, received_at)"
              " VALUES ($1, $2, $3::bigint, $4, $5, $6, $7::bigint)"
              " ON CONFLICT (run_id, event_id) DO NOTHING RETURNING event_id",
              {text(run_id), text(e->event_id), integer(e->seq), text(e->kind), text(e->body),
               e->state ? text(to_string(*e->state)) : Param{}, integer(e->received_at)});
          if (ins.empty()) continue;  // reported before
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
        exec_sql(tx,
                 "UPDATE runs SET state = $1, finished_at = $2::bigint, outcome = $3,"
                 " events = events + $4::bigint WHERE id = $5",
                 {text(to_string(state)), opt_integer(finished_at), text(outcome),
                  integer(static_cast<std::int64_t>(added)), text(run_id)});
        if (is_final(state) && !is_final(current->state)) {
          exec_sql(tx,
                   "UPDATE hosts SET pending_runs = pending_runs - 1 WHERE id = $1"
                   " AND pending_runs > 0",
                   {text(host_id)});
        }
        return added;
      });
}

Result<std::vector<RunEvent>> PostgresStore::run_events(std::string_view run_id) {
  if (!storable(run_id)) return std::vector<RunEvent>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading run events", [&](Tx& tx) -> Result<std::vector<RunEvent>> {
        std::vector<RunEvent> out;
        for (const auto& r : exec_sql(tx,
                                      "SELECT event_id, seq, kind, body, state, received_at"
                                      " FROM run_events WHERE run_id = $1 ORDER BY seq, event_id",
                                      {text(run_id)})) {
          RunEvent e;
          e.event_id = text_of(r[0]);
          e.seq = integer_of(r[1]);
          e.kind = text_of(r[2]);
          e.body = text_of(r[3]);
          if (!r[4].is_null()) e.state = run_state_from(text_of(r[4]));
          e.received_at = integer_of(r[5]);
          out.push_back(std::move(e));
        }
        return out;
      });
}

Result<RunPage> PostgresStore::list_runs(const RunQuery& q) {
  PF_CHECK(validate_run_query(q));
  std::vector<Param> params;
  auto param = [&](Param p) {
    params.push_back(std::move(p));
    return "$" + std::to_string(params.size());
  };
  std::string s = "SELECT " + std::string(kRunColumns) + " FROM runs WHERE true";
  if (!q.host_id.empty()) s += " AND host_id = " + param(text(q.host_id));
  if (q.state) s += " AND state = " + param(text(to_string(*q.state)));
  if (!q.cursor.empty()) {
    const auto dot = q.cursor.find('.');
    std::int64_t at = 0;
    const std::string n = q.cursor.substr(0, dot);
    const auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), at);
    const std::string id = q.cursor.substr(dot + 1);
    if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() || !storable(id)) {
      return make_error(Errc::invalid_input, "not a cursor returned by this listing", "cursor");
    }
    s += " AND (created_at, id) < (" + param(integer(at)) + "::bigint, " + param(text(id)) + ")";
  }
  s += " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(q.limit + 1);
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing runs", [&](Tx& tx) -> Result<RunPage> {
        RunPage page;
        for (const auto& r : exec_sql(tx, s, params)) page.runs.push_back(read_run(r));
        if (page.runs.size() > static_cast<std::size_t>(q.limit)) {
          page.runs.pop_back();
          page.next_cursor =
              std::to_string(page.runs.back().created_at) + "." + page.runs.back().id;
        }
        return page;
      });
}

Result<void> PostgresStore::cancel_run(std::string_view id, std::int64_t at,
                                       const AuditEntry& audit) {
  if (!storable(id)) return no_run(id);
  return impl_->in_transaction<pqxx::work>("canceling a run", [&](Tx& tx) -> Result<void> {
    exec(tx, "pf_audit_lock", {});
    auto current = run_locked(tx, id);
    if (!current) return no_run(id);
    if (is_final(current->state)) {
      return make_error(Errc::conflict,
                        "run " + std::string(id) + " is " + std::string(to_string(current->state)),
                        std::string(id));
    }
    exec_sql(tx, "UPDATE runs SET state = 'canceled', finished_at = $1::bigint WHERE id = $2",
             {integer(at), text(id)});
    exec_sql(tx, "UPDATE hosts SET pending_runs = pending_runs - 1 WHERE id = $1"
                 " AND pending_runs > 0",
             {text(current->host_id)});
    auto head = append_audit(audit);
    if (!head) return Unexpected(std::move(head.error()));
    return {};
  });
}

Result<std::int64_t> PostgresStore::pending_runs(std::string_view host_id) {
  if (!storable(host_id)) return no_host(host_id);
  return impl_->in_transaction<pqxx::nontransaction>(
      "counting pending runs", [&](Tx& tx) -> Result<std::int64_t> {
        const pqxx::result r = exec_sql(tx, "SELECT pending_runs FROM hosts WHERE id = $1",
                                        {text(host_id)});
        if (r.empty()) return no_host(host_id);
        return integer_of(r[0][0]);
      });
}

}  // namespace pf::store
