// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/store/audit.hpp"

/// Runs: a signed work item for one host (the agent fetches it with GET /agent/v1/wait) and
/// the events the agent reports for it. Events carry the agent's own ids, so a report that is
/// retried after a lost answer is stored once (DESIGN.md §5).
namespace pf::store {

/// queued → delivered (the agent fetched it) → a final state the agent reports, or canceled.
enum class RunState { queued, delivered, running, succeeded, failed, skipped, rolled_back,
                      canceled };
[[nodiscard]] std::string_view to_string(RunState state) noexcept;
[[nodiscard]] std::optional<RunState> run_state_from(std::string_view name) noexcept;
[[nodiscard]] bool is_final(RunState state) noexcept;

struct Run {
  std::string id;        ///< "r_" + random hex; 1..64 of [A-Za-z0-9_-]
  std::string host_id;
  std::string job;       ///< the job's name, for people
  std::string envelope;  ///< the signed work item, exactly as the agent gets it (<= 1 MiB)
  RunState state{RunState::queued};
  std::string created_by;
  std::int64_t created_at{0};
  std::optional<std::int64_t> delivered_at;
  std::optional<std::int64_t> finished_at;
  std::string outcome;  ///< the final event's JSON ("" until then)
  std::int64_t events{0};
};

/// One event an agent reports for a run.
struct RunEvent {
  std::string event_id;  ///< the agent's id, unique within the run; 1..128 printable ASCII
  std::int64_t seq{0};   ///< the agent's order of events (>= 0)
  std::string kind;      ///< "step", "state", "outcome", ...; 1..64 of [a-z_]
  std::string body;      ///< JSON object text (<= 64 KiB)
  /// A state the run enters with this event (running, or a final one); nullopt: unchanged.
  std::optional<RunState> state;
  std::int64_t received_at{0};
};

struct RunQuery {
  std::string host_id;  ///< exact; empty: any
  std::optional<RunState> state;
  int limit{100};
  std::string cursor;   ///< "" or a next_cursor returned before
};

struct RunPage {
  std::vector<Run> runs;  ///< newest first (created_at descending, then id)
  std::string next_cursor;
};

/// How many events a run may have.
inline constexpr std::int64_t kMaxRunEvents = 10000;
inline constexpr std::size_t kMaxEnvelope = 1 << 20;
inline constexpr std::size_t kMaxEventBody = 64 * 1024;

class RunStore {
 public:
  RunStore() = default;
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;
  virtual ~RunStore() = default;

  /// Queues a run (state queued). not_found for an unknown host, conflict for a revoked one or
  /// a taken id. Audited.
  [[nodiscard]] virtual Result<void> create_run(const Run& run, const AuditEntry& audit) = 0;

  [[nodiscard]] virtual Result<std::optional<Run>> run(std::string_view id) = 0;

  /// The host's oldest run that is not final (queued, delivered or running), marking a queued
  /// one delivered at `now`; nullopt when there is none. A run is handed out again until the
  /// agent reports it final: the agent knows a run it has by its id.
  [[nodiscard]] virtual Result<std::optional<Run>> next_run(std::string_view host_id,
                                                            std::int64_t now) = 0;

  /// Stores the events of the host's run, each at most once (by event_id), and applies their
  /// states in seq order (a final state is kept: later events do not reopen the run). Returns
  /// how many events were new. not_found when the run does not exist or is not the host's;
  /// conflict when the run was canceled; invalid_input for bad events or past kMaxRunEvents.
  [[nodiscard]] virtual Result<std::size_t> record_run_events(std::string_view host_id,
                                                              std::string_view run_id,
                                                              std::span<const RunEvent> events) = 0;

  /// The run's events in seq order (then event id).
  [[nodiscard]] virtual Result<std::vector<RunEvent>> run_events(std::string_view run_id) = 0;

  [[nodiscard]] virtual Result<RunPage> list_runs(const RunQuery& query) = 0;

  /// Cancels a run that is not final. not_found / conflict (final already). Audited.
  [[nodiscard]] virtual Result<void> cancel_run(std::string_view id, std::int64_t at,
                                                const AuditEntry& audit) = 0;

  /// How many runs of the host are not final (the check-in says "work pending").
  [[nodiscard]] virtual Result<std::int64_t> pending_runs(std::string_view host_id) = 0;
};

[[nodiscard]] Result<void> validate_run(const Run& run);
[[nodiscard]] Result<void> validate_run_events(std::span<const RunEvent> events);
[[nodiscard]] Result<void> validate_run_query(const RunQuery& query);

}  // namespace pf::store
