// SPDX-License-Identifier: Apache-2.0
// PostgresStore's FleetStore half: hosts, inventories, enrollment tokens, users, API tokens and
// the audit log (schema: migration 2 in migrations.cpp). The contracts are SqliteStore's
// (libs/store_sqlite/src/sqlite_fleet.cpp); what differs is how PostgreSQL gets there: row
// locks and conditional statements instead of SQLite's single writer, arrays instead of one
// statement per row.
#include <algorithm>
#include <limits>
#include <unordered_map>
#include <utility>

#include "store_impl.hpp"

// Unwraps a Result<T> inside a function returning Result<U>.
#define PF_TRY(var, expr) \
  auto var = (expr);      \
  if (!var) return Unexpected(std::move(var.error()))

#define PF_CHECK(expr)                                                             \
  do {                                                                             \
    auto pf_check_result_ = (expr);                                                \
    if (!pf_check_result_) return Unexpected(std::move(pf_check_result_.error())); \
  } while (false)

namespace pf::store {

using Tx = pqxx::transaction_base;

namespace {

// The columns of a Host, labels last (as "key=value" elements: keys hold no '=', see
// validate_labels).
constexpr std::string_view kHostColumns =
    "h.id, h.name, h.os_id, h.os_version_id, h.ecosystem, h.arch, h.kernel_release, h.boot_id,"
    " h.criticality, h.cert_fingerprint, h.cert_not_after, h.enrolled_at, h.last_seen,"
    " h.reboot_required, h.reboot_reasons, h.inventory_hash, h.revoked_at,"
    " ARRAY(SELECT l.key || '=' || l.value FROM host_labels l WHERE l.host_id = h.id"
    " ORDER BY l.key), h.max_severity, h.open_findings, h.pending_runs";

constexpr std::string_view kTokenColumns =
    "token_hash, token_id, labels, created_by, created_at, expires_at, used_at, used_by_host";

constexpr std::string_view kApiTokenColumns =
    "token_hash, token_id, user_name, role, created_at, expires_at, revoked_at, last_used_at";

constexpr std::string_view kAuditColumns =
    "seq, actor, action, target, before_json, after_json, at, prev_hash, hash";

constexpr std::string_view kUserColumns = "name, password_hash, role, disabled, created_at";

// Inventory rows go in slices of this many per statement.
constexpr std::size_t kInventorySlice = 10000;

// Audit entries are read in pages of this many by verify_audit.
constexpr int kVerifyPage = 1000;

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

// The prepared statements of the hot paths (prepare_fleet_statements names them on every
// connection).
const std::vector<std::pair<std::string, std::string>>& statements() {
  static const std::vector<std::pair<std::string, std::string>> all = {
      {"pf_host_by_id", sql({"SELECT ", kHostColumns, " FROM hosts h WHERE h.id = $1"})},
      {"pf_host_by_fingerprint",
       sql({"SELECT ", kHostColumns, " FROM hosts h WHERE h.cert_fingerprint = $1"})},
      {"pf_host_state", "SELECT revoked_at IS NOT NULL FROM hosts WHERE id = $1"},
      {"pf_host_lock", "SELECT revoked_at IS NOT NULL FROM hosts WHERE id = $1 FOR UPDATE"},
      {"pf_checkin",
       "UPDATE hosts SET last_seen = $1::bigint, boot_id = $2, kernel_release = $3,"
       " reboot_required = $4::boolean, reboot_reasons = $5::text[], os_id = $6,"
       " os_version_id = $7, ecosystem = $8 WHERE id = $9 AND revoked_at IS NULL"},
      {"pf_inventory_state",
       "SELECT revoked_at IS NOT NULL, inventory_hash FROM hosts WHERE id = $1"},
      {"pf_inventory_lock",
       "SELECT revoked_at IS NOT NULL, inventory_hash FROM hosts WHERE id = $1 FOR UPDATE"},
      // Inventory rows are kept by position (seq). The stored rows are read (one index range
      // scan) and compared here; only the positions whose row differs or is new are sent and
      // written, and positions past the new end are dropped by pf_trim_inventory. Unchanged
      // rows are not touched, not even locked: an upload that changes a few versions costs a
      // few row writes and no per-row index probe for the rest.
      {"pf_stored_packages",
       "SELECT seq, name, arch, version, source_name, source_version FROM host_packages"
       " WHERE host_id = $1"},
      {"pf_stored_updates",
       "SELECT seq, name, arch, installed_version, candidate_version, origin, security,"
       " advisories, held_reason FROM host_updates WHERE host_id = $1"},
      {"pf_write_packages",
       "INSERT INTO host_packages(host_id, seq, name, arch, version, source_name,"
       " source_version) SELECT $1::text, p.seq, p.name, p.arch, p.version, p.source_name,"
       " p.source_version FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[],"
       " $6::text[], $7::text[]) AS p(seq, name, arch, version, source_name, source_version)"
       " ON CONFLICT (host_id, seq) DO UPDATE SET name = excluded.name, arch = excluded.arch,"
       " version = excluded.version, source_name = excluded.source_name,"
       " source_version = excluded.source_version"},
      {"pf_write_updates",
       "INSERT INTO host_updates(host_id, seq, name, arch, installed_version, candidate_version,"
       " origin, security, advisories, held_reason) SELECT $1::text, u.seq, u.name, u.arch,"
       " u.installed, u.candidate, u.origin, u.security, u.advisories::text[], u.held"
       " FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],"
       " $8::boolean[], $9::text[], $10::text[])"
       " AS u(seq, name, arch, installed, candidate, origin, security, advisories, held)"
       " ON CONFLICT (host_id, seq) DO UPDATE SET name = excluded.name, arch = excluded.arch,"
       " installed_version = excluded.installed_version,"
       " candidate_version = excluded.candidate_version, origin = excluded.origin,"
       " security = excluded.security, advisories = excluded.advisories,"
       " held_reason = excluded.held_reason"},
      {"pf_trim_inventory",
       "WITH p AS (DELETE FROM host_packages WHERE host_id = $1 AND seq >= $2::bigint)"
       " DELETE FROM host_updates WHERE host_id = $1 AND seq >= $3::bigint"},
      {"pf_set_inventory_hash", "UPDATE hosts SET inventory_hash = $2 WHERE id = $1"},
      {"pf_api_token_by_hash",
       sql({"SELECT ", kApiTokenColumns, " FROM api_tokens WHERE token_hash = $1"})},
      {"pf_api_token_touch",
       "UPDATE api_tokens SET last_used_at = $1::bigint WHERE token_id = $2 AND"
       " (last_used_at IS NULL OR last_used_at < $1::bigint - " +
           std::to_string(kTokenUseResolution) + ")"},
      {"pf_audit_lock",
       "SELECT pg_advisory_xact_lock(" + std::to_string(postgres::kAuditLock) + ")"},
      {"pf_audit_head", "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"},
      {"pf_audit_insert",
       "INSERT INTO audit_log(seq, actor, action, target, before_json, after_json, at,"
       " prev_hash, hash) VALUES ($1::bigint, $2, $3, $4, $5, $6, $7::bigint, $8, $9)"},
  };
  return all;
}

Param list(const std::vector<std::string>& items) {
  ArrayText a;
  for (const auto& item : items) a.add(item);
  return a.done();
}

// A labels map as parallel key and value arrays.
std::pair<Param, Param> label_arrays(const Labels& labels) {
  ArrayText keys;
  ArrayText values;
  for (const auto& [key, value] : labels) {
    keys.add(key);
    values.add(value);
  }
  return {keys.done(), values.done()};
}

Param label_pairs(const Labels& labels) {
  ArrayText a;
  for (const auto& [key, value] : labels) a.add(key + "=" + value);
  return a.done();
}

Labels labels_of(const pqxx::field& f) {
  Labels labels;
  for (const auto& pair : text_array_of(f)) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) continue;
    labels.emplace(pair.substr(0, eq), pair.substr(eq + 1));
  }
  return labels;
}

