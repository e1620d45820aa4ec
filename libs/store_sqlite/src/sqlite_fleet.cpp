// SPDX-License-Identifier: Apache-2.0
// SqliteStore's FleetStore half: hosts, inventories, enrollment tokens, users, API tokens and
// the audit log (schema: migration 2 in migrations.cpp).
#include <cstdint>
#include <utility>

#include "store_impl.hpp"

namespace pf::store {

using sqlite::Db;
using sqlite::Stmt;
using sqlite::Transaction;

namespace {

// The columns of a Host, labels last (joined as "key=value" lines: keys hold no '=' and
// values no newline, see validate_labels).
constexpr std::string_view kHostColumns =
    "h.id, h.name, h.os_id, h.os_version_id, h.ecosystem, h.arch, h.kernel_release, h.boot_id,"
    " h.criticality, h.cert_fingerprint, h.cert_not_after, h.enrolled_at, h.last_seen,"
    " h.reboot_required, h.reboot_reasons, h.inventory_hash, h.revoked_at,"
    " (SELECT group_concat(l.key || '=' || l.value, char(10)) FROM host_labels l"
    " WHERE l.host_id = h.id), h.max_severity, h.open_findings, h.pending_runs";

constexpr std::string_view kTokenColumns =
    "token_hash, token_id, labels, created_by, created_at, expires_at, used_at, used_by_host";

constexpr std::string_view kApiTokenColumns =
    "token_hash, token_id, user_name, role, created_at, expires_at, revoked_at, last_used_at";

constexpr std::string_view kAuditColumns =
    "seq, actor, action, target, before_json, after_json, at, prev_hash, hash";

// Lists in one TEXT column: each item with '\' and newline escaped, then a newline.
std::string encode_list(std::span<const std::string> items) {
  std::string out;
  for (const auto& item : items) {
    for (char c : item) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '\n';
  }
  return out;
}

std::vector<std::string> decode_list(std::string_view text) {
  std::vector<std::string> out;
  std::string item;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      out.push_back(std::move(item));
      item.clear();
    } else if (c == '\\' && i + 1 < text.size()) {
      ++i;
      item += text[i] == 'n' ? '\n' : text[i];
    } else {
      item += c;
    }
  }
  return out;
}

std::string encode_labels(const Labels& labels) {
  std::vector<std::string> items;
  items.reserve(labels.size());
  for (const auto& [key, value] : labels) items.push_back(key + "=" + value);
  return encode_list(items);
}

