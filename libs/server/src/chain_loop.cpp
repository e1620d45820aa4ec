// SPDX-License-Identifier: Apache-2.0
#include "chain_loop.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>

#include "chain_plan.hpp"
#include "log.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/orchestrator/decide.hpp"
#include "patchflow/orchestrator/state.hpp"
#include "patchflow/policy/document.hpp"
#include "work_signal.hpp"

namespace pf::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr std::string_view kActor = "orchestrator";

std::chrono::sys_seconds seconds_now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
}

// An operator's event as stored by the API ({"type":"approve","stage":...}).
std::optional<orch::Event> operator_event(const store::ChainEvent& e) {
  const json doc = json::parse(e.json, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  const std::string type = doc.value("type", "");
  if (type == "approve") return orch::Approve{e.run_id, doc.value("stage", ""), e.by};
  if (type == "pause") return orch::Pause{e.run_id, e.by};
  if (type == "resume") return orch::Resume{e.run_id, e.by};
  if (type == "cancel") return orch::Cancel{e.run_id, e.by, doc.value("reason", "")};
  return std::nullopt;
}

// What a finished job says about its host: the outcome, the post steps' results by name and
// the health regressions (from the events its agent reported).
std::optional<orch::HostFinished> finished_event(store::RunStore& runs, const store::Run& run,
                                                 const std::string& chain_run,
                                                 const std::string& stage,
                                                 const std::string& host_id,
                                                 std::chrono::sys_seconds now) {
  orch::HostFinished f;
  f.run_id = chain_run;
  f.stage = stage;
  f.host_id = host_id;
  f.at = now;
  switch (run.state) {
    case store::RunState::succeeded: f.outcome = orch::HostOutcomeKind::succeeded; break;
    case store::RunState::skipped: f.outcome = orch::HostOutcomeKind::skipped; break;
    case store::RunState::rolled_back: f.outcome = orch::HostOutcomeKind::rolled_back; break;
    default: f.outcome = orch::HostOutcomeKind::failed; break;
  }
  auto events = runs.run_events(run.id);
  if (events) {
    for (const auto& e : *events) {
      const json body = json::parse(e.body, nullptr, false);
      if (!body.is_object()) continue;
      if (e.kind == "step" && body.value("phase", "") == "post") {
        const std::string status = body.value("status", "");
        if (status == "skipped") continue;
        cel::PostResult r;
        r.passed = status == "passed";
        r.exit_code = body.value("exit_code", std::int64_t{0});
        f.post[body.value("step_id", "")] = r;
      }
      if (e.kind == "outcome" && body.contains("regressions") && body["regressions"].is_array()) {
        f.health_regressions = static_cast<std::int64_t>(body["regressions"].size());
      }
    }
  }
  return f;
}

std::string run_json(const std::string& id, const orch::RunState& run) {
  orch::State one;
  one.runs.emplace(id, run);
  return orch::to_json(one);
}

}  // namespace

std::string to_json(const RunRecord& r) {
  json doc = {{"orch", r.orch}, {"plan", r.plan}, {"chain", r.chain_json},
              {"selections", r.selections}};
  return doc.dump();
}

Result<RunRecord> run_record_from_json(std::string_view text) {
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return make_error(Errc::invalid_input, "not a JSON object", "state");
  RunRecord r;
  try {
    r.orch = doc.at("orch").get<std::string>();
    r.plan = doc.at("plan").get<std::string>();
    r.chain_json = doc.at("chain").get<std::string>();
    r.selections = doc.at("selections").get<std::map<std::string, std::string>>();
  } catch (const json::exception& e) {
    return make_error(Errc::invalid_input, std::string("not a chain run record: ") + e.what(),
                      "state");
  }
  return r;
}

ChainLoop::ChainLoop(OpenedStore store, std::unique_ptr<store::Leadership> leadership,
                     ChainLoopOptions options, Log& log, WorkSignal* work, bool start)
    : store_(std::move(store)),
      leadership_(std::move(leadership)),
      options_(std::move(options)),
      log_(log),
      work_(work) {
  if (start) thread_ = std::thread([this] { run(); });
}

ChainLoop::~ChainLoop() { stop(); }

void ChainLoop::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  cv_.notify_all();
}

void ChainLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::chrono::sys_seconds ChainLoop::now() const {
  auto t = seconds_now();
  if (options_.clock_file.empty()) return t;
  std::ifstream in(options_.clock_file);
  long long offset = 0;
  if (in >> offset) t += std::chrono::seconds(offset);
  return t;
}

void ChainLoop::run() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, options_.interval, [this] { return poked_ || stopping_; });
      if (stopping_) return;
      poked_ = false;
    }
    auto led = tick(now());
    if (!led) {
      log_.warn("chain orchestrator tick failed", {{"error", to_string(led.error())}});
    }
  }
}

