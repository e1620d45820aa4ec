// SPDX-License-Identifier: Apache-2.0
#include "patchflow/orchestrator/plan.hpp"

#include <algorithm>
#include <set>

#include "patchflow/cel/expr.hpp"
#include "patchflow/cel/stages.hpp"
#include "patchflow/orchestrator/state.hpp"

namespace pf::orch {

namespace {

bool same_calendar(const std::optional<schedule::Calendar>& a,
                   const std::optional<schedule::Calendar>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->zone == b->zone && a->weekend == b->weekend && a->holidays == b->holidays;
}

std::string at(std::size_t i, const char* field) {
  return "stages[" + std::to_string(i) + "]." + field;
}

}  // namespace

bool operator==(const Plan& a, const Plan& b) {
  return a.chain == b.chain && a.chain_revision == b.chain_revision && a.stages == b.stages &&
         a.window_sets == b.window_sets && same_calendar(a.calendar, b.calendar) &&
         a.group_budgets == b.group_budgets && a.emergency == b.emergency &&
         a.justification == b.justification;
}

int resolve_parallel(Limit limit, std::size_t hosts) {
  if (!limit.percent) return limit.value < 1 ? 1 : limit.value;
  const long long n = static_cast<long long>(hosts) * limit.value;
  const long long v = (n + 99) / 100;
  return v < 1 ? 1 : static_cast<int>(v);
}

int resolve_failed(Limit limit, std::size_t hosts) {
  if (!limit.percent) return limit.value < 0 ? 0 : limit.value;
  const long long v = static_cast<long long>(hosts) * limit.value / 100;
  return v < 0 ? 0 : static_cast<int>(v);
}

Result<void> validate(const Plan& plan) {
  if (plan.stages.empty()) return make_error(Errc::invalid_input, "a chain needs at least one stage", "stages");
  if (plan.stages.size() > kMaxStages)
    return make_error(Errc::invalid_input,
                      "more than " + std::to_string(kMaxStages) + " stages", "stages");
  if (plan.window_sets.size() > kMaxWindowSets)
    return make_error(Errc::invalid_input, "too many window sets", "window_sets");
  for (const auto& [group, budget] : plan.group_budgets)
    if (budget < 1)
      return make_error(Errc::invalid_input, "budget must be at least 1", "group_budgets." + group);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& s = plan.stages[i];
    if (s.name.empty()) return make_error(Errc::invalid_input, "empty stage name", at(i, "name"));
    if (!index.emplace(s.name, i).second)
      return make_error(Errc::invalid_input, "duplicate stage '" + s.name + "'", at(i, "name"));
  }
  std::vector<std::string> names;
  for (const auto& s : plan.stages) names.push_back(s.name);
  const cel::Env env = cel::stages_env(names);
  // Ancestors by depth-first search with cycle detection (0 new, 1 on stack, 2 done).
  std::vector<int> mark(plan.stages.size(), 0);
  std::vector<std::set<std::string>> ancestors(plan.stages.size());
  std::string cycle;
  auto visit = [&](auto&& self, std::size_t i) -> bool {
    if (mark[i] == 2) return true;
    if (mark[i] == 1) {
      cycle = plan.stages[i].name;
      return false;
    }
    mark[i] = 1;
    for (const auto& dep : plan.stages[i].after) {
      const auto it = index.find(dep);
      if (it == index.end()) continue;  // reported below
      if (!self(self, it->second)) return false;
      ancestors[i].insert(dep);
      ancestors[i].insert(ancestors[it->second].begin(), ancestors[it->second].end());
    }
    mark[i] = 2;
    return true;
  };
  for (std::size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& s = plan.stages[i];
    std::set<std::string> seen;
    for (const auto& dep : s.after) {
      if (!index.count(dep))
        return make_error(Errc::invalid_input, "unknown stage '" + dep + "'", at(i, "after"));
      if (dep == s.name)
        return make_error(Errc::invalid_input, "a stage cannot wait for itself", at(i, "after"));
      if (!seen.insert(dep).second)
        return make_error(Errc::invalid_input, "'" + dep + "' listed twice", at(i, "after"));
    }
  }
  for (std::size_t i = 0; i < plan.stages.size(); ++i)
    if (!visit(visit, i))
      return make_error(Errc::invalid_input, "dependency cycle through stage '" + cycle + "'",
                        at(i, "after"));
  for (std::size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& s = plan.stages[i];
    if (s.hosts.size() > kMaxHostsPerStage)
      return make_error(Errc::invalid_input, "too many hosts", at(i, "hosts"));
    if (s.max_parallel.percent ? (s.max_parallel.value < 1 || s.max_parallel.value > 100)
                               : s.max_parallel.value < 1)
      return make_error(Errc::invalid_input, "must be at least 1 (or 1% to 100%)",
                        at(i, "max_parallel"));
    if (s.max_failed.percent ? (s.max_failed.value < 0 || s.max_failed.value > 100)
                             : s.max_failed.value < 0)
      return make_error(Errc::invalid_input, "must be at least 0 (or 0% to 100%)",
                        at(i, "max_failed"));
    if (s.expected_duration.count() < 1 || s.expected_duration > std::chrono::days{31})
      return make_error(Errc::invalid_input, "must be between 1s and 31 days",
                        at(i, "expected_duration"));
    if (s.host_timeout.count() < 1 || s.host_timeout > std::chrono::days{31})
      return make_error(Errc::invalid_input, "must be between 1s and 31 days",
                        at(i, "host_timeout"));
    if (s.soak.kind == Soak::Kind::duration &&
        (s.soak.duration.count() < 1 || s.soak.duration > std::chrono::days{366}))
      return make_error(Errc::invalid_input, "soak must be between 1s and 366 days", at(i, "soak"));
    if (s.soak.kind == Soak::Kind::business_days &&
        (s.soak.days < 1 || s.soak.days > schedule::kMaxBusinessDays))
      return make_error(Errc::invalid_input, "business days must be 1.." +
                        std::to_string(schedule::kMaxBusinessDays), at(i, "soak"));
    std::set<std::string> ids;
    for (std::size_t h = 0; h < s.hosts.size(); ++h) {
      const auto& host = s.hosts[h];
      const std::string where = at(i, "hosts") + "[" + std::to_string(h) + "]";
      if (host.id.empty()) return make_error(Errc::invalid_input, "empty host id", where);
      if (!ids.insert(host.id).second)
        return make_error(Errc::invalid_input, "host '" + host.id + "' listed twice", where);
      if (host.window_set < -1 || host.window_set >= static_cast<int>(plan.window_sets.size()))
        return make_error(Errc::invalid_input,
                          "window_set " + std::to_string(host.window_set) + " out of range", where);
    }
    if (!s.when.empty()) {
      auto expr = cel::parse(s.when);
      if (!expr)
        return make_error(Errc::invalid_input, expr.error().message,
                          at(i, "when") + ":" + expr.error().where);
      if (auto ok = cel::check_condition(*expr, env); !ok)
        return make_error(Errc::invalid_input, ok.error().message,
                          at(i, "when") + ":" + ok.error().where);
      for (const auto& ref : cel::referenced_stages(*expr))
        if (!ancestors[i].count(ref))
          return make_error(Errc::invalid_input,
                            "the gate reads stage '" + ref + "', which this stage does not wait for",
                            at(i, "when"));
    }
  }
  return {};
}

