// SPDX-License-Identifier: Apache-2.0
#include "feed_store.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <vector>

#include "patchflow/common/progress.hpp"
#include "patchflow/feeds/feeds.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"

namespace pf::cli {

namespace fs = std::filesystem;

fs::path default_db_path() {
  if (const char* env = std::getenv("PATCHFLOW_DB"); env != nullptr && *env != '\0') return env;
  if (::geteuid() == 0) return "/var/lib/patchflow/patchflow.db";
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "patchflow" / "patchflow.db";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : ".") / ".local" / "share" / "patchflow" /
         "patchflow.db";
}

Result<std::unique_ptr<store::AdvisoryStore>> open_store(const fs::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) {
    return make_error(Errc::io, "cannot create " + path.parent_path().string() + ": " +
                                    ec.message(), path.string());
  }
  auto s = store::SqliteStore::open(path);
  if (!s) return Unexpected(std::move(s.error()));
  return std::unique_ptr<store::AdvisoryStore>(std::move(*s));
}

Result<FeedImport> import_feed(store::AdvisoryStore& store, const fs::path& path,
                               const std::string& source, const std::string& etag,
                               const std::string& last_modified) {
  const auto start = std::chrono::steady_clock::now();
  feeds::ImportOptions options;
  auto format = feeds::detect_format(path, options);
  if (!format) return Unexpected(std::move(format.error()));

  unsigned cve_fields = 0;
  switch (*format) {
    case feeds::Format::kev: cve_fields = static_cast<unsigned>(store::CveFields::kev); break;
    case feeds::Format::epss: cve_fields = static_cast<unsigned>(store::CveFields::epss); break;
    case feeds::Format::nvd: cve_fields = static_cast<unsigned>(store::CveFields::cvss); break;
    default: break;
  }

  FeedImport summary;
  summary.format = std::string(feeds::format_name(*format));
  progress::Bar bar("import " + path.filename().string() + " (records)", 0,
                    progress::Unit::items);

  constexpr std::size_t kBatch = 2000;
  std::vector<advisories::Advisory> advisory_batch;
  std::vector<advisories::CveInfo> cve_batch;
  Error batch_error;
  bool batch_failed = false;

  auto flush = [&]() -> bool {
    if (!advisory_batch.empty()) {
      if (auto r = store.put_advisories(advisory_batch); !r) {
        batch_error = std::move(r.error());
        batch_failed = true;
        return false;
      }
      advisory_batch.clear();
    }
    if (!cve_batch.empty()) {
      if (auto r = store.put_cves(cve_batch, cve_fields); !r) {
        batch_error = std::move(r.error());
        batch_failed = true;
        return false;
      }
      cve_batch.clear();
    }
    return true;
  };

  auto work = [&]() -> Result<void> {
    auto on_advisory = [&](advisories::Advisory&& a, const feeds::RecordNotes&) {
      advisory_batch.push_back(std::move(a));
      ++summary.advisories;
      bar.advance();
      return advisory_batch.size() < kBatch || flush();
    };
    auto on_cve = [&](advisories::CveInfo&& c) {
      cve_batch.push_back(std::move(c));
      ++summary.cves;
      bar.advance();
      return cve_batch.size() < kBatch || flush();
    };
    auto stats = feeds::import_path(path, options, on_advisory, on_cve);
    if (batch_failed) return Unexpected(std::move(batch_error));
    if (!stats) return Unexpected(std::move(stats.error()));
    if (!flush()) return Unexpected(std::move(batch_error));
    summary.bytes = stats->bytes;
    const auto now = std::chrono::system_clock::now();
    store::FeedCursor cursor{source, path.string(), etag, last_modified,
                             std::chrono::duration_cast<std::chrono::seconds>(
                                 now.time_since_epoch()).count(),
                             static_cast<std::int64_t>(summary.advisories + summary.cves)};
    return store.put_cursor(cursor);
  };
  if (auto r = store.atomically(work); !r) return Unexpected(std::move(r.error()));
  bar.finish();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace pf::cli
