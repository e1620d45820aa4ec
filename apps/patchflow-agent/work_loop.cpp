// SPDX-License-Identifier: Apache-2.0
#include "work_loop.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "patchflow/common/files.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/runner/runner.hpp"
#include "protocol_support.hpp"

namespace pf::agent_cli {
namespace {

using nlohmann::json;
namespace ac = agent_client;

/// Events per report: well under the server's 1000 per call.
constexpr std::size_t kEventsPerPost = 500;

// The run state a journal record moves the server's run to: a final one for an outcome,
// running for anything else (the server keeps a final state once it has one).
std::string state_of(const json& record) {
  if (record.value("type", "") == "outcome") {
    const std::string outcome = record.value("outcome", "");
    if (outcome == "succeeded" || outcome == "failed" || outcome == "rolled_back" ||
        outcome == "skipped") {
      return outcome;
    }
    if (outcome == "expired" || outcome == "refused") return "failed";
  }
  return "running";  // a step, a postponement, or "rebooting" (not final)
}

std::string kind_of(const json& record) {
  const std::string type = record.value("type", "event");
  return type == "result" ? "step" : type;
}

}  // namespace

WorkHandler::WorkHandler(const ac::HttpsClient& client, ac::StateFiles files, std::string host_id,
                         BackendFlags backend, WorkFlags flags)
    : client_(client),
      files_(std::move(files)),
      host_id_(std::move(host_id)),
      backend_(std::move(backend)),
      flags_(std::move(flags)) {}

void WorkHandler::resume_and_report() {
  auto runs = runner::list_runs(files_.dir);
  if (!runs) {
    log_line("warning: cannot read the run journals: " + to_string(runs.error()));
    return;
  }
  for (const auto& r : *runs) {
    if (stop_requested()) return;
    if (!r.finished) {
      auto job = runner::journaled_job(files_.dir, r.run_id);
      if (!job) {
        log_line("warning: cannot resume run " + r.run_id + ": " + to_string(job.error()));
        continue;
      }
      log_line("resuming run " + r.run_id + " (" + r.job + ") after " +
               (r.last_step.empty() ? std::string("its start") : r.last_step));
      // Resumed from the journal: the work was verified when it arrived.
      run(r.run_id, std::string());
    }
    if (r.finished || r.pending_events > 0) report(r.run_id);
  }
}

void WorkHandler::handle(const ac::WorkItem& item) {
  auto runs = runner::list_runs(files_.dir);
  if (runs) {
    for (const auto& r : *runs) {
      if (r.run_id != item.run_id) continue;
      // Known already: handed out again because the server has not seen it final.
      if (!r.finished) run(item.run_id, std::string());
      report(item.run_id);
      return;
    }
  }
  run(item.run_id, item.envelope);
  report(item.run_id);
}

void WorkHandler::refuse(const std::string& run_id, const std::string& reason) {
  log_line("refused run " + run_id + ": " + reason);
  ac::RunEvent e;
  e.id = run_id + ":refused";
  e.seq = 0;
  e.kind = "outcome";
  e.state = "failed";
  e.body_json = json{{"type", "outcome"}, {"outcome", "refused"}, {"reason", reason}}.dump();
  if (auto r = ac::post_events(client_, run_id, {e}); !r) {
    log_line("warning: cannot report the refusal of run " + run_id + ": " + ac::to_string(r.error()));
  }
}

void WorkHandler::run(const std::string& run_id, const std::string& envelope) {
  jobs::Job job;
  if (!envelope.empty()) {
    auto key = files::read_at_most(files_.signing_pub, 64 * 1024);
    if (!key) return refuse(run_id, "the server's signing key is not here: " + to_string(key.error()));
    auto opened = jobs::open_envelope(envelope, *key);
    if (!opened) return refuse(run_id, to_string(opened.error()));
    if (opened->run_id != run_id) return refuse(run_id, "the signed work names run " + opened->run_id);
    job = std::move(*opened);
  } else {
    auto journaled = runner::journaled_job(files_.dir, run_id);
    if (!journaled) {
      log_line("warning: run " + run_id + ": " + to_string(journaled.error()));
      return;
    }
    job = std::move(*journaled);
  }
  runner::RunOptions o;
  o.state_dir = files_.dir;
  o.root = backend_.root;
  o.proc_dir = flags_.proc_dir;
  o.boot_id_file = flags_.boot_id_file;
  o.rpm_dbpath = backend_.rpm_dbpath;
  o.expected_host_id = host_id_;
  const std::filesystem::path policy_file =
      flags_.policy.empty() ? files_.dir / "policy.json" : std::filesystem::path(flags_.policy);
  auto policy = runner::load_policy(policy_file);
  if (!policy) return refuse(run_id, "the local commands policy: " + to_string(policy.error()));
  o.policy = *policy;
  std::unique_ptr<pkg::PackageBackend> backend;
  if (job.install) {
    BackendFlags b = backend_;
    b.conffiles =
        job.install->conffiles == jobs::Install::Conffiles::take_new ? "take-new" : "keep-old";
    auto opened = open_backend(b);
    if (!opened) {
      log_line("run " + run_id + ": the package backend cannot be opened: " +
               to_string(opened.error()) + "; tried again later");
      return;
    }
    backend = std::move(*opened);
    o.backend = backend.get();
  }
  std::unique_ptr<runner::RebootProvider> reboot =
      flags_.reboot == "lab" ? runner::make_lab_reboot(flags_.boot_id_file, backend_.root, own_argv())
                             : runner::make_system_reboot();
  o.reboot = reboot.get();
  log_line("running " + run_id + " (" + job.job + ")");
  auto report = runner::run_job(job, o);
  if (!report) {
    log_line("run " + run_id + " stopped: " + to_string(report.error()));
    return;
  }
  log_line("run " + run_id + ": " + std::string(runner::outcome_name(report->outcome)) +
           (report->reason.empty() ? "" : " (" + report->reason + ")"));
}

bool WorkHandler::report(const std::string& run_id) {
  auto events = runner::pending_events(files_.dir, run_id);
  if (!events) {
    log_line("warning: run " + run_id + ": " + to_string(events.error()));
    return false;
  }
  for (std::size_t at = 0; at < events->size(); at += kEventsPerPost) {
    std::vector<ac::RunEvent> batch;
    std::uint64_t last = 0;
    for (std::size_t i = at; i < std::min(events->size(), at + kEventsPerPost); ++i) {
      const auto& e = (*events)[i];
      const json record = json::parse(e.json, nullptr, false);
      ac::RunEvent out;
      out.id = e.id;
      out.seq = e.seq;
      out.kind = record.is_object() ? kind_of(record) : "event";
      out.state = record.is_object() ? state_of(record) : "running";
      out.body_json = e.json;
      batch.push_back(std::move(out));
      last = e.seq;
    }
    auto posted = ac::post_events(client_, run_id, batch);
    if (!posted) {
      if (posted.error().server_code == "canceled") {
        log_line("run " + run_id + " was canceled on the server; its results are not reported");
      } else {
        log_line("warning: reporting run " + run_id + ": " + ac::to_string(posted.error()) +
                 " (retried later)");
        return false;
      }
    }
    // The server has them (or wants none): recorded before the next report is built.
    if (auto ok = runner::mark_reported(files_.dir, run_id, last); !ok) {
      log_line("warning: run " + run_id + ": " + to_string(ok.error()));
      return false;
    }
  }
  return true;
}

void add_work_flags(CLI::App& command, WorkFlags& flags) {
  command.add_option("--reboot", flags.reboot,
                     "how jobs reboot: system (systemctl reboot / shutdown -r) or lab (a new "
                     "boot id in --boot-id-file, then the agent restarts itself)")
      ->check(CLI::IsMember({"system", "lab"}))
      ->option_text("PROVIDER");
  command.add_option("--policy", flags.policy,
                     "commands policy for jobs (default STATE_DIR/policy.json; none: commands "
                     "are denied)")
      ->option_text("FILE");
}

}  // namespace pf::agent_cli
