// SPDX-License-Identifier: Apache-2.0
// The runner replays its journal: every step asks the journal first and runs only when no
// result is recorded, so the same code both starts a run and resumes it after a kill or a
// reboot (docs/jobs.md, "Journal and resume").
#include "patchflow/runner/runner.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "journal.hpp"
#include "patchflow/agent/facts.hpp"
#include "patchflow/agent/health.hpp"
#include "patchflow/agent/reboot.hpp"
#include "patchflow/common/files.hpp"
#include "steps.hpp"

namespace pf::runner {
namespace {

using detail::json;
using detail::Journal;
namespace health = agent::health;

constexpr std::string_view kStatusNames[] = {"passed", "failed", "skipped", "timed_out"};
constexpr std::string_view kOutcomeNames[] = {"succeeded", "failed",  "rolled_back", "skipped",
                                              "expired",   "refused", "rebooting"};

StepStatus status_from(std::string_view s) {
  for (std::size_t i = 0; i < std::size(kStatusNames); ++i)
    if (kStatusNames[i] == s) return static_cast<StepStatus>(i);
  return StepStatus::failed;
}

std::optional<Outcome> outcome_from(std::string_view s) {
  for (std::size_t i = 0; i < std::size(kOutcomeNames); ++i)
    if (kOutcomeNames[i] == s) return static_cast<Outcome>(i);
  return std::nullopt;
}

json result_json(const StepResult& r) {
  return {{"type", "result"},         {"step_id", r.step_id},
          {"phase", r.phase},         {"status", std::string(status_name(r.status))},
          {"exit_code", r.exit_code}, {"output_tail", r.output_tail},
          {"duration_ms", r.duration_ms}, {"started_at", r.started_at},
          {"attempt", r.attempt}};
}

StepResult result_from(const json& j) {
  StepResult r;
  r.step_id = j.value("step_id", "");
  r.phase = j.value("phase", "");
  r.status = status_from(j.value("status", "failed"));
  r.exit_code = j.value("exit_code", 0);
  r.output_tail = j.value("output_tail", "");
  r.duration_ms = j.value("duration_ms", std::int64_t{0});
  r.started_at = j.value("started_at", "");
  r.attempt = j.value("attempt", 1);
  return r;
}

template <class Records>
RunReport report_of(std::string_view run_id, const Records& records) {
  RunReport rep;
  rep.run_id = std::string(run_id);
  for (const json& r : records) {
    const auto type = r.value("type", "");
    if (type == "result") rep.results.push_back(result_from(r));
    if (type == "outcome") {
      rep.outcome = outcome_from(r.value("outcome", "failed")).value_or(Outcome::failed);
      rep.reason = r.value("reason", "");
      if (r.contains("not_undone")) rep.not_undone = r["not_undone"].template get<std::vector<std::string>>();
      if (r.contains("regressions")) rep.regressions = r["regressions"].template get<std::vector<std::string>>();
    }
  }
  return rep;
}

template <class Records>
const json* find_outcome(const Records& records) {
  for (const json& r : records)
    if (r.value("type", "") == "outcome") return &r;
  return nullptr;
}

Result<std::string> read_boot_id(const RunOptions& o) {
  auto text = files::read_at_most(o.boot_id_file, 128);
  if (!text) return tl::unexpected(text.error());
  return agent::parse_boot_id(*text, o.boot_id_file.string());
}

std::string short_text(std::string_view s, std::size_t n = 300) {
  std::string t(s.substr(0, n));
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

std::string pkg_key(const std::string& name, const std::string& arch) { return name + ":" + arch; }

json inventory_json(const std::vector<inventory::Package>& pkgs) {
  json a = json::array();
  for (const auto& p : pkgs) a.push_back(json::array({p.name, p.arch, p.version}));
  return a;
}

std::map<std::string, std::array<std::string, 3>> inventory_map(const json& a) {
  std::map<std::string, std::array<std::string, 3>> m;
  for (const auto& p : a) {
    const auto name = p.at(0).get<std::string>(), arch = p.at(1).get<std::string>();
    m[pkg_key(name, arch)] = {name, arch, p.at(2).get<std::string>()};
  }
  return m;
}

// Every package whose version changed between two inventories: [name, arch, before, after].
json changes_of(const json& before, const json& after) {
  auto b = inventory_map(before), a = inventory_map(after);
  json out = json::array();
  for (const auto& [k, v] : b) {
    const auto it = a.find(k);
    const std::string now = it == a.end() ? "" : it->second[2];
    if (now != v[2]) out.push_back(json::array({v[0], v[1], v[2], now}));
  }
  for (const auto& [k, v] : a)
    if (!b.contains(k)) out.push_back(json::array({v[0], v[1], "", v[2]}));
  return out;
}

json package_results_json(const pkg::ApplyReport& rep) {
  json a = json::array();
  for (const auto& p : rep.packages) {
    a.push_back({{"name", p.name},
                 {"arch", p.arch},
                 {"before", p.before},
                 {"after", p.after},
                 {"status", std::string(pkg::status_name(p.status))},
                 {"reason", std::string(pkg::reason_name(p.reason))},
                 {"detail", short_text(p.detail, 1024)}});
  }
  return a;
}

bool core_package(const std::string& name) {
  static constexpr const char* kCore[] = {"kernel*", "linux-image*", "linux-modules*", "glibc",
                                          "libc6",   "systemd",      "libsystemd*",     "dbus*",
                                          "openssl-libs", "libssl*"};
  for (const char* pattern : kCore)
    if (::fnmatch(pattern, name.c_str(), 0) == 0) return true;
  return false;
}

class Run {
 public:
  Run(const jobs::Job& job, const RunOptions& o, Journal journal)
      : job_(job), o_(o), j_(std::move(journal)) {}

  Result<RunReport> go(bool fresh);

 private:
  const json* find(std::string_view type, std::string_view phase, std::string_view id,
                   int attempt) const {
    for (const auto& r : j_.records()) {
      if (r.value("type", "") == type && r.value("phase", "") == phase &&
          r.value("step_id", "") == id && r.value("attempt", 1) == attempt) {
        return &r;
      }
    }
    return nullptr;
  }

  Result<json> record(json rec) {
    auto seq = j_.append(rec);
    if (!seq) return tl::unexpected(seq.error());
    return j_.records().back();
  }

  Result<json> record_result(const StepResult& r, const json& extra = json::object()) {
    json rec = result_json(r);
    rec.update(extra);
    return record(std::move(rec));
  }

  Result<json> begin(std::string_view phase, std::string_view id, int attempt, json extra) {
    json rec = {{"type", "begin"}, {"phase", phase}, {"step_id", id}, {"attempt", attempt},
                {"at", detail::rfc3339_now(o_)}};
    rec.update(extra);
    return record(std::move(rec));
  }

  // The step's recorded result, or runs it and records the result.
  Result<StepResult> step(const jobs::Step& s, std::string_view phase, int attempt) {
    if (const json* r = find("result", phase, s.id, attempt)) return result_from(*r);
    StepResult res = detail::execute_step(s, phase, attempt, o_);
    auto rec = record_result(res);
    if (!rec) return tl::unexpected(rec.error());
    return res;
  }

  // Whether the step has a result of any attempt (a precondition's try, a reboot's number).
  bool has_result(std::string_view phase, std::string_view id) const {
    for (const auto& r : j_.records()) {
      if (r.value("type", "") == "result" && r.value("phase", "") == phase &&
          r.value("step_id", "") == id) {
        return true;
      }
    }
    return false;
  }

  // A result that finish() recorded for a step that did not run (it carries the outcome).
  static bool is_not_run(const json& r) {
    return r.value("type", "") == "result" && r.contains("not_run_outcome");
  }

  // Before the outcome: a `skipped` result for every step of the job that has none, so that
  // each step reports passed / failed / skipped / timed_out. Journaled like any result; on a
  // resume the ones already recorded are found and not added again.
  Result<void> record_not_run(Outcome outcome, const std::string& reason) {
    // The reason up to its detail (a step's output, what the rollback did).
    std::string why = reason.substr(0, std::min(reason.find(": "), reason.find("; ")));
    why = short_text(why, 200);
    if (why.empty()) why = "the run ended " + std::string(outcome_name(outcome));
    why = "not run: " + why;
    auto each = [&](const std::vector<jobs::Step>& steps, std::string_view phase,
                    const std::string& text) -> Result<void> {
      for (const auto& s : steps) {
        if (has_result(phase, s.id)) continue;
        StepResult res{s.id, std::string(phase), StepStatus::skipped};
        res.output_tail = text;
        res.started_at = detail::rfc3339_now(o_);
        auto r = record_result(res, {{"not_run_outcome", std::string(outcome_name(outcome))},
                                     {"not_run_reason", reason}});
        if (!r) return tl::unexpected(r.error());
      }
      return {};
    };
    if (auto r = each(job_.preconditions, "precondition", why); !r) return r;
    if (auto r = each(job_.pre, "pre", why); !r) return r;
    if (job_.install) {
      static const std::vector<jobs::Step> kInstall = [] {
        jobs::Step s;
        s.id = "install";
        return std::vector<jobs::Step>{s};
      }();
      if (auto r = each(kInstall, "install", why); !r) return r;
    }
    const std::string reboot_why = reboots_settled_ ? "not run: no reboot was needed" : why;
    if (auto r = each(job_.reboot.before, "reboot_before", reboot_why); !r) return r;
    if (auto r = each(job_.reboot.after, "reboot_after", reboot_why); !r) return r;
    return each(job_.post, "post", why);
  }

  Result<RunReport> finish(Outcome outcome, std::string reason,
                           std::vector<std::string> not_undone = {},
                           std::vector<std::string> regressions = {}) {
    if (auto n = record_not_run(outcome, reason); !n) return tl::unexpected(n.error());
    json rec = {{"type", "outcome"},
                {"outcome", std::string(outcome_name(outcome))},
                {"reason", reason},
                {"at", detail::rfc3339_now(o_)}};
    if (!not_undone.empty()) rec["not_undone"] = not_undone;
    if (!regressions.empty()) rec["regressions"] = regressions;
    auto r = record(std::move(rec));
    if (!r) return tl::unexpected(r.error());
    return report();
  }

  RunReport report() const {
    RunReport rep = report_of(job_.run_id, j_.records());
    rep.resumed = resumed_;
    return rep;
  }

  Result<std::optional<std::string>> preconditions();
  Result<std::optional<std::string>> pre_steps(const std::vector<jobs::Step>& steps,
                                               std::string_view phase, int attempt);
  Result<RunReport> after_failure(std::string reason, std::vector<std::string> regressions = {});
  Result<bool> reboot_needed(int k);
  Result<std::vector<inventory::Package>> installed();

  const jobs::Job& job_;
  const RunOptions& o_;
  Journal j_;
  bool resumed_{false};
  json changes_ = json::array();  // of the install: [name, arch, before, after]
  bool install_says_reboot_{false};
  int reboots_done_{0};
  bool reboots_settled_{false};  // the reboot loop ended: no (further) reboot was needed
};

Result<std::vector<inventory::Package>> Run::installed() {
  if (o_.backend == nullptr) {
    return make_error(Errc::invalid_input, "the job installs packages but no backend was given", "runner");
  }
  return o_.backend->installed();
}

// Runs `steps` in order; the first that does not pass ends it, named in the returned text.
Result<std::optional<std::string>> Run::pre_steps(const std::vector<jobs::Step>& steps,
                                                  std::string_view phase, int attempt) {
  for (const auto& s : steps) {
    auto r = step(s, phase, attempt);
    if (!r) return tl::unexpected(r.error());
    if (r->status != StepStatus::passed) {
      std::string why = std::string(phase) + " step \"" + s.id + "\" " +
                        std::string(status_name(r->status));
      if (r->status == StepStatus::failed && s.type == jobs::StepType::command) {
        why += " (exit " + std::to_string(r->exit_code) + ")";
      }
      const auto detail = short_text(r->output_tail);
      if (!detail.empty()) why += ": " + detail;
      return std::optional<std::string>(why);
    }
  }
  return std::optional<std::string>();
}

Result<bool> Run::reboot_needed(int k) {
  if (job_.reboot.policy == jobs::Reboot::Policy::never) return false;
  if (job_.reboot.policy == jobs::Reboot::Policy::always && k == 1) return true;
  agent::RebootOptions ro;
  ro.root = o_.root;
  ro.dbpath = o_.rpm_dbpath;
  ro.proc_dir = o_.proc_dir;
  auto state = agent::reboot_required(ro);
  if (!state) {
    // Without an answer, the install's own word decides (apt and dnf report it).
    return k == 1 && install_says_reboot_;
  }
  return state->required || (k == 1 && install_says_reboot_);
}

Result<RunReport> Run::after_failure(std::string reason, std::vector<std::string> regressions) {
  if (job_.rollback.when == jobs::Rollback::When::never) {
    return finish(Outcome::failed, reason + "; no rollback (the job says never)", {}, regressions);
  }
  if (job_.rollback.mode == jobs::Rollback::Mode::command) {
    const auto& cmd = *job_.rollback.command;
    if (!find("result", "rollback", cmd.id, 1) && !find("begin", "rollback", cmd.id, 1)) {
      if (auto b = begin("rollback", cmd.id, 1, json::object()); !b) return tl::unexpected(b.error());
    }
    auto r = step(cmd, "rollback", 1);
    if (!r) return tl::unexpected(r.error());
    if (r->status == StepStatus::passed) {
      return finish(Outcome::rolled_back, reason + "; rolled back by \"" + cmd.id + "\"", {}, regressions);
    }
    return finish(Outcome::failed, reason + "; the rollback command failed",
                  {"rollback command \"" + cmd.id + "\" " + std::string(status_name(r->status)) +
                   ": " + short_text(r->output_tail)},
                  regressions);
  }
  std::vector<pkg::PackageRef> targets;
  for (const auto& c : changes_) {
    targets.push_back({c.at(0).get<std::string>(), c.at(1).get<std::string>(), c.at(2).get<std::string>()});
  }
  if (targets.empty()) {
    return finish(Outcome::failed, reason + "; nothing was installed, nothing to roll back", {}, regressions);
  }
  const json* done = find("result", "rollback", "rollback", 1);
  json rec;
  if (done != nullptr) {
    rec = *done;
  } else {
    if (!find("begin", "rollback", "rollback", 1)) {
      json t = json::array();
      for (const auto& p : targets) t.push_back(json::array({p.name, p.arch, p.version}));
      if (auto b = begin("rollback", "rollback", 1, {{"targets", t}}); !b) return tl::unexpected(b.error());
    }
    StepResult res;
    res.step_id = "rollback";
    res.phase = "rollback";
    res.started_at = detail::rfc3339_now(o_);
    const auto start = std::chrono::steady_clock::now();
    json extra = json::object();
    if (o_.backend == nullptr) {
      res.status = StepStatus::failed;
      res.output_tail = "no package backend to roll back with";
    } else {
      auto rep = o_.backend->restore(targets);
      if (!rep) {
        res.status = StepStatus::failed;
        res.output_tail = to_string(rep.error());
      } else {
        res.exit_code = rep->exit_code;
        res.output_tail = detail::tail(rep->output_tail);
        extra["packages"] = package_results_json(*rep);
        extra["apply_outcome"] = std::string(pkg::outcome_name(rep->outcome));
      }
      std::vector<std::string> not_undone;
      auto now_installed = o_.backend->installed();
      if (!now_installed) {
        not_undone.push_back("the package database cannot be read: " + to_string(now_installed.error()));
      } else {
        auto m = inventory_map(inventory_json(*now_installed));
        for (const auto& t : targets) {
          const auto it = m.find(pkg_key(t.name, t.arch));
          const std::string now = it == m.end() ? "" : it->second[2];
          if (now != t.version) {
            not_undone.push_back(t.name + ": is " + (now.empty() ? "not installed" : now) +
                                 ", was " + (t.version.empty() ? "not installed" : t.version) +
                                 " before the job");
          }
        }
      }
      extra["failed_to_restore"] = not_undone;
      if (rep && not_undone.empty()) res.status = StepStatus::passed;
      else res.status = StepStatus::failed;
    }
    res.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start).count();
    auto r = record_result(res, extra);
    if (!r) return tl::unexpected(r.error());
    rec = *r;
  }
  std::vector<std::string> not_undone;
  if (rec.contains("failed_to_restore")) {
    not_undone = rec["failed_to_restore"].get<std::vector<std::string>>();
  }
  const bool restored = rec.value("status", "") == "passed";
  // What a package rollback cannot undo: a kernel or core library that a reboot started.
  if (reboots_done_ > 0) {
    for (const auto& t : targets) {
      if (core_package(t.name)) {
        not_undone.push_back(t.name + ": restored in the package database, but the running " +
                             "kernel and loaded libraries stay until the next reboot");
      }
    }
  }
  if (restored) {
    return finish(Outcome::rolled_back, reason + "; packages restored to their versions before the job",
                  not_undone, regressions);
  }
  if (not_undone.empty()) not_undone.push_back("rollback failed: " + short_text(rec.value("output_tail", "")));
  return finish(Outcome::failed, reason + "; the rollback did not restore every package", not_undone,
                regressions);
}

Result<std::optional<std::string>> Run::preconditions() {
  for (int attempt = 1;; ++attempt) {
    auto failed = pre_steps(job_.preconditions, "precondition", attempt);
    if (!failed) return tl::unexpected(failed.error());
    if (!*failed) return std::optional<std::string>();
    const json* p = find("postponed", "precondition", "postponed", attempt);
    jobs::Time next{};
    if (p != nullptr) {
      auto t = jobs::parse_time(p->value("next_at", ""));
      next = t.value_or(jobs::Time{});
    } else {
      const auto now = std::chrono::floor<std::chrono::seconds>(detail::now(o_));
      if (!job_.retry) return std::optional<std::string>(**failed + " (no retry)");
      next = now + job_.retry->interval;
      if (next > job_.retry->until) {
        return std::optional<std::string>(**failed + " (retried " + std::to_string(attempt) +
                                          " times until " + jobs::format_time(job_.retry->until) + ")");
      }
      auto r = record({{"type", "postponed"},
                       {"phase", "precondition"},
                       {"step_id", "postponed"},
                       {"attempt", attempt},
                       {"reason", **failed},
                       {"next_at", jobs::format_time(next)}});
      if (!r) return tl::unexpected(r.error());
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - detail::now(o_));
    detail::sleep_for(o_, wait);
  }
}

Result<RunReport> Run::go(bool fresh) {
  resumed_ = !fresh;
  const std::string work = jobs::to_json(job_);
  if (!fresh) {
    const auto& first = j_.records().front();
    if (first.value("type", "") != "start" || first.value("job", "") != work) {
      return make_error(Errc::invalid_input, "the journal belongs to another job with this run id",
                        journal_path(o_.state_dir, job_.run_id).string());
    }
    if (find_outcome(j_.records()) != nullptr) return report();
  }
  // Killed before anything of the job ran: only the start record (the checks below are made
  // again), or inside finish() at one of those checks (its outcome is in the steps not run).
  bool started = false;
  const json* ended = nullptr;
  for (std::size_t i = 1; i < j_.records().size(); ++i) {
    const json& r = j_.records()[i];
    if (r.value("type", "") == "reported") continue;
    if (!is_not_run(r)) started = true;
    else if (ended == nullptr) ended = &r;
  }
  if (!fresh && !started && ended != nullptr) {
    return finish(outcome_from(ended->value("not_run_outcome", "")).value_or(Outcome::failed),
                  ended->value("not_run_reason", ""));
  }
  if (fresh) {
    auto boot = read_boot_id(o_);
    json start = {{"type", "start"},
                  {"run_id", job_.run_id},
                  {"job", work},
                  {"context", o_.context},
                  {"boot_id", boot.value_or("")},
                  {"at", detail::rfc3339_now(o_)}};
    if (auto r = record(std::move(start)); !r) return tl::unexpected(r.error());
  }
  if (!started) {
    if (!o_.expected_host_id.empty() && o_.expected_host_id != job_.host_id) {
      return finish(Outcome::refused, "the job is for host " + job_.host_id + ", this is " + o_.expected_host_id);
    }
    if (detail::now(o_) >= job_.expires_at) {
      return finish(Outcome::expired, "the job expired at " + jobs::format_time(job_.expires_at) +
                                          " before it started");
    }
    if (auto p = check_policy(job_, o_.policy); !p) {
      return finish(Outcome::refused, "refused by this host's policy: " + to_string(p.error()));
    }
  }

  // Preconditions: a failure postpones, and finally skips, never fails.
  auto pre = preconditions();
  if (!pre) return tl::unexpected(pre.error());
  if (*pre) return finish(Outcome::skipped, **pre);

  // Baseline.
  std::optional<health::Snapshot> before;
  std::vector<health::Probe> probes;
  if (job_.baseline) {
    for (const auto& p : job_.baseline->probes) {
      health::Probe hp;
      hp.name = p.name;
      hp.kind = p.kind == jobs::Probe::Kind::command ? health::Probe::Kind::command : health::Probe::Kind::http;
      hp.argv = p.argv;
      hp.ok_exit_codes = p.ok_exit_codes;
      hp.url = p.url;
      hp.expect_status = p.expect_status;
      hp.timeout = p.timeout;
      probes.push_back(std::move(hp));
    }
    health::Options hopt;
    hopt.proc = o_.proc_dir;
    hopt.systemctl = o_.systemctl;
    const json* rec = find("result", "baseline", "baseline", 1);
    json saved;
    if (rec == nullptr) {
      StepResult res{"baseline", "baseline"};
      res.started_at = detail::rfc3339_now(o_);
      const auto start = std::chrono::steady_clock::now();
      auto snap = health::take_snapshot(probes, hopt);
      json extra = json::object();
      if (snap) {
        extra["snapshot"] = json::parse(health::to_json(*snap));
        res.output_tail = std::to_string(snap->listening.size()) + " listening sockets, " +
                          std::to_string(snap->probes.size()) + " probes";
      } else {
        res.status = StepStatus::failed;
        res.output_tail = to_string(snap.error());
      }
      res.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start).count();
      auto r = record_result(res, extra);
      if (!r) return tl::unexpected(r.error());
      saved = *r;
    } else {
      saved = *rec;
    }
    if (saved.value("status", "") != "passed" || !saved.contains("snapshot")) {
      return finish(Outcome::failed, "the health baseline could not be taken: " +
                                         short_text(saved.value("output_tail", "")) +
                                         "; nothing was installed");
    }
    auto snap = health::snapshot_from_json(saved["snapshot"].dump());
    if (!snap) return tl::unexpected(snap.error());
    before = std::move(*snap);
  }

