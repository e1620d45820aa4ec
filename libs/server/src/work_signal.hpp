// SPDX-License-Identifier: Apache-2.0
// Wakes agents' long-polls (GET /agent/v1/wait) when a run is queued on this server, and bounds
// how many long-polls hold worker threads at once. Private to libs/server.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace pf::server {

class WorkSignal {
 public:
  /// At most `slots` waits at once (at least 1).
  void set_slots(int slots) {
    std::lock_guard lock(mutex_);
    slots_ = slots < 1 ? 1 : slots;
  }

  /// A run was queued: every wait looks again.
  void notify() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    cv_.notify_all();
  }

  /// Wakes every wait for good (shutdown).
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

  [[nodiscard]] bool stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  [[nodiscard]] std::uint64_t generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
  }

  /// Waits until the generation moves past `seen`, the server stops, or `until`; returns the
  /// generation then.
  std::uint64_t wait_until(std::uint64_t seen, std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, until, [&] { return generation_ != seen || stopping_; });
    return generation_;
  }

  /// One of the bounded wait slots, held for a scope (held() is false when none was free).
  class Slot {
   public:
    explicit Slot(WorkSignal& s) : signal_(s) {
      std::lock_guard lock(s.mutex_);
      if (s.waiting_ < s.slots_) {
        ++s.waiting_;
        held_ = true;
      }
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      if (!held_) return;
      std::lock_guard lock(signal_.mutex_);
      --signal_.waiting_;
    }
    [[nodiscard]] bool held() const { return held_; }

   private:
    WorkSignal& signal_;
    bool held_{false};
  };

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t generation_{0};
  int slots_{1};
  int waiting_{0};
  bool stopping_{false};
};

}  // namespace pf::server
