// SPDX-License-Identifier: Apache-2.0
// Keeps the findings table current: one thread, its own store connection, recomputes the
// findings of every host whose inventory or the advisories changed since its findings were
// stored (FindingStore::hosts_with_stale_findings), at once when an inventory changes (poke)
// and every `interval` otherwise. Derived state only: a server killed half-way recomputes on
// start. Private to libs/server.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "patchflow/core/advisory.hpp"
#include "patchflow/core/ranked.hpp"
#include "patchflow/server/store_open.hpp"

namespace pf::server {

class Log;

/// The findings of one host now: its packages against the advisories of its ecosystem,
/// ranked. Shared by the updater and GET /api/v1/hosts/{id}/findings.
[[nodiscard]] Result<std::vector<ranked::Finding>> compute_findings(
    const store::Host& host, std::vector<inventory::Package> packages,
    std::span<const advisories::Advisory> known, store::AdvisoryStore& advisories);

/// What compute_findings found, as the rows the store keeps.
[[nodiscard]] std::vector<store::FindingRow> finding_rows(std::span<const ranked::Finding> found);

class FindingsUpdater {
 public:
  FindingsUpdater(OpenedStore store, std::chrono::seconds interval, Log& log);
  ~FindingsUpdater();
  FindingsUpdater(const FindingsUpdater&) = delete;
  FindingsUpdater& operator=(const FindingsUpdater&) = delete;

  /// An inventory changed: look for stale hosts now.
  void poke();
  /// Ends the thread (the pass under way finishes its current host). Idempotent.
  void stop();

  /// Hosts recomputed since start, and passes completed (for tests and metrics).
  [[nodiscard]] std::uint64_t hosts_updated() const;
  [[nodiscard]] std::uint64_t passes() const;

 private:
  void run();
  /// Recomputes every stale host; the number done.
  Result<std::size_t> pass();
  /// The advisories of an ecosystem at the current generation (cached).
  Result<const std::vector<advisories::Advisory>*> known(const std::string& ecosystem,
                                                         std::int64_t generation);

  OpenedStore store_;
  std::chrono::seconds interval_;
  Log& log_;
  std::map<std::string, std::vector<advisories::Advisory>> cache_;
  std::int64_t cache_generation_{-1};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool poked_{true};
  bool stopping_{false};
  std::uint64_t hosts_updated_{0};
  std::uint64_t passes_{0};
  std::thread thread_;
};

}  // namespace pf::server
