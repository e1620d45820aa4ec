// SPDX-License-Identifier: Apache-2.0
// A host's health baseline (DESIGN.md §6): listening sockets, systemd services and failed
// units, process names and the job's custom probes, taken before an install and compared with
// the same snapshot taken after it.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::agent::health {

/// A custom probe from the job.
struct Probe {
  std::string name;  ///< unique within a job
  enum class Kind { command, http } kind{Kind::command};
  /// command: run without a shell (pf::process::run), argv[0] looked up in PATH.
  std::vector<std::string> argv;
  std::vector<int> ok_exit_codes{0};  ///< command
  /// http: GET, no redirects followed, no proxy; ok when the status is expect_status, or
  /// 2xx/3xx when expect_status is 0.
  std::string url;
  int expect_status{0};
  std::chrono::milliseconds timeout{10000};
};

struct ProbeResult {
  std::string name;
  bool ok{false};
  int code{0};  ///< exit code (-1: did not start, killed, timed out) or HTTP status (0: none)
  std::chrono::milliseconds latency{0};  ///< steady_clock, start to end
  std::string detail;                    ///< why, for a person; at most kMaxDetail bytes
};

inline constexpr std::size_t kMaxDetail = 4096;

struct Snapshot {
  /// Sorted unique "tcp:0.0.0.0:22", "tcp6:[::]:80", "udp:127.0.0.1:53", "udp6:[::1]:53".
  std::vector<std::string> listening;
  bool systemd{false};  ///< PID 1 is systemd, or the marker directory exists
  std::vector<std::string> services_running;  ///< unit names, sorted (only when systemd)
  std::vector<std::string> failed_units;      ///< sorted, every unit type (only when systemd)
  std::vector<std::string> processes;         ///< sorted unique process names (comm)
  std::vector<ProbeResult> probes;            ///< in the order of the probes given
  std::string taken_at;                       ///< RFC 3339 UTC
};

struct Options {
  std::filesystem::path proc{"/proc"};  ///< tests may point at a fake proc tree for parsing
  std::string systemctl{"systemctl"};
  /// systemd creates this directory when it boots as PID 1 (sd_booted(3) checks the same).
  std::filesystem::path systemd_marker{"/run/systemd/system"};
  std::chrono::milliseconds systemctl_timeout{30000};
  /// Bound of one proc/net file (a host with very many sockets has a large one).
  std::size_t max_net_file{std::size_t{64} << 20};
};

/// Takes a snapshot: listening sockets from proc/net/{tcp,tcp6,udp,udp6} (tcp6 and udp6 may
/// be missing: a kernel without IPv6), services and failed units from systemctl when systemd
/// runs, process names, then runs every probe (one after the other; a failing probe is a
/// result, not an error). Errors: invalid probes (empty or duplicate name, empty argv, a URL
/// that is not http(s)://, a timeout <= 0) as invalid_input naming the probe; proc/net/tcp or
/// udp missing or malformed; systemctl failing while systemd runs.
[[nodiscard]] Result<Snapshot> take_snapshot(std::span<const Probe> probes,
                                             const Options& opt = {});

/// One way in which `after` is worse than `before`.
struct Regression {
  /// "port_closed" | "unit_failed" | "probe_failed" | "probe_slower" | "service_stopped"
  std::string kind;
  std::string subject;  ///< the port, unit or probe name
  std::string detail;   ///< "was listening before the install", "412 ms vs 150 ms (2.7x)"
};

struct CompareOptions {
  double slower_factor{2.0};
  /// Below this, never "slower": a probe of a few milliseconds doubles by scheduling noise alone
  /// on a loaded host.
  std::chrono::milliseconds latency_floor{100};
};

/// The regressions from `before` to `after`, in this order: ports closed, services stopped,
/// units newly failed (each sorted), then probes in `before`'s order. A probe that passed
/// before and fails (or is missing) after is "probe_failed"; one that failed before is never a
/// regression; "probe_slower" needs both to pass, after >= slower_factor x before and after >=
/// latency_floor. A unit failed before and after is not a regression. Processes are not
/// compared.
[[nodiscard]] std::vector<Regression> compare(const Snapshot& before, const Snapshot& after,
                                              const CompareOptions& opt = {});

/// The snapshot as one JSON object (for the agent's journal); read back by snapshot_from_json.
[[nodiscard]] std::string to_json(const Snapshot&);

/// Limits of snapshot_from_json.
struct JsonLimits {
  std::size_t max_bytes{std::size_t{16} << 20};
  std::size_t max_depth{16};
  std::size_t max_items{200000};  ///< per list
  std::size_t max_string{kMaxDetail};
};

/// Parses what to_json wrote. Unknown members are ignored; string lists are sorted and made
/// unique. Errors (invalid_input, where = the member path such as "probes[2].latency_ms", or
/// "byte N" for syntax): too large, too deep, not JSON, a missing member, a wrong type, a string
/// or list over the limits, a negative latency, duplicate probe names.
[[nodiscard]] Result<Snapshot> snapshot_from_json(std::string_view json,
                                                  const JsonLimits& limits = {});

/// The regressions as a JSON array of {"kind", "subject", "detail"}.
[[nodiscard]] std::string to_json(std::span<const Regression>);

/// Sorted unique process names of proc/[0-9]*/comm (control bytes shown as '?'). Processes that
/// end while being read are skipped. Errors: `proc` not a readable directory.
[[nodiscard]] Result<std::vector<std::string>> process_names(
    const std::filesystem::path& proc = "/proc");

/// Listening sockets of one proc/net file's text (`proto` is "tcp", "tcp6", "udp" or "udp6"):
/// TCP in state 0A (LISTEN), UDP bound with a zero remote address and port. The header line is
/// skipped. Errors (invalid_input, where = "<name>:<line>"): a line without the fields, bad hex,
/// an address of the wrong length, a line over 4096 bytes.
[[nodiscard]] Result<std::vector<std::string>> parse_proc_net(std::string_view text,
                                                              std::string_view proto,
                                                              std::string_view name);

/// Unit names from `systemctl list-units --no-legend --plain` output (pf::agent's parser).
[[nodiscard]] Result<std::vector<std::string>> parse_unit_names(std::string_view text,
                                                                std::string_view name);

}  // namespace pf::agent::health
