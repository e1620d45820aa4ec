// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL schema, as numbered migrations: the same numbers, tables and columns as
// libs/store_sqlite/src/migrations.cpp. SQLite INTEGER (64-bit) is BIGINT here, REAL is
// DOUBLE PRECISION, the 0/1 flags are BOOLEAN, affected.id is an identity column, lists are
// arrays, and keys and the names that are listed in order compare as bytes (COLLATE "C"), as
// SQLite's do, whatever the database's locale.
#include "migrations.hpp"

#include <array>

namespace pf::store::postgres {
namespace {

constexpr std::string_view kAdvisories = R"sql(
CREATE TABLE advisories (
  id          TEXT COLLATE "C" PRIMARY KEY,
  source      TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('security', 'bugfix', 'enhancement')),
  severity    TEXT NOT NULL,
  summary     TEXT NOT NULL,
  published   BIGINT NOT NULL,
  modified    BIGINT NOT NULL
);

CREATE TABLE advisory_cves (
  advisory_id TEXT COLLATE "C" NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
  cve_id      TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (advisory_id, cve_id)
);
CREATE INDEX advisory_cves_by_cve ON advisory_cves(cve_id);

CREATE TABLE affected (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  advisory_id  TEXT COLLATE "C" NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,
  seq          BIGINT NOT NULL,
  ecosystem    TEXT NOT NULL,
  package      TEXT NOT NULL,
  package_kind TEXT NOT NULL CHECK (package_kind IN ('source', 'binary')),
  severity     TEXT NOT NULL,
  UNIQUE (advisory_id, seq)
);
CREATE INDEX affected_by_package ON affected(ecosystem, package);

CREATE TABLE affected_events (
  affected_id BIGINT NOT NULL REFERENCES affected(id) ON DELETE CASCADE,
  seq         BIGINT NOT NULL,
  type        TEXT NOT NULL CHECK (type IN ('introduced', 'fixed', 'last_affected')),
  version     TEXT NOT NULL,
  PRIMARY KEY (affected_id, seq)
);

CREATE TABLE cves (
  id              TEXT COLLATE "C" PRIMARY KEY,
  cvss3_score     DOUBLE PRECISION,
  cvss3_vector    TEXT NOT NULL DEFAULT '',
  cvss4_score     DOUBLE PRECISION,
  cvss4_vector    TEXT NOT NULL DEFAULT '',
  epss            DOUBLE PRECISION,
  epss_percentile DOUBLE PRECISION,
  kev             BOOLEAN NOT NULL DEFAULT false,
  kev_date_added  TEXT NOT NULL DEFAULT '',
  kev_ransomware  BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE feed_cursors (
  source        TEXT COLLATE "C" PRIMARY KEY,
  location      TEXT NOT NULL,
  etag          TEXT NOT NULL,
  last_modified TEXT NOT NULL,
  imported_at   BIGINT NOT NULL,
  records       BIGINT NOT NULL
);
)sql";

// SQLite's migration 2 in PostgreSQL types. Lists (reboot reasons, an update's advisory ids)
// are TEXT[]; an enrollment token's labels are a TEXT[] of "key=value" (keys hold no '=').
constexpr std::string_view kFleet = R"sql(
CREATE TABLE hosts (
  id               TEXT COLLATE "C" PRIMARY KEY,
  name             TEXT COLLATE "C" NOT NULL,
  os_id            TEXT NOT NULL,
  os_version_id    TEXT NOT NULL,
  ecosystem        TEXT COLLATE "C" NOT NULL,
  arch             TEXT NOT NULL,
  kernel_release   TEXT NOT NULL,
  boot_id          TEXT NOT NULL,
  criticality      INTEGER NOT NULL,
  cert_fingerprint TEXT COLLATE "C" NOT NULL,
  cert_not_after   BIGINT NOT NULL,
  enrolled_at      BIGINT NOT NULL,
  last_seen        BIGINT NOT NULL,
  reboot_required  BOOLEAN NOT NULL,
  reboot_reasons   TEXT[] NOT NULL,
  inventory_hash   TEXT NOT NULL,
  revoked_at       BIGINT
);
CREATE UNIQUE INDEX hosts_by_fingerprint ON hosts(cert_fingerprint);
CREATE INDEX hosts_by_name ON hosts(name);
CREATE INDEX hosts_by_ecosystem ON hosts(ecosystem, id);

CREATE TABLE host_labels (
  host_id TEXT COLLATE "C" NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  key     TEXT COLLATE "C" NOT NULL,
  value   TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (host_id, key)
);
CREATE INDEX host_labels_by_pair ON host_labels(key, value, host_id);

CREATE TABLE host_packages (
  host_id        TEXT COLLATE "C" NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  seq            BIGINT NOT NULL,
  name           TEXT COLLATE "C" NOT NULL,
  arch           TEXT NOT NULL,
  version        TEXT NOT NULL,
  source_name    TEXT NOT NULL,
  source_version TEXT NOT NULL,
  PRIMARY KEY (host_id, seq)
);
CREATE INDEX host_packages_by_name ON host_packages(name, host_id);

CREATE TABLE host_updates (
  host_id           TEXT COLLATE "C" NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  seq               BIGINT NOT NULL,
  name              TEXT NOT NULL,
  arch              TEXT NOT NULL,
  installed_version TEXT NOT NULL,
  candidate_version TEXT NOT NULL,
  origin            TEXT NOT NULL,
  security          BOOLEAN NOT NULL,
  advisories        TEXT[] NOT NULL,
  held_reason       TEXT NOT NULL,
  PRIMARY KEY (host_id, seq)
);

CREATE TABLE enrollment_tokens (
  token_hash   TEXT COLLATE "C" PRIMARY KEY,
  token_id     TEXT COLLATE "C" NOT NULL UNIQUE,
  labels       TEXT[] NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  used_at      BIGINT,
  used_by_host TEXT
);

CREATE TABLE users (
  name          TEXT COLLATE "C" PRIMARY KEY,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'approver', 'viewer')),
  disabled      BOOLEAN NOT NULL,
  created_at    BIGINT NOT NULL
);

