// SPDX-License-Identifier: Apache-2.0
#include "store_pool.hpp"

#include <type_traits>

#include "patchflow/store_postgres/postgres_store.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"

namespace pf::server {
namespace {

// Where the URL's password would be, nothing: "postgresql://user@host:5432/db".
std::string without_password(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "postgresql";
  const auto at = url.find('@', scheme + 3);
  const auto slash = url.find('/', scheme + 3);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url.substr(0, url.find('?')));
  }
  const auto colon = url.find(':', scheme + 3);
  std::string out(url.substr(0, at));
  if (colon != std::string_view::npos && colon < at) out = std::string(url.substr(0, colon));
  out += std::string(url.substr(at, url.find('?', at) - at));
  return out;
}

template <class Store>
Result<void> schema_current(Store& s) {
  auto v = s.schema_version();
  if (!v) return Unexpected(v.error());
  if (*v != Store::latest_schema_version()) {
    return make_error(Errc::conflict,
                      "database schema is at migration " + std::to_string(*v) +
                          ", this build expects " + std::to_string(Store::latest_schema_version()));
  }
  return {};
}

// One store object seen through each interface the server uses.
template <class Concrete>
OpenedStore opened(std::unique_ptr<Concrete> s, std::string description) {
  OpenedStore out;
  Concrete* raw = s.get();
  out.advisories = raw;
  out.findings = raw;
  out.runs = raw;
  out.policies = raw;
  out.chains = raw;
  out.fleet = std::unique_ptr<store::FleetStore>(std::move(s));
  out.check_ready = [raw] { return schema_current(*raw); };
  out.description = std::move(description);
  return out;
}

Result<OpenedStore> open_postgres(std::string_view url) {
  auto s = store::PostgresStore::open(url);
  if (!s) return Unexpected(s.error());
  return opened(std::move(*s), without_password(url));
}

}  // namespace

bool is_postgres_url(std::string_view database) noexcept {
  return database.starts_with("postgresql://") || database.starts_with("postgres://");
}

Result<OpenedStore> open_store(std::string_view database) {
  if (is_postgres_url(database)) return open_postgres(database);
  auto s = store::SqliteStore::open(std::filesystem::path(std::string(database)));
  if (!s) return Unexpected(s.error());
  return opened(std::move(*s), "sqlite:" + std::string(database));
}

Result<std::unique_ptr<store::Leadership>> open_leadership(std::string_view database) {
  if (is_postgres_url(database)) return store::PostgresStore::open_leadership(database);
  return store::SqliteStore::open_leadership(std::filesystem::path(std::string(database)));
}

StorePool::StorePool(std::string database, std::size_t size, OpenedStore first)
    : database_(std::move(database)), size_(size == 0 ? 1 : size) {
  free_.push_back(std::make_unique<OpenedStore>(std::move(first)));
  open_ = 1;
}

StorePool::~StorePool() = default;

StorePool::Lease::~Lease() {
  if (pool_ != nullptr && store_) pool_->give_back(std::move(store_));
}

Result<StorePool::Lease> StorePool::lease() {
  std::unique_lock lock(mutex_);
  free_cv_.wait(lock, [this] { return !free_.empty() || open_ < size_; });
  if (!free_.empty()) {
    auto s = std::move(free_.back());
    free_.pop_back();
    return Lease(this, std::move(s));
  }
  ++open_;
  lock.unlock();
  auto opened = open_store(database_);
  if (!opened) {
    std::lock_guard relock(mutex_);
    --open_;
    free_cv_.notify_one();
    return Unexpected(opened.error());
  }
  return Lease(this, std::make_unique<OpenedStore>(std::move(*opened)));
}

void StorePool::give_back(std::unique_ptr<OpenedStore> store) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(store));
  }
  free_cv_.notify_one();
}

}  // namespace pf::server
