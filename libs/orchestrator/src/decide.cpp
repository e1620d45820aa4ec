// SPDX-License-Identifier: Apache-2.0
// The orchestrator's decision function (docs/orchestrator.md). Everything here is a function
// of (state, events, now): no clock, no I/O, maps iterated in key order.
#include "patchflow/orchestrator/decide.hpp"

#include <algorithm>
#include <set>

#include "patchflow/cel/expr.hpp"
#include "patchflow/cel/stages.hpp"
#include "patchflow/schedule/window.hpp"

namespace pf::orch {

namespace {

constexpr int kMaxRounds = 10'000;  // fixed-point guard; each round moves something forward

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool valid_run_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRunIdBytes) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) return false;
  }
  return true;
}

bool counts_as_failed(HostStatus s) {
  return s == HostStatus::failed || s == HostStatus::rolled_back || s == HostStatus::timed_out;
}

std::string host_label(const PlanHost& h) { return h.name.empty() ? h.id : h.name; }

class Decider {
 public:
  Decider(State& state, std::vector<Command>& out, Time now)
      : state_(state), out_(out), now_(now) {}

  void apply(const Event& event) { std::visit([this](const auto& e) { on(e); }, event); }

  void advance() {
    for (int round = 0; round < kMaxRounds; ++round) {
      bool changed = false;
      for (auto& [id, run] : state_.runs)
        if (!is_final(run.status)) changed |= advance_run(id, run);
      if (!changed) return;
    }
  }

 private:
  State& state_;
  std::vector<Command>& out_;
  Time now_;
  std::map<std::pair<int, std::chrono::seconds::rep>, Result<Time>> openings_;

  void log(const std::string& run_id, std::string line) {
    out_.emplace_back(Log{run_id, std::move(line)});
  }

  void ignored(const std::string& run_id, const std::string& what, const std::string& why) {
    log(run_id, what + " ignored: " + why);
  }

  // Finds an active run for an event; logs and returns nullptr otherwise.
  RunState* active_run(const std::string& run_id, const std::string& what) {
    const auto it = state_.runs.find(run_id);
    if (it == state_.runs.end()) {
      ignored(run_id, what, "unknown run");
      return nullptr;
    }
    if (is_final(it->second.status)) {
      ignored(run_id, what, "run already " + std::string(name(it->second.status)));
      return nullptr;
    }
    return &it->second;
  }

  static int stage_index(const Plan& plan, std::string_view stage) {
    for (std::size_t i = 0; i < plan.stages.size(); ++i)
      if (plan.stages[i].name == stage) return static_cast<int>(i);
    return -1;
  }

  static int host_index(const PlanStage& stage, std::string_view host) {
    for (std::size_t i = 0; i < stage.hosts.size(); ++i)
      if (stage.hosts[i].id == host) return static_cast<int>(i);
    return -1;
  }

  // ---- events ----

  void on(const ChainStarted& e) {
    if (!valid_run_id(e.run_id)) {
      ignored(e.run_id, "ChainStarted", "run id must be 1.." + std::to_string(kMaxRunIdBytes) +
                                             " of [A-Za-z0-9_.-], starting alphanumeric");
      return;
    }
    if (state_.runs.count(e.run_id)) {
      ignored(e.run_id, "ChainStarted", "run already exists");
      return;
    }
    RunState run;
    run.plan = e.plan;
    run.started_at = e.at;
    run.started_by = e.by;
    if (auto ok = validate(e.plan); !ok) {
      run.status = RunStatus::failed;
      run.reason = "plan rejected: " + to_string(ok.error());
      run.finished_at = now_;
      log(e.run_id, "chain " + e.plan.chain + " " + run.reason);
      out_.emplace_back(RunFinished{e.run_id, RunStatus::failed});
      state_.runs.emplace(e.run_id, std::move(run));
      return;
    }
    for (const auto& ps : e.plan.stages) {
      StageState ss;
      const int size = resolve_parallel(ps.max_parallel, ps.hosts.size());
      for (std::size_t h = 0; h < ps.hosts.size(); ++h) {
        HostState hs;
        hs.wave = static_cast<int>(h / static_cast<std::size_t>(size));
        ss.hosts.push_back(std::move(hs));
      }
      run.stages.push_back(std::move(ss));
    }
    std::string line = "chain " + e.plan.chain + " revision " +
                       std::to_string(e.plan.chain_revision) + " started by " + e.by;
    if (e.plan.emergency) line += " (emergency run, justification: " + e.plan.justification + ")";
    log(e.run_id, line);
    state_.runs.emplace(e.run_id, std::move(run));
  }