  // Pre steps: a failure means nothing is installed.
  auto pre_failed = pre_steps(job_.pre, "pre", 1);
  if (!pre_failed) return tl::unexpected(pre_failed.error());
  if (*pre_failed) return finish(Outcome::failed, **pre_failed + "; nothing was installed");

  // Install.
  if (job_.install) {
    const json* rec = find("result", "install", "install", 1);
    json saved;
    if (rec != nullptr) {
      saved = *rec;
    } else {
      StepResult res{"install", "install"};
      res.started_at = detail::rfc3339_now(o_);
      const auto start = std::chrono::steady_clock::now();
      json extra = json::object();
      const json* began = find("begin", "install", "install", 1);
      json before_pkgs;
      std::optional<Error> error;
      if (o_.backend == nullptr) {
        error = Error{Errc::invalid_input, "the job installs packages but no backend was given", "runner"};
      } else if (began != nullptr) {
        before_pkgs = (*began)["installed"];
        extra["resumed"] = true;  // the run was killed during the install: finish it
      } else {
        auto inv = installed();
        if (!inv) error = inv.error();
        else {
          before_pkgs = inventory_json(*inv);
          auto b = begin("install", "install", 1, {{"installed", before_pkgs}, {"select", job_.install->select}});
          if (!b) return tl::unexpected(b.error());
        }
      }
      if (!error) {
        // Fresh metadata first; without it the install works from what was fetched last.
        std::string note;
        if (auto rf = o_.backend->refresh(); !rf) {
          note = "metadata refresh failed, installing from the last fetched: " + to_string(rf.error()) + "\n";
        }
        auto sel = pkg::parse_selection(job_.install->select);
        auto rep = sel ? o_.backend->apply(*sel) : Result<pkg::ApplyReport>(tl::unexpected(sel.error()));
        if (!rep) {
          error = rep.error();
        } else {
          res.exit_code = rep->exit_code;
          res.output_tail = detail::tail(note + rep->output_tail);
          extra["apply_outcome"] = std::string(pkg::outcome_name(rep->outcome));
          extra["packages"] = package_results_json(*rep);
          extra["consistent"] = rep->consistent;
          extra["reboot_required"] = rep->outcome == pkg::ApplyOutcome::applied_reboot_required;
          switch (rep->outcome) {
            case pkg::ApplyOutcome::applied:
            case pkg::ApplyOutcome::applied_reboot_required:
            case pkg::ApplyOutcome::nothing_to_do: res.status = StepStatus::passed; break;
            default:
              res.status = StepStatus::failed;
              if (rep->error) res.output_tail = detail::tail(res.output_tail + "\n" + to_string(*rep->error));
          }
        }
        // The changes, from the package database itself: before (journaled) and now.
        auto inv = installed();
        if (inv) extra["changes"] = changes_of(before_pkgs, inventory_json(*inv));
        else if (!error) error = inv.error();
      }
      if (error) {
        res.status = StepStatus::failed;
        res.output_tail = detail::tail(res.output_tail + "\n" + to_string(*error));
      }
      res.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start).count();
      auto r = record_result(res, extra);
      if (!r) return tl::unexpected(r.error());
      saved = *r;
    }
    if (saved.contains("changes")) changes_ = saved["changes"];
    install_says_reboot_ = saved.value("reboot_required", false);
    if (saved.value("status", "") != "passed") {
      return after_failure("the install failed (" + saved.value("apply_outcome", std::string("error")) +
                           "): " + short_text(saved.value("output_tail", "")));
    }
  }

