// SPDX-License-Identifier: Apache-2.0
#include "inventory_writer.hpp"

namespace pf::server {

InventoryWriter::InventoryWriter(std::vector<OpenedStore> stores, OnCommit on_commit)
    : stores_(std::move(stores)), on_commit_(std::move(on_commit)) {
  for (auto& s : stores_) threads_.emplace_back([this, &s] { run(*s.fleet); });
}

InventoryWriter::~InventoryWriter() { stop(); }

Result<store::InventoryOutcome> InventoryWriter::submit(store::InventoryPut inventory) {
  const std::size_t rows = inventory.packages.size() + inventory.updates.size();
  std::unique_lock lock(mutex_);
  if (stopping_) return make_error(Errc::interrupted, "the server is shutting down");
  if (queued_.empty() || full(*queued_.back())) {
    auto fresh = std::make_shared<Batch>();
    fresh->first_at = std::chrono::steady_clock::now();
    queued_.push_back(std::move(fresh));
  }
  const auto batch = queued_.back();
  const std::size_t index = batch->items.size();
  batch->items.push_back(std::move(inventory));
  batch->rows += rows;
  // The writer wakes for a batch's first item (to start its timer) and for a full batch.
  if (index == 0 || full(*batch)) work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return batch->done; });
  if (!batch->result) return Unexpected(batch->result.error());
  return (*batch->result)[index];
}

void InventoryWriter::run(store::FleetStore& store) {
  std::unique_lock lock(mutex_);
  while (true) {
    work_cv_.wait(lock, [this] { return !queued_.empty() || stopping_; });
    if (queued_.empty()) return;  // stopping, nothing queued
    const auto deadline = queued_.front()->first_at + kMaxWait;
    work_cv_.wait_until(lock, deadline, [this] {
      return stopping_ || queued_.empty() || full(*queued_.front()) || queued_.size() > 1;
    });
    if (queued_.empty()) continue;  // another writer took it
    auto batch = std::move(queued_.front());
    queued_.pop_front();
    // More is queued: wake another writer for it (the wake-up of its first item went to us).
    if (!queued_.empty()) work_cv_.notify_one();
    lock.unlock();
    auto result = store.put_inventories(batch->items);
    if (result && result->size() != batch->items.size()) {
      result = make_error(Errc::backend_failed, "put_inventories answered for " +
                                                    std::to_string(result->size()) + " of " +
                                                    std::to_string(batch->items.size()));
    }
    if (on_commit_) on_commit_(batch->items.size(), result);
    // The rows are not needed any more: free them outside the lock.
    std::vector<store::InventoryPut>().swap(batch->items);
    lock.lock();
    batch->result = std::move(result);
    batch->done = true;
    done_cv_.notify_all();
  }
}

void InventoryWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

}  // namespace pf::server