Host read_host(const pqxx::row& r) {
  Host h;
  h.id = text_of(r[0]);
  h.name = text_of(r[1]);
  h.os_id = text_of(r[2]);
  h.os_version_id = text_of(r[3]);
  h.ecosystem = text_of(r[4]);
  h.arch = text_of(r[5]);
  h.kernel_release = text_of(r[6]);
  h.boot_id = text_of(r[7]);
  h.criticality = static_cast<int>(integer_of(r[8]));
  h.cert_fingerprint = text_of(r[9]);
  h.cert_not_after = integer_of(r[10]);
  h.enrolled_at = integer_of(r[11]);
  h.last_seen = integer_of(r[12]);
  h.reboot_required = bool_of(r[13]);
  h.reboot_reasons = text_array_of(r[14]);
  h.inventory_hash = text_of(r[15]);
  h.revoked_at = opt_integer_of(r[16]);
  h.labels = labels_of(r[17]);
  h.max_severity = static_cast<int>(integer_of(r[18]));
  h.open_findings = integer_of(r[19]);
  h.pending_runs = integer_of(r[20]);
  return h;
}

EnrollmentToken read_token(const pqxx::row& r) {
  EnrollmentToken t;
  t.token_hash = text_of(r[0]);
  t.token_id = text_of(r[1]);
  t.labels = labels_of(r[2]);
  t.created_by = text_of(r[3]);
  t.created_at = integer_of(r[4]);
  t.expires_at = integer_of(r[5]);
  t.used_at = opt_integer_of(r[6]);
  if (!r[7].is_null()) t.used_by_host = text_of(r[7]);
  return t;
}

ApiToken read_api_token(const pqxx::row& r) {
  ApiToken t;
  t.token_hash = text_of(r[0]);
  t.token_id = text_of(r[1]);
  t.user = text_of(r[2]);
  t.role = text_of(r[3]);
  t.created_at = integer_of(r[4]);
  t.expires_at = opt_integer_of(r[5]);
  t.revoked_at = opt_integer_of(r[6]);
  t.last_used_at = opt_integer_of(r[7]);
  return t;
}

User read_user(const pqxx::row& r) {
  return User{text_of(r[0]), text_of(r[1]), text_of(r[2]), bool_of(r[3]), integer_of(r[4])};
}

AuditRecord read_audit(const pqxx::row& r) {
  AuditRecord a;
  a.seq = integer_of(r[0]);
  a.entry = AuditEntry{text_of(r[1]), text_of(r[2]), text_of(r[3]),
                       text_of(r[4]), text_of(r[5]), integer_of(r[6])};
  a.prev_hash = text_of(r[7]);
  a.hash = text_of(r[8]);
  return a;
}

enum class HostState { missing, active, revoked };

// `statement` is pf_host_state, or pf_host_lock to keep the row until the transaction ends.
HostState host_state(Tx& tx, std::string_view id, const char* statement = "pf_host_state") {
  if (!storable(id)) return HostState::missing;
  const pqxx::result r = exec(tx, statement, {text(id)});
  if (r.empty()) return HostState::missing;
  return bool_of(r[0][0]) ? HostState::revoked : HostState::active;
}

Unexpected host_error(HostState state, std::string_view id) {
  if (state == HostState::revoked) {
    return make_error(Errc::conflict, "host " + std::string(id) + " is revoked", std::string(id));
  }
  return make_error(Errc::not_found, "no host " + std::string(id), std::string(id));
}

Unexpected no_user(std::string_view name) {
  return make_error(Errc::not_found, "no user '" + std::string(name) + "'", std::string(name));
}

// The audit entry's text must fit PostgreSQL text; the shared checks do not look for NUL.
Result<void> check_audit_entry(const AuditEntry& e) {
  if (auto ok = validate_audit_entry(e); !ok) return ok;
  const std::pair<std::string_view, const std::string*> fields[] = {{"actor", &e.actor},
                                                                    {"action", &e.action},
                                                                    {"target", &e.target},
                                                                    {"before_json", &e.before_json},
                                                                    {"after_json", &e.after_json}};
  for (const auto& [name, value] : fields) {
    if (value->find('\0') != std::string::npos) {
      return make_error(
          Errc::invalid_input,
          "audit " + std::string(name) + " contains a NUL byte, which PostgreSQL text cannot store",
          std::string(name));
    }
  }
  return {};
}

