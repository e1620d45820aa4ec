// SPDX-License-Identifier: Apache-2.0
// Baselines: which updates are approved (docs/policy.md, "Baseline"), and the pure verdict for
// one candidate update.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/core/advisory.hpp"

namespace pf::policy {

struct Baseline {
  std::vector<advisories::Kind> classifications{advisories::Kind::security};  ///< sorted, unique
  advisories::Severity min_severity{advisories::Severity::low};
  std::chrono::seconds auto_approve_after{0};  ///< 0: at once
  bool kev_only{false};
  std::vector<std::string> approve;  ///< advisory or CVE ids, approved unless held/excluded
  std::vector<std::string> reject;   ///< never approved
  std::vector<std::string> holds;    ///< package globs (* and ?), never upgraded
  std::vector<std::string> exclude;  ///< package globs, not in scope
  friend bool operator==(const Baseline&, const Baseline&) = default;
};

/// One update a host's package manager can install (deb or rpm alike).
struct Candidate {
  std::string package, arch, installed, candidate;
  advisories::Kind kind{advisories::Kind::security};
  advisories::Severity severity{advisories::Severity::unknown};
  std::vector<std::string> advisory_ids;
  std::vector<std::string> cves;
  bool kev{false};
  std::int64_t released_at{0};  ///< unix seconds of the advisory/release; 0 unknown
};

struct Verdict {
  enum class Status { approved, not_yet, held, rejected, excluded, not_approved };
  bool approved{false};
  Status status{Status::not_approved};
  std::string reason;  ///< "approved: security high >= high, released 9 days ago >= 7d", ...
};

/// The rules in order: exclude, holds, reject, approve list, classification, kev_only,
/// min_severity (security only), auto_approve_after. See docs/policy.md.
[[nodiscard]] Verdict evaluate(const Baseline& baseline, const Candidate& candidate,
                               std::chrono::sys_seconds now);

/// Shell-style glob with * and ? only.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text) noexcept;

}  // namespace pf::policy
