// SPDX-License-Identifier: Apache-2.0
// Shared by `patchflow feeds` and `patchflow scan`: where the local store lives, and importing
// one feed path into a store in one transaction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "patchflow/common/error.hpp"
#include "patchflow/store/advisory_store.hpp"

namespace pf::cli {

/// --db, else $PATCHFLOW_DB, else /var/lib/patchflow/patchflow.db for root and
/// $XDG_DATA_HOME/patchflow/patchflow.db (~/.local/share/...) for other users.
[[nodiscard]] std::filesystem::path default_db_path();

/// Opens (creating the directory and the database when needed) the SQLite store.
[[nodiscard]] Result<std::unique_ptr<store::AdvisoryStore>> open_store(
    const std::filesystem::path& path);

struct FeedImport {
  std::string format;  ///< as feeds::format_name
  std::uint64_t advisories{0};
  std::uint64_t cves{0};
  std::uint64_t bytes{0};
  double seconds{0};
};

/// Detects the format of `path`, imports it into `store` in one transaction (nothing is left
/// behind when it fails) and records the cursor `source` (with etag/last_modified when the
/// file was downloaded). Shows progress on a terminal.
[[nodiscard]] Result<FeedImport> import_feed(store::AdvisoryStore& store,
                                             const std::filesystem::path& path,
                                             const std::string& source,
                                             const std::string& etag = {},
                                             const std::string& last_modified = {});

}  // namespace pf::cli
