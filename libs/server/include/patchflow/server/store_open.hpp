// SPDX-License-Identifier: Apache-2.0
// Opening the server's store by its configured name: a postgresql:// URL is the PostgreSQL
// store, anything else a SQLite file path. Only this name changes between the two.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"
#include "patchflow/store/advisory_store.hpp"
#include "patchflow/store/chain_store.hpp"
#include "patchflow/store/finding_store.hpp"
#include "patchflow/store/fleet_store.hpp"
#include "patchflow/store/policy_store.hpp"
#include "patchflow/store/run_store.hpp"

namespace pf::server {

struct OpenedStore {
  std::unique_ptr<store::FleetStore> fleet;
  // The same object through its other interfaces (owned by `fleet`).
  store::AdvisoryStore* advisories{nullptr};
  store::FindingStore* findings{nullptr};
  store::RunStore* runs{nullptr};
  store::PolicyStore* policies{nullptr};
  store::ChainStore* chains{nullptr};
  /// Succeeds when the database answers and its schema is the one this build knows.
  std::function<Result<void>()> check_ready;
  /// "sqlite:/path" or "postgresql://host:port/db" (no password), for logs.
  std::string description;
};

/// True for "postgresql://..." and "postgres://..." names.
[[nodiscard]] bool is_postgres_url(std::string_view database) noexcept;

/// Opens one connection (one store object, for one thread at a time) and brings the schema up
/// to date. A SQLite file is created when absent (its directory must exist).
[[nodiscard]] Result<OpenedStore> open_store(std::string_view database);

/// The chain orchestrator's leadership among the servers sharing `database` (a PostgreSQL
/// advisory lock, or a lock file beside a SQLite file).
[[nodiscard]] Result<std::unique_ptr<store::Leadership>> open_leadership(std::string_view database);

}  // namespace pf::server