  // The dispatched host an event names, or nullptr after logging why not.
  HostState* dispatched_host(RunState& run, const std::string& run_id, const std::string& what,
                             const std::string& stage, const std::string& host_id) {
    const int s = stage_index(run.plan, stage);
    if (s < 0 || static_cast<std::size_t>(s) >= run.stages.size()) {
      ignored(run_id, what, "unknown stage '" + stage + "'");
      return nullptr;
    }
    const int h = host_index(run.plan.stages[static_cast<std::size_t>(s)], host_id);
    auto& ss = run.stages[static_cast<std::size_t>(s)];
    if (h < 0 || static_cast<std::size_t>(h) >= ss.hosts.size()) {
      ignored(run_id, what, "unknown host '" + host_id + "' in stage " + stage);
      return nullptr;
    }
    auto& hs = ss.hosts[static_cast<std::size_t>(h)];
    if (hs.status != HostStatus::dispatched) {
      ignored(run_id, what, "host " + host_id + " of stage " + stage + " is " +
                                std::string(name(hs.status)) + ", not dispatched");
      return nullptr;
    }
    return &hs;
  }

  void on(const HostProgress& e) {
    RunState* run = active_run(e.run_id, "HostProgress");
    if (!run) return;
    HostState* hs = dispatched_host(*run, e.run_id, "HostProgress", e.stage, e.host_id);
    if (!hs) return;
    const Time at = std::min(e.at, now_);
    if (!hs->last_activity || *hs->last_activity < at) hs->last_activity = at;
  }

  void on(const HostFinished& e) {
    RunState* run = active_run(e.run_id, "HostFinished");
    if (!run) return;
    HostState* hs = dispatched_host(*run, e.run_id, "HostFinished", e.stage, e.host_id);
    if (!hs) return;
    switch (e.outcome) {
      case HostOutcomeKind::succeeded: hs->status = HostStatus::succeeded; break;
      case HostOutcomeKind::failed: hs->status = HostStatus::failed; break;
      case HostOutcomeKind::skipped: hs->status = HostStatus::skipped; break;
      case HostOutcomeKind::rolled_back: hs->status = HostStatus::rolled_back; break;
    }
    hs->post = e.post;
    hs->health_regressions = e.health_regressions;
    hs->finished_at = e.at;
    hs->last_activity = std::max(hs->last_activity.value_or(e.at), std::min(e.at, now_));
    // Logs name hosts as people know them.
    std::string host_name = e.host_id;
    if (const int s = stage_index(run->plan, e.stage); s >= 0) {
      const auto& ps = run->plan.stages[static_cast<std::size_t>(s)];
      if (const int h = host_index(ps, e.host_id); h >= 0) {
        host_name = ps.hosts[static_cast<std::size_t>(h)].name;
      }
    }
    std::string line = "stage " + e.stage + ": host " + host_name + " " + std::string(name(hs->status));
    std::vector<std::string> failed_posts;
    for (const auto& [post_name, r] : e.post)
      if (!r.passed) failed_posts.push_back(post_name + " exit " + std::to_string(r.exit_code));
    if (!failed_posts.empty()) line += " (post failed: " + join(failed_posts) + ")";
    if (e.health_regressions > 0)
      line += " (" + std::to_string(e.health_regressions) + " health regressions)";
    log(e.run_id, line);
  }

  void on(const Approve& e) {
    RunState* run = active_run(e.run_id, "Approve");
    if (!run) return;
    const int s = stage_index(run->plan, e.stage);
    if (s < 0 || static_cast<std::size_t>(s) >= run->stages.size()) {
      ignored(e.run_id, "Approve", "unknown stage '" + e.stage + "'");
      return;
    }
    auto& ss = run->stages[static_cast<std::size_t>(s)];
    if (ss.status != StageStatus::waiting_approval) {
      ignored(e.run_id, "Approve", "stage " + e.stage + " is " + std::string(name(ss.status)) +
                                       ", not waiting_approval");
      return;
    }
    ss.approved_by = e.by;
    log(e.run_id, "stage " + e.stage + " approved by " + e.by);
  }