// Appends under the audit lock, which the caller's transaction took before anything it
// changed: reading the head and inserting after it is then one step for every connection.
AuditHead append_audit_locked(Tx& tx, const AuditEntry& e) {
  const pqxx::result last = exec(tx, "pf_audit_head", {});
  AuditHead head{1, std::string(kAuditGenesisHash)};
  if (!last.empty()) {
    head.seq = integer_of(last[0][0]) + 1;
    head.hash = text_of(last[0][1]);
  }
  const std::string hash = audit_hash(head.hash, head.seq, e);
  exec(tx, "pf_audit_insert",
       {integer(head.seq), text(e.actor), text(e.action), text(e.target), text(e.before_json),
        text(e.after_json), integer(e.at), text(head.hash), text(hash)});
  head.hash = hash;
  return head;
}

// A change by a person: the change and its audit entry in one transaction. The audit lock is
// taken first, so that audited changes take their locks in one order (no deadlock between
// them); they are made by people, so serialising them costs nothing.
template <class Change>
Result<void> audited(PostgresStore::Impl& impl, std::string_view what, const AuditEntry& audit,
                     Change&& change) {
  PF_CHECK(check_audit_entry(audit));
  return impl.in_transaction<pqxx::work>(what, [&](Tx& tx) -> Result<void> {
    exec(tx, "pf_audit_lock", {});
    PF_CHECK(change(tx));
    append_audit_locked(tx, audit);
    return {};
  });
}

// The hosts of a check-in batch: each once, with the facts of its last check-in in the batch
// (the state that applying them in order leaves), and how many check-ins named it.
struct CheckinRows {
  std::vector<const Checkin*> last;  // in host id order
  std::unordered_map<std::string_view, std::size_t> count;
};

CheckinRows collapse(std::span<const Checkin> batch) {
  CheckinRows rows;
  std::map<std::string_view, const Checkin*> by_id;
  for (const auto& c : batch) {
    if (!storable(c.host_id)) continue;  // names no stored host
    by_id[c.host_id] = &c;
    ++rows.count[c.host_id];
  }
  rows.last.reserve(by_id.size());
  for (const auto& [id, c] : by_id) rows.last.push_back(c);
  return rows;
}

}  // namespace

void prepare_fleet_statements(pqxx::connection& conn) {
  for (const auto& [name, text] : statements()) conn.prepare(name, text);
}

// Hosts.

Result<void> PostgresStore::create_host(const Host& h) {
  PF_CHECK(validate_host(h));
  // Not a structured binding: clang 14 cannot capture those in the lambda below.
  const std::pair<Param, Param> label_params = label_arrays(h.labels);
  // One statement: the host, and its labels when the host was new.
  static const std::string kSql =
      "WITH h AS (INSERT INTO hosts(id, name, os_id, os_version_id, ecosystem, arch,"
      " kernel_release, boot_id, criticality, cert_fingerprint, cert_not_after, enrolled_at,"
      " last_seen, reboot_required, reboot_reasons, inventory_hash, revoked_at)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::integer, $10, $11::bigint, $12::bigint,"
      " $13::bigint, $14::boolean, $15::text[], '', NULL) ON CONFLICT DO NOTHING RETURNING id),"
      " l AS (INSERT INTO host_labels(host_id, key, value) SELECT h.id, k.key, k.value"
      " FROM h, unnest($16::text[], $17::text[]) AS k(key, value))"
      " SELECT count(*) FROM h";
  return impl_->in_transaction<pqxx::nontransaction>(
      "creating a host", [&](Tx& tx) -> Result<void> {
        const pqxx::result r =
            exec_sql(tx, kSql,
                     {text(h.id), text(h.name), text(h.os_id), text(h.os_version_id),
                      text(h.ecosystem), text(h.arch), text(h.kernel_release), text(h.boot_id),
                      integer(h.criticality), text(h.cert_fingerprint), integer(h.cert_not_after),
                      integer(h.enrolled_at), integer(h.last_seen), boolean(h.reboot_required),
                      list(h.reboot_reasons), label_params.first,
                      label_params.second});
        if (integer_of(r[0][0]) == 1) return {};
        if (host_state(tx, h.id) != HostState::missing) {
          return make_error(Errc::conflict, "host " + h.id + " exists", "id");
        }
        return make_error(Errc::conflict, "another host has this certificate fingerprint",
                          "cert_fingerprint");
      });
}

Result<std::optional<Host>> PostgresStore::host(std::string_view id) {
  if (!storable(id)) return std::optional<Host>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading a host", [&](Tx& tx) -> Result<std::optional<Host>> {
        const pqxx::result r = exec(tx, "pf_host_by_id", {text(id)});
        if (r.empty()) return std::optional<Host>();
        return std::optional<Host>(read_host(r[0]));
      });
}

Result<std::optional<Host>> PostgresStore::host_by_fingerprint(std::string_view fingerprint) {
  if (!storable(fingerprint)) return std::optional<Host>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading a host", [&](Tx& tx) -> Result<std::optional<Host>> {
        const pqxx::result r = exec(tx, "pf_host_by_fingerprint", {text(fingerprint)});
        if (r.empty()) return std::optional<Host>();
        return std::optional<Host>(read_host(r[0]));
      });
}

