// SPDX-License-Identifier: Apache-2.0
// `patchflow-agent job run | resume | status | events`: signed jobs run by the job runner
// (libs/runner), from the command line (docs/jobs.md).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent_command.hpp"
#include "patchflow/agent_client/state.hpp"
#include "patchflow/common/files.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/runner/runner.hpp"

namespace pf::agent_cli {
namespace {

using nlohmann::json;

/// Exit codes of `job` (docs/jobs.md).
enum JobExit : int {
  kJobSucceeded = 0,
  kJobFailed = 1,         ///< failed or rolled back
  kJobUsage = 2,          ///< bad flags, unsigned or altered work, a job that is not valid
  kJobCannotAct = 3,      ///< another runner holds the run, the backend cannot be opened
  kJobInternal = 4,       ///< the journal cannot be written, ...
  kJobSkipped = 5,        ///< skipped (preconditions) or expired before it started
  kJobRefused = 6,        ///< refused by this host's policy or meant for another host
  kJobRebooting = 7,      ///< the system reboot was asked for; the run resumes after it
};

struct JobFlags {
  BackendFlags backend;
  std::string work;
  std::string state_dir;
  std::string reboot{"system"};
  std::string boot_id_file{"/proc/sys/kernel/random/boot_id"};
  std::string proc_dir{"/proc"};
  std::string policy;
  std::string report_file;
  std::string run_id;
  long long mark_reported{-1};
  bool json{false};
};

int exit_for(runner::Outcome outcome) {
  switch (outcome) {
    case runner::Outcome::succeeded: return kJobSucceeded;
    case runner::Outcome::failed:
    case runner::Outcome::rolled_back: return kJobFailed;
    case runner::Outcome::skipped:
    case runner::Outcome::expired: return kJobSkipped;
    case runner::Outcome::refused: return kJobRefused;
    case runner::Outcome::rebooting: return kJobRebooting;
  }
  return kJobInternal;
}

int job_fail(const Error& e) {
  std::cerr << "patchflow-agent: " << to_string(e) << "\n";
  switch (e.code) {
    case Errc::invalid_input:
    case Errc::not_found: return kJobUsage;
    case Errc::lock_held:
    case Errc::backend_failed:
    case Errc::timeout:
    case Errc::interrupted:
    case Errc::conflict: return kJobCannotAct;
    case Errc::io: return kJobInternal;
  }
  return kJobInternal;
}

std::string state_dir_of(const JobFlags& f) {
  return f.state_dir.empty() ? agent_client::default_state_dir().string() : f.state_dir;
}

json report_json(const runner::RunReport& r) {
  json results = json::array();
  for (const auto& s : r.results) {
    results.push_back({{"step_id", s.step_id},
                       {"phase", s.phase},
                       {"status", std::string(runner::status_name(s.status))},
                       {"exit_code", s.exit_code},
                       {"output_tail", s.output_tail},
                       {"duration_ms", s.duration_ms},
                       {"started_at", s.started_at},
                       {"attempt", s.attempt}});
  }
  return {{"run_id", r.run_id},
          {"outcome", std::string(runner::outcome_name(r.outcome))},
          {"reason", r.reason},
          {"not_undone", r.not_undone},
          {"regressions", r.regressions},
          {"resumed", r.resumed},
          {"results", results}};
}

json context_of(const JobFlags& f) {
  return {{"root", f.backend.root},
          {"backend", f.backend.backend},
          {"releasever", f.backend.releasever},
          {"rpm_dbpath", f.backend.rpm_dbpath},
          {"lock_timeout_s", f.backend.lock_timeout_s},
          {"tool_timeout_s", f.backend.tool_timeout_s},
          {"reboot", f.reboot},
          {"boot_id_file", f.boot_id_file},
          {"proc_dir", f.proc_dir},
          {"policy", f.policy},
          {"report_file", f.report_file}};
}

void apply_context(JobFlags& f, const std::string& text) {
  json c = json::parse(text, nullptr, false);
  if (!c.is_object()) return;
  f.backend.root = c.value("root", f.backend.root);
  f.backend.backend = c.value("backend", f.backend.backend);
  f.backend.releasever = c.value("releasever", f.backend.releasever);
  f.backend.rpm_dbpath = c.value("rpm_dbpath", f.backend.rpm_dbpath);
  f.backend.lock_timeout_s = c.value("lock_timeout_s", f.backend.lock_timeout_s);
  f.backend.tool_timeout_s = c.value("tool_timeout_s", f.backend.tool_timeout_s);
  f.reboot = c.value("reboot", f.reboot);
  f.boot_id_file = c.value("boot_id_file", f.boot_id_file);
  f.proc_dir = c.value("proc_dir", f.proc_dir);
  f.policy = c.value("policy", f.policy);
  f.report_file = c.value("report_file", f.report_file);
}

Result<void> write_file_durably(const std::string& file, const std::string& data) {
  const std::string tmp = file + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::io, std::strerror(errno), tmp);
  const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) return make_error(Errc::io, std::strerror(errno), file);
  return {};
}