void ChainLoop::boundary() {
  ++boundaries_;
  if (options_.crash_at != 0 && boundaries_ == options_.crash_at) {
    // The restart-safety test: die here as a killed server would.
    ::kill(::getpid(), SIGKILL);
  }
}

Result<bool> ChainLoop::tick(std::chrono::sys_seconds now) {
  ++ticks_;
  auto lead = leadership_->try_lead();
  if (!lead || !*lead) {
    if (leading_.exchange(false)) log_.warn("chain orchestrator: leadership lost");
    if (!lead) return Unexpected(lead.error());
    return false;
  }
  if (!leading_.exchange(true)) log_.info("chain orchestrator: leading");
  store::ChainStore& chains = *store_.chains;
  store::RunStore& runs = *store_.runs;

  // Commands a killed predecessor committed but did not finish come first.
  auto pending = chains.pending_commands("");
  if (!pending) return Unexpected(pending.error());
  records_.clear();
  auto active = chains.chain_runs(true, store::kMaxPageSize);
  if (!active) return Unexpected(active.error());
  for (const auto& run : *active) {
    auto record = run_record_from_json(run.state);
    if (!record) return Unexpected(record.error());
    records_[run.id] = std::move(*record);
  }
  for (const auto& c : *pending) {
    if (auto ok = execute(c, now); !ok) return Unexpected(ok.error());
    boundary();
    if (auto ok = chains.mark_command_done(c.seq, now.time_since_epoch().count()); !ok) {
      return Unexpected(ok.error());
    }
    boundary();
  }

  orch::State state;
  std::vector<orch::Event> events;
  std::map<std::string, std::vector<std::int64_t>> consumed;
  std::map<std::string, std::int64_t> revision;
  std::map<std::string, std::string> before;  // run id -> its orch JSON before the decision
  for (const auto& run : *active) {
    const RunRecord& record = records_[run.id];
    revision[run.id] = run.revision;
    if (record.orch.empty()) {
      auto plan = orch::plan_from_json(record.plan);
      if (!plan) return Unexpected(plan.error());
      events.push_back(orch::ChainStarted{run.id, std::move(*plan), run.created_by,
                                          std::chrono::sys_seconds(std::chrono::seconds(run.created_at))});
    } else {
      auto s = orch::state_from_json(record.orch);
      if (!s) return Unexpected(s.error());
      for (auto& [id, r] : s->runs) {
        before[id] = record.orch;
        state.runs.emplace(id, std::move(r));
      }
    }
    auto ops = chains.pending_chain_events(run.id);
    if (!ops) return Unexpected(ops.error());
    for (const auto& e : *ops) {
      consumed[run.id].push_back(e.seq);
      if (auto ev = operator_event(e)) events.push_back(std::move(*ev));
    }
  }
  // The hosts' jobs: outcomes and progress.
  for (const auto& [id, run] : state.runs) {
    for (std::size_t s = 0; s < run.stages.size(); ++s) {
      const auto& stage = run.stages[s];
      for (std::size_t h = 0; h < stage.hosts.size(); ++h) {
        const auto& host = stage.hosts[h];
        if (host.status != orch::HostStatus::dispatched || host.job_run_id.empty()) continue;
        auto job = runs.run(host.job_run_id);
        if (!job) return Unexpected(job.error());
        if (!*job) continue;  // its StartHost is not executed yet
        const std::string& stage_name = run.plan.stages[s].name;
        const std::string& host_id = run.plan.stages[s].hosts[h].id;
        if (store::is_final((*job)->state)) {
          if (auto f = finished_event(runs, **job, id, stage_name, host_id, now)) {
            events.push_back(std::move(*f));
          }
          seen_events_.erase(host.job_run_id);
        } else if ((*job)->events > 0 && seen_events_[host.job_run_id] != (*job)->events) {
          seen_events_[host.job_run_id] = (*job)->events;
          events.push_back(orch::HostProgress{id, stage_name, host_id, now});
        }
      }
    }
  }

  orch::Decision decision = orch::decide(state, events, now);

  // Commit each run that changed, with its commands and the events it consumed.
  std::map<std::string, std::vector<std::string>> commands;
  for (const auto& c : decision.commands) {
    const std::string run_id = std::visit([](const auto& x) { return x.run_id; }, c);
    commands[run_id].push_back(orch::to_json(c));
  }
  for (const auto& run : *active) {
    auto it = decision.state.runs.find(run.id);
    if (it == decision.state.runs.end()) continue;
    const std::string after = run_json(run.id, it->second);
    const auto& cmds = commands[run.id];
    const auto& used = consumed[run.id];
    if (after == before[run.id] && cmds.empty() && used.empty()) continue;
    RunRecord record = records_[run.id];
    record.orch = after;
    record.plan.clear();
    const bool final = orch::is_final(it->second.status);
    auto ok = chains.commit_decision(run.id, revision[run.id], to_json(record),
                                     std::string(orch::name(it->second.status)), !final, cmds, used,
                                     now.time_since_epoch().count());
    if (!ok) return Unexpected(ok.error());
    records_[run.id] = std::move(record);
    boundary();
  }

  // Execute what was committed.
  auto todo = chains.pending_commands("");
  if (!todo) return Unexpected(todo.error());
  for (const auto& c : *todo) {
    if (auto ok = execute(c, now); !ok) return Unexpected(ok.error());
    boundary();
    if (auto ok = chains.mark_command_done(c.seq, now.time_since_epoch().count()); !ok) {
      return Unexpected(ok.error());
    }
    boundary();
  }
  return true;
}