  // Reboots: each one journaled before it is asked for, recognised by the boot id changing.
  for (int k = 1; k <= job_.reboot.max_reboots; ++k) {
    const std::string id = "reboot." + std::to_string(k);
    const json* began = find("begin", "reboot", id, k);
    const json* done = find("result", "reboot", id, k);
    if (began == nullptr && done == nullptr) {
      // A run that was finishing (its steps not run are recorded) asks for no new reboot.
      if (std::any_of(j_.records().begin(), j_.records().end(), is_not_run)) break;
      auto need = reboot_needed(k);
      if (!need) return tl::unexpected(need.error());
      if (!*need) break;
    }
    auto failed = pre_steps(job_.reboot.before, "reboot_before", k);
    if (!failed) return tl::unexpected(failed.error());
    if (*failed) return after_failure(**failed);
    if (done == nullptr) {
      auto boot = read_boot_id(o_);
      if (!boot) return tl::unexpected(boot.error());
      if (began != nullptr && began->value("boot_id", "") != *boot) {
        StepResult res{id, "reboot"};
        res.attempt = k;
        res.started_at = began->value("at", "");
        res.output_tail = "booted: boot id " + began->value("boot_id", "") + " -> " + *boot;
        if (auto t = jobs::parse_time(res.started_at)) {
          res.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(detail::now(o_) - *t).count();
        }
        if (auto r = record_result(res); !r) return tl::unexpected(r.error());
      } else {
        if (o_.reboot == nullptr) {
          StepResult res{id, "reboot", StepStatus::failed};
          res.attempt = k;
          res.started_at = detail::rfc3339_now(o_);
          res.output_tail = "the job asks for a reboot but no reboot provider was given";
          if (auto r = record_result(res); !r) return tl::unexpected(r.error());
          return after_failure("reboot " + std::to_string(k) + " impossible: no reboot provider");
        }
        const std::string reason = "patchflow job " + job_.job + " run " + job_.run_id + ": reboot " + std::to_string(k);
        if (began == nullptr) {
          auto b = begin("reboot", id, k, {{"boot_id", *boot}, {"provider", std::string(o_.reboot->name())}});
          if (!b) return tl::unexpected(b.error());
        }
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
        auto r = o_.reboot->reboot(reason);
        if (!r) {
          StepResult res{id, "reboot", StepStatus::failed};
          res.attempt = k;
          res.started_at = detail::rfc3339_now(o_);
          res.output_tail = to_string(r.error());
          if (auto rr = record_result(res); !rr) return tl::unexpected(rr.error());
          return after_failure("reboot " + std::to_string(k) + " failed: " + to_string(r.error()));
        }
        RunReport rep = report();
        rep.outcome = Outcome::rebooting;
        rep.reason = "rebooting (" + std::string(o_.reboot->name()) + "); the run resumes after the boot";
        return rep;
      }
    }
    ++reboots_done_;
    auto after = pre_steps(job_.reboot.after, "reboot_after", k);
    if (!after) return tl::unexpected(after.error());
    if (*after) return after_failure(**after);
  }
  reboots_settled_ = true;

