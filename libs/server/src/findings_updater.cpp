// SPDX-License-Identifier: Apache-2.0
#include "findings_updater.hpp"

#include <cmath>

#include "log.hpp"
#include "service.hpp"

namespace pf::server {

Result<std::vector<ranked::Finding>> compute_findings(const store::Host& host,
                                                      std::vector<inventory::Package> packages,
                                                      std::span<const advisories::Advisory> known,
                                                      store::AdvisoryStore& advisories) {
  inventory::Inventory inv;
  inv.host = host.id;
  inv.ecosystem = host.ecosystem;
  inv.packages = std::move(packages);
  auto found = ranked::match(inv, known);
  auto records = advisories.cves(ranked::cve_ids(found));
  if (!records) return Unexpected(records.error());
  ranked::rank(found, *records);
  return found;
}

std::vector<store::FindingRow> finding_rows(std::span<const ranked::Finding> found) {
  std::vector<store::FindingRow> rows;
  rows.reserve(found.size());
  for (const auto& f : found) {
    store::FindingRow r;
    r.advisory_id = f.advisory_id;
    r.package = f.package;
    r.arch = f.arch;
    r.installed_version = f.installed_version;
    r.fixed_version = f.fixed_version.value_or("");
    r.severity = static_cast<int>(f.severity);
    r.kev = f.kev;
    r.risk_milli = std::llround(std::max(0.0, f.score.value) * 1000.0);
    r.detail = finding_doc(f).dump();
    rows.push_back(std::move(r));
  }
  // The matcher may report one advisory for a package twice (two affected entries): keep the
  // riskier, the store keys findings by advisory, package and arch.
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.advisory_id, a.package, a.arch, b.risk_milli) <
           std::tie(b.advisory_id, b.package, b.arch, a.risk_milli);
  });
  rows.erase(std::unique(rows.begin(), rows.end(),
                         [](const auto& a, const auto& b) {
                           return a.advisory_id == b.advisory_id && a.package == b.package &&
                                  a.arch == b.arch;
                         }),
             rows.end());
  return rows;
}

FindingsUpdater::FindingsUpdater(OpenedStore store, std::chrono::seconds interval, Log& log)
    : store_(std::move(store)), interval_(interval), log_(log) {
  thread_ = std::thread([this] { run(); });
}

FindingsUpdater::~FindingsUpdater() { stop(); }

void FindingsUpdater::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  cv_.notify_one();
}

void FindingsUpdater::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t FindingsUpdater::hosts_updated() const {
  std::lock_guard lock(mutex_);
  return hosts_updated_;
}

std::uint64_t FindingsUpdater::passes() const {
  std::lock_guard lock(mutex_);
  return passes_;
}

void FindingsUpdater::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, interval_, [this] { return poked_ || stopping_; });
      if (stopping_) return;
      poked_ = false;
    }
    auto done = pass();
    if (!done) {
      log_.warn("findings update failed", {{"error", to_string(done.error())}});
    } else if (*done > 0) {
      log_.info("findings updated", {{"hosts", std::to_string(*done), true}});
    }
    std::lock_guard lock(mutex_);
    ++passes_;
  }
}

Result<const std::vector<advisories::Advisory>*> FindingsUpdater::known(
    const std::string& ecosystem, std::int64_t generation) {
  if (generation != cache_generation_) {
    cache_.clear();
    cache_generation_ = generation;
  }
  auto it = cache_.find(ecosystem);
  if (it == cache_.end()) {
    std::vector<advisories::Advisory> list;
    if (!ecosystem.empty()) {
      auto a = store_.advisories->advisories(ecosystem);
      if (!a) return Unexpected(a.error());
      list = std::move(*a);
    }
    it = cache_.emplace(ecosystem, std::move(list)).first;
  }
  return &it->second;
}

Result<std::size_t> FindingsUpdater::pass() {
  std::size_t done = 0;
  auto gen = store_.findings->advisories_generation();
  if (!gen) return Unexpected(gen.error());
  const std::string generation = std::to_string(*gen);
  std::string after;
  for (;;) {
    auto ids = store_.findings->hosts_with_stale_findings(generation, after, 200);
    if (!ids) return Unexpected(ids.error());
    if (ids->empty()) break;
    for (const auto& id : *ids) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return done;
      }
      after = id;
      auto host = store_.fleet->host(id);
      if (!host) return Unexpected(host.error());
      if (!*host) continue;  // removed meanwhile
      // The state is taken from the host read before its rows: an inventory written in
      // between leaves the stored state behind the new hash, so the host is redone.
      const std::string state = store::findings_state((*host)->inventory_hash, generation);
      auto packages = store_.fleet->packages(id);
      if (!packages) return Unexpected(packages.error());
      auto advisories = known((*host)->ecosystem, *gen);
      if (!advisories) return Unexpected(advisories.error());
      auto found = compute_findings(**host, std::move(*packages), **advisories,
                                    *store_.advisories);
      if (!found) return Unexpected(found.error());
      auto put = store_.findings->put_findings(id, state, finding_rows(*found), unix_now());
      if (!put) {
        if (put.error().code == Errc::not_found) continue;
        return Unexpected(put.error());
      }
      ++done;
      std::lock_guard lock(mutex_);
      ++hosts_updated_;
    }
  }
  return done;
}

}  // namespace pf::server
