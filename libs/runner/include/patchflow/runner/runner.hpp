// SPDX-License-Identifier: Apache-2.0
// The agent's job runner (DESIGN.md §6, docs/jobs.md): runs a verified job on a host —
// preconditions (postponed, then skipped), baseline, pre steps, install, reboots, post steps,
// health comparison, rollback — with a journal fsync'ed before every irreversible step, so that
// a run killed at any point resumes without running a completed step again, and an outbox of
// events that reach the server exactly once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/pkg/backend.hpp"
#include "patchflow/runner/policy.hpp"
#include "patchflow/runner/reboot.hpp"

namespace pf::runner {

enum class StepStatus { passed, failed, skipped, timed_out };
[[nodiscard]] std::string_view status_name(StepStatus status) noexcept;

/// The result of one step, as journaled and reported.
struct StepResult {
  std::string step_id;  ///< the job's id, or install, baseline, health, reboot.N, rollback
  std::string phase;    ///< precondition, baseline, pre, install, reboot_before, reboot,
                        ///< reboot_after, post, health, rollback
  StepStatus status{StepStatus::passed};
  int exit_code{0};
  std::string output_tail;  ///< last 8 KiB of stdout+stderr, or what a check saw
  std::int64_t duration_ms{0};
  std::string started_at;  ///< RFC 3339
  int attempt{1};          ///< preconditions: the try; reboot steps: the reboot's number
};

enum class Outcome {
  succeeded,    ///< every step passed
  failed,       ///< a pre step, the install, a post step or health failed (and no rollback
                ///< could undo it, or none was asked for)
  rolled_back,  ///< failed, then the rollback put the host back
  skipped,      ///< the preconditions never passed while the retry window lasted
  expired,      ///< the job reached its expiry before it started
  refused,      ///< the local policy forbids a command of the job: nothing ran
  rebooting,    ///< not final: the system reboot provider asked for a reboot; resume after it
};
[[nodiscard]] std::string_view outcome_name(Outcome outcome) noexcept;

struct RunReport {
  std::string run_id;
  Outcome outcome{Outcome::succeeded};
  std::string reason;                   ///< why it is not succeeded, for a person
  std::vector<StepResult> results;      ///< every result in the journal, in order
  std::vector<std::string> not_undone;  ///< rollback: what could not be put back
  std::vector<std::string> regressions; ///< health: "port_closed tcp:0.0.0.0:80: ..."
  bool resumed{false};                  ///< the run continued an earlier journal
};

/// Where a run acts, and with what.
struct RunOptions {
  std::filesystem::path state_dir;    ///< runs/<run_id>.journal lives here
  std::filesystem::path root{"/"};    ///< the host's root; file checks resolve inside it
  std::filesystem::path proc_dir{"/proc"};
  std::filesystem::path boot_id_file{"/proc/sys/kernel/random/boot_id"};
  std::filesystem::path power_supply_dir{"/sys/class/power_supply"};
  std::string systemctl{"systemctl"};
  std::string rpm_dbpath{"/var/lib/rpm"};
  pkg::PackageBackend* backend{nullptr};  ///< needed when the job installs
  RebootProvider* reboot{nullptr};        ///< needed when the job may reboot
  Policy policy;
  /// When set, a job for another host is refused.
  std::string expected_host_id;
  /// Opaque text kept in the journal's first record (the CLI keeps its flags there, so that
  /// `job resume` opens the same backend). Read back with run_context().
  std::string context;
  /// The clock (tests move it); system_clock when empty.
  std::function<std::chrono::system_clock::time_point()> now;
  /// How to wait between precondition tries and wait_for polls (tests may shorten nothing:
  /// the default sleeps).
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// Runs the job, or resumes it when the state directory holds its journal (a completed step
/// is never run again; the journal decides the next step). Errors (nothing recorded or the
/// journal cannot be written): Errc::lock_held (another runner has this run), Errc::io,
/// Errc::invalid_input (a journal that is not this job's, a job for another host).
[[nodiscard]] Result<RunReport> run_job(const jobs::Job& job, const RunOptions& options);

/// The job recorded in a run's journal (for `job resume`), and the context it was started with.
[[nodiscard]] Result<jobs::Job> journaled_job(const std::filesystem::path& state_dir,
                                              std::string_view run_id);
[[nodiscard]] Result<std::string> run_context(const std::filesystem::path& state_dir,
                                              std::string_view run_id);

struct RunSummary {
  std::string run_id;
  std::string job;
  bool finished{false};
  std::optional<Outcome> outcome;
  std::string reason;
  std::size_t results{0};
  std::size_t pending_events{0};
  std::string last_step;  ///< the last recorded step ("phase/step_id")
};
/// Every run in state_dir/runs, sorted by run id.
[[nodiscard]] Result<std::vector<RunSummary>> list_runs(const std::filesystem::path& state_dir);

/// An event for the server: a step result, a postponement or the outcome.
struct Event {
  std::string id;  ///< "<run_id>:<seq>", stable across restarts
  std::uint64_t seq{0};
  std::string json;  ///< the record as one JSON object
};
/// Events not yet marked reported, in order.
[[nodiscard]] Result<std::vector<Event>> pending_events(const std::filesystem::path& state_dir,
                                                        std::string_view run_id);
/// Records (fsync'ed) that every event up to `up_to_seq` reached the server.
[[nodiscard]] Result<void> mark_reported(const std::filesystem::path& state_dir,
                                         std::string_view run_id, std::uint64_t up_to_seq);

/// state_dir/runs/<run_id>.journal
[[nodiscard]] std::filesystem::path journal_path(const std::filesystem::path& state_dir,
                                                 std::string_view run_id);

/// The env variable of the crash test hook: PF_RUNNER_CRASH_AT=N makes the runner SIGKILL
/// itself right after the journal's N-th record is durable.
inline constexpr const char* kCrashAtEnv = "PF_RUNNER_CRASH_AT";

}  // namespace pf::runner
