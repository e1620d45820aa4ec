// SPDX-License-Identifier: Apache-2.0
// Differential test: our orderings against libapt-pkg's debVS.CmpVersion and librpm's
// rpmvercmp()/rpmverCmp(), used here as oracles only, on over a million pairs of real Debian
// version strings (this machine's apt lists and osv-scalibr's history list) plus generated
// edge cases.
#include <apt-pkg/debversion.h>
#include <gtest/gtest.h>
#include <rpm/rpmver.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "patchflow/core/versions.hpp"
#include "patchflow/testing/data.hpp"

namespace v = pf::versions;

namespace {

int sign(int x) { return (x > 0) - (x < 0); }

std::vector<std::string> real_versions() {
  auto versions = pf::testing::debian_versions_from_apt_lists();
  const auto history = pf::testing::shared_data_dir() / "osv-scalibr" / "semantic" / "testdata" /
                       "debian-versions-generated.txt";
  // Lines are "A < B" / "A = B": every token but the operator is a real version.
  for (const auto& line : pf::testing::load_lines(history)) {
    std::size_t start = 0;
    while (start < line.size()) {
      auto space = line.find(' ', start);
      std::string tok = line.substr(start, space == std::string::npos ? space : space - start);
      if (!tok.empty() && tok != "<" && tok != "=" && tok != ">") versions.push_back(tok);
      if (space == std::string::npos) break;
      start = space + 1;
    }
  }
  std::sort(versions.begin(), versions.end());
  versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
  return versions;
}

// Valid Debian versions built to stress the corners: tildes, epochs, long digit runs, leading
// zeros, every separator, hyphens inside the upstream part.
std::vector<std::string> generated_deb_versions(std::mt19937_64& rng, std::size_t count) {
  static constexpr char kUp[] = "0123456789abczABZ.+~-:";
  static constexpr char kRev[] = "0123456789abzAZ.+~";
  std::vector<std::string> out;
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto digits = [&](std::size_t n) {
    std::string d;
    for (std::size_t i = 0; i < n; ++i) d += static_cast<char>('0' + pick(10));
    return d;
  };
  while (out.size() < count) {
    std::string s;
    const bool epoch = pick(3) == 0;
    if (epoch) {
      switch (pick(4)) {
        case 0: s += "0:"; break;
        case 1: s += std::to_string(pick(3)) + ":"; break;
        case 2: s += "00" + std::to_string(pick(3)) + ":"; break;
        default: s += "2147483647:"; break;
      }
    }
    s += static_cast<char>('0' + pick(10));
    const std::size_t up_len = pick(12);
    for (std::size_t i = 0; i < up_len; ++i) {
      const std::size_t k = pick(sizeof kUp - 1 + 4);
      if (k >= sizeof kUp - 1) {
        s += (k % 2 == 0) ? digits(18 + pick(12)) : "000" + digits(2);  // beyond 64 bits
      } else {
        const char c = kUp[k];
        if (c == ':' && !epoch) continue;  // without an epoch the first ':' would be one
        s += c;
      }
    }
    const bool needs_revision = s.find('-') != std::string::npos;
    if (needs_revision || pick(2) == 0) {
      s += '-';
      s += kRev[pick(10)];
      const std::size_t rev_len = pick(6);
      for (std::size_t i = 0; i < rev_len; ++i) s += kRev[pick(sizeof kRev - 1)];
    }
    if (v::parse_deb(s, v::Check::strict)) out.push_back(std::move(s));
  }
  return out;
}

// Strings for rpmvercmp: carets, tildes, odd separators, empty parts.
std::vector<std::string> generated_rpm_strings(std::mt19937_64& rng, std::size_t count) {
  static constexpr char kChars[] = "0123456789abzAZ._+~^-:%";
  std::vector<std::string> out;
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  while (out.size() < count) {
    std::string s;
    if (pick(4) == 0) s += std::to_string(pick(3)) + ":";
    if (pick(8) == 0) s += ":";
    const std::size_t len = pick(14);
    for (std::size_t i = 0; i < len; ++i) {
      if (pick(12) == 0) {
        s += std::string(20 + pick(10), static_cast<char>('1' + pick(9)));
      } else {
        s += kChars[pick(sizeof kChars - 1)];
      }
    }
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

// Pairs that matter: neighbours in sorted order share long prefixes (same package, next
// release), plus random pairs across the whole list.
std::vector<std::pair<std::size_t, std::size_t>> make_pairs(std::size_t n, std::size_t window,
                                                            std::size_t random_pairs,
                                                            std::mt19937_64& rng) {
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t d = 1; d <= window && i + d < n; ++d) pairs.emplace_back(i, i + d);
  }
  for (std::size_t k = 0; k < random_pairs; ++k) pairs.emplace_back(rng() % n, rng() % n);
  return pairs;
}

struct Tally {
  std::size_t compared = 0;
  std::size_t disagreements = 0;
  void record(const std::string& what, const std::string& a, const std::string& b, int ours,
              int oracle) {
    ++compared;
    if (sign(ours) == sign(oracle)) return;
    if (++disagreements <= 50) {
      ADD_FAILURE() << what << ": '" << a << "' vs '" << b << "': ours " << ours << ", oracle "
                    << oracle;
    }
  }
};

class VersionsOracle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::mt19937_64 rng(20261122);
    real_ = new std::vector<std::string>(real_versions());
    edge_deb_ = new std::vector<std::string>(generated_deb_versions(rng, 20000));
    edge_rpm_ = new std::vector<std::string>(generated_rpm_strings(rng, 20000));
  }
  static void TearDownTestSuite() {
    delete real_;
    delete edge_deb_;
    delete edge_rpm_;
  }
  static std::vector<std::string>* real_;
  static std::vector<std::string>* edge_deb_;
  static std::vector<std::string>* edge_rpm_;
};
std::vector<std::string>* VersionsOracle::real_ = nullptr;
std::vector<std::string>* VersionsOracle::edge_deb_ = nullptr;
std::vector<std::string>* VersionsOracle::edge_rpm_ = nullptr;