Result<HostPage> PostgresStore::list_hosts(const HostQuery& q) {
  PF_CHECK(validate_host_query(q));
  std::vector<Param> params;
  auto param = [&](std::string_view value) {
    params.push_back(text(value));
    return "$" + std::to_string(params.size());
  };
  std::string s = "SELECT " + std::string(kHostColumns) + " FROM hosts h";
  auto label = q.labels.begin();
  const bool by_label = label != q.labels.end();
  // The first label drives the scan through host_labels_by_pair, already in host id order.
  if (by_label) {
    s += " JOIN host_labels l0 ON l0.host_id = h.id AND l0.key = " + param(label->first) +
         " AND l0.value = " + param(label->second);
    ++label;
    s += " WHERE l0.host_id > " + param(q.cursor);
  } else {
    s += " WHERE h.id > " + param(q.cursor);
  }
  for (; label != q.labels.end(); ++label) {
    s += " AND EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = h.id AND l.key = " +
         param(label->first) + " AND l.value = " + param(label->second) + ")";
  }
  if (!q.ecosystem.empty()) s += " AND h.ecosystem = " + param(q.ecosystem);
  if (!q.name_prefix.empty()) s += " AND starts_with(h.name, " + param(q.name_prefix) + ")";
  if (!q.include_revoked) s += " AND h.revoked_at IS NULL";
  if (q.min_severity) {
    s += " AND h.max_severity >= " + param(std::to_string(*q.min_severity)) + "::integer";
  }
  s += by_label ? " ORDER BY l0.host_id" : " ORDER BY h.id";
  s += " LIMIT " + std::to_string(q.limit + 1);
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing hosts", [&](Tx& tx) -> Result<HostPage> {
        const pqxx::result r = exec_sql(tx, s, params);
        HostPage page;
        page.hosts.reserve(r.size());
        for (const auto& row : r) page.hosts.push_back(read_host(row));
        if (page.hosts.size() > static_cast<std::size_t>(q.limit)) {
          page.hosts.pop_back();
          page.next_cursor = page.hosts.back().id;
        }
        return page;
      });
}

Result<void> PostgresStore::record_checkin(std::string_view host_id, const CheckinFacts& f) {
  PF_CHECK(validate_checkin(f));
  if (!storable(host_id)) return host_error(HostState::missing, host_id);
  return impl_->in_transaction<pqxx::nontransaction>(
      "recording a check-in", [&](Tx& tx) -> Result<void> {
        const pqxx::result r =
            exec(tx, "pf_checkin",
                 {integer(f.at), text(f.boot_id), text(f.kernel_release),
                  boolean(f.reboot_required), list(f.reboot_reasons), text(f.os_id),
                  text(f.os_version_id), text(f.ecosystem), text(host_id)});
        if (r.affected_rows() == 0) return host_error(host_state(tx, host_id), host_id);
        return {};
      });
}

Result<std::size_t> PostgresStore::record_checkins(std::span<const Checkin> batch) {
  for (const auto& c : batch) {
    if (auto ok = validate_checkin(c.facts); !ok) {
      ok.error().where = c.host_id + ": " + ok.error().where;
      return Unexpected(std::move(ok.error()));
    }
  }
  const CheckinRows rows = collapse(batch);
  if (rows.last.empty()) return std::size_t{0};
  ArrayText ids, at, boot, kernel, reboot, reasons, os_id, os_version, ecosystem;
  for (const Checkin* c : rows.last) {
    const CheckinFacts& f = c->facts;
    ids.add(c->host_id);
    at.add_integer(f.at);
    boot.add(f.boot_id);
    kernel.add(f.kernel_release);
    reboot.add_bool(f.reboot_required);
    ArrayText r;
    for (const auto& reason : f.reboot_reasons) r.add(reason);
    reasons.add(r.text());
    os_id.add(f.os_id);
    os_version.add(f.os_version_id);
    ecosystem.add(f.ecosystem);
  }
  // One transaction: the rows are locked in id order first (so that concurrent batches cannot
  // deadlock), then updated by one statement.
  static const std::string kLock =
      "SELECT id FROM hosts WHERE id = ANY($1::text[]) AND revoked_at IS NULL ORDER BY id"
      " FOR UPDATE";
  static const std::string kUpdate =
      "UPDATE hosts h SET last_seen = c.at, boot_id = c.boot_id,"
      " kernel_release = c.kernel_release, reboot_required = c.reboot_required,"
      " reboot_reasons = c.reasons::text[], os_id = c.os_id, os_version_id = c.os_version_id,"
      " ecosystem = c.ecosystem FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[],"
      " $5::boolean[], $6::text[], $7::text[], $8::text[], $9::text[])"
      " AS c(id, at, boot_id, kernel_release, reboot_required, reasons, os_id, os_version_id,"
      " ecosystem) WHERE h.id = c.id AND h.revoked_at IS NULL RETURNING h.id";
  return impl_->in_transaction<pqxx::work>(
      "recording check-ins", [&](Tx& tx) -> Result<std::size_t> {
        exec_sql(tx, kLock, {ids.done()});
        const pqxx::result r =
            exec_sql(tx, kUpdate,
                     {ids.done(), at.done(), boot.done(), kernel.done(), reboot.done(),
                      reasons.done(), os_id.done(), os_version.done(), ecosystem.done()});
        std::size_t updated = 0;
        for (const auto& row : r) {
          const auto it = rows.count.find(std::string_view(row[0].c_str(), row[0].size()));
          if (it != rows.count.end()) updated += it->second;
        }
        return updated;
      });
}

Result<void> PostgresStore::set_certificate(std::string_view host_id, std::string_view fingerprint,
                                            std::int64_t not_after) {
  PF_CHECK(validate_cert_fingerprint(fingerprint));
  if (!storable(host_id)) return host_error(HostState::missing, host_id);
  return impl_->in_transaction<pqxx::nontransaction>(
      "setting a host's certificate", [&](Tx& tx) -> Result<void> {
        pqxx::result r;
        try {
          r = exec_sql(tx,
                       "UPDATE hosts SET cert_fingerprint = $1, cert_not_after = $2::bigint"
                       " WHERE id = $3 AND revoked_at IS NULL",
                       {text(fingerprint), integer(not_after), text(host_id)});
        } catch (const pqxx::unique_violation&) {
          return make_error(Errc::conflict, "another host has this certificate fingerprint",
                            "cert_fingerprint");
        }
        if (r.affected_rows() == 0) return host_error(host_state(tx, host_id), host_id);
        return {};
      });
}