  void on(const Pause& e) {
    RunState* run = active_run(e.run_id, "Pause");
    if (!run) return;
    if (run->status != RunStatus::running) {
      ignored(e.run_id, "Pause", "run is " + std::string(name(run->status)));
      return;
    }
    run->status = RunStatus::paused;
    run->paused_by = e.by;
    log(e.run_id, "run paused by " + e.by + ": no new host starts");
  }

  void on(const Resume& e) {
    RunState* run = active_run(e.run_id, "Resume");
    if (!run) return;
    if (run->status != RunStatus::paused) {
      ignored(e.run_id, "Resume", "run is " + std::string(name(run->status)));
      return;
    }
    run->status = RunStatus::running;
    run->paused_by.clear();
    log(e.run_id, "run resumed by " + e.by);
  }

  void on(const Cancel& e) {
    RunState* run = active_run(e.run_id, "Cancel");
    if (!run) return;
    for (std::size_t s = 0; s < run->stages.size(); ++s) {
      auto& ss = run->stages[s];
      for (std::size_t h = 0; h < ss.hosts.size(); ++h) {
        auto& hs = ss.hosts[h];
        if (hs.status == HostStatus::dispatched) {
          out_.emplace_back(CancelHost{e.run_id, run->plan.stages[s].hosts[h].id, hs.job_run_id});
          hs.status = HostStatus::canceled;
          hs.finished_at = now_;
        } else if (hs.status == HostStatus::pending) {
          hs.status = HostStatus::canceled;
        }
        hs.waiting.clear();
      }
      if (!is_final(ss.status)) {
        ss.status = StageStatus::canceled;
        ss.why = "run canceled";
        ss.next_opening.reset();
        ss.finished_at = now_;
      }
    }
    run->status = RunStatus::canceled;
    run->canceled_by = e.by;
    run->reason = e.reason;
    run->finished_at = now_;
    log(e.run_id, "run canceled by " + e.by + (e.reason.empty() ? "" : ": " + e.reason));
    out_.emplace_back(RunFinished{e.run_id, RunStatus::canceled});
  }

  // ---- advancing ----

  bool advance_run(const std::string& id, RunState& run) {
    bool changed = false;
    changed |= check_timeouts(id, run);
    for (std::size_t s = 0; s < run.stages.size(); ++s) {
      switch (run.stages[s].status) {
        case StageStatus::pending:
        case StageStatus::waiting_soak:
        case StageStatus::waiting_approval: changed |= try_begin(id, run, s); break;
        case StageStatus::running:
        case StageStatus::waiting_window: changed |= run_stage(id, run, s); break;
        default: break;
      }
    }
    changed |= try_finish(id, run);
    return changed;
  }

  bool check_timeouts(const std::string& id, RunState& run) {
    bool changed = false;
    for (std::size_t s = 0; s < run.stages.size(); ++s) {
      const auto& ps = run.plan.stages[s];
      for (std::size_t h = 0; h < run.stages[s].hosts.size(); ++h) {
        auto& hs = run.stages[s].hosts[h];
        if (hs.status != HostStatus::dispatched) continue;
        const Time last = hs.last_activity.value_or(hs.dispatched_at.value_or(now_));
        if (now_ - last < ps.host_timeout) continue;
        hs.status = HostStatus::timed_out;
        hs.finished_at = now_;
        out_.emplace_back(CancelHost{id, ps.hosts[h].id, hs.job_run_id});
        log(id, "stage " + ps.name + ": host " + ps.hosts[h].name + " timed out (no report for " +
                    std::to_string(ps.host_timeout.count()) + "s since " +
                    schedule::format_utc(last) + ")");
        changed = true;
      }
    }
    return changed;
  }

  void end_stage_hosts(StageState& ss, HostStatus to) {
    for (auto& hs : ss.hosts) {
      if (hs.status == HostStatus::pending) hs.status = to;
      hs.waiting.clear();
    }
  }

