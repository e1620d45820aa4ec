// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/advisory.hpp"

/// Where advisories, CVE enrichment and feed cursors are kept. One interface, one
/// implementation per database (SQLite now; PostgreSQL with the server).
namespace pf::store {

/// Which groups of CveInfo fields a put_cves call carries: each enrichment feed knows only
/// its own, and must not erase what another feed wrote.
enum class CveFields : unsigned { cvss = 1, epss = 2, kev = 4 };

/// How far a feed has been imported. Written after the data it describes has been committed.
struct FeedCursor {
  std::string source;         ///< e.g. "osv:Debian", "debian-tracker", "kev", a URL
  std::string location;       ///< the path or URL read
  std::string etag;           ///< for conditional GET (empty when unknown)
  std::string last_modified;  ///< HTTP Last-Modified as received (empty when unknown)
  std::int64_t imported_at{0};  ///< Unix seconds, UTC
  std::int64_t records{0};
};

struct StoreCounts {
  std::int64_t advisories{0};
  std::int64_t affected{0};
  std::int64_t cves{0};
};

class AdvisoryStore {
 public:
  AdvisoryStore() = default;
  AdvisoryStore(const AdvisoryStore&) = delete;
  AdvisoryStore& operator=(const AdvisoryStore&) = delete;
  virtual ~AdvisoryStore() = default;

  /// Inserts or replaces each advisory by id (its CVEs, affected entries and events with it),
  /// all in one transaction: either every advisory of the call is stored or none.
  [[nodiscard]] virtual Result<void> put_advisories(
      std::span<const advisories::Advisory> batch) = 0;

  /// Inserts or updates CVE records; only the field groups named in `fields` (a bitwise or of
  /// CveFields) are written, the others keep their stored values. One transaction.
  [[nodiscard]] virtual Result<void> put_cves(std::span<const advisories::CveInfo> batch,
                                              unsigned fields) = 0;

  /// Every advisory with at least one affected entry in `ecosystem` (all advisories when
  /// empty), complete with all of its affected entries, ordered by id.
  [[nodiscard]] virtual Result<std::vector<advisories::Advisory>> advisories(
      std::string_view ecosystem) = 0;

  /// The stored records of the given CVE ids; ids without a record are left out.
  [[nodiscard]] virtual Result<std::vector<advisories::CveInfo>> cves(
      std::span<const std::string> ids) = 0;

  [[nodiscard]] virtual Result<void> put_cursor(const FeedCursor& cursor) = 0;
  [[nodiscard]] virtual Result<std::optional<FeedCursor>> cursor(std::string_view source) = 0;

  [[nodiscard]] virtual Result<StoreCounts> counts() = 0;

  /// Runs `work` in one transaction: everything it stores through this store is committed
  /// together when it succeeds and rolled back when it fails (a feed that turns out malformed
  /// halfway leaves nothing behind). The put_* calls inside nest in it.
  [[nodiscard]] virtual Result<void> atomically(const std::function<Result<void>()>& work) = 0;
};

}  // namespace pf::store