TEST_F(VersionsOracle, RealDebianVersionsAreMany) {
  // The premise: about 21,000 distinct versions in Debian's lists alone.
  EXPECT_GE(real_->size(), 20000u);
}

TEST_F(VersionsOracle, DebianOrderingAgreesWithLibaptPkg) {
  std::mt19937_64 rng(1);
  std::vector<std::string> all = *real_;
  all.insert(all.end(), edge_deb_->begin(), edge_deb_->end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  Tally tally;
  std::size_t skipped_invalid = 0;
  for (const auto& [i, j] : make_pairs(all.size(), 16, 500000, rng)) {
    const auto& a = all[i];
    const auto& b = all[j];
    auto ours = v::compare_deb(a, b);
    if (!ours) {  // dpkg refuses it; apt has no notion of invalid
      ++skipped_invalid;
      continue;
    }
    tally.record("deb", a, b, *ours, debVS.CmpVersion(a, b));
  }
  std::printf("deb: %zu pairs compared against libapt-pkg, %zu disagreements, %zu skipped\n",
              tally.compared, tally.disagreements, skipped_invalid);
  EXPECT_GE(tally.compared, 1000000u);
  EXPECT_EQ(tally.disagreements, 0u);
  // Real lists contain no version dpkg refuses.
  EXPECT_EQ(skipped_invalid, 0u);
}

TEST_F(VersionsOracle, RpmvercmpAgreesWithLibrpm) {
  std::mt19937_64 rng(2);
  std::vector<std::string> all = *real_;
  all.insert(all.end(), edge_rpm_->begin(), edge_rpm_->end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  Tally tally;
  for (const auto& [i, j] : make_pairs(all.size(), 16, 500000, rng)) {
    const auto& a = all[i];
    const auto& b = all[j];
    tally.record("rpmvercmp", a, b, v::rpmvercmp(a, b), rpmvercmp(a.c_str(), b.c_str()));
  }
  std::printf("rpmvercmp: %zu pairs compared against librpm, %zu disagreements\n",
              tally.compared, tally.disagreements);
  EXPECT_GE(tally.compared, 1000000u);
  EXPECT_EQ(tally.disagreements, 0u);
}

TEST_F(VersionsOracle, RpmEvrOrderingAgreesWithLibrpm) {
  std::mt19937_64 rng(3);
  std::vector<std::string> all = *real_;
  all.insert(all.end(), edge_rpm_->begin(), edge_rpm_->end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  // Parse each string once on both sides, as a matcher would.
  std::vector<rpmver> parsed(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) parsed[i] = rpmverParse(all[i].c_str());
  Tally tally;
  for (const auto& [i, j] : make_pairs(all.size(), 16, 500000, rng)) {
    auto ours = v::compare_rpm_evr(all[i], all[j]);
    ASSERT_TRUE(ours) << all[i] << " vs " << all[j];
    tally.record("rpm EVR", all[i], all[j], *ours, rpmverCmp(parsed[i], parsed[j]));
  }
  for (auto* p : parsed) rpmverFree(p);
  std::printf("rpm EVR: %zu pairs compared against librpm, %zu disagreements\n", tally.compared,
              tally.disagreements);
  EXPECT_GE(tally.compared, 1000000u);
  EXPECT_EQ(tally.disagreements, 0u);
}

}  // namespace