  // pending -> (skipped | waiting_soak | blocked | waiting_approval | running)
  bool try_begin(const std::string& id, RunState& run, std::size_t s) {
    const auto& ps = run.plan.stages[s];
    auto& ss = run.stages[s];
    const StageStatus before = ss.status;
    if (ss.status == StageStatus::pending) {
      Time base = run.started_at;
      for (const auto& dep : ps.after) {
        const int d = stage_index(run.plan, dep);
        if (d < 0) continue;  // validated away
        const auto& ds = run.stages[static_cast<std::size_t>(d)];
        if (!is_final(ds.status)) continue;
        if (ds.status != StageStatus::succeeded) {
          ss.status = StageStatus::skipped;
          ss.why = "dependency " + dep + " " + std::string(name(ds.status));
          ss.finished_at = now_;
          end_stage_hosts(ss, HostStatus::not_started);
          log(id, "stage " + ps.name + " skipped: " + ss.why);
          return true;
        }
      }
      for (const auto& dep : ps.after) {
        const int d = stage_index(run.plan, dep);
        if (d < 0) continue;
        const auto& ds = run.stages[static_cast<std::size_t>(d)];
        if (!is_final(ds.status)) return false;
        if (ds.finished_at && *ds.finished_at > base) base = *ds.finished_at;
      }
      if (ps.soak.kind != Soak::Kind::none) {
        if (run.plan.emergency) {
          log(id, "emergency run: soak of stage " + ps.name + " skipped (justification: " +
                      run.plan.justification + ")");
        } else {
          Result<Time> until = base + ps.soak.duration;
          if (ps.soak.kind == Soak::Kind::business_days) {
            const schedule::Calendar cal = run.plan.calendar.value_or(schedule::Calendar{});
            until = schedule::add_business_days(cal, base, ps.soak.days);
          }
          if (!until) {
            block(id, ps, ss, {"soak: " + to_string(until.error())});
            return true;
          }
          ss.soak_until = *until;
          ss.status = StageStatus::waiting_soak;
          if (now_ < *until) {
            log(id, "stage " + ps.name + ": soak until " + schedule::format_utc(*until));
            return true;
          }
        }
      }
    }
    if (ss.status == StageStatus::waiting_soak) {
      if (ss.soak_until && now_ < *ss.soak_until) return ss.status != before;
      if (!ps.when.empty() && !gate(id, run, s)) return true;
      if (ps.approval_required && ss.approved_by.empty()) {
        ss.status = StageStatus::waiting_approval;
        log(id, "stage " + ps.name + " waits for approval");
        return true;
      }
    } else if (ss.status == StageStatus::pending) {
      if (!ps.when.empty() && !gate(id, run, s)) return true;
      if (ps.approval_required && ss.approved_by.empty()) {
        ss.status = StageStatus::waiting_approval;
        log(id, "stage " + ps.name + " waits for approval");
        return true;
      }
    } else if (ss.status == StageStatus::waiting_approval && ss.approved_by.empty()) {
      return false;
    }
    ss.status = StageStatus::running;
    ss.started_at = now_;
    const int size = resolve_parallel(ps.max_parallel, ps.hosts.size());
    log(id, "stage " + ps.name + " started: " + std::to_string(ps.hosts.size()) +
                (ps.hosts.size() == 1 ? " host" : " hosts") + " in waves of " + std::to_string(size) + ", max_failed " +
                std::to_string(resolve_failed(ps.max_failed, ps.hosts.size())) +
                (ss.approved_by.empty() ? "" : ", approved by " + ss.approved_by));
    run_stage(id, run, s);
    return true;
  }

  void block(const std::string& id, const PlanStage& ps, StageState& ss,
             std::vector<std::string> lines) {
    ss.status = StageStatus::blocked;
    ss.explanation = std::move(lines);
    ss.finished_at = now_;
    end_stage_hosts(ss, HostStatus::not_started);
    for (const auto& l : ss.explanation) log(id, "stage " + ps.name + " blocked: " + l);
  }