Result<void> PostgresStore::revoke_host(std::string_view host_id, std::int64_t at,
                                        const AuditEntry& audit) {
  return audited(*impl_, "revoking a host", audit, [&](Tx& tx) -> Result<void> {
    const HostState state = host_state(tx, host_id, "pf_host_lock");
    if (state == HostState::revoked) {
      return make_error(Errc::conflict, "host " + std::string(host_id) + " is revoked already",
                        std::string(host_id));
    }
    if (state == HostState::missing) return host_error(state, host_id);
    exec_sql(tx, "UPDATE hosts SET revoked_at = $1::bigint WHERE id = $2",
             {integer(at), text(host_id)});
    return {};
  });
}

Result<void> PostgresStore::set_labels(std::string_view host_id, const Labels& labels,
                                       const AuditEntry& audit) {
  PF_CHECK(validate_labels(labels));
  return audited(*impl_, "setting a host's labels", audit, [&](Tx& tx) -> Result<void> {
    // The host's row lock orders concurrent replacements of its labels.
    const HostState state = host_state(tx, host_id, "pf_host_lock");
    if (state == HostState::missing) return host_error(state, host_id);
    exec_sql(tx, "DELETE FROM host_labels WHERE host_id = $1", {text(host_id)});
    if (!labels.empty()) {
      const auto [keys, values] = label_arrays(labels);
      exec_sql(tx,
               "INSERT INTO host_labels(host_id, key, value) SELECT $1::text, k.key, k.value"
               " FROM unnest($2::text[], $3::text[]) AS k(key, value)",
               {text(host_id), keys, values});
    }
    return {};
  });
}

// Inventories.

namespace {

// Where the stored inventory of a host stands, read with `statement` (pf_inventory_state, or
// pf_inventory_lock to take the host's row lock, which orders the writers of one inventory).
InventoryOutcome inventory_state(Tx& tx, const char* statement, std::string_view host_id,
                                 std::string_view hash) {
  if (!storable(host_id)) return InventoryOutcome::unknown_host;
  const pqxx::result r = exec(tx, statement, {text(host_id)});
  if (r.empty()) return InventoryOutcome::unknown_host;
  if (bool_of(r[0][0])) return InventoryOutcome::revoked;
  return std::string_view(r[0][1].c_str(), r[0][1].size()) == hash ? InventoryOutcome::unchanged
                                                                    : InventoryOutcome::stored;
}

bool same_text(const pqxx::field& f, const std::string& s) {
  return std::string_view(f.c_str(), f.size()) == s;
}

// The positions (seq) of `rows` to write after reading the stored rows with `statement`
// (seq first): those not stored or stored with a different row (`same(row_fields, row)`).
// `trim` is set when rows are stored at positions past the new end.
template <class Row, class Same>
std::vector<std::size_t> changed_positions(Tx& tx, const char* statement,
                                           std::string_view host_id, std::span<const Row> rows,
                                           bool& trim, Same same) {
  std::vector<char> kept(rows.size(), 0);
  const pqxx::result r = exec(tx, statement, {text(host_id)});
  for (const auto& row : r) {
    const auto seq = row[0].as<std::int64_t>();
    if (seq < 0 || static_cast<std::uint64_t>(seq) >= rows.size()) {
      trim = true;
      continue;
    }
    const auto i = static_cast<std::size_t>(seq);
    kept[i] = same(row, rows[i]) ? 1 : 0;
  }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (kept[i] == 0) out.push_back(i);
  }
  return out;
}

// Stores one (validated) inventory inside the caller's transaction: the host row is locked and
// its hash read again, then only the rows that differ from the stored ones are written.
InventoryOutcome write_inventory(Tx& tx, std::string_view host_id, std::string_view hash,
                                 std::span<const inventory::Package> packages,
                                 std::span<const AvailableUpdate> updates) {
  const InventoryOutcome state = inventory_state(tx, "pf_inventory_lock", host_id, hash);
  if (state != InventoryOutcome::stored) return state;
  bool trim = false;
  const auto package_positions = changed_positions(
      tx, "pf_stored_packages", host_id, packages, trim,
      [](const pqxx::row& r, const inventory::Package& p) {
        return same_text(r[1], p.name) && same_text(r[2], p.arch) &&
               same_text(r[3], p.version) && same_text(r[4], p.source_name) &&
               same_text(r[5], p.source_version);
      });
  const auto update_positions = changed_positions(
      tx, "pf_stored_updates", host_id, updates, trim,
      [](const pqxx::row& r, const AvailableUpdate& u) {
        return same_text(r[1], u.name) && same_text(r[2], u.arch) &&
               same_text(r[3], u.installed_version) && same_text(r[4], u.candidate_version) &&
               same_text(r[5], u.origin) && bool_of(r[6]) == u.security &&
               same_text(r[8], u.held_reason) && text_array_of(r[7]) == u.advisories;
      });
  if (trim) {
    exec(tx, "pf_trim_inventory",
         {text(host_id), integer(static_cast<std::int64_t>(packages.size())),
          integer(static_cast<std::int64_t>(updates.size()))});
  }
  for (std::size_t start = 0; start < package_positions.size(); start += kInventorySlice) {
    ArrayText seq, name, arch, version, source_name, source_version;
    const std::size_t end = std::min(package_positions.size(), start + kInventorySlice);
    for (std::size_t k = start; k < end; ++k) {
      const std::size_t i = package_positions[k];
      const auto& p = packages[i];
      seq.add_integer(static_cast<std::int64_t>(i));
      name.add(p.name);
      arch.add(p.arch);
      version.add(p.version);
      source_name.add(p.source_name);
      source_version.add(p.source_version);
    }
    exec(tx, "pf_write_packages",
         {text(host_id), seq.done(), name.done(), arch.done(), version.done(),
          source_name.done(), source_version.done()});
  }
  for (std::size_t start = 0; start < update_positions.size(); start += kInventorySlice) {
    ArrayText seq, name, arch, installed, candidate, origin, security, advisories, held;
    const std::size_t end = std::min(update_positions.size(), start + kInventorySlice);
    for (std::size_t k = start; k < end; ++k) {
      const std::size_t i = update_positions[k];
      const auto& u = updates[i];
      seq.add_integer(static_cast<std::int64_t>(i));
      name.add(u.name);
      arch.add(u.arch);
      installed.add(u.installed_version);
      candidate.add(u.candidate_version);
      origin.add(u.origin);
      security.add_bool(u.security);
      ArrayText ids;  // each row's list, as an array literal cast back in the statement
      for (const auto& a : u.advisories) ids.add(a);
      advisories.add(ids.text());
      held.add(u.held_reason);
    }
    exec(tx, "pf_write_updates",
         {text(host_id), seq.done(), name.done(), arch.done(), installed.done(),
          candidate.done(), origin.done(), security.done(), advisories.done(), held.done()});
  }
  exec(tx, "pf_set_inventory_hash", {text(host_id), text(hash)});
  return InventoryOutcome::stored;
}

}  // namespace