  // Post steps, then health against the baseline.
  auto post_failed = pre_steps(job_.post, "post", 1);
  if (!post_failed) return tl::unexpected(post_failed.error());
  if (*post_failed) return after_failure(**post_failed);

  if (before) {
    const json* rec = find("result", "health", "health", 1);
    json saved;
    if (rec != nullptr) {
      saved = *rec;
    } else {
      StepResult res{"health", "health"};
      res.started_at = detail::rfc3339_now(o_);
      const auto start = std::chrono::steady_clock::now();
      health::Options hopt;
      hopt.proc = o_.proc_dir;
      hopt.systemctl = o_.systemctl;
      auto snap = health::take_snapshot(probes, hopt);
      json extra = json::object();
      std::vector<std::string> lines;
      if (!snap) {
        res.status = StepStatus::failed;
        res.output_tail = to_string(snap.error());
        lines.push_back("snapshot: " + to_string(snap.error()));
      } else {
        // On a root other than "/", the machine's ports and units are not the host's: only
        // the job's probes count.
        const bool host = files::is_host_root(o_.root);
        for (const auto& reg : health::compare(*before, *snap)) {
          if (!host && reg.kind != "probe_failed" && reg.kind != "probe_slower") continue;
          lines.push_back(reg.kind + " " + reg.subject + ": " + reg.detail);
        }
        extra["snapshot"] = json::parse(health::to_json(*snap));
        res.status = lines.empty() ? StepStatus::passed : StepStatus::failed;
        res.output_tail = lines.empty() ? "no regression" : detail::tail([&] {
          std::string s;
          for (const auto& l : lines) s += l + "\n";
          return s;
        }());
      }
      extra["regressions"] = lines;
      res.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start).count();
      auto r = record_result(res, extra);
      if (!r) return tl::unexpected(r.error());
      saved = *r;
    }
    if (saved.value("status", "") != "passed") {
      std::vector<std::string> regs;
      if (saved.contains("regressions")) regs = saved["regressions"].get<std::vector<std::string>>();
      const std::string why = "health regressed: " + short_text(saved.value("output_tail", ""));
      if (job_.baseline->rollback_on_regression) return after_failure(why, regs);
      return finish(Outcome::failed, why + " (no rollback on regression)", {}, regs);
    }
  }
  return finish(Outcome::succeeded, "");
}

}  // namespace