CREATE TABLE api_tokens (
  token_hash   TEXT COLLATE "C" PRIMARY KEY,
  token_id     TEXT COLLATE "C" NOT NULL UNIQUE,
  user_name    TEXT COLLATE "C" NOT NULL REFERENCES users(name),
  role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'approver', 'viewer')),
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  last_used_at BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens(user_name, created_at, token_id);

-- Append-only, hash-chained (see patchflow/store/audit.hpp). The triggers refuse changes
-- through SQL (TRUNCATE too); the chain is what detects changes made around them. Appends
-- take the kAuditLock advisory lock first, so that writers on several connections form one
-- chain.
CREATE TABLE audit_log (
  seq         BIGINT PRIMARY KEY,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  target      TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json  TEXT NOT NULL,
  at          BIGINT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
);
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- Also catches INSERT ... ON CONFLICT DO UPDATE's insert; its update is refused below.
    IF NEW.seq IS DISTINCT FROM (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log)
       OR NEW.prev_hash IS DISTINCT FROM
          COALESCE((SELECT hash FROM audit_log WHERE seq = NEW.seq - 1),
                   '0000000000000000000000000000000000000000000000000000000000000000') THEN
      RAISE EXCEPTION 'audit_log entries are appended at the head of the chain'
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END
$guard$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_append_at_head BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
)sql";

// Findings kept per host (patchflow/store/finding_store.hpp), runs and their events
// (patchflow/store/run_store.hpp), and a counter that moves when advisories change.
constexpr std::string_view kWork = R"sql(
ALTER TABLE hosts ADD COLUMN findings_state TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN max_severity BIGINT NOT NULL DEFAULT -1;
ALTER TABLE hosts ADD COLUMN open_findings BIGINT NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN pending_runs BIGINT NOT NULL DEFAULT 0;
CREATE INDEX hosts_by_severity ON hosts(max_severity, id);

