// SPDX-License-Identifier: Apache-2.0
// What a chain would do, for `patchflow plan`: per stage and host, the wave and the next
// window opening. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "patchflow/orchestrator/plan.hpp"

namespace pf::orch {

struct HostView {
  std::string id, name;
  int wave{1};  ///< 1-based
  std::optional<Time> opening;  ///< next opening with expected_duration left, if restricted
  /// "no window restriction", "2026-03-10 22:00 EDT (2026-03-11T02:00:00Z)", or
  /// "no opening within 400 days"
  std::string window;
};

struct StageView {
  std::string name;
  std::vector<std::string> after;
  int wave_size{1};
  int waves{0};
  int max_failed{0};
  std::string soak;  ///< "none", "2h", "3 business days" (+ " (skipped: emergency)")
  std::string gate;  ///< the `when` text, "" if none
  bool approval_required{false};
  std::vector<HostView> hosts;
};

struct Projection {
  std::string chain;
  std::vector<StageView> stages;
};

[[nodiscard]] Projection plan_view(const Plan& plan, Time now);

}  // namespace pf::orch
