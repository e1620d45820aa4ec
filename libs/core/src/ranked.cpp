// SPDX-License-Identifier: Apache-2.0
#include "patchflow/core/ranked.hpp"

#include <algorithm>
#include <map>

#include "patchflow/core/matcher.hpp"

namespace pf::ranked {

std::vector<Finding> match(const inventory::Inventory& inventory,
                           std::span<const advisories::Advisory> advisories) {
  matcher::FleetIndex fleet;
  const matcher::HostId host = fleet.add_host(inventory);
  const auto result = matcher::evaluate(fleet, advisories);
  std::vector<Finding> out;
  for (const auto& f : matcher::findings_for_host(fleet, advisories, result, host)) {
    Finding r;
    r.advisory_id = std::string(f.advisory_id);
    r.cves.assign(f.cves.begin(), f.cves.end());
    r.package = std::string(f.package);
    r.arch = std::string(f.arch);
    r.source_package = std::string(f.source_package);
    r.installed_version = std::string(f.installed_version);
    if (f.fixed_version) r.fixed_version = std::string(*f.fixed_version);
    if (f.last_affected) r.last_affected = std::string(*f.last_affected);
    r.fixed_text = matcher::fixed_version_text(f);
    r.severity = f.severity;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> cve_ids(std::span<const Finding> findings) {
  std::vector<std::string> ids;
  for (const auto& f : findings) ids.insert(ids.end(), f.cves.begin(), f.cves.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

void rank(std::vector<Finding>& findings, std::span<const advisories::CveInfo> cves,
          risk::Criticality criticality) {
  std::map<std::string_view, const advisories::CveInfo*, std::less<>> by_id;
  for (const auto& c : cves) by_id.emplace(c.id, &c);
  for (auto& f : findings) {
    std::vector<advisories::CveInfo> infos;
    for (const auto& id : f.cves) {
      if (auto it = by_id.find(id); it != by_id.end()) infos.push_back(*it->second);
    }
    f.score = risk::score_finding(risk::inputs_for(f.severity, infos, criticality));
    f.kev = false;
    f.epss.reset();
    f.cvss.reset();
    for (const auto& c : infos) {
      f.kev = f.kev || c.kev;
      if (c.epss && (!f.epss || *c.epss > *f.epss)) f.epss = c.epss;
      for (auto score : {c.cvss3_score, c.cvss4_score}) {
        if (score && (!f.cvss || *score > *f.cvss)) f.cvss = score;
      }
    }
  }
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.score.value != b.score.value) return a.score.value > b.score.value;
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.advisory_id != b.advisory_id) return a.advisory_id < b.advisory_id;
    return a.package < b.package;
  });
}

}  // namespace pf::ranked