CREATE TABLE store_meta (
  key   TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO store_meta(key, value) VALUES ('advisories_generation', 1);

CREATE TABLE findings (
  host_id           TEXT COLLATE "C" NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  advisory_id       TEXT COLLATE "C" NOT NULL,
  package           TEXT COLLATE "C" NOT NULL,
  arch              TEXT COLLATE "C" NOT NULL,
  open              BOOLEAN NOT NULL,
  severity          BIGINT NOT NULL,
  kev               BOOLEAN NOT NULL,
  risk_milli        BIGINT NOT NULL,
  installed_version TEXT NOT NULL,
  fixed_version     TEXT NOT NULL,
  detail            TEXT NOT NULL,
  first_seen        BIGINT NOT NULL,
  fixed_at          BIGINT,
  PRIMARY KEY (host_id, advisory_id, package, arch)
);
CREATE INDEX findings_by_risk ON findings(open, risk_milli DESC, host_id, advisory_id, package, arch);
CREATE INDEX findings_by_advisory ON findings(advisory_id, open);

CREATE TABLE runs (
  id           TEXT COLLATE "C" PRIMARY KEY,
  host_id      TEXT COLLATE "C" NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  job          TEXT NOT NULL,
  envelope     TEXT NOT NULL,
  state        TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  delivered_at BIGINT,
  finished_at  BIGINT,
  outcome      TEXT NOT NULL,
  events       BIGINT NOT NULL
);
CREATE INDEX runs_by_host ON runs(host_id, created_at, id);
CREATE INDEX runs_by_time ON runs(created_at DESC, id DESC);

CREATE TABLE run_events (
  run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  event_id    TEXT COLLATE "C" NOT NULL,
  seq         BIGINT NOT NULL,
  kind        TEXT NOT NULL,
  body        TEXT NOT NULL,
  state       TEXT,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (run_id, event_id)
);
)sql";

// Policy documents (patchflow/store/policy_store.hpp) with their generation counter, and chain
// runs with their command outbox, operator events and journal (patchflow/store/chain_store.hpp).
constexpr std::string_view kChains = R"sql(
INSERT INTO store_meta(key, value) VALUES ('policies_generation', 1);

CREATE TABLE policies (
  kind       TEXT COLLATE "C" NOT NULL,
  name       TEXT COLLATE "C" NOT NULL,
  json       TEXT NOT NULL,
  revision   BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (kind, name)
);

CREATE TABLE chain_runs (
  id             TEXT COLLATE "C" PRIMARY KEY,
  chain          TEXT COLLATE "C" NOT NULL,
  chain_revision BIGINT NOT NULL,
  status         TEXT NOT NULL,
  active         BOOLEAN NOT NULL,
  state          TEXT NOT NULL,
  revision       BIGINT NOT NULL,
  created_by     TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX chain_runs_by_time ON chain_runs(created_at DESC, id DESC);
CREATE INDEX chain_runs_active ON chain_runs(created_at DESC, id DESC) WHERE active;

CREATE TABLE chain_commands (
  seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id     TEXT COLLATE "C" NOT NULL REFERENCES chain_runs(id) ON DELETE CASCADE,
  json       TEXT NOT NULL,
  done       BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  done_at    BIGINT
);
CREATE INDEX chain_commands_pending ON chain_commands(run_id, seq) WHERE NOT done;

CREATE TABLE chain_events (
  seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id      TEXT COLLATE "C" NOT NULL REFERENCES chain_runs(id) ON DELETE CASCADE,
  json        TEXT NOT NULL,
  actor       TEXT NOT NULL,
  at          BIGINT NOT NULL,
  consumed_at BIGINT
);
CREATE INDEX chain_events_pending ON chain_events(run_id, seq) WHERE consumed_at IS NULL;

CREATE TABLE chain_log (
  seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id TEXT COLLATE "C" NOT NULL REFERENCES chain_runs(id) ON DELETE CASCADE,
  at     BIGINT NOT NULL,
  line   TEXT NOT NULL
);
CREATE INDEX chain_log_by_run ON chain_log(run_id, seq);
)sql";

constexpr std::array<Migration, 4> kMigrations{{
    {1, "advisories, cves and feed cursors", kAdvisories},
    {2, "hosts, inventories, enrollment tokens, users, api tokens, audit log", kFleet},
    {3, "findings, runs and run events", kWork},
    {4, "policy documents, chain runs, commands, events and journal", kChains},
}};

}  // namespace

std::span<const Migration> migrations() noexcept {
  return kMigrations;
}

}  // namespace pf::store::postgres
