// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string_view>

#include "patchflow/store/advisory_store.hpp"

namespace pf::store {

/// The scale-out store: one PostgreSQL database, shared by several servers. The same tables as
/// SqliteStore (in PostgreSQL types), brought up to date by the same numbered migrations when
/// it is opened.
///
/// Errors: a server that cannot be reached or a connection that is lost is Errc::io naming
/// host:port; constraint violations are Errc::conflict; serialization failures, deadlocks and
/// lock timeouts are Errc::lock_held; other SQL errors Errc::io. The password of the connection
/// string never appears in an error. No exception leaves this class.
///
/// One store is one connection: use it from one thread at a time. After a lost connection the
/// call in progress fails, and the next call connects again.
class PostgresStore final : public AdvisoryStore {
 public:
  /// Connects to `conninfo` (a `postgresql://user:password@host:port/database?...` URL, or
  /// libpq's `key=value` form) and applies pending migrations, each in its own transaction that
  /// first takes a transaction-scoped advisory lock, so that servers starting together migrate
  /// once. A database whose schema is newer than this build is refused (Errc::conflict).
  /// Unless the string sets them, connect_timeout is 10 s and client_encoding UTF8.
  [[nodiscard]] static Result<std::unique_ptr<PostgresStore>> open(std::string_view conninfo);

  /// The highest migration applied, and the highest this build knows.
  [[nodiscard]] Result<int> schema_version();
  [[nodiscard]] static int latest_schema_version() noexcept;

  ~PostgresStore() override;

  Result<void> put_advisories(std::span<const advisories::Advisory> batch) override;
  Result<void> put_cves(std::span<const advisories::CveInfo> batch, unsigned fields) override;
  Result<std::vector<advisories::Advisory>> advisories(std::string_view ecosystem) override;
  Result<std::vector<advisories::CveInfo>> cves(std::span<const std::string> ids) override;
  Result<void> put_cursor(const FeedCursor& cursor) override;
  Result<std::optional<FeedCursor>> cursor(std::string_view source) override;
  Result<StoreCounts> counts() override;
  /// put_* calls (and nested atomically calls) inside `work` run in savepoints of its
  /// transaction: a failing one is undone alone, and everything is undone when `work` fails.
  Result<void> atomically(const std::function<Result<void>()>& work) override;

  struct Impl;

 private:
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pf::store