// Runs (or resumes) one job with the flags; prints the report; returns the exit code.
int run_one(const jobs::Job& job, JobFlags flags) {
  const std::string state_dir = state_dir_of(flags);
  runner::RunOptions o;
  o.state_dir = state_dir;
  o.root = flags.backend.root;
  o.proc_dir = flags.proc_dir;
  o.boot_id_file = flags.boot_id_file;
  o.rpm_dbpath = flags.backend.rpm_dbpath;
  o.context = context_of(flags).dump();
  const std::string policy_file =
      flags.policy.empty() ? (std::filesystem::path(state_dir) / "policy.json").string() : flags.policy;
  auto policy = runner::load_policy(policy_file);
  if (!policy) return job_fail(policy.error());
  o.policy = *policy;
  // A job for another host is refused when this agent is enrolled.
  if (auto state = agent_client::load_state(agent_client::StateFiles(state_dir).state)) {
    o.expected_host_id = state->host_id;
  }
  std::unique_ptr<pkg::PackageBackend> backend;
  if (job.install) {
    flags.backend.conffiles =
        job.install->conffiles == jobs::Install::Conffiles::take_new ? "take-new" : "keep-old";
    auto b = open_backend(flags.backend);
    if (!b) return job_fail(b.error());
    backend = std::move(*b);
    o.backend = backend.get();
  }
  std::unique_ptr<runner::RebootProvider> reboot =
      flags.reboot == "lab" ? runner::make_lab_reboot(flags.boot_id_file, flags.backend.root, own_argv())
                            : runner::make_system_reboot();
  o.reboot = reboot.get();
  auto report = runner::run_job(job, o);
  if (!report) return job_fail(report.error());
  const json doc = report_json(*report);
  if (!flags.report_file.empty()) {
    if (auto w = write_file_durably(flags.report_file, doc.dump() + "\n"); !w) return job_fail(w.error());
  }
  if (flags.json) {
    std::cout << doc.dump() << "\n";
  } else {
    std::cout << "run " << report->run_id << ": " << runner::outcome_name(report->outcome);
    if (!report->reason.empty()) std::cout << " — " << report->reason;
    std::cout << "\n";
    for (const auto& s : report->results) {
      std::cout << "  " << s.phase << "/" << s.step_id;
      if (s.attempt > 1) std::cout << " #" << s.attempt;
      std::cout << ": " << runner::status_name(s.status) << " (" << s.duration_ms << " ms)\n";
    }
    for (const auto& n : report->not_undone) std::cout << "  not undone: " << n << "\n";
  }
  return exit_for(report->outcome);
}

void add_common(CLI::App* cmd, JobFlags& f) {
  cmd->add_option("--state-dir", f.state_dir,
                  "the agent's state directory (runs/ holds the journals; signing.pub the "
                  "server's key; policy.json the commands policy)")
      ->option_text("DIR");
}

void add_run_flags(CLI::App* cmd, JobFlags& f) {
  add_backend_flags(*cmd, f.backend, false);
  cmd->add_option("--reboot", f.reboot,
                  "reboot provider: system (systemctl reboot / shutdown -r) or lab (a new boot "
                  "id in --boot-id-file, then the agent restarts itself)")
      ->check(CLI::IsMember({"system", "lab"}))
      ->option_text("PROVIDER");
  cmd->add_option("--boot-id-file", f.boot_id_file, "where the boot id is read (and, lab, written)")
      ->option_text("FILE");
  cmd->add_option("--proc-dir", f.proc_dir, "proc for uptime, processes and health")->option_text("DIR");
  cmd->add_option("--policy", f.policy, "commands policy file (default STATE_DIR/policy.json; "
                                        "none: commands are denied)")
      ->option_text("FILE");
  cmd->add_option("--report-file", f.report_file, "write the run's report (JSON) here")->option_text("FILE");
  cmd->add_flag("--json", f.json, "print the report as JSON");
}

}  // namespace