std::string_view name(RunStatus s) noexcept {
  switch (s) {
    case RunStatus::running: return "running";
    case RunStatus::paused: return "paused";
    case RunStatus::succeeded: return "succeeded";
    case RunStatus::failed: return "failed";
    case RunStatus::halted: return "halted";
    case RunStatus::blocked: return "blocked";
    case RunStatus::canceled: return "canceled";
  }
  return "?";
}

std::string_view name(StageStatus s) noexcept {
  switch (s) {
    case StageStatus::pending: return "pending";
    case StageStatus::waiting_soak: return "waiting_soak";
    case StageStatus::waiting_approval: return "waiting_approval";
    case StageStatus::waiting_window: return "waiting_window";
    case StageStatus::running: return "running";
    case StageStatus::succeeded: return "succeeded";
    case StageStatus::halted: return "halted";
    case StageStatus::blocked: return "blocked";
    case StageStatus::skipped: return "skipped";
    case StageStatus::canceled: return "canceled";
  }
  return "?";
}

std::string_view name(HostStatus s) noexcept {
  switch (s) {
    case HostStatus::pending: return "pending";
    case HostStatus::dispatched: return "dispatched";
    case HostStatus::succeeded: return "succeeded";
    case HostStatus::failed: return "failed";
    case HostStatus::skipped: return "skipped";
    case HostStatus::rolled_back: return "rolled_back";
    case HostStatus::timed_out: return "timed_out";
    case HostStatus::canceled: return "canceled";
    case HostStatus::not_started: return "not_started";
  }
  return "?";
}

bool is_final(RunStatus s) noexcept { return s != RunStatus::running && s != RunStatus::paused; }

bool is_final(StageStatus s) noexcept {
  return s == StageStatus::succeeded || s == StageStatus::halted || s == StageStatus::blocked ||
         s == StageStatus::skipped || s == StageStatus::canceled;
}

bool is_final(HostStatus s) noexcept {
  return s != HostStatus::pending && s != HostStatus::dispatched;
}

bool operator==(const HostState& a, const HostState& b) {
  const auto same_post = [](const auto& x, const auto& y) {
    return x.size() == y.size() &&
           std::equal(x.begin(), x.end(), y.begin(), [](const auto& p, const auto& q) {
             return p.first == q.first && p.second.passed == q.second.passed &&
                    p.second.exit_code == q.second.exit_code;
           });
  };
  return a.status == b.status && a.wave == b.wave && a.job_run_id == b.job_run_id &&
         a.dispatched_at == b.dispatched_at && a.last_activity == b.last_activity &&
         a.finished_at == b.finished_at && same_post(a.post, b.post) &&
         a.health_regressions == b.health_regressions && a.waiting == b.waiting;
}

std::size_t remove_finished(State& state) {
  return std::erase_if(state.runs, [](const auto& kv) { return is_final(kv.second.status); });
}

}  // namespace pf::orch