void add_label(Labels& labels, std::string_view pair) {
  const auto eq = pair.find('=');
  if (eq == std::string_view::npos) return;
  labels.emplace(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
}

Labels decode_labels(std::string_view text) {
  Labels labels;
  for (const auto& item : decode_list(text)) add_label(labels, item);
  return labels;
}

// The group_concat form of kHostColumns.
Labels split_labels(std::string_view text) {
  Labels labels;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    add_label(labels, text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return labels;
}

Host read_host(const Stmt& s) {
  Host h;
  h.id = s.text(0);
  h.name = s.text(1);
  h.os_id = s.text(2);
  h.os_version_id = s.text(3);
  h.ecosystem = s.text(4);
  h.arch = s.text(5);
  h.kernel_release = s.text(6);
  h.boot_id = s.text(7);
  h.criticality = static_cast<int>(s.integer(8));
  h.cert_fingerprint = s.text(9);
  h.cert_not_after = s.integer(10);
  h.enrolled_at = s.integer(11);
  h.last_seen = s.integer(12);
  h.reboot_required = s.integer(13) != 0;
  h.reboot_reasons = decode_list(s.text(14));
  h.inventory_hash = s.text(15);
  h.revoked_at = s.opt_integer(16);
  h.labels = split_labels(s.text(17));
  h.max_severity = static_cast<int>(s.integer(18));
  h.open_findings = s.integer(19);
  h.pending_runs = s.integer(20);
  return h;
}

EnrollmentToken read_token(const Stmt& s) {
  EnrollmentToken t;
  t.token_hash = s.text(0);
  t.token_id = s.text(1);
  t.labels = decode_labels(s.text(2));
  t.created_by = s.text(3);
  t.created_at = s.integer(4);
  t.expires_at = s.integer(5);
  t.used_at = s.opt_integer(6);
  if (!s.is_null(7)) t.used_by_host = s.text(7);
  return t;
}

ApiToken read_api_token(const Stmt& s) {
  ApiToken t;
  t.token_hash = s.text(0);
  t.token_id = s.text(1);
  t.user = s.text(2);
  t.role = s.text(3);
  t.created_at = s.integer(4);
  t.expires_at = s.opt_integer(5);
  t.revoked_at = s.opt_integer(6);
  t.last_used_at = s.opt_integer(7);
  return t;
}

User read_user(const Stmt& s) {
  return User{s.text(0), s.text(1), s.text(2), s.integer(3) != 0, s.integer(4)};
}

AuditRecord read_audit(const Stmt& s) {
  AuditRecord r;
  r.seq = s.integer(0);
  r.entry = AuditEntry{s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.integer(6)};
  r.prev_hash = s.text(7);
  r.hash = s.text(8);
  return r;
}

// Several reads that must see one state: BEGIN ... COMMIT unless a transaction is open.
struct ReadTx {
  Db* db{nullptr};
  ReadTx() = default;
  ReadTx(const ReadTx&) = delete;
  ReadTx& operator=(const ReadTx&) = delete;
  ~ReadTx() {
    if (db != nullptr) (void)db->exec("COMMIT");
  }
  Result<void> begin(Db& d) {
    if (sqlite3_get_autocommit(d.handle()) == 0) return {};
    PF_CHECK(d.exec("BEGIN"));
    db = &d;
    return {};
  }
};

// Replaces the message of a failed write that broke a unique or foreign-key constraint.
Result<void> on_conflict(Result<void> r, std::string message, std::string where) {
  if (!r && r.error().code == Errc::conflict) {
    return make_error(Errc::conflict, std::move(message), std::move(where));
  }
  return r;
}

enum class HostState { missing, active, revoked };

Result<HostState> host_state(SqliteStore::Impl& impl, std::string_view id) {
  PF_TRY(s, cached(impl.db, impl.host_state,
                   "SELECT revoked_at IS NOT NULL FROM hosts WHERE id = ?"));
  Stmt& st = **s;
  ResetOnExit reset{st};
  st.bind(1, id);
  PF_TRY(row, st.step());
  if (!*row) return HostState::missing;
  return st.integer(0) != 0 ? HostState::revoked : HostState::active;
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

Result<void> insert_labels(Db& d, std::string_view host_id, const Labels& labels) {
  if (labels.empty()) return {};
  PF_TRY(ins, d.prepare("INSERT INTO host_labels(host_id, key, value) VALUES (?, ?, ?)"));
  for (const auto& [key, value] : labels) {
    ins->bind(1, host_id).bind(2, key).bind(3, value);
    PF_CHECK(ins->run());
  }
  return {};
}

void bind_checkin(Stmt& s, std::string_view host_id, const CheckinFacts& f) {
  s.bind(1, f.at)
      .bind(2, f.boot_id)
      .bind(3, f.kernel_release)
      .bind(4, std::int64_t{f.reboot_required})
      .bind(5, encode_list(f.reboot_reasons))
      .bind(6, f.os_id)
      .bind(7, f.os_version_id)
      .bind(8, f.ecosystem)
      .bind(9, host_id);
}

constexpr std::string_view kCheckinSql =
    "UPDATE hosts SET last_seen = ?1, boot_id = ?2, kernel_release = ?3, reboot_required = ?4,"
    " reboot_reasons = ?5, os_id = ?6, os_version_id = ?7, ecosystem = ?8"
    " WHERE id = ?9 AND revoked_at IS NULL";

// Appends inside the caller's write transaction, which makes reading the head and inserting
// after it one step for every connection to the file.
Result<AuditHead> append_audit_locked(SqliteStore::Impl& impl, const AuditEntry& e) {
  PF_TRY(last, cached(impl.db, impl.audit_last,
                      "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
  AuditHead head{1, std::string(kAuditGenesisHash)};
  {
    Stmt& st = **last;
    ResetOnExit reset{st};
    PF_TRY(row, st.step());
    if (*row) {
      head.seq = st.integer(0) + 1;
      head.hash = st.text(1);
    }
  }
  const std::string hash = audit_hash(head.hash, head.seq, e);
  PF_TRY(ins, cached(impl.db, impl.audit_insert,
                     "INSERT INTO audit_log(seq, actor, action, target, before_json, after_json,"
                     " at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  (*ins)->bind(1, head.seq)
      .bind(2, e.actor)
      .bind(3, e.action)
      .bind(4, e.target)
      .bind(5, e.before_json)
      .bind(6, e.after_json)
      .bind(7, e.at)
      .bind(8, head.hash)
      .bind(9, hash);
  PF_CHECK((*ins)->run());
  head.hash = hash;
  return head;
}

// A change by a person: the change and its audit entry in one transaction.
template <class Change>
Result<void> audited(SqliteStore::Impl& impl, const AuditEntry& audit, Change&& change) {
  PF_CHECK(validate_audit_entry(audit));
  Transaction tx(impl.db);
  PF_CHECK(tx.begin());
  PF_CHECK(std::forward<Change>(change)());
  PF_CHECK(append_audit_locked(impl, audit));
  return tx.commit();
}

Result<std::optional<Host>> one_host(Stmt& st) {
  ResetOnExit reset{st};
  PF_TRY(row, st.step());
  if (!*row) return std::optional<Host>();
  return std::optional<Host>(read_host(st));
}

}  // namespace

// Hosts.

Result<void> SqliteStore::create_host(const Host& h) {
  PF_CHECK(validate_host(h));
  Db& d = impl_->db;
  Transaction tx(d);
  PF_CHECK(tx.begin());
  PF_TRY(ins, d.prepare("INSERT INTO hosts(id, name, os_id, os_version_id, ecosystem, arch,"
                        " kernel_release, boot_id, criticality, cert_fingerprint, cert_not_after,"
                        " enrolled_at, last_seen, reboot_required, reboot_reasons, inventory_hash,"
                        " revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL)"));
  ins->bind(1, h.id)
      .bind(2, h.name)
      .bind(3, h.os_id)
      .bind(4, h.os_version_id)
      .bind(5, h.ecosystem)
      .bind(6, h.arch)
      .bind(7, h.kernel_release)
      .bind(8, h.boot_id)
      .bind(9, std::int64_t{h.criticality})
      .bind(10, h.cert_fingerprint)
      .bind(11, h.cert_not_after)
      .bind(12, h.enrolled_at)
      .bind(13, h.last_seen)
      .bind(14, std::int64_t{h.reboot_required})
      .bind(15, encode_list(h.reboot_reasons));
  if (auto r = ins->run(); !r) {
    if (r.error().code != Errc::conflict) return r;
    PF_TRY(state, host_state(*impl_, h.id));
    if (*state != HostState::missing) {
      return make_error(Errc::conflict, "host " + h.id + " exists", "id");
    }
    return make_error(Errc::conflict, "another host has this certificate fingerprint",
                      "cert_fingerprint");
  }
  PF_CHECK(insert_labels(d, h.id, h.labels));
  return tx.commit();
}

Result<std::optional<Host>> SqliteStore::host(std::string_view id) {
  static const std::string kSql =
      "SELECT " + std::string(kHostColumns) + " FROM hosts h WHERE h.id = ?";
  PF_TRY(s, cached(impl_->db, impl_->host_by_id, kSql));
  (*s)->bind(1, id);
  return one_host(**s);
}

Result<std::optional<Host>> SqliteStore::host_by_fingerprint(std::string_view fingerprint) {
  static const std::string kSql =
      "SELECT " + std::string(kHostColumns) + " FROM hosts h WHERE h.cert_fingerprint = ?";
  PF_TRY(s, cached(impl_->db, impl_->host_by_fingerprint, kSql));
  (*s)->bind(1, fingerprint);
  return one_host(**s);
}

Result<HostPage> SqliteStore::list_hosts(const HostQuery& q) {
  PF_CHECK(validate_host_query(q));
  std::string sql = "SELECT " + std::string(kHostColumns) + " FROM hosts h";
  std::vector<std::string> params;
  auto label = q.labels.begin();
  const bool by_label = label != q.labels.end();
  // The first label drives the scan through host_labels_by_pair, already in host id order.
  if (by_label) {
    sql += " JOIN host_labels l0 ON l0.host_id = h.id AND l0.key = ? AND l0.value = ?";
    params.push_back(label->first);
    params.push_back(label->second);
    ++label;
    sql += " WHERE l0.host_id > ?";
  } else {
    sql += " WHERE h.id > ?";
  }
  params.push_back(q.cursor);
  for (; label != q.labels.end(); ++label) {
    sql += " AND EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = h.id AND l.key = ?"
           " AND l.value = ?)";
    params.push_back(label->first);
    params.push_back(label->second);
  }
  if (!q.ecosystem.empty()) {
    sql += " AND h.ecosystem = ?";
    params.push_back(q.ecosystem);
  }
  if (!q.name_prefix.empty()) {
    // [prefix, prefix with its last byte raised): the names that start with it, in byte order.
    sql += " AND h.name >= ?";
    params.push_back(q.name_prefix);
    std::string upper = q.name_prefix;
    while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
    if (!upper.empty()) {
      upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
      sql += " AND h.name < ?";
      params.push_back(upper);
    }
  }
  if (!q.include_revoked) sql += " AND h.revoked_at IS NULL";
  if (q.min_severity) {
    sql += " AND h.max_severity >= ?";
    params.push_back(std::to_string(*q.min_severity));
  }
  sql += by_label ? " ORDER BY l0.host_id" : " ORDER BY h.id";
  sql += " LIMIT ?";
  PF_TRY(stmt, impl_->db.prepare(sql));
  int index = 1;
  for (const auto& p : params) stmt->bind(index++, p);
  stmt->bind(index, std::int64_t{q.limit} + 1);
  HostPage page;
  for (;;) {
    PF_TRY(row, stmt->step());
    if (!*row) break;
    page.hosts.push_back(read_host(*stmt));
  }
  if (page.hosts.size() > static_cast<std::size_t>(q.limit)) {
    page.hosts.pop_back();
    page.next_cursor = page.hosts.back().id;
  }
  return page;
}

Result<void> SqliteStore::record_checkin(std::string_view host_id, const CheckinFacts& facts) {
  PF_CHECK(validate_checkin(facts));
  PF_TRY(s, cached(impl_->db, impl_->checkin, kCheckinSql));
  bind_checkin(**s, host_id, facts);
  PF_CHECK((*s)->run());
  if (sqlite3_changes(impl_->db.handle()) == 0) {
    PF_TRY(state, host_state(*impl_, host_id));
    return host_error(*state, host_id);
  }
  return {};
}

Result<std::size_t> SqliteStore::record_checkins(std::span<const Checkin> batch) {
  for (const auto& c : batch) {
    if (auto ok = validate_checkin(c.facts); !ok) {
      ok.error().where = c.host_id + ": " + ok.error().where;
      return Unexpected(std::move(ok.error()));
    }
  }
  if (batch.empty()) return std::size_t{0};
  Transaction tx(impl_->db);
  PF_CHECK(tx.begin());
  PF_TRY(s, cached(impl_->db, impl_->checkin, kCheckinSql));
  std::size_t updated = 0;
  for (const auto& c : batch) {
    bind_checkin(**s, c.host_id, c.facts);
    PF_CHECK((*s)->run());
    updated += static_cast<std::size_t>(sqlite3_changes(impl_->db.handle()));
  }
  PF_CHECK(tx.commit());
  return updated;
}

Result<void> SqliteStore::set_certificate(std::string_view host_id, std::string_view fingerprint,
                                          std::int64_t not_after) {
  PF_CHECK(validate_cert_fingerprint(fingerprint));
  PF_TRY(s, impl_->db.prepare("UPDATE hosts SET cert_fingerprint = ?, cert_not_after = ?"
                              " WHERE id = ? AND revoked_at IS NULL"));
  s->bind(1, fingerprint).bind(2, not_after).bind(3, host_id);
  PF_CHECK(on_conflict(s->run(), "another host has this certificate fingerprint",
                       "cert_fingerprint"));
  if (sqlite3_changes(impl_->db.handle()) == 0) {
    PF_TRY(state, host_state(*impl_, host_id));
    return host_error(*state, host_id);
  }
  return {};
}

Result<void> SqliteStore::revoke_host(std::string_view host_id, std::int64_t at,
                                      const AuditEntry& audit) {
  return audited(*impl_, audit, [&]() -> Result<void> {
    PF_TRY(s, impl_->db.prepare(
                  "UPDATE hosts SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"));
    s->bind(1, at).bind(2, host_id);
    PF_CHECK(s->run());
    if (sqlite3_changes(impl_->db.handle()) == 0) {
      PF_TRY(state, host_state(*impl_, host_id));
      if (*state == HostState::revoked) {
        return make_error(Errc::conflict, "host " + std::string(host_id) + " is revoked already",
                          std::string(host_id));
      }
      return host_error(*state, host_id);
    }
    return {};
  });
}

Result<void> SqliteStore::set_labels(std::string_view host_id, const Labels& labels,
                                     const AuditEntry& audit) {
  PF_CHECK(validate_labels(labels));
  return audited(*impl_, audit, [&]() -> Result<void> {
    PF_TRY(state, host_state(*impl_, host_id));
    if (*state == HostState::missing) return host_error(*state, host_id);
    PF_TRY(del, impl_->db.prepare("DELETE FROM host_labels WHERE host_id = ?"));
    del->bind(1, host_id);
    PF_CHECK(del->run());
    return insert_labels(impl_->db, host_id, labels);
  });
}

// Inventories.

namespace {

// Where the stored inventory of a host stands, read with the cached inventory_state statement.
Result<InventoryOutcome> inventory_state(SqliteStore::Impl& impl, std::string_view host_id,
                                         std::string_view hash) {
  PF_TRY(s, cached(impl.db, impl.inventory_state,
                   "SELECT revoked_at IS NOT NULL, inventory_hash FROM hosts WHERE id = ?"));
  Stmt& st = **s;
  ResetOnExit reset{st};
  st.bind(1, host_id);
  PF_TRY(row, st.step());
  if (!*row) return InventoryOutcome::unknown_host;
  if (st.integer(0) != 0) return InventoryOutcome::revoked;
  return st.text(1) == hash ? InventoryOutcome::unchanged : InventoryOutcome::stored;
}

// What to do at each position of the new rows after comparing them with the stored ones:
// revalue rewrites only the columns outside the row's indexes (a package's version), which
// spares SQLite the index updates of a full rewrite.
enum class RowAction : char { insert, keep, revalue, rewrite };

struct RowPlan {
  std::vector<RowAction> actions;  // one per new row
  bool trim{false};                // stored rows at positions past the new end
};

// Reads the host's stored rows (`select`: seq first, then the compared columns) and compares
// each with the new row at its position (`compare(stmt, row)` says what to do).
template <class Row, class Compare>
Result<RowPlan> plan_rows(Stmt& select, std::string_view host_id, std::span<const Row> rows,
                          Compare compare) {
  RowPlan plan;
  plan.actions.assign(rows.size(), RowAction::insert);
  ResetOnExit reset{select};
  select.bind(1, host_id);
  for (;;) {
    PF_TRY(row, select.step());
    if (!*row) break;
    const std::int64_t seq = select.integer(0);
    if (seq < 0 || static_cast<std::uint64_t>(seq) >= rows.size()) {
      plan.trim = true;
      continue;
    }
    const auto i = static_cast<std::size_t>(seq);
    plan.actions[i] = compare(select, rows[i]);
  }
  return plan;
}

void bind_package(Stmt& s, std::string_view host_id, std::size_t seq,
                  const inventory::Package& p) {
  s.bind(1, host_id)
      .bind(2, static_cast<std::int64_t>(seq))
      .bind(3, p.name)
      .bind(4, p.arch)
      .bind(5, p.version)
      .bind(6, p.source_name)
      .bind(7, p.source_version);
}

void bind_update(Stmt& s, std::string_view host_id, std::size_t seq, const AvailableUpdate& u) {
  s.bind(1, host_id)
      .bind(2, static_cast<std::int64_t>(seq))
      .bind(3, u.name)
      .bind(4, u.arch)
      .bind(5, u.installed_version)
      .bind(6, u.candidate_version)
      .bind(7, u.origin)
      .bind(8, std::int64_t{u.security})
      .bind(9, encode_list(u.advisories))
      .bind(10, u.held_reason);
}

// Carries out a plan: inserts and rewrites by position, then drops the positions past the end.
// The statements take the parameters of `bind`; `revalue` is used for RowAction::revalue.
template <class Row, class Bind>
Result<void> apply_plan(std::string_view host_id, std::span<const Row> rows, const RowPlan& plan,
                        Stmt& insert, Stmt& rewrite, Stmt& revalue, Stmt& trim, Bind bind) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RowAction action = plan.actions[i];
    if (action == RowAction::keep) continue;
    Stmt& st = action == RowAction::insert    ? insert
               : action == RowAction::revalue ? revalue
                                              : rewrite;
    bind(st, host_id, i, rows[i]);
    PF_CHECK(st.run());
  }
  if (plan.trim) {
    trim.bind(1, host_id).bind(2, static_cast<std::int64_t>(rows.size()));
    PF_CHECK(trim.run());
  }
  return {};
}

// Stores one (validated) inventory inside the caller's write transaction: the hash is read
// again under the write lock, then only the rows that differ from the stored ones are written.
Result<InventoryOutcome> write_inventory(SqliteStore::Impl& impl, std::string_view host_id,
                                         std::string_view hash,
                                         std::span<const inventory::Package> packages,
                                         std::span<const AvailableUpdate> updates) {
  PF_TRY(state, inventory_state(impl, host_id, hash));
  if (*state != InventoryOutcome::stored) return *state;
  Db& d = impl.db;

  PF_TRY(sel_p, cached(d, impl.stored_packages,
                       "SELECT seq, name, arch, version, source_name, source_version"
                       " FROM host_packages WHERE host_id = ?"));
  PF_TRY(plan_p, plan_rows(**sel_p, host_id, packages,
                           [](const Stmt& s, const inventory::Package& p) {
                             if (s.text(1) != p.name || s.text(2) != p.arch) {
                               return RowAction::rewrite;
                             }
                             return s.text(3) == p.version && s.text(4) == p.source_name &&
                                            s.text(5) == p.source_version
                                        ? RowAction::keep
                                        : RowAction::revalue;
                           }));
  PF_TRY(ins_p, cached(d, impl.insert_package,
                       "INSERT INTO host_packages(host_id, seq, name, arch, version, source_name,"
                       " source_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  PF_TRY(upd_p, cached(d, impl.update_package,
                       "UPDATE host_packages SET name = ?3, arch = ?4, version = ?5,"
                       " source_name = ?6, source_version = ?7 WHERE host_id = ?1 AND seq = ?2"));
  // Name and arch are matched, not set: the name index is left alone.
  PF_TRY(rev_p, cached(d, impl.revalue_package,
                       "UPDATE host_packages SET version = ?5, source_name = ?6,"
                       " source_version = ?7 WHERE host_id = ?1 AND seq = ?2 AND name = ?3"
                       " AND arch = ?4"));
  PF_TRY(trim_p, cached(d, impl.trim_packages,
                        "DELETE FROM host_packages WHERE host_id = ? AND seq >= ?"));
  PF_CHECK(apply_plan(host_id, packages, *plan_p, **ins_p, **upd_p, **rev_p, **trim_p,
                      bind_package));

  PF_TRY(sel_u, cached(d, impl.stored_updates,
                       "SELECT seq, name, arch, installed_version, candidate_version, origin,"
                       " security, advisories, held_reason FROM host_updates WHERE host_id = ?"));
  PF_TRY(plan_u, plan_rows(**sel_u, host_id, updates,
                           [](const Stmt& s, const AvailableUpdate& u) {
                             return s.text(1) == u.name && s.text(2) == u.arch &&
                                            s.text(3) == u.installed_version &&
                                            s.text(4) == u.candidate_version &&
                                            s.text(5) == u.origin &&
                                            (s.integer(6) != 0) == u.security &&
                                            s.text(7) == encode_list(u.advisories) &&
                                            s.text(8) == u.held_reason
                                        ? RowAction::keep
                                        : RowAction::rewrite;
                           }));
  PF_TRY(ins_u, cached(d, impl.insert_update,
                       "INSERT INTO host_updates(host_id, seq, name, arch, installed_version,"
                       " candidate_version, origin, security, advisories, held_reason)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  PF_TRY(upd_u, cached(d, impl.update_update,
                       "UPDATE host_updates SET name = ?3, arch = ?4, installed_version = ?5,"
                       " candidate_version = ?6, origin = ?7, security = ?8, advisories = ?9,"
                       " held_reason = ?10 WHERE host_id = ?1 AND seq = ?2"));
  PF_TRY(trim_u, cached(d, impl.trim_updates,
                        "DELETE FROM host_updates WHERE host_id = ? AND seq >= ?"));
  PF_CHECK(apply_plan(host_id, updates, *plan_u, **ins_u, **upd_u, **upd_u, **trim_u,
                      bind_update));

  PF_TRY(set, cached(d, impl.set_inventory_hash,
                     "UPDATE hosts SET inventory_hash = ? WHERE id = ?"));
  (*set)->bind(1, hash).bind(2, host_id);
  PF_CHECK((*set)->run());
  return InventoryOutcome::stored;
}

}  // namespace

Result<bool> SqliteStore::put_inventory(std::string_view host_id, std::string_view hash,
                                        std::span<const inventory::Package> packages,
                                        std::span<const AvailableUpdate> updates) {
  // The hash alone first: an unchanged inventory is not looked at row by row.
  PF_CHECK(validate_inventory(hash, {}, {}));
  Impl& impl = *impl_;
  // The common case, an unchanged inventory, costs this one read and takes no write lock.
  PF_TRY(state, inventory_state(impl, host_id, hash));
  const auto refused = [&](InventoryOutcome o) -> Result<bool> {
    if (o == InventoryOutcome::unchanged) return false;
    return host_error(o == InventoryOutcome::revoked ? HostState::revoked : HostState::missing,
                      host_id);
  };
  if (*state != InventoryOutcome::stored) return refused(*state);
  PF_CHECK(validate_inventory(hash, packages, updates));
  Transaction tx(impl.db);
  PF_CHECK(tx.begin());
  // Another writer may have stored it meanwhile: write_inventory reads the hash again.
  PF_TRY(done, write_inventory(impl, host_id, hash, packages, updates));
  if (*done != InventoryOutcome::stored) return refused(*done);
  PF_CHECK(tx.commit());
  return true;
}

Result<std::vector<InventoryOutcome>> SqliteStore::put_inventories(
    std::span<const InventoryPut> batch) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& item = batch[i];
    if (auto ok = validate_inventory(item.hash, item.packages, item.updates); !ok) {
      ok.error().where = item.host_id + ": " + ok.error().where;
      return Unexpected(std::move(ok.error()));
    }
  }
  std::vector<InventoryOutcome> out;
  if (batch.empty()) return out;
  out.reserve(batch.size());
  Transaction tx(impl_->db);
  PF_CHECK(tx.begin());
  for (const auto& item : batch) {
    PF_TRY(done, write_inventory(*impl_, item.host_id, item.hash, item.packages, item.updates));
    out.push_back(*done);
  }
  PF_CHECK(tx.commit());
  return out;
}

Result<std::vector<inventory::Package>> SqliteStore::packages(std::string_view host_id) {
  ReadTx read;
  PF_CHECK(read.begin(impl_->db));
  PF_TRY(state, host_state(*impl_, host_id));
  if (*state == HostState::missing) return host_error(*state, host_id);
  PF_TRY(s, impl_->db.prepare("SELECT name, arch, version, source_name, source_version"
                              " FROM host_packages WHERE host_id = ? ORDER BY seq"));
  s->bind(1, host_id);
  std::vector<inventory::Package> out;
  for (;;) {
    PF_TRY(row, s->step());
    if (!*row) break;
    out.push_back({s->text(0), s->text(1), s->text(2), s->text(3), s->text(4)});
  }
  return out;
}

Result<std::vector<AvailableUpdate>> SqliteStore::updates(std::string_view host_id) {
  ReadTx read;
  PF_CHECK(read.begin(impl_->db));
  PF_TRY(state, host_state(*impl_, host_id));
  if (*state == HostState::missing) return host_error(*state, host_id);
  PF_TRY(s, impl_->db.prepare("SELECT name, arch, installed_version, candidate_version, origin,"
                              " security, advisories, held_reason FROM host_updates"
                              " WHERE host_id = ? ORDER BY seq"));
  s->bind(1, host_id);
  std::vector<AvailableUpdate> out;
  for (;;) {
    PF_TRY(row, s->step());
    if (!*row) break;
    AvailableUpdate u;
    u.name = s->text(0);
    u.arch = s->text(1);
    u.installed_version = s->text(2);
    u.candidate_version = s->text(3);
    u.origin = s->text(4);
    u.security = s->integer(5) != 0;
    u.advisories = decode_list(s->text(6));
    u.held_reason = s->text(7);
    out.push_back(std::move(u));
  }
  return out;
}

// Enrollment tokens.

Result<void> SqliteStore::create_enrollment_token(const EnrollmentToken& t,
                                                  const AuditEntry& audit) {
  PF_CHECK(validate_enrollment_token(t));
  return audited(*impl_, audit, [&]() -> Result<void> {
    PF_TRY(s, impl_->db.prepare("INSERT INTO enrollment_tokens(" + std::string(kTokenColumns) +
                                ") VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)"));
    s->bind(1, t.token_hash)
        .bind(2, t.token_id)
        .bind(3, encode_labels(t.labels))
        .bind(4, t.created_by)
        .bind(5, t.created_at)
        .bind(6, t.expires_at);
    return on_conflict(s->run(), "an enrollment token with this hash or token_id exists",
                       "token_id");
  });
}

Result<EnrollmentToken> SqliteStore::consume_enrollment_token(std::string_view token_hash,
                                                              std::int64_t now,
                                                              std::string_view host_id) {
  if (!is_token_hash(token_hash)) {
    return make_error(Errc::invalid_input, "token_hash must be sha256:<64 lower-case hex digits>",
                      "token_hash");
  }
  if (host_id.empty() || host_id.size() > 64) {
    return make_error(Errc::invalid_input, "host id must be 1..64 characters", "host_id");
  }
  Db& d = impl_->db;
  // One statement: of several concurrent calls, SQLite's write lock lets exactly one match.
  PF_TRY(s, d.prepare("UPDATE enrollment_tokens SET used_at = ?1, used_by_host = ?2"
                      " WHERE token_hash = ?3 AND used_at IS NULL AND expires_at > ?1"
                      " RETURNING " + std::string(kTokenColumns)));
  s->bind(1, now).bind(2, host_id).bind(3, token_hash);
  std::optional<EnrollmentToken> won;
  for (;;) {  // to the end: the change commits when the statement completes
    PF_TRY(row, s->step());
    if (!*row) break;
    won = read_token(*s);
  }
  if (won) return *std::move(won);
  PF_TRY(q, d.prepare("SELECT token_id, used_at IS NOT NULL FROM enrollment_tokens"
                      " WHERE token_hash = ?"));
  q->bind(1, token_hash);
  PF_TRY(row, q->step());
  if (!*row) return make_error(Errc::not_found, "unknown enrollment token", "token");
  if (q->integer(1) != 0) {
    return make_error(Errc::conflict, "enrollment token " + q->text(0) + " was used already",
                      "token");
  }
  return make_error(Errc::invalid_input, "expired", "token");
}

Result<std::vector<EnrollmentToken>> SqliteStore::list_enrollment_tokens() {
  PF_TRY(s, impl_->db.prepare("SELECT " + std::string(kTokenColumns) +
                              " FROM enrollment_tokens ORDER BY created_at, token_id"));
  std::vector<EnrollmentToken> out;
  for (;;) {
    PF_TRY(row, s->step());
    if (!*row) break;
    out.push_back(read_token(*s));
  }
  return out;
}

// Users.

Result<void> SqliteStore::create_user(const User& u, const AuditEntry& audit) {
  PF_CHECK(validate_user(u));
  return audited(*impl_, audit, [&]() -> Result<void> {
    PF_TRY(s, impl_->db.prepare("INSERT INTO users(name, password_hash, role, disabled,"
                                " created_at) VALUES (?, ?, ?, ?, ?)"));
    s->bind(1, u.name)
        .bind(2, u.password_hash)
        .bind(3, u.role)
        .bind(4, std::int64_t{u.disabled})
        .bind(5, u.created_at);
    return on_conflict(s->run(), "user '" + u.name + "' exists", "name");
  });
}

Result<std::optional<User>> SqliteStore::user(std::string_view name) {
  PF_TRY(s, impl_->db.prepare("SELECT name, password_hash, role, disabled, created_at FROM users"
                              " WHERE name = ?"));
  s->bind(1, name);
  PF_TRY(row, s->step());
  if (!*row) return std::optional<User>();
  return std::optional<User>(read_user(*s));
}

Result<std::vector<User>> SqliteStore::list_users() {
  PF_TRY(s, impl_->db.prepare("SELECT name, password_hash, role, disabled, created_at FROM users"
                              " ORDER BY name"));
  std::vector<User> out;
  for (;;) {
    PF_TRY(row, s->step());
    if (!*row) break;
    out.push_back(read_user(*s));
  }
  return out;
}

namespace {

// UPDATE users SET <column> = ? WHERE name = ?, audited; not_found for an unknown user.
template <class Value>
Result<void> update_user(SqliteStore::Impl& impl, std::string_view name, std::string_view column,
                         Value value, const AuditEntry& audit) {
  return audited(impl, audit, [&]() -> Result<void> {
    PF_TRY(s, impl.db.prepare("UPDATE users SET " + std::string(column) + " = ? WHERE name = ?"));
    s->bind(1, value).bind(2, name);
    PF_CHECK(s->run());
    if (sqlite3_changes(impl.db.handle()) == 0) return no_user(name);
    return {};
  });
}

}  // namespace

Result<void> SqliteStore::set_password_hash(std::string_view name, std::string_view phc,
                                            const AuditEntry& audit) {
  PF_CHECK(validate_password_hash(phc));
  return update_user(*impl_, name, "password_hash", phc, audit);
}

Result<void> SqliteStore::set_role(std::string_view name, std::string_view role,
                                   const AuditEntry& audit) {
  if (!is_valid_role(role)) {
    return make_error(Errc::invalid_input,
                      "unknown role '" + std::string(role.substr(0, 64)) +
                          "' (admin, operator, approver or viewer)",
                      "role");
  }
  return update_user(*impl_, name, "role", role, audit);
}

Result<void> SqliteStore::set_disabled(std::string_view name, bool disabled,
                                       const AuditEntry& audit) {
  return update_user(*impl_, name, "disabled", std::int64_t{disabled}, audit);
}

// API tokens.

Result<void> SqliteStore::create_api_token(const ApiToken& t, const AuditEntry& audit) {
  PF_CHECK(validate_api_token(t));
  return audited(*impl_, audit, [&]() -> Result<void> {
    PF_TRY(u, impl_->db.prepare("SELECT 1 FROM users WHERE name = ?"));
    u->bind(1, t.user);
    PF_TRY(exists, u->step());
    if (!*exists) return no_user(t.user);
    PF_TRY(s, impl_->db.prepare("INSERT INTO api_tokens(" + std::string(kApiTokenColumns) +
                                ") VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)"));
    s->bind(1, t.token_hash)
        .bind(2, t.token_id)
        .bind(3, t.user)
        .bind(4, t.role)
        .bind(5, t.created_at)
        .bind_opt(6, t.expires_at);
    return on_conflict(s->run(), "an API token with this hash or token_id exists", "token_id");
  });
}

Result<std::optional<ApiToken>> SqliteStore::api_token(std::string_view token_hash) {
  static const std::string kSql =
      "SELECT " + std::string(kApiTokenColumns) + " FROM api_tokens WHERE token_hash = ?";
  PF_TRY(s, cached(impl_->db, impl_->api_token_by_hash, kSql));
  Stmt& st = **s;
  ResetOnExit reset{st};
  st.bind(1, token_hash);
  PF_TRY(row, st.step());
  if (!*row) return std::optional<ApiToken>();
  return std::optional<ApiToken>(read_api_token(st));
}

Result<void> SqliteStore::revoke_api_token(std::string_view token_id, std::int64_t at,
                                           const AuditEntry& audit) {
  return audited(*impl_, audit, [&]() -> Result<void> {
    PF_TRY(s, impl_->db.prepare(
                  "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL"));
    s->bind(1, at).bind(2, token_id);
    PF_CHECK(s->run());
    if (sqlite3_changes(impl_->db.handle()) != 0) return {};
    PF_TRY(q, impl_->db.prepare("SELECT 1 FROM api_tokens WHERE token_id = ?"));
    q->bind(1, token_id);
    PF_TRY(row, q->step());
    if (!*row) {
      return make_error(Errc::not_found, "no API token " + std::string(token_id),
                        std::string(token_id));
    }
    return make_error(Errc::conflict, "API token " + std::string(token_id) + " is revoked already",
                      std::string(token_id));
  });
}

Result<void> SqliteStore::record_api_token_use(std::string_view token_id, std::int64_t at) {
  Impl& impl = *impl_;
  {
    // A read first: most calls find a recent last_used_at and take no write lock.
    PF_TRY(s, cached(impl.db, impl.api_token_use,
                     "SELECT last_used_at FROM api_tokens WHERE token_id = ?"));
    Stmt& st = **s;
    ResetOnExit reset{st};
    st.bind(1, token_id);
    PF_TRY(row, st.step());
    if (!*row) return {};
    if (auto last = st.opt_integer(0); last && *last >= at - kTokenUseResolution) return {};
  }
  static const std::string kSql =
      "UPDATE api_tokens SET last_used_at = ?1 WHERE token_id = ?2"
      " AND (last_used_at IS NULL OR last_used_at < ?1 - " +
      std::to_string(kTokenUseResolution) + ")";
  PF_TRY(u, cached(impl.db, impl.api_token_touch, kSql));
  (*u)->bind(1, at).bind(2, token_id);
  return (*u)->run();
}

Result<std::vector<ApiToken>> SqliteStore::list_api_tokens(std::optional<std::string_view> user) {
  PF_TRY(s, impl_->db.prepare("SELECT " + std::string(kApiTokenColumns) + " FROM api_tokens" +
                              (user ? " WHERE user_name = ?" : "") +
                              " ORDER BY created_at, token_id"));
  if (user) s->bind(1, *user);
  std::vector<ApiToken> out;
  for (;;) {
    PF_TRY(row, s->step());
    if (!*row) break;
    out.push_back(read_api_token(*s));
  }
  return out;
}

// Audit log.

Result<AuditHead> SqliteStore::append_audit(const AuditEntry& entry) {
  PF_CHECK(validate_audit_entry(entry));
  Transaction tx(impl_->db);
  PF_CHECK(tx.begin());
  PF_TRY(head, append_audit_locked(*impl_, entry));
  PF_CHECK(tx.commit());
  return *std::move(head);
}

Result<std::vector<AuditRecord>> SqliteStore::audit_entries(std::int64_t from_seq, int limit) {
  if (limit < 1 || limit > kMaxPageSize) {
    return make_error(Errc::invalid_input, "limit must be 1.." + std::to_string(kMaxPageSize),
                      "limit");
  }
  PF_TRY(s, impl_->db.prepare("SELECT " + std::string(kAuditColumns) +
                              " FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?"));
  s->bind(1, from_seq).bind(2, std::int64_t{limit});
  std::vector<AuditRecord> out;
  for (;;) {
    PF_TRY(row, s->step());
    if (!*row) break;
    out.push_back(read_audit(*s));
  }
  return out;
}

Result<AuditHead> SqliteStore::audit_head() {
  PF_TRY(s, impl_->db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
  PF_TRY(row, s->step());
  if (!*row) return AuditHead{0, std::string(kAuditGenesisHash)};
  return AuditHead{s->integer(0), s->text(1)};
}

Result<AuditVerification> SqliteStore::verify_audit() {
  ReadTx read;
  PF_CHECK(read.begin(impl_->db));
  PF_TRY(s, impl_->db.prepare("SELECT " + std::string(kAuditColumns) +
                              " FROM audit_log ORDER BY seq"));
  AuditChainVerifier verifier;
  for (;;) {
    PF_TRY(row, s->step());
    if (!*row) break;
    if (!verifier.add(read_audit(*s))) break;
  }
  return verifier.result();
}

}  // namespace pf::store
