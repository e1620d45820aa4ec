// SPDX-License-Identifier: Apache-2.0
#include "patchflow/core/risk.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pf::risk {
namespace {

namespace a = pf::advisories;

// Weights: the largest possible contributions in points (they add up to 100). The non-KEV
// terms together reach at most 60, so KEV (35) plus a high severity is out of reach for any
// finding that is not KEV-listed unless its EPSS is high as well.
constexpr double kSeverityWeight = 25;
constexpr double kCvssWeight = 15;
constexpr double kEpssWeight = 15;
constexpr double kEpssPercentileWeight = 5;
constexpr double kKevWeight = 35;
constexpr double kRansomwareWeight = 5;
// Host score: points per tenfold number of findings, and their ceiling.
constexpr double kCountWeight = 5;
constexpr double kCountCap = 10;

std::optional<double> severity_level(a::Severity s) noexcept {
  switch (s) {
    case a::Severity::critical: return 1.0;
    case a::Severity::high: return 0.75;
    case a::Severity::medium: return 0.5;
    case a::Severity::low: return 0.25;
    case a::Severity::negligible: return 0.05;
    case a::Severity::unknown: return std::nullopt;
  }
  return std::nullopt;
}

double criticality_factor(Criticality c) noexcept {
  switch (c) {
    case Criticality::low: return 0.8;
    case Criticality::medium: return 1.0;
    case Criticality::high: return 1.1;
    case Criticality::critical: return 1.2;
  }
  return 1.0;
}

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", x);
  return buf;
}

bool in_range(double x, double hi) noexcept { return std::isfinite(x) && x >= 0 && x <= hi; }

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string_view criticality_name(Criticality criticality) noexcept {
  switch (criticality) {
    case Criticality::low: return "low";
    case Criticality::medium: return "medium";
    case Criticality::high: return "high";
    case Criticality::critical: return "critical";
  }
  return "medium";
}

Result<Criticality> criticality_from_name(std::string_view name) {
  for (auto c : {Criticality::low, Criticality::medium, Criticality::high, Criticality::critical}) {
    const std::string_view word = criticality_name(c);
    if (word.size() == name.size() &&
        std::equal(word.begin(), word.end(), name.begin(),
                   [](char x, char y) { return x == lower(y); })) {
      return c;
    }
  }
  return make_error(Errc::invalid_input,
                    "unknown criticality '" + std::string(name) +
                        "' (expected low, medium, high or critical)",
                    "criticality");
}

Inputs inputs_for(a::Severity severity, std::span<const a::CveInfo> cves,
                  Criticality criticality) {
  Inputs in;
  in.severity = severity;
  in.criticality = criticality;
  auto raise = [](std::optional<double>& slot, const std::optional<double>& x, double hi) {
    if (x && in_range(*x, hi) && (!slot || *x > *slot)) slot = *x;
  };
  for (const auto& cve : cves) {
    raise(in.cvss, cve.cvss3_score, 10);
    raise(in.cvss, cve.cvss4_score, 10);
    raise(in.epss, cve.epss, 1);
    raise(in.epss_percentile, cve.epss_percentile, 1);
    in.kev = in.kev || cve.kev;
    in.kev_ransomware = in.kev_ransomware || cve.kev_ransomware;
  }
  return in;
}

Score score_finding(const Inputs& in) {
  Score s;
  const std::optional<double> sev = severity_level(in.severity);
  const std::optional<double> cvss =
      in.cvss && in_range(*in.cvss, 10) ? std::optional<double>(*in.cvss / 10) : std::nullopt;
  // A missing severity or CVSS borrows the other's level, so that a feed without one does not
  // make a finding look harmless; with neither, medium.
  const double sev_level = sev ? *sev : cvss ? *cvss : 0.5;
  const double cvss_level = cvss ? *cvss : sev ? *sev : 0.5;
  s.parts.push_back({"severity",
                     std::string(a::severity_name(in.severity)) +
                         (sev ? "" : cvss ? " (level taken from CVSS)" : " (taken as medium)"),
                     kSeverityWeight, kSeverityWeight * sev_level});
  s.parts.push_back({"cvss",
                     cvss ? number(*in.cvss)
                          : std::string(sev ? "unknown (level taken from severity)"
                                            : "unknown (taken as medium)"),
                     kCvssWeight, kCvssWeight * cvss_level});
  const bool epss_ok = in.epss && in_range(*in.epss, 1);
  // The square root spreads the small probabilities most CVEs have: 1% -> 0.1, 25% -> 0.5.
  s.parts.push_back({"epss", epss_ok ? number(*in.epss) : "unknown", kEpssWeight,
                     epss_ok ? kEpssWeight * std::sqrt(*in.epss) : 0.0});
  const bool pct_ok = in.epss_percentile && in_range(*in.epss_percentile, 1);
  s.parts.push_back({"epss percentile", pct_ok ? number(*in.epss_percentile) : "unknown",
                     kEpssPercentileWeight,
                     pct_ok ? kEpssPercentileWeight * *in.epss_percentile : 0.0});
  s.parts.push_back({"kev", in.kev ? "listed" : "not listed", kKevWeight,
                     in.kev ? kKevWeight : 0.0});
  const bool ransomware = in.kev && in.kev_ransomware;
  s.parts.push_back({"kev ransomware", ransomware ? "known" : "not known", kRansomwareWeight,
                     ransomware ? kRansomwareWeight : 0.0});
  double base = 0;
  for (const auto& p : s.parts) base += p.contribution;
  const double factor = criticality_factor(in.criticality);
  const double scaled = std::clamp(base * factor, 0.0, 100.0);
  s.parts.push_back({"host criticality", std::string(criticality_name(in.criticality)), factor,
                     scaled - base});
  s.value = scaled;
  return s;
}

Score score_host(std::span<const double> finding_scores) {
  Score s;
  if (finding_scores.empty()) {
    s.parts.push_back({"highest finding", "none", 1, 0});
    s.parts.push_back({"finding count", "0", kCountWeight, 0});
    return s;
  }
  const double top = std::clamp(*std::max_element(finding_scores.begin(), finding_scores.end()),
                                0.0, 100.0);
  const double n = static_cast<double>(finding_scores.size());
  const double count_term = std::min(kCountCap, kCountWeight * std::log10(n));
  const double value = std::min(100.0, top + count_term);
  s.parts.push_back({"highest finding", number(top), 1, top});
  s.parts.push_back({"finding count", number(n), kCountWeight, value - top});
  s.value = value;
  return s;
}

std::string explain(const Score& score) {
  std::string out = number(score.value) + " = ";
  bool first = true;
  for (const auto& p : score.parts) {
    if (!first) out += "; ";
    first = false;
    out += p.name + "=" + p.value + " x" + number(p.weight) + " -> " +
           (p.contribution >= 0 ? "+" : "") + number(p.contribution);
  }
  return out;
}

}  // namespace pf::risk
