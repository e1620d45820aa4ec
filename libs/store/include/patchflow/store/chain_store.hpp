// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/store/audit.hpp"

/// Chain runs as the orchestrator keeps them (DESIGN.md §3, §7): the pure
/// decide(state, events, now) -> (state', commands) runs on the leader; the server persists
/// state' and the commands in one transaction (commit_decision) before it executes any command,
/// then marks each done. After a crash it reloads the active runs and executes again the
/// commands not marked done (they are idempotent). Operators' approve/pause/resume/cancel are
/// events that a decision consumes exactly once.
namespace pf::store {

struct ChainRun {
  std::string id;                  ///< "c_" + hex; 1..64 of [A-Za-z0-9_-]
  std::string chain;               ///< the Chain document's name (1..63 of [a-z0-9-])
  std::int64_t chain_revision{0};  ///< the document's revision the run follows (>= 1)
  std::string status;        ///< for listings: "running", "paused", "succeeded", ...; 1..64 bytes
  bool active{true};         ///< false once final: the orchestrator loads active runs only
  std::string state;         ///< the orchestrator's state JSON, not empty, <= kMaxChainState
  std::int64_t revision{0};  ///< 1 when created, +1 by each commit_decision (set by the store)
  std::string created_by;    ///< 1..256 bytes
  std::int64_t created_at{0};
  std::int64_t updated_at{0};  ///< created_at, then the `now` of the last decision
};

/// A command of a decision, to be executed once it is committed (the outbox).
struct ChainCommand {
  std::int64_t seq{0};  ///< assigned by the store, increasing in commit order within a run
  std::string run_id;
  std::string json;
  bool done{false};
};

/// An operator's event for a run: approve, pause, resume, cancel.
struct ChainEvent {
  std::int64_t seq{0};  ///< assigned by the store
  std::string run_id;
  std::string json;  ///< not empty, <= kMaxChainEventJson
  std::string by;    ///< who; 1..256 bytes
  std::int64_t at{0};
};

/// One line of a run's journal (`patchflow chain status`, live progress).
struct ChainLogLine {
  std::int64_t seq{0};  ///< increasing in commit order within a run
  std::int64_t at{0};
  std::string line;
};

inline constexpr std::size_t kMaxChainState = 64u << 20;
inline constexpr std::size_t kMaxChainCommand = 1 << 20;
inline constexpr std::size_t kMaxCommandsPerDecision = 10000;
inline constexpr std::size_t kMaxConsumedEvents = 10000;
inline constexpr std::size_t kMaxChainEventJson = 64 * 1024;
inline constexpr std::size_t kMaxChainLogLine = 4096;

class ChainStore {
 public:
  ChainStore() = default;
  ChainStore(const ChainStore&) = delete;
  ChainStore& operator=(const ChainStore&) = delete;
  virtual ~ChainStore() = default;

  /// Stores a new run with revision 1 and updated_at = created_at (run.revision and
  /// run.updated_at are ignored). conflict when the id is taken. Audited.
  [[nodiscard]] virtual Result<void> create_chain_run(const ChainRun& run,
                                                      const AuditEntry& audit) = 0;

  [[nodiscard]] virtual Result<std::optional<ChainRun>> chain_run(std::string_view id) = 0;

  /// Up to `limit` (1..kMaxPageSize) runs, newest first (created_at, then id, descending);
  /// only the active ones when `active_only`.
  [[nodiscard]] virtual Result<std::vector<ChainRun>> chain_runs(bool active_only, int limit) = 0;

  /// In one transaction: when the run's revision is `expected_revision`, replaces its state,
  /// status and active flag, appends `commands` (in order, seq assigned), marks the events of
  /// `consumed_events` (seqs) consumed, and returns the new revision (expected_revision + 1).
  /// not_found for an unknown run; conflict, with nothing written, when the revision differs
  /// (another decision won), the run is no longer active, or a listed event is not a pending
  /// event of this run.
  [[nodiscard]] virtual Result<std::int64_t> commit_decision(
      std::string_view run_id, std::int64_t expected_revision, std::string_view state,
      std::string_view status, bool active, std::span<const std::string> commands,
      std::span<const std::int64_t> consumed_events, std::int64_t now) = 0;

  /// The commands not marked done, of one run ("": of every run), in seq order.
  [[nodiscard]] virtual Result<std::vector<ChainCommand>> pending_commands(
      std::string_view run_id) = 0;

  /// Marks a command done; a command done already stays as it was. not_found for an unknown seq.
  [[nodiscard]] virtual Result<void> mark_command_done(std::int64_t seq, std::int64_t now) = 0;

  /// Stores an operator's event (event.seq is ignored) and returns its seq. not_found for an
  /// unknown run, conflict for a run no longer active. Audited.
  [[nodiscard]] virtual Result<std::int64_t> add_chain_event(const ChainEvent& event,
                                                             const AuditEntry& audit) = 0;

  /// The run's events no decision has consumed yet, in seq order.
  [[nodiscard]] virtual Result<std::vector<ChainEvent>> pending_chain_events(
      std::string_view run_id) = 0;

  /// Appends a line (1..kMaxChainLogLine bytes, no NUL) to the run's journal. not_found for an
  /// unknown run.
  [[nodiscard]] virtual Result<void> append_chain_log(std::string_view run_id, std::int64_t at,
                                                      std::string_view line) = 0;

  /// Up to `limit` (1..kMaxPageSize) lines of the run's journal with seq > after_seq, in seq
  /// order (page on with the last seq returned).
  [[nodiscard]] virtual Result<std::vector<ChainLogLine>> chain_log(std::string_view run_id,
                                                                    std::int64_t after_seq,
                                                                    int limit) = 0;
};

/// Who runs the orchestrator: one holder at a time among the servers sharing a store. Each
/// backend opens one from the same name as its store (SqliteStore::open_leadership,
/// PostgresStore::open_leadership).
class Leadership {
 public:
  Leadership() = default;
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;
  /// Gives the leadership up (another holder may take it at its next try_lead).
  virtual ~Leadership() = default;

  /// True while this object leads: takes the leadership when it is free, confirms it when held.
  /// Call it before every orchestrator tick and act only on true. false: another holder leads.
  /// An error (the database cannot be reached): this object does not lead now.
  [[nodiscard]] virtual Result<bool> try_lead() = 0;
};

[[nodiscard]] bool is_chain_id(std::string_view id) noexcept;
[[nodiscard]] Result<void> validate_chain_run(const ChainRun& run);
[[nodiscard]] Result<void> validate_chain_decision(std::string_view run_id, std::string_view state,
                                                   std::string_view status,
                                                   std::span<const std::string> commands,
                                                   std::span<const std::int64_t> consumed_events);
[[nodiscard]] Result<void> validate_chain_event(const ChainEvent& event);
[[nodiscard]] Result<void> validate_chain_log_line(std::string_view run_id, std::string_view line);
/// limit within 1..kMaxPageSize.
[[nodiscard]] Result<void> validate_chain_limit(int limit);

}  // namespace pf::store