std::string_view status_name(StepStatus status) noexcept {
  return kStatusNames[static_cast<std::size_t>(status)];
}

std::string_view outcome_name(Outcome outcome) noexcept {
  return kOutcomeNames[static_cast<std::size_t>(outcome)];
}

std::filesystem::path journal_path(const std::filesystem::path& state_dir, std::string_view run_id) {
  return state_dir / "runs" / (std::string(run_id) + ".journal");
}

Result<RunReport> run_job(const jobs::Job& job, const RunOptions& options) {
  if (auto v = jobs::validate(job); !v) return tl::unexpected(v.error());
  if (options.state_dir.empty()) return make_error(Errc::invalid_input, "no state directory", "runner");
  auto lock = detail::RunLock::acquire(options.state_dir, job.run_id);
  if (!lock) return tl::unexpected(lock.error());
  auto journal = Journal::open(options.state_dir, job.run_id, true);
  if (!journal) return tl::unexpected(journal.error());
  const bool fresh = journal->empty();
  Run run(job, options, std::move(*journal));
  return run.go(fresh);
}

Result<jobs::Job> journaled_job(const std::filesystem::path& state_dir, std::string_view run_id) {
  auto records = detail::read_records(journal_path(state_dir, run_id));
  if (!records) return tl::unexpected(records.error());
  if (records->empty() || (*records)[0].value("type", "") != "start") {
    return make_error(Errc::invalid_input, "the journal has no start record",
                      journal_path(state_dir, run_id).string());
  }
  return jobs::parse_job((*records)[0].value("job", ""));
}