Result<bool> PostgresStore::put_inventory(std::string_view host_id, std::string_view hash,
                                          std::span<const inventory::Package> packages,
                                          std::span<const AvailableUpdate> updates) {
  // The hash alone first: an unchanged inventory is not looked at row by row.
  PF_CHECK(validate_inventory(hash, {}, {}));
  if (!storable(host_id)) return host_error(HostState::missing, host_id);
  const auto refused = [&](InventoryOutcome o) -> Result<bool> {
    if (o == InventoryOutcome::unchanged) return false;
    return host_error(o == InventoryOutcome::revoked ? HostState::revoked : HostState::missing,
                      host_id);
  };
  // The common case, an unchanged inventory, costs this one read and takes no lock.
  PF_TRY(state, impl_->in_transaction<pqxx::nontransaction>(
                    "reading an inventory hash", [&](Tx& tx) -> Result<InventoryOutcome> {
                      return inventory_state(tx, "pf_inventory_state", host_id, hash);
                    }));
  if (*state != InventoryOutcome::stored) return refused(*state);
  PF_CHECK(validate_inventory(hash, packages, updates));
  PF_TRY(done, impl_->in_transaction<pqxx::work>(
                   "storing an inventory", [&](Tx& tx) -> Result<InventoryOutcome> {
                     return write_inventory(tx, host_id, hash, packages, updates);
                   }));
  if (*done != InventoryOutcome::stored) return refused(*done);
  return true;
}

Result<std::vector<InventoryOutcome>> PostgresStore::put_inventories(
    std::span<const InventoryPut> batch) {
  for (const auto& item : batch) {
    if (auto ok = validate_inventory(item.hash, item.packages, item.updates); !ok) {
      ok.error().where = item.host_id + ": " + ok.error().where;
      return Unexpected(std::move(ok.error()));
    }
  }
  std::vector<InventoryOutcome> out(batch.size(), InventoryOutcome::unchanged);
  if (batch.empty()) return out;
  // Host rows are locked in id order (batch order among one host's items), so that batches
  // written concurrently by several servers cannot deadlock on each other's host locks.
  std::vector<std::size_t> order(batch.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return batch[a].host_id < batch[b].host_id;
  });
  PF_CHECK(impl_->in_transaction<pqxx::work>("storing inventories", [&](Tx& tx) -> Result<void> {
    for (const std::size_t i : order) {
      const auto& item = batch[i];
      out[i] = write_inventory(tx, item.host_id, item.hash, item.packages, item.updates);
    }
    return {};
  }));
  return out;
}

Result<std::vector<inventory::Package>> PostgresStore::packages(std::string_view host_id) {
  if (!storable(host_id)) return host_error(HostState::missing, host_id);
  return impl_->in_transaction<Snapshot>(
      "reading packages", [&](Tx& tx) -> Result<std::vector<inventory::Package>> {
        const HostState state = host_state(tx, host_id);
        if (state == HostState::missing) return host_error(state, host_id);
        const pqxx::result r =
            exec_sql(tx,
                     "SELECT name, arch, version, source_name, source_version FROM host_packages"
                     " WHERE host_id = $1 ORDER BY seq",
                     {text(host_id)});
        std::vector<inventory::Package> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          out.push_back({text_of(row[0]), text_of(row[1]), text_of(row[2]), text_of(row[3]),
                         text_of(row[4])});
        }
        return out;
      });
}

Result<std::vector<AvailableUpdate>> PostgresStore::updates(std::string_view host_id) {
  if (!storable(host_id)) return host_error(HostState::missing, host_id);
  return impl_->in_transaction<Snapshot>(
      "reading updates", [&](Tx& tx) -> Result<std::vector<AvailableUpdate>> {
        const HostState state = host_state(tx, host_id);
        if (state == HostState::missing) return host_error(state, host_id);
        const pqxx::result r =
            exec_sql(tx,
                     "SELECT name, arch, installed_version, candidate_version, origin, security,"
                     " advisories, held_reason FROM host_updates WHERE host_id = $1 ORDER BY seq",
                     {text(host_id)});
        std::vector<AvailableUpdate> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          AvailableUpdate u;
          u.name = text_of(row[0]);
          u.arch = text_of(row[1]);
          u.installed_version = text_of(row[2]);
          u.candidate_version = text_of(row[3]);
          u.origin = text_of(row[4]);
          u.security = bool_of(row[5]);
          u.advisories = text_array_of(row[6]);
          u.held_reason = text_of(row[7]);
          out.push_back(std::move(u));
        }
        return out;
      });
}

// Enrollment tokens.

Result<void> PostgresStore::create_enrollment_token(const EnrollmentToken& t,
                                                    const AuditEntry& audit) {
  PF_CHECK(validate_enrollment_token(t));
  return audited(*impl_, "creating an enrollment token", audit, [&](Tx& tx) -> Result<void> {
    const pqxx::result r =
        exec_sql(tx,
                 "INSERT INTO enrollment_tokens(" + std::string(kTokenColumns) +
                     ") VALUES ($1, $2, $3::text[], $4, $5::bigint, $6::bigint, NULL, NULL)"
                     " ON CONFLICT DO NOTHING",
                 {text(t.token_hash), text(t.token_id), label_pairs(t.labels), text(t.created_by),
                  integer(t.created_at), integer(t.expires_at)});
    if (r.affected_rows() == 0) {
      return make_error(Errc::conflict, "an enrollment token with this hash or token_id exists",
                        "token_id");
    }
    return {};
  });
}