  // Evaluates the stage's gate; false (after blocking the stage) when it does not hold.
  bool gate(const std::string& id, RunState& run, std::size_t s) {
    const auto& ps = run.plan.stages[s];
    auto& ss = run.stages[s];
    auto expr = cel::parse(ps.when);
    if (!expr) {
      block(id, ps, ss, {"gate does not parse: " + to_string(expr.error())});
      return false;
    }
    std::map<std::string, cel::StageOutcome> outcomes;
    for (const auto& ref : cel::referenced_stages(*expr)) {
      const int r = stage_index(run.plan, ref);
      cel::StageOutcome so;
      if (r >= 0) {
        const auto& rp = run.plan.stages[static_cast<std::size_t>(r)];
        const auto& rs = run.stages[static_cast<std::size_t>(r)];
        for (std::size_t h = 0; h < rp.hosts.size() && h < rs.hosts.size(); ++h) {
          cel::HostOutcome ho;
          ho.name = host_label(rp.hosts[h]);
          ho.outcome = std::string(name(rs.hosts[h].status));
          ho.post = rs.hosts[h].post;
          ho.health_regressions = rs.hosts[h].health_regressions;
          so.hosts.push_back(std::move(ho));
        }
      }
      outcomes.emplace(ref, std::move(so));
    }
    const auto explained = cel::evaluate_explained(*expr, cel::stages_activation(outcomes));
    if (explained.result && explained.result->as_bool() && *explained.result->as_bool()) return true;
    std::vector<std::string> lines;
    for (const auto& term : explained.terms) lines.push_back(term.to_string());
    if (!explained.result)
      lines.push_back("gate error: " + to_string(explained.result.error()));
    else if (!explained.result->as_bool())
      lines.push_back("gate is not bool: " + explained.result->to_string());
    block(id, ps, ss, std::move(lines));
    return false;
  }

  const Result<Time>& opening(const Plan& plan, int set, std::chrono::seconds min_left) {
    const auto key = std::make_pair(set, min_left.count());
    auto it = openings_.find(key);
    if (it == openings_.end()) {
      const auto& windows = plan.window_sets[static_cast<std::size_t>(set)];
      it = openings_.emplace(key, schedule::next_opening(windows, now_, min_left)).first;
    }
    return it->second;
  }

  int in_work(const std::string& group) const {
    int n = 0;
    for (const auto& [rid, run] : state_.runs)
      for (std::size_t s = 0; s < run.stages.size() && s < run.plan.stages.size(); ++s)
        for (std::size_t h = 0; h < run.stages[s].hosts.size(); ++h)
          if (run.stages[s].hosts[h].status == HostStatus::dispatched) {
            const auto& groups = run.plan.stages[s].hosts[h].groups;
            if (std::find(groups.begin(), groups.end(), group) != groups.end()) ++n;
          }
    return n;
  }

