// SPDX-License-Identifier: Apache-2.0
// Group commit of agent check-ins: request threads queue a check-in and wait; one writer
// thread commits everything queued with one record_checkins (one transaction, one fsync) when
// kMaxBatch are queued or the oldest has waited kMaxWait, then wakes the waiters. A check-in
// is durable before its request is answered. Private to libs/server.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "patchflow/server/store_open.hpp"

namespace pf::server {

class CheckinWriter {
 public:
  static constexpr std::size_t kMaxBatch = 200;
  static constexpr std::chrono::microseconds kMaxWait{5000};

  /// Called after each commit with the batch size and what record_checkins returned.
  using OnCommit = std::function<void(std::size_t queued, const Result<std::size_t>& result)>;

  CheckinWriter(OpenedStore store, OnCommit on_commit);
  ~CheckinWriter();
  CheckinWriter(const CheckinWriter&) = delete;
  CheckinWriter& operator=(const CheckinWriter&) = delete;

  /// Queues one (already validated) check-in and waits until its batch is committed. An error
  /// when the batch's transaction failed, or when the writer has stopped.
  [[nodiscard]] Result<void> submit(store::Checkin checkin);

  /// Commits what is queued and ends the writer thread. Idempotent.
  void stop();

 private:
  struct Batch {
    std::vector<store::Checkin> items;
    std::chrono::steady_clock::time_point first_at;
    bool done{false};
    Result<std::size_t> result{std::size_t{0}};
  };

  void run();

  OpenedStore store_;
  OnCommit on_commit_;
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::shared_ptr<Batch> current_;
  bool stopping_{false};
  bool stopped_{false};
  std::thread thread_;
};

}  // namespace pf::server
