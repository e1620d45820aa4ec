// SPDX-License-Identifier: Apache-2.0
// A resolved chain plan (docs/orchestrator.md): what the server makes of a Chain policy
// document and the fleet — stages in order, their hosts in rollout order, limits, soak, gate,
// windows and group budgets. The orchestrator never reads YAML.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/schedule/calendar.hpp"
#include "patchflow/schedule/window.hpp"

namespace pf::orch {

using Time = std::chrono::sys_seconds;

/// Bounds of a plan (and of a state read back from JSON).
inline constexpr std::size_t kMaxStages = 64;
inline constexpr std::size_t kMaxHostsPerStage = 100'000;
inline constexpr std::size_t kMaxWindowSets = 1024;
inline constexpr std::size_t kMaxRunIdBytes = 100;  // job run ids add "-stage-host"

/// "3" (absolute) or "25%" (percent of the stage's hosts).
struct Limit {
  bool percent{false};
  int value{0};
  friend bool operator==(const Limit&, const Limit&) = default;
};

struct PlanHost {
  std::string id;
  std::string name;
  std::vector<std::string> groups;
  int window_set{-1};  ///< index into Plan::window_sets; -1: no restriction
  friend bool operator==(const PlanHost&, const PlanHost&) = default;
};

struct Soak {
  enum class Kind { none, duration, business_days };
  Kind kind{Kind::none};
  std::chrono::seconds duration{0};
  int days{0};
  friend bool operator==(const Soak&, const Soak&) = default;
};

struct PlanStage {
  std::string name;
  std::vector<std::string> after;
  std::string when;  ///< CEL gate over `stages`; "" = no gate
  std::vector<PlanHost> hosts;  ///< in rollout order
  Limit max_parallel{false, 1};
  Limit max_failed{false, 0};
  /// Waited after this stage's dependencies finished (from the latest finish among `after`;
  /// from the run's start when there is none), before the stage starts.
  Soak soak;
  bool approval_required{false};
  std::chrono::seconds expected_duration{3600};
  std::chrono::seconds host_timeout{7200};
  friend bool operator==(const PlanStage&, const PlanStage&) = default;
};

struct Plan {
  std::string chain;
  std::int64_t chain_revision{0};
  std::vector<PlanStage> stages;
  std::vector<std::vector<schedule::Window>> window_sets;
  std::optional<schedule::Calendar> calendar;  ///< business days of soaks; default Mon-Fri UTC
  std::map<std::string, int> group_budgets;    ///< group -> max hosts in work at once
  bool emergency{false};
  std::string justification;
};

[[nodiscard]] bool operator==(const Plan& a, const Plan& b);

/// Checks a plan: unique non-empty stage names, `after` naming other stages without cycles,
/// gates that parse and type-check and read only stages the stage (transitively) waits for,
/// limits in range (max_parallel >= 1 or 1..100%, max_failed >= 0 or 0..100%), window-set
/// indexes in range, positive durations, unique host ids, the bounds above. Errors are
/// invalid_input with where = "stages[i].field".
[[nodiscard]] Result<void> validate(const Plan& plan);

/// max_parallel against n hosts: absolute, or ceil(percent * n / 100), at least 1.
[[nodiscard]] int resolve_parallel(Limit limit, std::size_t hosts);
/// max_failed against n hosts: absolute, or floor(percent * n / 100).
[[nodiscard]] int resolve_failed(Limit limit, std::size_t hosts);

}  // namespace pf::orch