Result<void> ChainLoop::execute(const store::ChainCommand& c, std::chrono::sys_seconds now) {
  auto command = orch::command_from_json(c.json);
  if (!command) {
    log_.error("chain command cannot be read; skipped",
               {{"run_id", c.run_id}, {"error", to_string(command.error())}});
    return {};
  }
  const std::int64_t t = now.time_since_epoch().count();
  store::ChainStore& chains = *store_.chains;
  if (const auto* log = std::get_if<orch::Log>(&*command)) {
    return chains.append_chain_log(c.run_id, t, log->line);
  }
  if (const auto* fin = std::get_if<orch::RunFinished>(&*command)) {
    log_.info("chain run finished",
              {{"run_id", fin->run_id}, {"status", std::string(orch::name(fin->status))}});
    return {};
  }
  if (const auto* cancel = std::get_if<orch::CancelHost>(&*command)) {
    store::AuditEntry audit{std::string(kActor), "run.cancel", cancel->job_run_id, "",
                            json{{"chain_run", cancel->run_id}, {"host_id", cancel->host_id}}.dump(), t};
    auto ok = store_.runs->cancel_run(cancel->job_run_id, t, audit);
    if (!ok && ok.error().code != Errc::not_found && ok.error().code != Errc::conflict) {
      return Unexpected(ok.error());
    }
    return {};
  }
  const auto& start = std::get<orch::StartHost>(*command);
  auto known = store_.runs->run(start.job_run_id);
  if (!known) return Unexpected(known.error());
  if (*known) return {};  // queued before a restart
  auto note = [&](const std::string& line) {
    return chains.append_chain_log(start.run_id, t, line);
  };
  auto rec = records_.find(start.run_id);
  if (rec == records_.end()) {
    auto run = chains.chain_run(start.run_id);
    if (!run) return Unexpected(run.error());
    if (!*run) return {};
    auto record = run_record_from_json((*run)->state);
    if (!record) return Unexpected(record.error());
    rec = records_.emplace(start.run_id, std::move(*record)).first;
  }
  auto chain = policy::from_json(rec->second.chain_json);
  if (!chain || chain->kind != policy::DocKind::chain) {
    return note("host " + start.host_id + ": the run's chain document cannot be read; not started");
  }
  const auto sel = rec->second.selections.find(start.host_id);
  const std::string selection = sel == rec->second.selections.end() ? "" : sel->second;
  auto job = stage_job(std::get<policy::Chain>(chain->spec), chain->name, start.stage, selection,
                       start.job_run_id, start.host_id, now);
  if (!job) {
    return note("host " + start.host_id + ": its job is not valid (" + job.error().message +
                "); not started");
  }
  auto envelope = jobs::make_envelope(*job, options_.signing_key_pem);
  if (!envelope) return Unexpected(envelope.error());
  store::Run run;
  run.id = start.job_run_id;
  run.host_id = start.host_id;
  run.job = job->job;
  run.envelope = *envelope;
  run.created_by = std::string(kActor);
  run.created_at = t;
  json after = {{"id", run.id}, {"host_id", run.host_id}, {"job", run.job},
                {"chain_run", start.run_id}, {"work", json::parse(jobs::to_json(*job))}};
  auto ok = store_.runs->create_run(
      run, store::AuditEntry{std::string(kActor), "run.create", run.id, "", after.dump(), t});
  if (!ok) {
    if (ok.error().code == Errc::conflict || ok.error().code == Errc::not_found) {
      return note("host " + start.host_id + ": cannot queue its job (" + ok.error().message + ")");
    }
    return Unexpected(ok.error());
  }
  if (work_ != nullptr) work_->notify();
  return {};
}

}  // namespace pf::server
