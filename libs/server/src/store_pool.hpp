// SPDX-License-Identifier: Apache-2.0
// A fixed number of store connections shared by the HTTP worker threads: a store object is one
// connection for one thread at a time, so each call leases one and gives it back. Private.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "patchflow/server/store_open.hpp"

namespace pf::server {

class StorePool {
 public:
  /// `first` is used as the first connection (already open, schema migrated); up to `size`
  /// connections are opened on demand with open_store(database).
  StorePool(std::string database, std::size_t size, OpenedStore first);
  ~StorePool();
  StorePool(const StorePool&) = delete;
  StorePool& operator=(const StorePool&) = delete;

  class Lease {
   public:
    Lease(StorePool* pool, std::unique_ptr<OpenedStore> store)
        : pool_(pool), store_(std::move(store)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    store::FleetStore* operator->() const { return store_->fleet.get(); }
    store::FleetStore& operator*() const { return *store_->fleet; }
    [[nodiscard]] store::AdvisoryStore& advisories() const { return *store_->advisories; }
    [[nodiscard]] store::FindingStore& findings() const { return *store_->findings; }
    [[nodiscard]] store::RunStore& runs() const { return *store_->runs; }
    [[nodiscard]] store::PolicyStore& policies() const { return *store_->policies; }
    [[nodiscard]] store::ChainStore& chains() const { return *store_->chains; }
    [[nodiscard]] OpenedStore& opened() const { return *store_; }
    [[nodiscard]] Result<void> check_ready() const { return store_->check_ready(); }

   private:
    StorePool* pool_;
    std::unique_ptr<OpenedStore> store_;
  };

  /// Waits for a free connection (opening one while fewer than `size` exist).
  [[nodiscard]] Result<Lease> lease();

 private:
  void give_back(std::unique_ptr<OpenedStore> store);

  std::string database_;
  std::size_t size_;
  std::mutex mutex_;
  std::condition_variable free_cv_;
  std::vector<std::unique_ptr<OpenedStore>> free_;
  std::size_t open_{0};
};

}  // namespace pf::server
