// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/advisory.hpp"

/// An explainable 0–100 risk score per finding and per host (docs/risk.md has the formula).
namespace pf::risk {

/// How much the business depends on a host. Unset hosts are medium.
enum class Criticality { low, medium, high, critical };

[[nodiscard]] std::string_view criticality_name(Criticality criticality) noexcept;
/// Case-insensitive "low", "medium", "high", "critical".
[[nodiscard]] Result<Criticality> criticality_from_name(std::string_view name);

/// What one finding's score is made of.
struct Inputs {
  advisories::Severity severity{advisories::Severity::unknown};  ///< the vendor's word
  std::optional<double> cvss;             ///< base score 0..10 (the higher of v3 and v4)
  std::optional<double> epss;             ///< probability of exploitation in 30 days, 0..1
  std::optional<double> epss_percentile;  ///< 0..1
  bool kev{false};                        ///< in CISA's Known Exploited Vulnerabilities
  bool kev_ransomware{false};             ///< KEV: known use in ransomware campaigns
  Criticality criticality{Criticality::medium};
};

/// Folds the enrichment of a finding's CVEs into Inputs: the highest CVSS (v3 or v4), the
/// highest EPSS probability and percentile, KEV and ransomware if any CVE has them. Values
/// outside their ranges (negative, NaN, CVSS above 10, EPSS above 1) are ignored.
[[nodiscard]] Inputs inputs_for(advisories::Severity severity,
                                std::span<const advisories::CveInfo> cves,
                                Criticality criticality = Criticality::medium);

/// One term of a score: what it is, the input as text, its weight and the points it adds.
/// For the criticality term the weight is the factor applied and the contribution the points
/// the factor added or removed.
struct Part {
  std::string name;
  std::string value;
  double weight{0};
  double contribution{0};
};

struct Score {
  double value{0};  ///< 0..100; the sum of the parts' contributions, clamped
  std::vector<Part> parts;
};

/// The score of one finding. KEV dominates: the largest weight, and a KEV-listed finding of
/// high severity outranks a non-KEV critical one with low EPSS.
[[nodiscard]] Score score_finding(const Inputs& inputs);

/// A host's score from its findings' scores: the highest, plus a bounded term for how many
/// findings there are. No findings: 0.
[[nodiscard]] Score score_host(std::span<const double> finding_scores);

/// "name=value ×weight → +contribution; …", for logs and the CLI.
[[nodiscard]] std::string explain(const Score& score);

}  // namespace pf::risk