Result<EnrollmentToken> PostgresStore::consume_enrollment_token(std::string_view token_hash,
                                                                std::int64_t now,
                                                                std::string_view host_id) {
  if (!is_token_hash(token_hash)) {
    return make_error(Errc::invalid_input, "token_hash must be sha256:<64 lower-case hex digits>",
                      "token_hash");
  }
  if (host_id.empty() || host_id.size() > 64) {
    return make_error(Errc::invalid_input, "host id must be 1..64 characters", "host_id");
  }
  return impl_->in_transaction<pqxx::nontransaction>(
      "consuming an enrollment token", [&](Tx& tx) -> Result<EnrollmentToken> {
        // One statement: of several concurrent calls, the first takes the row's lock and the
        // others, once it commits, find used_at set and match nothing.
        const pqxx::result won =
            exec_sql(tx,
                     "UPDATE enrollment_tokens SET used_at = $1::bigint, used_by_host = $2"
                     " WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1::bigint"
                     " RETURNING " +
                         std::string(kTokenColumns),
                     {integer(now), text(host_id), text(token_hash)});
        if (!won.empty()) return read_token(won[0]);
        const pqxx::result r = exec_sql(
            tx, "SELECT token_id, used_at IS NOT NULL FROM enrollment_tokens WHERE token_hash = $1",
            {text(token_hash)});
        if (r.empty()) return make_error(Errc::not_found, "unknown enrollment token", "token");
        if (bool_of(r[0][1])) {
          return make_error(Errc::conflict,
                            "enrollment token " + text_of(r[0][0]) + " was used already", "token");
        }
        return make_error(Errc::invalid_input, "expired", "token");
      });
}

Result<std::vector<EnrollmentToken>> PostgresStore::list_enrollment_tokens() {
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing enrollment tokens", [&](Tx& tx) -> Result<std::vector<EnrollmentToken>> {
        const pqxx::result r = tx.exec("SELECT " + std::string(kTokenColumns) +
                                       " FROM enrollment_tokens ORDER BY created_at, token_id");
        std::vector<EnrollmentToken> out;
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(read_token(row));
        return out;
      });
}

// Users.

Result<void> PostgresStore::create_user(const User& u, const AuditEntry& audit) {
  PF_CHECK(validate_user(u));
  return audited(*impl_, "creating a user", audit, [&](Tx& tx) -> Result<void> {
    const pqxx::result r =
        exec_sql(tx,
                 "INSERT INTO users(" + std::string(kUserColumns) +
                     ") VALUES ($1, $2, $3, $4::boolean, $5::bigint) ON CONFLICT DO NOTHING",
                 {text(u.name), text(u.password_hash), text(u.role), boolean(u.disabled),
                  integer(u.created_at)});
    if (r.affected_rows() == 0) {
      return make_error(Errc::conflict, "user '" + u.name + "' exists", "name");
    }
    return {};
  });
}

Result<std::optional<User>> PostgresStore::user(std::string_view name) {
  if (!storable(name)) return std::optional<User>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading a user", [&](Tx& tx) -> Result<std::optional<User>> {
        const pqxx::result r =
            exec_sql(tx, "SELECT " + std::string(kUserColumns) + " FROM users WHERE name = $1",
                     {text(name)});
        if (r.empty()) return std::optional<User>();
        return std::optional<User>(read_user(r[0]));
      });
}

Result<std::vector<User>> PostgresStore::list_users() {
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing users", [&](Tx& tx) -> Result<std::vector<User>> {
        const pqxx::result r =
            tx.exec("SELECT " + std::string(kUserColumns) + " FROM users ORDER BY name");
        std::vector<User> out;
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(read_user(row));
        return out;
      });
}

namespace {

// UPDATE users SET <column> = <value> WHERE name = ..., audited; not_found for an unknown user.
Result<void> update_user(PostgresStore::Impl& impl, std::string_view name,
                         std::string_view assignment, Param value, const AuditEntry& audit) {
  if (!storable(name)) {
    PF_CHECK(check_audit_entry(audit));
    return no_user(name);
  }
  return audited(impl, "changing a user", audit, [&](Tx& tx) -> Result<void> {
    const pqxx::result r =
        exec_sql(tx, "UPDATE users SET " + std::string(assignment) + " WHERE name = $2",
                 {std::move(value), text(name)});
    if (r.affected_rows() == 0) return no_user(name);
    return {};
  });
}

}  // namespace

Result<void> PostgresStore::set_password_hash(std::string_view name, std::string_view phc,
                                              const AuditEntry& audit) {
  PF_CHECK(validate_password_hash(phc));
  return update_user(*impl_, name, "password_hash = $1", text(phc), audit);
}

Result<void> PostgresStore::set_role(std::string_view name, std::string_view role,
                                     const AuditEntry& audit) {
  if (!is_valid_role(role)) {
    return make_error(Errc::invalid_input,
                      "unknown role '" + std::string(role.substr(0, 64)) +
                          "' (admin, operator, approver or viewer)",
                      "role");
  }
  return update_user(*impl_, name, "role = $1", text(role), audit);
}

Result<void> PostgresStore::set_disabled(std::string_view name, bool disabled,
                                         const AuditEntry& audit) {
  return update_user(*impl_, name, "disabled = $1::boolean", boolean(disabled), audit);
}

// API tokens.

