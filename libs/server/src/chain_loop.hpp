// SPDX-License-Identifier: Apache-2.0
// The server side of the chain orchestrator (docs/chains.md, "How a run advances"): while this
// server leads (store::Leadership: one leader among the replicas sharing a store), each tick
// loads the active chain runs, gathers events (runs just started, operators' approve / pause /
// resume / cancel, the outcome and progress of the hosts' jobs from the run store), calls the
// pure orch::decide, commits each changed run's state together with its commands and the
// events it consumed (ChainStore::commit_decision), and only then executes the commands
// (queue a host's signed job, cancel one, write a log line), marking each done. A server killed
// anywhere redoes the commands not marked done; they are idempotent (a job's id is fixed by the
// plan). Private to libs/server.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "patchflow/server/store_open.hpp"
#include "patchflow/store/chain_store.hpp"

namespace pf::server {

class Log;
class WorkSignal;

/// The state a chain run keeps in ChainRun::state: the orchestrator's state of the run (absent
/// until its first decision), the plan it starts from, the Chain document it follows and the
/// update selection of each host, fixed when the run started (what `patchflow plan` showed).
struct RunRecord {
  std::string orch;        ///< orch::to_json of a State holding this run only; "" before start
  std::string plan;        ///< orch::plan_to_json, until the first decision
  std::string chain_json;  ///< the Chain document as stored when the run started
  std::map<std::string, std::string> selections;  ///< host id -> "exact:..."
};
[[nodiscard]] std::string to_json(const RunRecord& record);
[[nodiscard]] Result<RunRecord> run_record_from_json(std::string_view text);

struct ChainLoopOptions {
  std::chrono::milliseconds interval{1000};  ///< between ticks (a poke ticks at once)
  /// A file holding a number of seconds added to the clock the orchestrator sees (lab and
  /// tests: soaks over business days without waiting); "" none.
  std::string clock_file;
  /// Tests of restart safety: SIGKILL this process at the Nth command boundary (0: never).
  std::uint64_t crash_at{0};
  std::string signing_key_pem;  ///< signs the hosts' jobs
};

class ChainLoop {
 public:
  /// Starts the thread when `start` (tests drive tick() themselves).
  ChainLoop(OpenedStore store, std::unique_ptr<store::Leadership> leadership,
            ChainLoopOptions options, Log& log, WorkSignal* work, bool start = true);
  ~ChainLoop();
  ChainLoop(const ChainLoop&) = delete;
  ChainLoop& operator=(const ChainLoop&) = delete;

  /// Something happened (a run started, an operator's event, a job's event): tick soon.
  void poke();
  void stop();

  /// One tick at `now`: false when another server leads. Errors are the store's.
  Result<bool> tick(std::chrono::sys_seconds now);
  /// The clock the orchestrator sees: the system clock plus the clock file's offset.
  [[nodiscard]] std::chrono::sys_seconds now() const;

  [[nodiscard]] std::uint64_t ticks() const { return ticks_.load(); }
  [[nodiscard]] bool leading() const { return leading_.load(); }

 private:
  void run();
  void boundary();
  Result<void> execute(const store::ChainCommand& command, std::chrono::sys_seconds now);

  OpenedStore store_;
  std::unique_ptr<store::Leadership> leadership_;
  ChainLoopOptions options_;
  Log& log_;
  WorkSignal* work_;
  std::map<std::string, std::int64_t> seen_events_;  // job run id -> events seen (progress)
  std::map<std::string, RunRecord> records_;         // chain run id -> its record (this tick)
  std::uint64_t boundaries_{0};
  std::atomic<std::uint64_t> ticks_{0};
  std::atomic<bool> leading_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool poked_{true};
  bool stopping_{false};
  std::thread thread_;
};

}  // namespace pf::server