void add_job_command(CLI::App& app, int& exit_code) {
  auto* job = app.add_subcommand("job", "run signed jobs: preconditions, pre steps, install, "
                                        "reboots, post steps, health, rollback (docs/jobs.md)");
  job->require_subcommand(1);
  static JobFlags flags;

  auto* run = job->add_subcommand("run", "verify a signed job and run it, or resume it when its "
                                         "journal exists");
  run->add_option("--work", flags.work, "the signed envelope {\"work\",\"signature\"}")
      ->required()
      ->option_text("FILE");
  add_common(run, flags);
  add_run_flags(run, flags);
  run->footer("Example:\n  patchflow-agent job run --work /tmp/job.json --state-dir /var/lib/patchflow-agent\n"
              "Exit codes: 0 succeeded, 1 failed or rolled back, 2 usage or bad/unsigned work,\n"
              "3 another runner holds the run or the backend cannot act, 4 internal error,\n"
              "5 skipped or expired, 6 refused by policy, 7 rebooting (resumes after the boot).");
  run->callback([&exit_code] {
    const std::string state_dir = state_dir_of(flags);
    auto text = files::read_at_most(flags.work, jobs::kMaxDocumentBytes * 2 + 4096);
    if (!text) {
      exit_code = job_fail(text.error());
      return;
    }
    auto key = files::read_at_most(agent_client::StateFiles(state_dir).signing_pub, 64 * 1024);
    if (!key) {
      exit_code = job_fail(Error{Errc::not_found, "no server signing key (enroll first): " + key.error().message,
                                 key.error().where});
      return;
    }
    auto opened = jobs::open_envelope(*text, *key);
    if (!opened) {
      exit_code = job_fail(opened.error());
      return;
    }
    exit_code = run_one(*opened, flags);
  });

  auto* resume = job->add_subcommand("resume", "resume every unfinished run in the state directory, "
                                               "with the flags it was started with");
  add_common(resume, flags);
  resume->add_flag("--json", flags.json, "print the reports as JSON");
  resume->callback([&exit_code] {
    const std::string state_dir = state_dir_of(flags);
    auto runs = runner::list_runs(state_dir);
    if (!runs) {
      exit_code = job_fail(runs.error());
      return;
    }
    exit_code = kJobSucceeded;
    for (const auto& r : *runs) {
      if (r.finished) continue;
      auto journaled = runner::journaled_job(state_dir, r.run_id);
      if (!journaled) {
        exit_code = job_fail(journaled.error());
        continue;
      }
      JobFlags f = flags;
      auto ctx = runner::run_context(state_dir, r.run_id);
      if (ctx) apply_context(f, *ctx);
      f.state_dir = state_dir;
      const int rc = run_one(*journaled, f);
      if (rc != kJobSucceeded) exit_code = rc;
    }
  });

  auto* status = job->add_subcommand("status", "list the runs of the state directory");
  add_common(status, flags);
  status->add_flag("--json", flags.json, "JSON");
  status->callback([&exit_code] {
    auto runs = runner::list_runs(state_dir_of(flags));
    if (!runs) {
      exit_code = job_fail(runs.error());
      return;
    }
    json a = json::array();
    for (const auto& r : *runs) {
      const std::string outcome = r.outcome ? std::string(runner::outcome_name(*r.outcome)) : "in_progress";
      if (flags.json) {
        a.push_back({{"run_id", r.run_id}, {"job", r.job}, {"finished", r.finished}, {"outcome", outcome},
                     {"reason", r.reason}, {"results", r.results}, {"pending_events", r.pending_events},
                     {"last_step", r.last_step}});
      } else {
        std::cout << r.run_id << "  " << r.job << "  " << outcome << "  " << r.results << " results, "
                  << r.pending_events << " events to report" << (r.last_step.empty() ? "" : ", last " + r.last_step)
                  << "\n";
      }
    }
    if (flags.json) std::cout << a.dump() << "\n";
    exit_code = kJobSucceeded;
  });

  auto* events = job->add_subcommand("events", "print a run's events not yet reported (JSON lines)");
  add_common(events, flags);
  events->add_option("--run", flags.run_id, "the run id")->required()->option_text("ID");
  events->add_option("--mark-reported", flags.mark_reported,
                     "record that every event up to this sequence number reached the server")
      ->option_text("SEQ");
  events->callback([&exit_code] {
    const std::string state_dir = state_dir_of(flags);
    if (flags.mark_reported >= 0) {
      if (auto r = runner::mark_reported(state_dir, flags.run_id,
                                         static_cast<std::uint64_t>(flags.mark_reported));
          !r) {
        exit_code = job_fail(r.error());
        return;
      }
    }
    auto ev = runner::pending_events(state_dir, flags.run_id);
    if (!ev) {
      exit_code = job_fail(ev.error());
      return;
    }
    for (const auto& e : *ev) std::cout << e.json << "\n";
    exit_code = kJobSucceeded;
  });
}

std::vector<std::string> own_argv() {
  std::vector<std::string> out;
  auto text = files::read_at_most("/proc/self/cmdline", 1 << 20);
  if (!text) return out;
  std::size_t pos = 0;
  while (pos < text->size()) {
    const auto end = text->find('\0', pos);
    out.push_back(text->substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

}  // namespace pf::agent_cli
