// SPDX-License-Identifier: Apache-2.0
// The orchestrator's state: every active chain run (group budgets hold across runs), fully
// serializable so that a restarted server continues where it stopped.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/cel/stages.hpp"
#include "patchflow/common/error.hpp"
#include "patchflow/orchestrator/plan.hpp"

namespace pf::orch {

enum class RunStatus { running, paused, succeeded, failed, halted, blocked, canceled };
enum class StageStatus {
  pending,           // dependencies not final yet
  waiting_soak,      // soak_until not reached
  waiting_approval,  // approval_required and no Approve yet
  waiting_window,    // the current wave's hosts wait for their window (next_opening)
  running,
  succeeded,
  halted,   // more failures than max_failed
  blocked,  // gate false or failed to evaluate (explanation)
  skipped,  // a dependency did not succeed (why)
  canceled,
};
enum class HostStatus {
  pending, dispatched, succeeded, failed, skipped, rolled_back, timed_out, canceled, not_started
};

[[nodiscard]] std::string_view name(RunStatus s) noexcept;
[[nodiscard]] std::string_view name(StageStatus s) noexcept;
[[nodiscard]] std::string_view name(HostStatus s) noexcept;
[[nodiscard]] bool is_final(RunStatus s) noexcept;
[[nodiscard]] bool is_final(StageStatus s) noexcept;
[[nodiscard]] bool is_final(HostStatus s) noexcept;

struct HostState {
  HostStatus status{HostStatus::pending};
  int wave{0};               ///< 0-based wave index within the stage
  std::string job_run_id;    ///< set when dispatched
  std::optional<Time> dispatched_at;
  std::optional<Time> last_activity;  ///< dispatch, HostProgress or HostFinished
  std::optional<Time> finished_at;
  std::map<std::string, cel::PostResult> post;  ///< post results by name
  std::int64_t health_regressions{0};
  std::string waiting;  ///< why a pending host of the current wave is not started ("" if not)
  friend bool operator==(const HostState& a, const HostState& b);
};

struct StageState {
  StageStatus status{StageStatus::pending};
  std::optional<Time> soak_until;
  std::optional<Time> next_opening;      ///< waiting_window: the earliest opening
  std::vector<std::string> explanation;  ///< blocked: the gate's evaluated parts
  std::string why;                       ///< skipped / halted / canceled: the reason
  std::string approved_by;
  std::optional<Time> started_at;
  std::optional<Time> finished_at;
  int wave{0};  ///< current wave, 1-based (0: not started)
  std::vector<HostState> hosts;  ///< parallel to PlanStage::hosts
  friend bool operator==(const StageState&, const StageState&) = default;
};

struct RunState {
  Plan plan;
  RunStatus status{RunStatus::running};
  Time started_at{};
  std::string started_by;
  std::string paused_by;
  std::string canceled_by;
  std::string reason;  ///< cancel reason, or why the plan was rejected (status failed)
  std::optional<Time> finished_at;
  std::vector<StageState> stages;  ///< parallel to Plan::stages (empty when rejected)
  friend bool operator==(const RunState&, const RunState&) = default;
};

struct State {
  std::map<std::string, RunState> runs;  ///< by run id
  friend bool operator==(const State&, const State&) = default;
};

/// Largest JSON text state_from_json accepts, and most runs in a state.
inline constexpr std::size_t kMaxStateJsonBytes = 256u << 20;
inline constexpr std::size_t kMaxRuns = 10'000;

/// Canonical JSON of a state: state_from_json(to_json(s)) == s, and equal states give equal
/// text.
[[nodiscard]] std::string to_json(const State& state);
/// Reads a state back, bounded and checked (sizes parallel to the plan, valid plans for runs
/// that are not final). Errors are invalid_input naming the JSON path.
[[nodiscard]] Result<State> state_from_json(std::string_view json);

/// JSON of a plan alone (what the server keeps until a run's first decision);
/// plan_from_json(plan_to_json(p)) == p. plan_from_json checks the JSON's shape and bounds,
/// not the plan (decide rejects an invalid plan with a failed run).
[[nodiscard]] std::string plan_to_json(const Plan& plan);
[[nodiscard]] Result<Plan> plan_from_json(std::string_view json);

/// Drops the runs whose status is final (the server calls it once it has recorded them).
/// Returns how many were removed.
std::size_t remove_finished(State& state);

}  // namespace pf::orch