Result<std::string> run_context(const std::filesystem::path& state_dir, std::string_view run_id) {
  auto records = detail::read_records(journal_path(state_dir, run_id));
  if (!records) return tl::unexpected(records.error());
  if (records->empty()) return std::string();
  return (*records)[0].value("context", "");
}

Result<std::vector<Event>> pending_events(const std::filesystem::path& state_dir,
                                          std::string_view run_id) {
  auto records = detail::read_records(journal_path(state_dir, run_id));
  if (!records) return tl::unexpected(records.error());
  std::uint64_t reported = 0;
  for (const auto& r : *records)
    if (r.value("type", "") == "reported") reported = std::max(reported, r.value("up_to_seq", std::uint64_t{0}));
  std::vector<Event> out;
  for (const auto& r : *records) {
    if (!detail::is_event(r)) continue;
    const auto seq = r.value("seq", std::uint64_t{0});
    if (seq <= reported) continue;
    out.push_back({r.value("event_id", ""), seq, r.dump(-1, ' ', false, json::error_handler_t::replace)});
  }
  return out;
}

Result<void> mark_reported(const std::filesystem::path& state_dir, std::string_view run_id,
                           std::uint64_t up_to_seq) {
  auto journal = Journal::open(state_dir, run_id, false);
  if (!journal) return tl::unexpected(journal.error());
  auto r = journal->append({{"type", "reported"}, {"up_to_seq", up_to_seq}});
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<std::vector<RunSummary>> list_runs(const std::filesystem::path& state_dir) {
  std::vector<RunSummary> out;
  std::error_code ec;
  const auto dir = state_dir / "runs";
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".journal") continue;
    const std::string run_id = entry.path().stem().string();
    auto records = detail::read_records(entry.path());
    if (!records) return tl::unexpected(records.error());
    RunSummary s;
    s.run_id = run_id;
    if (!records->empty()) {
      if (auto job = jobs::parse_job((*records)[0].value("job", ""))) s.job = job->job;
    }
    for (const auto& r : *records) {
      const auto type = r.value("type", "");
      if (type == "result") {
        ++s.results;
        s.last_step = r.value("phase", "") + "/" + r.value("step_id", "");
      }
      if (type == "outcome") {
        s.finished = true;
        s.outcome = outcome_from(r.value("outcome", ""));
        s.reason = r.value("reason", "");
      }
    }
    auto pending = pending_events(state_dir, run_id);
    if (pending) s.pending_events = pending->size();
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.run_id < b.run_id; });
  return out;
}

}  // namespace pf::runner
