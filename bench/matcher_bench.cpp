// SPDX-License-Identifier: Apache-2.0
// Matcher at fleet scale: a synthetic fleet of hosts cloned from a few images (then a fraction of
// each host's packages drifted to other versions), every version a real Debian version string
// from this machine's apt lists, against synthetic advisories over the same package names.
// Prints the index build time, its size, the full evaluation time, peak memory (ru_maxrss) and
// the time to evaluate one new advisory incrementally. Plain main, no Google Benchmark: the
// interesting runs take seconds and are repeated here (medians).
//   build/release/bench/matcher_bench [hosts] [packages-per-host] [affected-entries] [runs]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "patchflow/core/matcher.hpp"
#include "patchflow/core/risk.hpp"
#include "patchflow/core/versions.hpp"
#include "patchflow/testing/data.hpp"

namespace a = pf::advisories;
namespace m = pf::matcher;
namespace v = pf::versions;

namespace {

constexpr const char* kEco = "Debian:12";
constexpr int kImages = 8;
constexpr int kLadder = 8;  // versions known per package name, ascending in dpkg order

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double max_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

struct Universe {
  std::vector<std::string> names;                 // binary package names
  std::vector<std::string> sources;               // source name of each binary
  std::vector<std::vector<std::string>> ladders;  // per name, kLadder real versions, ascending
};

// Package names with a ladder of real versions each: a random real version and the ones that
// follow it in dpkg order (the same package's later releases look like that: long common
// prefixes), so ranges over them are realistic.
Universe make_universe(const std::vector<std::string>& sorted_versions, int name_count,
                       std::mt19937_64& rng) {
  Universe u;
  const std::size_t n = sorted_versions.size();
  for (int i = 0; i < name_count; ++i) {
    u.names.push_back("pkg" + std::to_string(i));
    // Three binaries per source on average, as in Debian.
    u.sources.push_back("src" + std::to_string(i / 3));
    std::vector<std::string> ladder;
    std::size_t at = rng() % (n - kLadder * 4);
    for (int k = 0; k < kLadder; ++k) {
      ladder.push_back(sorted_versions[at]);
      at += 1 + rng() % 4;
    }
    u.ladders.push_back(std::move(ladder));
  }
  // Binaries of one source share the source's ladder, so that source versions agree.
  for (int i = 0; i < name_count; ++i) u.ladders[i] = u.ladders[i - i % 3];
  return u;
}

}  // namespace

