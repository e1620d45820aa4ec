// SPDX-License-Identifier: Apache-2.0
// Version comparison speed: patchflow vs libapt-pkg (debVS.CmpVersion) vs librpm (rpmvercmp,
// rpmverParse+rpmverCmp), on the same pairs of real Debian version strings, raw strings in,
// -1/0/1 out. Prints the median ns per comparison of each and the ratios. patchflow's raw
// comparison also validates both strings as dpkg does (libapt-pkg does not validate).
//   build/release/bench/versions_bench [--benchmark_repetitions=N]
#include <apt-pkg/debversion.h>
#include <benchmark/benchmark.h>
#include <rpm/rpmver.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "patchflow/core/versions.hpp"
#include "patchflow/testing/data.hpp"

namespace v = pf::versions;

namespace {

// The pairs live in one arena, each string NUL-terminated (librpm wants C strings), laid out
// in the order the benchmark walks them: the figures measure comparison, not cache misses on
// scattered heap strings, and every implementation reads exactly the same bytes.
struct Pair {
  std::string_view a;
  std::string_view b;
};

struct PairSet {
  std::string arena;
  std::vector<Pair> pairs;
};

// Half neighbours in sorted order (the same package's next release: long common prefixes,
// the case a matcher meets most), half random pairs; shuffled.
const std::vector<Pair>& pairs() {
  static const PairSet set = [] {
    auto versions = pf::testing::debian_versions_from_apt_lists();
    std::sort(versions.begin(), versions.end());
    std::vector<std::pair<std::size_t, std::size_t>> idx;
    for (std::size_t i = 0; i + 1 < versions.size(); ++i) idx.emplace_back(i, i + 1);
    std::mt19937_64 rng(42);
    const std::size_t n = idx.size();
    for (std::size_t k = 0; k < n; ++k) {
      idx.emplace_back(rng() % versions.size(), rng() % versions.size());
    }
    std::shuffle(idx.begin(), idx.end(), rng);
    PairSet out;
    std::size_t bytes = 0;
    for (const auto& [i, j] : idx) bytes += versions[i].size() + versions[j].size() + 2;
    out.arena.reserve(bytes);
    std::vector<std::pair<std::size_t, std::size_t>> offsets;
    for (const auto& [i, j] : idx) {
      const std::size_t oa = out.arena.size();
      out.arena.append(versions[i]).push_back('\0');
      const std::size_t ob = out.arena.size();
      out.arena.append(versions[j]).push_back('\0');
      offsets.emplace_back(oa, ob);
    }
    for (std::size_t k = 0; k < idx.size(); ++k) {
      out.pairs.push_back({std::string_view(out.arena.data() + offsets[k].first,
                                            versions[idx[k].first].size()),
                           std::string_view(out.arena.data() + offsets[k].second,
                                            versions[idx[k].second].size())});
    }
    std::fprintf(stderr, "%zu real version strings, %zu pairs, %zu bytes\n", versions.size(),
                 out.pairs.size(), out.arena.size());
    return out;
  }();
  return set.pairs;
}

template <class F>
void run_pairs(benchmark::State& state, F compare) {
  const auto& p = pairs();
  std::size_t i = 0;
  for (auto _ : state) {
    const Pair& pr = p[i];
    benchmark::DoNotOptimize(compare(pr.a, pr.b));
    if (++i == p.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

using Sv = std::string_view;

// What the loop itself costs (fetching a pair, a trivial comparison): subtract it mentally
// from the figures below; the ratios include it on both sides, which favours the slower one.
void harness_only(benchmark::State& s) {
  run_pairs(s, [](Sv a, Sv b) { return static_cast<int>(a.size()) - static_cast<int>(b.size()); });
}
void deb_patchflow(benchmark::State& s) {
  run_pairs(s, [](Sv a, Sv b) { return *v::compare_deb(a, b); });
}
void deb_libapt(benchmark::State& s) {
  run_pairs(s, [](Sv a, Sv b) {
    return debVS.DoCmpVersion(a.data(), a.data() + a.size(), b.data(), b.data() + b.size());
  });
}
void rpmvercmp_patchflow(benchmark::State& s) {
  run_pairs(s, [](Sv a, Sv b) { return v::rpmvercmp(a, b); });
}
void rpmvercmp_librpm(benchmark::State& s) {
  run_pairs(s, [](Sv a, Sv b) { return rpmvercmp(a.data(), b.data()); });
}
void rpm_evr_patchflow(benchmark::State& s) {
  run_pairs(s, [](Sv a, Sv b) { return *v::compare_rpm_evr(a, b); });
}
void rpm_evr_librpm(benchmark::State& s) {
  run_pairs(s, [](Sv a, Sv b) {
    rpmver va = rpmverParse(a.data());
    rpmver vb = rpmverParse(b.data());
    const int r = rpmverCmp(va, vb);
    rpmverFree(va);
    rpmverFree(vb);
    return r;
  });
}

// Collects the median of each benchmark's repetitions.
class MedianCollector : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") {
        median_ns[r.run_name.function_name] = r.GetAdjustedRealTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> median_ns;
};

}  // namespace

BENCHMARK(harness_only);
BENCHMARK(deb_patchflow);
BENCHMARK(deb_libapt);
BENCHMARK(rpmvercmp_patchflow);
BENCHMARK(rpmvercmp_librpm);
BENCHMARK(rpm_evr_patchflow);
BENCHMARK(rpm_evr_librpm);

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5";
  std::string aggregates = "--benchmark_report_aggregates_only=true";
  bool has_reps = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]).starts_with("--benchmark_repetitions")) has_reps = true;
  }
  if (!has_reps) args.push_back(reps.data());
  args.push_back(aggregates.data());
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  pairs();  // load before timing
  MedianCollector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  auto& m = reporter.median_ns;
  auto ratio = [&](const char* theirs, const char* ours, const char* label, double target) {
    if (m.count(theirs) == 0 || m.count(ours) == 0) return;
    const double r = m[theirs] / m[ours];
    std::printf("%-44s %7.2f ns vs %7.2f ns  ratio %.2fx  (target >= %.1fx: %s)\n", label,
                m[ours], m[theirs], r, target, r >= target ? "met" : "NOT met");
  };
  std::printf("\nmedian ns per comparison, patchflow vs reference (harness alone: %.2f ns):\n",
              m.count("harness_only") != 0 ? m["harness_only"] : 0.0);
  ratio("deb_libapt", "deb_patchflow", "deb: patchflow vs libapt-pkg CmpVersion", 1.5);
  ratio("rpmvercmp_librpm", "rpmvercmp_patchflow", "rpm: patchflow vs librpm rpmvercmp", 2.0);
  ratio("rpm_evr_librpm", "rpm_evr_patchflow", "rpm EVR: patchflow vs librpm rpmverCmp", 2.0);
  return 0;
}
