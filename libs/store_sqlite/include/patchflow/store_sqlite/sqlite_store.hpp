// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <memory>

#include "patchflow/store/advisory_store.hpp"

namespace pf::store {

/// The embedded store: one SQLite file in WAL mode with synchronous=FULL, foreign keys on,
/// its schema brought up to date by numbered migrations when it is opened.
class SqliteStore final : public AdvisoryStore {
 public:
  /// Opens (creating when absent) the database at `path` and applies pending migrations, each
  /// in its own transaction. ":memory:" opens a private in-memory database.
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path);

  /// The highest migration applied, and the highest this build knows.
  [[nodiscard]] Result<int> schema_version();
  [[nodiscard]] static int latest_schema_version() noexcept;

  ~SqliteStore() override;

  Result<void> put_advisories(std::span<const advisories::Advisory> batch) override;
  Result<void> put_cves(std::span<const advisories::CveInfo> batch, unsigned fields) override;
  Result<std::vector<advisories::Advisory>> advisories(std::string_view ecosystem) override;
  Result<std::vector<advisories::CveInfo>> cves(std::span<const std::string> ids) override;
  Result<void> put_cursor(const FeedCursor& cursor) override;
  Result<std::optional<FeedCursor>> cursor(std::string_view source) override;
  Result<StoreCounts> counts() override;
  Result<void> atomically(const std::function<Result<void>()>& work) override;

  struct Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pf::store