int main(int argc, char** argv) {
  const int hosts = argc > 1 ? std::atoi(argv[1]) : 100'000;
  const int per_host = argc > 2 ? std::atoi(argv[2]) : 1'500;
  const int entries_wanted = argc > 3 ? std::atoi(argv[3]) : 200'000;
  const int runs = argc > 4 ? std::atoi(argv[4]) : 3;
  const int name_count = per_host * 4;
  std::mt19937_64 rng(20240917);

  auto t0 = Clock::now();
  std::vector<std::string> versions = pf::testing::debian_versions_from_apt_lists();
  std::vector<std::string> valid;
  for (auto& s : versions) {
    if (v::parse_deb(s)) valid.push_back(std::move(s));
  }
  std::sort(valid.begin(), valid.end(), [](const std::string& x, const std::string& y) {
    return v::compare_deb(x, y).value() < 0;
  });
  std::printf("real Debian versions: %zu distinct (loaded and sorted in %.2f s)\n", valid.size(),
              seconds_since(t0));
  const Universe u = make_universe(valid, name_count, rng);
  valid.clear();
  valid.shrink_to_fit();

  // Images: a common core of 80% of a host's packages plus image-specific ones; each image is
  // at its own ladder position per package, mostly near the top (images are kept updated).
  std::vector<std::vector<std::pair<int, int>>> images(kImages);  // (name, ladder position)
  const int core = per_host * 4 / 5;
  for (int img = 0; img < kImages; ++img) {
    std::vector<int> names;
    for (int i = 0; i < core; ++i) names.push_back(i);
    std::vector<bool> taken(name_count, false);
    while (static_cast<int>(names.size()) < per_host) {
      const int n = core + static_cast<int>(rng() % static_cast<unsigned>(name_count - core));
      if (!taken[n]) {
        taken[n] = true;
        names.push_back(n);
      }
    }
    for (int name : names) images[img].emplace_back(name, kLadder - 1 - static_cast<int>(rng() % 4));
  }

  // The index: each (name, ladder position) interned once; hosts are lists of ids.
  t0 = Clock::now();
  m::FleetIndex fleet;
  std::vector<std::vector<m::PackageId>> ids(name_count, std::vector<m::PackageId>(kLadder));
  for (int n = 0; n < name_count; ++n) {
    for (int k = 0; k < kLadder; ++k) {
      const std::string& ver = u.ladders[n][k];
      ids[n][k] = fleet.intern_package(kEco, {u.names[n], "amd64", ver, u.sources[n], ver});
    }
  }
  std::vector<m::PackageId> host_ids;
  const double drift = 0.02;
  for (int h = 0; h < hosts; ++h) {
    const auto& img = images[h % kImages];
    host_ids.clear();
    for (const auto& [name, pos] : img) {
      int p = pos;
      if (std::uniform_real_distribution<double>(0, 1)(rng) < drift) {
        p = static_cast<int>(rng() % kLadder);
      }
      host_ids.push_back(ids[name][p]);
    }
    fleet.add_host("host-" + std::to_string(h), kEco, host_ids);
  }
  const double build_s = seconds_since(t0);
  std::printf("fleet: %d hosts x %d packages = %.1f M installed rows; %zu distinct packages, "
              "%zu distinct (ecosystem, name, version) tuples\n",
              hosts, per_host, hosts * static_cast<double>(per_host) / 1e6, fleet.package_count(),
              fleet.tuple_count());
  std::printf("index build from interned rows: %.2f s; index holds %.1f MiB; max RSS so far "
              "%.1f MiB\n",
              build_s, static_cast<double>(fleet.memory_bytes()) / (1 << 20), max_rss_mib());

  // The same through whole Inventory objects (what a caller without interned rows does), on a
  // sample of hosts in a separate index.
  {
    const int sample = std::min(hosts, 200);
    std::vector<pf::inventory::Inventory> invs;
    for (int h = 0; h < sample; ++h) {
      pf::inventory::Inventory inv;
      inv.host = "sample-" + std::to_string(h);
      inv.ecosystem = kEco;
      for (const auto& [name, pos] : images[h % kImages]) {
        const std::string& ver = u.ladders[name][pos];
        inv.packages.push_back({u.names[name], "amd64", ver, u.sources[name], ver});
      }
      invs.push_back(std::move(inv));
    }
    m::FleetIndex other;
    t0 = Clock::now();
    for (const auto& inv : invs) other.add_host(inv);
    const double s = seconds_since(t0);
    std::printf("index build from Inventory objects: %.1f us per host of %d packages "
                "(%d hosts; %.1f s extrapolated to %d hosts)\n",
                s / sample * 1e6, per_host, sample, s / sample * hosts, hosts);
  }

  // Advisories over the same names: mostly "introduced 0, fixed X"; some with an introduced
  // version, two ranges, no fix yet, last_affected; some source entries, a few for another
  // release.
  std::vector<a::Advisory> advisories;
  int entries = 0;
  int serial = 0;
  while (entries < entries_wanted) {
    a::Advisory adv;
    adv.id = "CVE-2024-" + std::to_string(100000 + serial++);
    adv.severity = static_cast<a::Severity>(rng() % 6);
    adv.cves = {adv.id};
    const int count = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < count; ++e) {
      const int n = static_cast<int>(rng() % static_cast<unsigned>(name_count));
      const auto& ladder = u.ladders[n];
      a::Affected aff;
      aff.ecosystem = rng() % 100 == 0 ? "Debian:11" : kEco;
      const bool source = rng() % 2 == 0;
      aff.package = source ? u.sources[n] : u.names[n];
      aff.package_kind = source ? a::PackageKind::source : a::PackageKind::binary;
      const int shape = static_cast<int>(rng() % 100);
      // Images sit at ladder positions 4..7: most advisories are fixed below that (old
      // issues, fixed in the images already; they hit drifted hosts), some above.
      const int fix = rng() % 20 < 19 ? 1 + static_cast<int>(rng() % 4)
                                     : 5 + static_cast<int>(rng() % (kLadder - 5));
      using E = a::EventType;
      if (shape < 75) {
        aff.events = {{E::introduced, "0"}, {E::fixed, ladder[fix]}};
      } else if (shape < 85) {
        aff.events = {{E::introduced, ladder[fix - 1]}, {E::fixed, ladder[fix]}};
      } else if (shape < 95) {
        aff.events = {{E::introduced, "0"}, {E::fixed, ladder[1]},
                      {E::introduced, ladder[std::max(2, fix - 1)]},
                      {E::fixed, ladder[std::max(3, fix)]}};
      } else if (shape < 97) {
        aff.events = {{E::introduced, ladder[fix]}};
      } else {
        aff.events = {{E::introduced, "0"}, {E::last_affected, ladder[fix - 1]}};
      }
      adv.affected.push_back(std::move(aff));
      ++entries;
    }
    advisories.push_back(std::move(adv));
  }
  std::printf("advisories: %zu with %d affected entries; max RSS so far %.1f MiB\n",
              advisories.size(), entries, max_rss_mib());

  std::vector<double> full_times;
  m::MatchResult result;
  for (int r = 0; r < runs; ++r) {
    t0 = Clock::now();
    result = m::evaluate(fleet, advisories);
    full_times.push_back(seconds_since(t0));
  }
  const auto& st = result.stats;
  std::printf("full evaluation: median %.3f s of %d runs (min %.3f, max %.3f)\n",
              median(full_times), runs, *std::min_element(full_times.begin(), full_times.end()),
              *std::max_element(full_times.begin(), full_times.end()));
  std::printf("  evaluations (entry x distinct version) %llu vs hosts x packages %.0f; "
              "hits %llu; findings (hit x host) %llu = %.0f per host; entries not installed "
              "%llu; skipped invalid versions %llu\n",
              static_cast<unsigned long long>(st.evaluations),
              static_cast<double>(hosts) * per_host, static_cast<unsigned long long>(st.hits),
              static_cast<unsigned long long>(st.findings),
              static_cast<double>(st.findings) / hosts,
              static_cast<unsigned long long>(st.entries_not_installed),
              static_cast<unsigned long long>(st.skipped_invalid_versions()));

  // Fan-out: a risk score per hit (here from the advisory's severity and a synthetic EPSS),
  // then every hit out to its hosts: findings and the highest score per host.
  t0 = Clock::now();
  std::vector<double> scores;
  scores.reserve(result.hits.size());
  for (const auto& hit : result.hits) {
    pf::risk::Inputs in;
    in.severity = advisories[hit.advisory].severity;
    in.epss = static_cast<double>(hit.advisory % 1000) / 1000.0;
    in.kev = hit.advisory % 97 == 0;
    scores.push_back(pf::risk::score_finding(in).value);
  }
  const double score_s = seconds_since(t0);
  t0 = Clock::now();
  const auto rollup = m::roll_up(fleet, result, scores);
  const double roll_s = seconds_since(t0);
  double top_sum = 0;
  for (const auto& r : rollup) top_sum += r.top;
  std::printf("risk score per hit: %.3f s for %zu hits; fan-out of every hit to its hosts "
              "(finding count and top score per host): %.3f s; mean host top score %.1f\n",
              score_s, scores.size(), roll_s, top_sum / hosts);

  // One new advisory on a package every host has (the worst case for fan-out).
  a::Advisory fresh;
  fresh.id = "CVE-2025-0001";
  fresh.severity = a::Severity::critical;
  fresh.affected.push_back({kEco, u.sources[0], a::PackageKind::source,
                            {{a::EventType::introduced, "0"},
                             {a::EventType::fixed, u.ladders[0][kLadder - 1]}},
                            a::Severity::high});
  std::vector<double> inc_times;
  std::vector<double> fan_times;
  std::size_t fanned = 0;
  for (int r = 0; r < 21; ++r) {
    t0 = Clock::now();
    const auto one = m::evaluate_advisory(fleet, fresh);
    inc_times.push_back(seconds_since(t0));
    t0 = Clock::now();
    fanned = m::findings(fleet, std::span<const a::Advisory>(&fresh, 1), one).size();
    fan_times.push_back(seconds_since(t0));
  }
  std::printf("incremental, one new advisory: median %.3f ms to evaluate; %.1f ms more to list "
              "its %zu findings host by host\n",
              median(inc_times) * 1e3, median(fan_times) * 1e3, fanned);
  std::printf("peak memory (ru_maxrss): %.1f MiB\n", max_rss_mib());
  return 0;
}
