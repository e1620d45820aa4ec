// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL schema, as numbered migrations: the same numbers, tables and columns as
// libs/store_sqlite/src/migrations.cpp. SQLite INTEGER (64-bit) is BIGINT here, REAL is
// DOUBLE PRECISION, the 0/1 flags are BOOLEAN, affected.id is an identity column, and keys
// compare as bytes (COLLATE "C"), as SQLite's do, whatever the database's locale.
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

constexpr std::array<Migration, 1> kMigrations{{
    {1, "advisories, cves and feed cursors", kAdvisories},
}};

}  // namespace

std::span<const Migration> migrations() noexcept {
  return kMigrations;
}

}  // namespace pf::store::postgres