Result<void> PostgresStore::create_api_token(const ApiToken& t, const AuditEntry& audit) {
  PF_CHECK(validate_api_token(t));
  return audited(*impl_, "creating an API token", audit, [&](Tx& tx) -> Result<void> {
    // The user's row is kept (FOR KEY SHARE, as the foreign key would) until the commit.
    if (exec_sql(tx, "SELECT 1 FROM users WHERE name = $1 FOR KEY SHARE", {text(t.user)}).empty()) {
      return no_user(t.user);
    }
    const pqxx::result r =
        exec_sql(tx,
                 "INSERT INTO api_tokens(" + std::string(kApiTokenColumns) +
                     ") VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, NULL, NULL)"
                     " ON CONFLICT DO NOTHING",
                 {text(t.token_hash), text(t.token_id), text(t.user), text(t.role),
                  integer(t.created_at), opt_integer(t.expires_at)});
    if (r.affected_rows() == 0) {
      return make_error(Errc::conflict, "an API token with this hash or token_id exists",
                        "token_id");
    }
    return {};
  });
}

Result<std::optional<ApiToken>> PostgresStore::api_token(std::string_view token_hash) {
  if (!storable(token_hash)) return std::optional<ApiToken>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading an API token", [&](Tx& tx) -> Result<std::optional<ApiToken>> {
        const pqxx::result r = exec(tx, "pf_api_token_by_hash", {text(token_hash)});
        if (r.empty()) return std::optional<ApiToken>();
        return std::optional<ApiToken>(read_api_token(r[0]));
      });
}

Result<void> PostgresStore::revoke_api_token(std::string_view token_id, std::int64_t at,
                                             const AuditEntry& audit) {
  return audited(*impl_, "revoking an API token", audit, [&](Tx& tx) -> Result<void> {
    auto missing = [&] {
      return make_error(Errc::not_found, "no API token " + std::string(token_id),
                        std::string(token_id));
    };
    if (!storable(token_id)) return missing();
    const pqxx::result r = exec_sql(
        tx,
        "UPDATE api_tokens SET revoked_at = $1::bigint WHERE token_id = $2 AND revoked_at IS NULL",
        {integer(at), text(token_id)});
    if (r.affected_rows() != 0) return {};
    if (exec_sql(tx, "SELECT 1 FROM api_tokens WHERE token_id = $1", {text(token_id)}).empty()) {
      return missing();
    }
    return make_error(Errc::conflict, "API token " + std::string(token_id) + " is revoked already",
                      std::string(token_id));
  });
}

Result<void> PostgresStore::record_api_token_use(std::string_view token_id, std::int64_t at) {
  if (!storable(token_id)) return {};
  // One conditional UPDATE: when last_used_at is recent it matches no row, and PostgreSQL
  // writes (and locks) nothing.
  return impl_->in_transaction<pqxx::nontransaction>(
      "recording an API token's use", [&](Tx& tx) -> Result<void> {
        exec(tx, "pf_api_token_touch", {integer(at), text(token_id)});
        return {};
      });
}

Result<std::vector<ApiToken>> PostgresStore::list_api_tokens(std::optional<std::string_view> user) {
  if (user && !storable(*user)) return std::vector<ApiToken>();
  return impl_->in_transaction<pqxx::nontransaction>(
      "listing API tokens", [&](Tx& tx) -> Result<std::vector<ApiToken>> {
        const std::string s = "SELECT " + std::string(kApiTokenColumns) + " FROM api_tokens" +
                              (user ? " WHERE user_name = $1" : "") +
                              " ORDER BY created_at, token_id";
        const pqxx::result r =
            user ? exec_sql(tx, s, {text(*user)}) : exec_sql(tx, s, std::vector<Param>{});
        std::vector<ApiToken> out;
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(read_api_token(row));
        return out;
      });
}

// Audit log.

Result<AuditHead> PostgresStore::append_audit(const AuditEntry& entry) {
  PF_CHECK(check_audit_entry(entry));
  return impl_->in_transaction<pqxx::work>("appending to the audit log",
                                           [&](Tx& tx) -> Result<AuditHead> {
                                             exec(tx, "pf_audit_lock", {});
                                             return append_audit_locked(tx, entry);
                                           });
}

Result<std::vector<AuditRecord>> PostgresStore::audit_entries(std::int64_t from_seq, int limit) {
  if (limit < 1 || limit > kMaxPageSize) {
    return make_error(Errc::invalid_input, "limit must be 1.." + std::to_string(kMaxPageSize),
                      "limit");
  }
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading the audit log", [&](Tx& tx) -> Result<std::vector<AuditRecord>> {
        const pqxx::result r = exec_sql(tx,
                                        "SELECT " + std::string(kAuditColumns) +
                                            " FROM audit_log WHERE seq >= $1::bigint"
                                            " ORDER BY seq LIMIT $2::bigint",
                                        {integer(from_seq), integer(limit)});
        std::vector<AuditRecord> out;
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(read_audit(row));
        return out;
      });
}

Result<AuditHead> PostgresStore::audit_head() {
  return impl_->in_transaction<pqxx::nontransaction>(
      "reading the audit log's head", [&](Tx& tx) -> Result<AuditHead> {
        const pqxx::result r = exec(tx, "pf_audit_head", {});
        if (r.empty()) return AuditHead{0, std::string(kAuditGenesisHash)};
        return AuditHead{integer_of(r[0][0]), text_of(r[0][1])};
      });
}

Result<AuditVerification> PostgresStore::verify_audit() {
  // Page by page, in one snapshot: the memory used does not grow with the log.
  return impl_->in_transaction<Snapshot>(
      "verifying the audit log", [&](Tx& tx) -> Result<AuditVerification> {
        AuditChainVerifier verifier;
        const std::string s = "SELECT " + std::string(kAuditColumns) +
                              " FROM audit_log WHERE seq > $1::bigint ORDER BY seq LIMIT " +
                              std::to_string(kVerifyPage);
        std::int64_t after = std::numeric_limits<std::int64_t>::min();
        for (;;) {
          const pqxx::result r = exec_sql(tx, s, {integer(after)});
          for (const auto& row : r) {
            AuditRecord record = read_audit(row);
            after = record.seq;
            if (!verifier.add(record)) return verifier.result();
          }
          if (r.size() < static_cast<std::size_t>(kVerifyPage)) break;
        }
        return verifier.result();
      });
}

}  // namespace pf::store
