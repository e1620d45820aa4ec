// SPDX-License-Identifier: Apache-2.0
// Plan builders and a small driver for the orchestrator tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "patchflow/orchestrator/decide.hpp"
#include "patchflow/schedule/window.hpp"

namespace pf::orch::test {

using namespace std::chrono;

inline Time utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

inline PlanHost host(std::string id, std::vector<std::string> groups = {}, int window_set = -1) {
  PlanHost h;
  h.name = id;
  h.id = std::move(id);
  h.groups = std::move(groups);
  h.window_set = window_set;
  return h;
}

/// A stage with hosts prefix-01 .. prefix-NN.
inline PlanStage stage(std::string name, int hosts, std::vector<std::string> after = {},
                       std::string when = {}) {
  PlanStage s;
  for (int i = 1; i <= hosts; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "%s-%02d", name.c_str(), i);
    s.hosts.push_back(host(id));
  }
  s.name = std::move(name);
  s.after = std::move(after);
  s.when = std::move(when);
  return s;
}

inline schedule::Window window(const char* sched, const char* duration, const char* zone) {
  auto w = schedule::make_window(sched, duration, zone, "maintenance");
  EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().message);
  return w ? *w : schedule::Window{};
}

inline HostFinished finished(std::string run, std::string stage, std::string host, Time at,
                             HostOutcomeKind outcome = HostOutcomeKind::succeeded,
                             std::map<std::string, cel::PostResult> post = {}) {
  HostFinished f;
  f.run_id = std::move(run);
  f.stage = std::move(stage);
  f.host_id = std::move(host);
  f.outcome = outcome;
  f.post = std::move(post);
  f.at = at;
  return f;
}

inline ChainStarted started(std::string run, Plan plan, Time at) {
  return ChainStarted{std::move(run), std::move(plan), "alice", at};
}

/// Feeds events into decide() and keeps the state; each step's commands are returned.
struct Driver {
  State state;
  std::vector<Command> step(std::vector<Event> events, Time now) {
    auto d = decide(state, events, now);
    state = std::move(d.state);
    return std::move(d.commands);
  }
  const RunState& run(const std::string& id) const { return state.runs.at(id); }
  const StageState& stage(const std::string& run_id, std::size_t s) const {
    return run(run_id).stages.at(s);
  }
  HostStatus host(const std::string& run_id, std::size_t s, std::size_t h) const {
    return stage(run_id, s).hosts.at(h).status;
  }
};

/// The host ids of the StartHost commands, in order.
inline std::vector<std::string> starts(const std::vector<Command>& cmds) {
  std::vector<std::string> out;
  for (const auto& c : cmds)
    if (const auto* s = std::get_if<StartHost>(&c)) out.push_back(s->host_id);
  return out;
}

inline std::vector<std::string> cancels(const std::vector<Command>& cmds) {
  std::vector<std::string> out;
  for (const auto& c : cmds)
    if (const auto* s = std::get_if<CancelHost>(&c)) out.push_back(s->host_id);
  return out;
}

inline std::vector<std::string> logs(const std::vector<Command>& cmds) {
  std::vector<std::string> out;
  for (const auto& c : cmds)
    if (const auto* l = std::get_if<Log>(&c)) out.push_back(l->line);
  return out;
}

inline bool has_log(const std::vector<Command>& cmds, const std::string& part) {
  for (const auto& l : logs(cmds))
    if (l.find(part) != std::string::npos) return true;
  return false;
}

inline std::string all_logs(const std::vector<Command>& cmds) {
  std::string out;
  for (const auto& l : logs(cmds)) out += l + "\n";
  return out;
}

inline std::optional<RunStatus> finished_status(const std::vector<Command>& cmds) {
  for (const auto& c : cmds)
    if (const auto* f = std::get_if<RunFinished>(&c)) return f->status;
  return std::nullopt;
}

}  // namespace pf::orch::test
