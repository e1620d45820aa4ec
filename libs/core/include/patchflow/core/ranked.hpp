// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "patchflow/core/advisory.hpp"
#include "patchflow/core/inventory.hpp"
#include "patchflow/core/risk.hpp"

/// One host's findings, ranked by risk: the inventory matched against advisories
/// (pf::matcher), each finding scored from its CVE records (pf::risk). Shared by
/// `patchflow scan` and the server's /api/v1/hosts/{id}/findings. Pure: the caller loads the
/// data. Two steps so the caller only loads the CVE records the findings name:
/// match() → cve_ids() → load → rank().
namespace pf::ranked {

/// A finding that owns its text (it outlives the matcher's index).
struct Finding {
  std::string advisory_id;
  std::vector<std::string> cves;
  std::string package;  ///< binary package name
  std::string arch;
  std::string source_package;
  std::string installed_version;
  std::optional<std::string> fixed_version;
  std::optional<std::string> last_affected;
  std::string fixed_text;  ///< matcher::fixed_version_text: "1.2-3", "no fix yet", "after …"
  advisories::Severity severity{advisories::Severity::unknown};
  // Set by rank():
  bool kev{false};
  std::optional<double> epss;  ///< highest of its CVEs'
  std::optional<double> cvss;  ///< highest v3 or v4 base score of its CVEs
  risk::Score score;
};

/// The inventory's findings against `advisories` (any ecosystem; only entries of the
/// inventory's ecosystem can match), unscored, in the matcher's hit order.
[[nodiscard]] std::vector<Finding> match(const inventory::Inventory& inventory,
                                         std::span<const advisories::Advisory> advisories);

/// The distinct CVE ids the findings name, sorted.
[[nodiscard]] std::vector<std::string> cve_ids(std::span<const Finding> findings);

/// Scores every finding from the records of its CVEs (ids without a record count as unknown)
/// and sorts: risk descending, then severity descending, advisory id, package.
void rank(std::vector<Finding>& findings, std::span<const advisories::CveInfo> cves,
          risk::Criticality criticality = risk::Criticality::medium);

}  // namespace pf::ranked
