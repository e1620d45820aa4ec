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

constexpr std::array<Migration, 1> kMigrations{{
    {1, "advisories, cves and feed cursors", kAdvisories},
}};

}  // namespace

std::span<const Migration> migrations() noexcept { return kMigrations; }

}  // namespace pf::store::sqlite
