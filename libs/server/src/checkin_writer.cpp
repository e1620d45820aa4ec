// SPDX-License-Identifier: Apache-2.0
#include "checkin_writer.hpp"

namespace pf::server {

CheckinWriter::CheckinWriter(OpenedStore store, OnCommit on_commit)
    : store_(std::move(store)), on_commit_(std::move(on_commit)) {
  thread_ = std::thread([this] { run(); });
}

CheckinWriter::~CheckinWriter() { stop(); }

Result<void> CheckinWriter::submit(store::Checkin checkin) {
  std::unique_lock lock(mutex_);
  if (stopping_) return make_error(Errc::interrupted, "the server is shutting down");
  if (!current_) {
    current_ = std::make_shared<Batch>();
    current_->first_at = std::chrono::steady_clock::now();
    current_->items.reserve(kMaxBatch);
  }
  current_->items.push_back(std::move(checkin));
  const auto batch = current_;
  // The writer wakes for the first item (to start its timer) and for a full batch.
  if (batch->items.size() == 1 || batch->items.size() >= kMaxBatch) work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return batch->done; });
  if (!batch->result) return Unexpected(batch->result.error());
  return {};
}

void CheckinWriter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_cv_.wait(lock, [this] { return current_ != nullptr || stopping_; });
    if (!current_) return;  // stopping, nothing queued
    const auto deadline = current_->first_at + kMaxWait;
    work_cv_.wait_until(lock, deadline, [this] {
      return stopping_ || (current_ && current_->items.size() >= kMaxBatch);
    });
    auto batch = std::move(current_);
    current_.reset();
    lock.unlock();
    auto result = store_.fleet->record_checkins(batch->items);
    if (on_commit_) on_commit_(batch->items.size(), result);
    lock.lock();
    batch->result = std::move(result);
    batch->done = true;
    done_cv_.notify_all();
  }
}

void CheckinWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace pf::server
