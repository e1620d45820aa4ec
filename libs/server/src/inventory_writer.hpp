// SPDX-License-Identifier: Apache-2.0
// Group commit of agent inventories, the sibling of CheckinWriter: request threads queue a
// parsed and validated inventory and wait; a writer thread stores everything queued with one
// put_inventories (one transaction, one fsync), then wakes the waiters. An inventory is durable
// before its request is answered. Each writer thread has its own store connection. SQLite gets
// one (one writer of inventories on its single write lock, instead of many request threads
// waiting on it and giving up with 503); PostgreSQL gets several, so that its backends write
// batches in parallel. Private to libs/server.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "patchflow/server/store_open.hpp"

namespace pf::server {

class InventoryWriter {
 public:
  /// A batch holds at most this many inventories, and stops taking more once it holds
  /// kMaxBatchRows rows (one larger inventory still goes alone): bounds the transaction.
  static constexpr std::size_t kMaxBatch = 64;
  static constexpr std::size_t kMaxBatchRows = 100000;
  /// How long an idle writer waits for company after the first inventory arrives. A busy
  /// writer does not wait: what queued during its last commit is the next batch.
  static constexpr std::chrono::microseconds kMaxWait{1000};

  using Outcomes = Result<std::vector<store::InventoryOutcome>>;
  /// Called after each commit with the batch size and what put_inventories returned.
  using OnCommit = std::function<void(std::size_t queued, const Outcomes& result)>;

  /// One writer thread per store (at least one).
  InventoryWriter(std::vector<OpenedStore> stores, OnCommit on_commit);
  ~InventoryWriter();
  InventoryWriter(const InventoryWriter&) = delete;
  InventoryWriter& operator=(const InventoryWriter&) = delete;

  /// Queues one inventory (already validated with store::validate_inventory) and waits until
  /// its batch is committed; returns what was done with it. An error when the batch's
  /// transaction failed, or when the writer has stopped.
  [[nodiscard]] Result<store::InventoryOutcome> submit(store::InventoryPut inventory);

  /// Commits what is queued and ends the writer thread. Idempotent.
  void stop();

 private:
  struct Batch {
    std::vector<store::InventoryPut> items;
    std::size_t rows{0};
    std::chrono::steady_clock::time_point first_at;
    bool done{false};
    Outcomes result{std::vector<store::InventoryOutcome>{}};
  };

  [[nodiscard]] bool full(const Batch& b) const noexcept {
    return b.items.size() >= kMaxBatch || b.rows >= kMaxBatchRows;
  }
  void run(store::FleetStore& store);

  std::vector<OpenedStore> stores_;
  OnCommit on_commit_;
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<std::shared_ptr<Batch>> queued_;  ///< front is the next to commit, back takes more
  bool stopping_{false};
  bool stopped_{false};
  std::vector<std::thread> threads_;
};

}  // namespace pf::server
