// SPDX-License-Identifier: Apache-2.0
// The job a host runs (DESIGN.md §6, docs/jobs.md): its model, the JSON document (format 1)
// parsed with bounded sizes and errors naming the JSON path, its canonical text (the bytes the
// server signs) and the signed envelope the agent verifies before parsing. Pure: no I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::jobs {

inline constexpr std::size_t kMaxDocumentBytes = std::size_t{1} << 20;  ///< whole document
inline constexpr std::size_t kMaxSteps = 200;        ///< steps of all lists together
inline constexpr std::size_t kMaxArgv = 256;         ///< items of an argv, codes, probes
inline constexpr std::size_t kMaxString = 64 * 1024; ///< any string
inline constexpr std::size_t kMaxDepth = 32;         ///< JSON nesting
inline constexpr std::int64_t kMinTimeoutS = 1;
inline constexpr std::int64_t kMaxTimeoutS = 24 * 3600;

using Time = std::chrono::sys_seconds;

/// A program to run: argv (no shell) or shell text (run as /bin/sh -c TEXT), exactly one.
struct Command {
  std::vector<std::string> argv;
  std::string shell;
  std::string user;  ///< run as this user (setgid/setuid in the child); empty: the agent's
  std::map<std::string, std::string> env;  ///< added to the agent's environment
  std::string cwd;                         ///< absolute; empty: "/"
  std::vector<int> ok_exit_codes{0};
  friend bool operator==(const Command&, const Command&) = default;
};

enum class CheckKind {
  disk_free,       ///< path, min_free_mb (path inside the root)
  service_active,  ///< unit (systemctl is-active)
  port_open,       ///< host, port (TCP connect)
  http_ok,         ///< url, expect_status (0: any 2xx/3xx)
  file_absent,     ///< path (inside the root)
  file_present,    ///< path (inside the root)
  process_absent,  ///< name (a process's comm)
  uptime_min,      ///< seconds
  on_ac_power,     ///< (no parameter)
  command,         ///< command (argv or shell, ok_exit_codes)
};
[[nodiscard]] std::string_view check_kind_name(CheckKind kind) noexcept;

struct Check {
  CheckKind kind{CheckKind::file_absent};
  std::string path;
  std::uint64_t min_free_mb{0};
  std::string unit;
  std::string host;
  int port{0};
  std::string url;
  int expect_status{0};
  std::string name;
  std::int64_t seconds{0};
  Command command;
  friend bool operator==(const Check&, const Check&) = default;
};

enum class StepType { command, check, wait_for };
[[nodiscard]] std::string_view step_type_name(StepType type) noexcept;

/// One step. `command` for StepType::command, `check` for check and wait_for.
struct Step {
  std::string id;  ///< [a-z0-9][a-z0-9_.-]{0,63}, unique in the job
  StepType type{StepType::command};
  Command command;
  Check check;
  std::chrono::seconds timeout{60};
  std::chrono::seconds interval{2};  ///< wait_for: between two polls
  friend bool operator==(const Step&, const Step&) = default;
};

/// A custom health probe of the baseline (the agent's health::Probe).
struct Probe {
  std::string name;
  enum class Kind { command, http } kind{Kind::command};
  std::vector<std::string> argv;
  std::vector<int> ok_exit_codes{0};
  std::string url;
  int expect_status{0};
  std::chrono::seconds timeout{10};
  friend bool operator==(const Probe&, const Probe&) = default;
};

struct Baseline {
  std::vector<Probe> probes;
  bool rollback_on_regression{false};
  friend bool operator==(const Baseline&, const Baseline&) = default;
};

struct Retry {
  std::chrono::seconds interval{60};
  Time until{};
  friend bool operator==(const Retry&, const Retry&) = default;
};

struct Install {
  std::string select;  ///< the selection text (pf::pkg::parse_selection)
  enum class Conffiles { keep_old, take_new } conffiles{Conffiles::keep_old};
  friend bool operator==(const Install&, const Install&) = default;
};

struct Reboot {
  enum class Policy { never, if_required, always } policy{Policy::never};
  int max_reboots{1};
  std::vector<Step> before;
  std::vector<Step> after;
  friend bool operator==(const Reboot&, const Reboot&) = default;
};
[[nodiscard]] std::string_view reboot_policy_name(Reboot::Policy policy) noexcept;

struct Rollback {
  enum class When { on_failure, never } when{When::on_failure};
  enum class Mode { packages, command } mode{Mode::packages};
  std::optional<Step> command;  ///< mode command: a step of type command
  friend bool operator==(const Rollback&, const Rollback&) = default;
};

/// A job document, format 1 (docs/jobs.md).
struct Job {
  int format{1};
  std::string run_id;   ///< [A-Za-z0-9][A-Za-z0-9_.-]{0,127}
  std::string job;      ///< the job's name, for people
  std::string host_id;  ///< the host it is for
  Time issued_at{};
  Time expires_at{};
  std::vector<Step> preconditions;
  std::optional<Retry> retry;
  std::optional<Baseline> baseline;
  std::vector<Step> pre;
  std::optional<Install> install;
  Reboot reboot;
  std::vector<Step> post;
  Rollback rollback;
  friend bool operator==(const Job&, const Job&) = default;
};

/// Step ids the runner uses for its own steps; a job's steps may not take them.
[[nodiscard]] bool is_reserved_step_id(std::string_view id) noexcept;

/// Parses and validates a job document. Errc::invalid_input with `where` the JSON path
/// ("$.pre[2].argv[0]") and the reason, for: not JSON, more than kMaxDocumentBytes or
/// kMaxDepth, an unknown or missing field, a wrong type, a bound exceeded, or a rule of
/// validate() broken.
[[nodiscard]] Result<Job> parse_job(std::string_view text);

/// The rules that are not about syntax: unique step ids, timeouts in 1 s..24 h, times in
/// order, a command step has a command, a valid selection, a rollback command when the mode
/// says so, ... Errc::invalid_input naming the path.
[[nodiscard]] Result<void> validate(const Job& job);

/// The canonical text of a job: compact JSON, keys sorted, every field present. parse_job
/// (to_json(job)) == job, and to_json is a fixed point of that round trip.
[[nodiscard]] std::string to_json(const Job& job);

/// The signed envelope {"work": "<job JSON>", "signature": "<base64 Ed25519 over work>"}.
[[nodiscard]] Result<std::string> make_envelope(const Job& job, std::string_view private_pem);
/// An envelope around given work bytes (for tests of altered work).
[[nodiscard]] std::string envelope_json(std::string_view work, std::string_view signature);

/// Verifies the signature over the bytes of "work" with the server's public key FIRST, then
/// parses the work. Errc::invalid_input: not an envelope, a missing or bad signature
/// ("work is not signed by the server's key"), or the job's own errors (where "work:$...").
[[nodiscard]] Result<Job> open_envelope(std::string_view envelope_text,
                                        std::string_view public_pem);

/// RFC 3339 in UTC with a "Z" ("2026-12-01T15:54:19Z"); parse_time also takes fractions
/// (dropped) and numeric offsets.
[[nodiscard]] std::string format_time(Time t);
[[nodiscard]] Result<Time> parse_time(std::string_view text);

}  // namespace pf::jobs
