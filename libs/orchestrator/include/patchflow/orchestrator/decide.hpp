// SPDX-License-Identifier: Apache-2.0
// decide(state, events, now) -> (state', commands): the chain orchestrator as a pure function
// (docs/orchestrator.md). The server persists state' and the commands in one transaction,
// then executes the commands; after a crash it re-executes the undone ones.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "patchflow/orchestrator/state.hpp"

namespace pf::orch {

struct ChainStarted {
  std::string run_id;
  Plan plan;
  std::string by;
  Time at{};
};
/// The agent reported something for the host's job: resets the host's timeout.
struct HostProgress {
  std::string run_id, stage, host_id;
  Time at{};
};
enum class HostOutcomeKind { succeeded, failed, skipped, rolled_back };
struct HostFinished {
  std::string run_id, stage, host_id;
  HostOutcomeKind outcome{HostOutcomeKind::succeeded};
  std::map<std::string, cel::PostResult> post;
  std::int64_t health_regressions{0};
  Time at{};
};
struct Approve {
  std::string run_id, stage, by;
};
struct Pause {
  std::string run_id, by;
};
struct Resume {
  std::string run_id, by;
};
struct Cancel {
  std::string run_id, by, reason;
};
using Event = std::variant<ChainStarted, HostProgress, HostFinished, Approve, Pause, Resume, Cancel>;

/// Queue the signed job of a host. job_run_id = run_id-stageindex-hostindex: stable across
/// restarts, so a re-executed command is recognized as already queued.
struct StartHost {
  std::string run_id, stage, host_id, job_run_id;
  Time deadline{};  ///< dispatch time + host_timeout
  friend bool operator==(const StartHost&, const StartHost&) = default;
};
struct CancelHost {
  std::string run_id, host_id, job_run_id;
  friend bool operator==(const CancelHost&, const CancelHost&) = default;
};
struct Log {
  std::string run_id, line;
  friend bool operator==(const Log&, const Log&) = default;
};
struct RunFinished {
  std::string run_id;
  RunStatus status{RunStatus::succeeded};
  friend bool operator==(const RunFinished&, const RunFinished&) = default;
};
using Command = std::variant<StartHost, CancelHost, Log, RunFinished>;

/// {"type":"start_host",...}; command_from_json(to_json(c)) == c.
[[nodiscard]] std::string to_json(const Command& command);
[[nodiscard]] Result<Command> command_from_json(std::string_view json);

struct Decision {
  State state;
  std::vector<Command> commands;
};

/// Applies the events in order, each followed by advancing every run at `now` (soaks, gates,
/// approvals, windows, waves, budgets, timeouts, completion) to a fixed point; with no events
/// it only advances. Deterministic; events that do not apply (unknown run/stage/host, wrong
/// state, duplicates) leave the state unchanged and give a Log command.
[[nodiscard]] Decision decide(const State& state, std::span<const Event> events, Time now);

}  // namespace pf::orch