  bool run_stage(const std::string& id, RunState& run, std::size_t s) {
    openings_.clear();  // window sets differ between runs
    const auto& ps = run.plan.stages[s];
    auto& ss = run.stages[s];
    const StageState before = ss;
    int failed = 0;
    bool all_final = true;
    bool any_dispatched = false;
    int current = -1;
    for (const auto& hs : ss.hosts) {
      if (counts_as_failed(hs.status)) ++failed;
      if (!is_final(hs.status)) {
        all_final = false;
        if (current < 0 || hs.wave < current) current = hs.wave;
      }
      if (hs.status == HostStatus::dispatched) any_dispatched = true;
    }
    const int max_failed = resolve_failed(ps.max_failed, ps.hosts.size());
    if (failed > max_failed) {
      ss.status = StageStatus::halted;
      ss.why = "failed " + std::to_string(failed) + " > max_failed " + std::to_string(max_failed);
      ss.next_opening.reset();
      ss.finished_at = now_;
      end_stage_hosts(ss, HostStatus::not_started);
      log(id, "chain halted: stage " + ps.name + " " + ss.why);
      return true;
    }
    if (all_final) {
      ss.status = StageStatus::succeeded;
      ss.next_opening.reset();
      ss.finished_at = now_;
      int ok = 0;
      for (const auto& hs : ss.hosts) ok += hs.status == HostStatus::succeeded ? 1 : 0;
      log(id, "stage " + ps.name + " succeeded: " + std::to_string(ok) + " of " +
                  std::to_string(ps.hosts.size()) + " hosts succeeded, " +
                  std::to_string(failed) + " failed");
      return true;
    }
    std::vector<std::string> started;
    std::optional<Time> earliest;
    bool window_wait = false;
    if (run.status == RunStatus::running) {
      for (std::size_t h = 0; h < ss.hosts.size(); ++h) {
        auto& hs = ss.hosts[h];
        const auto& ph = ps.hosts[h];
        if (hs.wave != current || hs.status != HostStatus::pending) continue;
        std::string waiting;
        if (ph.window_set >= 0 && static_cast<std::size_t>(ph.window_set) < run.plan.window_sets.size()) {
          const auto& open = opening(run.plan, ph.window_set, ps.expected_duration);
          if (!open) {
            waiting = "no opening within " + std::to_string(schedule::kDefaultHorizon.count()) +
                      " days";
            window_wait = true;
          } else if (*open > now_) {
            const auto& windows = run.plan.window_sets[static_cast<std::size_t>(ph.window_set)];
            const schedule::Zone zone = windows.empty() ? schedule::Zone{} : windows.front().zone;
            waiting = "window: next opening " + schedule::format_local(*open, zone) + " (" +
                      schedule::format_utc(*open) + ")";
            window_wait = true;
            if (!earliest || *open < *earliest) earliest = *open;
          }
        }
        if (waiting.empty()) {
          for (const auto& g : ph.groups) {
            const auto b = run.plan.group_budgets.find(g);
            if (b == run.plan.group_budgets.end()) continue;
            const int n = in_work(g);
            if (n + 1 > b->second) {
              waiting = "group budget " + g + ": " + std::to_string(n) + " of " +
                        std::to_string(b->second) + " in work";
              break;
            }
          }
        }
        if (!waiting.empty()) {
          if (waiting != hs.waiting) log(id, "stage " + ps.name + ": " + ph.id + " waits (" + waiting + ")");
          hs.waiting = waiting;
          continue;
        }
        hs.waiting.clear();
        hs.status = HostStatus::dispatched;
        hs.job_run_id = id + "-" + std::to_string(s) + "-" + std::to_string(h);
        hs.dispatched_at = now_;
        hs.last_activity = now_;
        any_dispatched = true;
        out_.emplace_back(StartHost{id, ps.name, ph.id, hs.job_run_id, now_ + ps.host_timeout});
        started.push_back(host_label(ph));
      }
    }
    if (!started.empty()) {
      if (ss.wave != current + 1) {
        ss.wave = current + 1;
        log(id, "stage " + ps.name + ": wave " + std::to_string(ss.wave) + " started: " + join(started));
      } else {
        log(id, "stage " + ps.name + ": wave " + std::to_string(ss.wave) + ": started " + join(started));
      }
    }
    if (!any_dispatched && window_wait) {
      if (ss.status != StageStatus::waiting_window || ss.next_opening != earliest)
        log(id, "stage " + ps.name + " waiting for a window" +
                    (earliest ? ": next opening " + schedule::format_utc(*earliest)
                              : std::string(": none within 400 days")));
      ss.status = StageStatus::waiting_window;
      ss.next_opening = earliest;
    } else {
      ss.status = StageStatus::running;
      ss.next_opening.reset();
    }
    return !(ss == before);
  }

  bool try_finish(const std::string& id, RunState& run) {
    bool halted = false, blocked = false, all_ok = true;
    for (std::size_t s = 0; s < run.stages.size(); ++s) {
      const auto& ss = run.stages[s];
      if (!is_final(ss.status)) return false;
      for (const auto& hs : ss.hosts)
        if (hs.status == HostStatus::dispatched) return false;
      halted |= ss.status == StageStatus::halted;
      blocked |= ss.status == StageStatus::blocked;
      all_ok &= ss.status == StageStatus::succeeded;
    }
    run.status = halted    ? RunStatus::halted
                 : blocked ? RunStatus::blocked
                 : all_ok  ? RunStatus::succeeded
                           : RunStatus::failed;
    run.finished_at = now_;
    log(id, "run finished: " + std::string(name(run.status)));
    out_.emplace_back(RunFinished{id, run.status});
    return true;
  }
};

}  // namespace

Decision decide(const State& state, std::span<const Event> events, Time now) {
  Decision d{state, {}};
  Decider decider(d.state, d.commands, now);
  decider.advance();
  for (const auto& e : events) {
    decider.apply(e);
    decider.advance();
  }
  return d;
}

}  // namespace pf::orch
