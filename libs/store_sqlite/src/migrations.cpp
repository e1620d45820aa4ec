// SPDX-License-Identifier: Apache-2.0
// The SQLite schema, as numbered migrations. The PostgreSQL store keeps the same numbers.
#include "migrations.hpp"

#include <array>

namespace pf::store::sqlite {
namespace {

constexpr std::string_view kAdvisories = R"sql(
CREATE TABLE advisories (
  id          TEXT PRIMARY KEY,
  source      TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('security', 'bugfix', 'enhancement')),
  severity    TEXT NOT NULL,
  summary     TEXT NOT NULL,
  published   INTEGER NOT NULL,
  modified    INTEGER NOT NULL
) STRICT;

CREATE TABLE advisory_cves (
  advisory_id TEXT NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
  cve_id      TEXT NOT NULL,
  PRIMARY KEY (advisory_id, cve_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX advisory_cves_by_cve ON advisory_cves(cve_id);

CREATE TABLE affected (
  id           INTEGER PRIMARY KEY,
  advisory_id  TEXT NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,
  ecosystem    TEXT NOT NULL,
  package      TEXT NOT NULL,
  package_kind TEXT NOT NULL CHECK (package_kind IN ('source', 'binary')),
  severity     TEXT NOT NULL,
  UNIQUE (advisory_id, seq)
) STRICT;
CREATE INDEX affected_by_package ON affected(ecosystem, package);

CREATE TABLE affected_events (
  affected_id INTEGER NOT NULL REFERENCES affected(id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  type        TEXT NOT NULL CHECK (type IN ('introduced', 'fixed', 'last_affected')),
  version     TEXT NOT NULL,
  PRIMARY KEY (affected_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE cves (
  id              TEXT PRIMARY KEY,
  cvss3_score     REAL,
  cvss3_vector    TEXT NOT NULL DEFAULT '',
  cvss4_score     REAL,
  cvss4_vector    TEXT NOT NULL DEFAULT '',
  epss            REAL,
  epss_percentile REAL,
  kev             INTEGER NOT NULL DEFAULT 0,
  kev_date_added  TEXT NOT NULL DEFAULT '',
  kev_ransomware  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE feed_cursors (
  source        TEXT PRIMARY KEY,
  location      TEXT NOT NULL,
  etag          TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  imported_at   INTEGER NOT NULL,
  records       INTEGER NOT NULL
) STRICT;
)sql";

// Lists (reboot reasons, advisory ids, enrollment-token labels as "key=value") are stored as
// text: each item with '\' and newline escaped, followed by a newline.
constexpr std::string_view kFleet = R"sql(
CREATE TABLE hosts (
  id               TEXT PRIMARY KEY,
  name             TEXT NOT NULL,
  os_id            TEXT NOT NULL,
  os_version_id    TEXT NOT NULL,
  ecosystem        TEXT NOT NULL,
  arch             TEXT NOT NULL,
  kernel_release   TEXT NOT NULL,
  boot_id          TEXT NOT NULL,
  criticality      INTEGER NOT NULL,
  cert_fingerprint TEXT NOT NULL,
  cert_not_after   INTEGER NOT NULL,
  enrolled_at      INTEGER NOT NULL,
  last_seen        INTEGER NOT NULL,
  reboot_required  INTEGER NOT NULL,
  reboot_reasons   TEXT NOT NULL,
  inventory_hash   TEXT NOT NULL,
  revoked_at       INTEGER
) STRICT;
CREATE UNIQUE INDEX hosts_by_fingerprint ON hosts(cert_fingerprint);
CREATE INDEX hosts_by_name ON hosts(name);
CREATE INDEX hosts_by_ecosystem ON hosts(ecosystem, id);

CREATE TABLE host_labels (
  host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  key     TEXT NOT NULL,
  value   TEXT NOT NULL,
  PRIMARY KEY (host_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX host_labels_by_pair ON host_labels(key, value, host_id);

CREATE TABLE host_packages (
  host_id        TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  seq            INTEGER NOT NULL,
  name           TEXT NOT NULL,
  arch           TEXT NOT NULL,
  version        TEXT NOT NULL,
  source_name    TEXT NOT NULL,
  source_version TEXT NOT NULL,
  PRIMARY KEY (host_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX host_packages_by_name ON host_packages(name, host_id);

CREATE TABLE host_updates (
  host_id           TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  seq               INTEGER NOT NULL,
  name              TEXT NOT NULL,
  arch              TEXT NOT NULL,
  installed_version TEXT NOT NULL,
  candidate_version TEXT NOT NULL,
  origin            TEXT NOT NULL,
  security          INTEGER NOT NULL,
  advisories        TEXT NOT NULL,
  held_reason       TEXT NOT NULL,
  PRIMARY KEY (host_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE enrollment_tokens (
  token_hash   TEXT PRIMARY KEY,
  token_id     TEXT NOT NULL UNIQUE,
  labels       TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  used_at      INTEGER,
  used_by_host TEXT
) STRICT;

CREATE TABLE users (
  name          TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'approver', 'viewer')),
  disabled      INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE api_tokens (
  token_hash   TEXT PRIMARY KEY,
  token_id     TEXT NOT NULL UNIQUE,
  user_name    TEXT NOT NULL REFERENCES users(name),
  role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'approver', 'viewer')),
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,
  last_used_at INTEGER
) STRICT;
CREATE INDEX api_tokens_by_user ON api_tokens(user_name, created_at, token_id);

-- Append-only, hash-chained (see patchflow/store/audit.hpp). The triggers refuse changes
-- through SQL; the chain is what detects changes made around them.
CREATE TABLE audit_log (
  seq         INTEGER PRIMARY KEY,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  target      TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json  TEXT NOT NULL,
  at          INTEGER NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
-- Also catches INSERT OR REPLACE, whose implicit delete fires no DELETE trigger.
CREATE TRIGGER audit_log_append_at_head BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log)
  OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit_log WHERE seq = NEW.seq - 1),
                                   '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'audit_log entries are appended at the head of the chain'); END;
)sql";

// Findings kept per host (patchflow/store/finding_store.hpp), runs and their events
// (patchflow/store/run_store.hpp), and a counter that moves when advisories change.
constexpr std::string_view kWork = R"sql(
ALTER TABLE hosts ADD COLUMN findings_state TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN max_severity INTEGER NOT NULL DEFAULT -1;
ALTER TABLE hosts ADD COLUMN open_findings INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN pending_runs INTEGER NOT NULL DEFAULT 0;
CREATE INDEX hosts_by_severity ON hosts(max_severity, id);

CREATE TABLE store_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
INSERT INTO store_meta(key, value) VALUES ('advisories_generation', 1);

CREATE TABLE findings (
  host_id           TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  advisory_id       TEXT NOT NULL,
  package           TEXT NOT NULL,
  arch              TEXT NOT NULL,
  open              INTEGER NOT NULL,
  severity          INTEGER NOT NULL,
  kev               INTEGER NOT NULL,
  risk_milli        INTEGER NOT NULL,
  installed_version TEXT NOT NULL,
  fixed_version     TEXT NOT NULL,
  detail            TEXT NOT NULL,
  first_seen        INTEGER NOT NULL,
  fixed_at          INTEGER,
  PRIMARY KEY (host_id, advisory_id, package, arch)
) STRICT, WITHOUT ROWID;
CREATE INDEX findings_by_risk ON findings(open, risk_milli DESC, host_id, advisory_id, package, arch);
CREATE INDEX findings_by_advisory ON findings(advisory_id, open);

CREATE TABLE runs (
  id           TEXT PRIMARY KEY,
  host_id      TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  job          TEXT NOT NULL,
  envelope     TEXT NOT NULL,
  state        TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  delivered_at INTEGER,
  finished_at  INTEGER,
  outcome      TEXT NOT NULL,
  events       INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_by_host ON runs(host_id, created_at, id);
CREATE INDEX runs_by_time ON runs(created_at DESC, id DESC);

CREATE TABLE run_events (
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  event_id    TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  body        TEXT NOT NULL,
  state       TEXT,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, event_id)
) STRICT, WITHOUT ROWID;
)sql";

// Policy documents (patchflow/store/policy_store.hpp) with their generation counter, and chain
// runs with their command outbox, operator events and journal (patchflow/store/chain_store.hpp).
constexpr std::string_view kChains = R"sql(
INSERT INTO store_meta(key, value) VALUES ('policies_generation', 1);

CREATE TABLE policies (
  kind       TEXT NOT NULL,
  name       TEXT NOT NULL,
  json       TEXT NOT NULL,
  revision   INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (kind, name)
) STRICT;

CREATE TABLE chain_runs (
  id             TEXT PRIMARY KEY,
  chain          TEXT NOT NULL,
  chain_revision INTEGER NOT NULL,
  status         TEXT NOT NULL,
  active         INTEGER NOT NULL,
  state          TEXT NOT NULL,
  revision       INTEGER NOT NULL,
  created_by     TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX chain_runs_by_time ON chain_runs(created_at DESC, id DESC);
CREATE INDEX chain_runs_active ON chain_runs(created_at DESC, id DESC) WHERE active = 1;

CREATE TABLE chain_commands (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id     TEXT NOT NULL REFERENCES chain_runs(id) ON DELETE CASCADE,
  json       TEXT NOT NULL,
  done       INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  done_at    INTEGER
) STRICT;
CREATE INDEX chain_commands_pending ON chain_commands(run_id, seq) WHERE done = 0;

CREATE TABLE chain_events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id      TEXT NOT NULL REFERENCES chain_runs(id) ON DELETE CASCADE,
  json        TEXT NOT NULL,
  actor       TEXT NOT NULL,
  at          INTEGER NOT NULL,
  consumed_at INTEGER
) STRICT;
CREATE INDEX chain_events_pending ON chain_events(run_id, seq) WHERE consumed_at IS NULL;

CREATE TABLE chain_log (
  seq    INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL REFERENCES chain_runs(id) ON DELETE CASCADE,
  at     INTEGER NOT NULL,
  line   TEXT NOT NULL
) STRICT;
CREATE INDEX chain_log_by_run ON chain_log(run_id, seq);
)sql";

constexpr std::array<Migration, 4> kMigrations{{
    {1, "advisories, cves and feed cursors", kAdvisories},
    {2, "hosts, inventories, enrollment tokens, users, api tokens, audit log", kFleet},
    {3, "findings, runs and run events", kWork},
    {4, "policy documents, chain runs, commands, events and journal", kChains},
}};

}  // namespace

std::span<const Migration> migrations() noexcept { return kMigrations; }

}  // namespace pf::store::sqlite
