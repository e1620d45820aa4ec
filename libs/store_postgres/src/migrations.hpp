// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string_view>

namespace pf::store::postgres {

/// One numbered schema change, numbered as SqliteStore's migrations are: migration N makes the
/// same tables, in PostgreSQL types, as SQLite's migration N. Never edited once released.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

[[nodiscard]] std::span<const Migration> migrations() noexcept;

/// The transaction-scoped advisory lock (pg_advisory_xact_lock) every migration transaction
/// takes first, so that servers opening one database together migrate it once. "pfmigr".
inline constexpr long long kMigrationLock = 0x7066'6d69'6772;

/// The transaction-scoped advisory lock every audit append takes before it reads the head of
/// the chain, so that appends from several connections and servers form one chain. "pfaudi".
inline constexpr long long kAuditLock = 0x7066'6175'6469;

/// Created (if absent) under the lock, before anything else is read.
inline constexpr std::string_view kSchemaMigrations = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
))sql";

}  // namespace pf::store::postgres
