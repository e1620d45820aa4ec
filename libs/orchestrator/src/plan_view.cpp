// SPDX-License-Identifier: Apache-2.0
#include "patchflow/orchestrator/plan_view.hpp"

#include <map>

#include "patchflow/schedule/window.hpp"

namespace pf::orch {

namespace {

std::string soak_text(const Plan& plan, const Soak& soak) {
  std::string s;
  switch (soak.kind) {
    case Soak::Kind::none: return "none";
    case Soak::Kind::duration: {
      const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(soak.duration);
      s = minutes.count() >= 1 && std::chrono::seconds(minutes) == soak.duration
              ? schedule::format_duration(minutes)
              : std::to_string(soak.duration.count()) + "s";
      break;
    }
    case Soak::Kind::business_days:
      s = std::to_string(soak.days) + (soak.days == 1 ? " business day" : " business days");
      break;
  }
  if (plan.emergency) s += " (skipped: emergency)";
  return s;
}

}  // namespace

Projection plan_view(const Plan& plan, Time now) {
  Projection out;
  out.chain = plan.chain;
  for (const auto& ps : plan.stages) {
    StageView sv;
    sv.name = ps.name;
    sv.after = ps.after;
    sv.wave_size = resolve_parallel(ps.max_parallel, ps.hosts.size());
    sv.waves = static_cast<int>((ps.hosts.size() + static_cast<std::size_t>(sv.wave_size) - 1) /
                                static_cast<std::size_t>(sv.wave_size));
    sv.max_failed = resolve_failed(ps.max_failed, ps.hosts.size());
    sv.soak = soak_text(plan, ps.soak);
    sv.gate = ps.when;
    sv.approval_required = ps.approval_required;
    std::map<int, HostView> by_set;  // the opening depends only on the window set
    for (std::size_t h = 0; h < ps.hosts.size(); ++h) {
      const auto& ph = ps.hosts[h];
      HostView hv;
      hv.id = ph.id;
      hv.name = ph.name;
      hv.wave = static_cast<int>(h / static_cast<std::size_t>(sv.wave_size)) + 1;
      if (ph.window_set < 0 || static_cast<std::size_t>(ph.window_set) >= plan.window_sets.size()) {
        hv.window = "no window restriction";
      } else if (const auto it = by_set.find(ph.window_set); it != by_set.end()) {
        hv.opening = it->second.opening;
        hv.window = it->second.window;
      } else {
        const auto& windows = plan.window_sets[static_cast<std::size_t>(ph.window_set)];
        const auto open = schedule::next_opening(windows, now, ps.expected_duration);
        if (open) {
          const schedule::Zone zone = windows.empty() ? schedule::Zone{} : windows.front().zone;
          hv.opening = *open;
          hv.window = schedule::format_local(*open, zone) + " (" + schedule::format_utc(*open) + ")";
        } else {
          hv.window = "no opening within " + std::to_string(schedule::kDefaultHorizon.count()) + " days";
        }
        by_set.emplace(ph.window_set, hv);
      }
      sv.hosts.push_back(std::move(hv));
    }
    out.stages.push_back(std::move(sv));
  }
  return out;
}

}  // namespace pf::orch
