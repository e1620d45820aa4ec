// SPDX-License-Identifier: Apache-2.0
// SqliteStore's state, shared by its advisory part (sqlite_store.cpp) and its fleet part
// (sqlite_fleet.cpp). Private to store_sqlite.
#pragma once

#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "sqlite.hpp"

// Unwraps a Result<T> inside a function returning Result<U>.
#define PF_TRY(var, expr)                                    \
  auto var = (expr);                                         \
  if (!var) return Unexpected(std::move(var.error()))

#define PF_CHECK(expr)                                       \
  do {                                                       \
    auto pf_check_result_ = (expr);                          \
    if (!pf_check_result_) return Unexpected(std::move(pf_check_result_.error())); \
  } while (false)

namespace pf::store {

struct SqliteStore::Impl {
  sqlite::Db db;  // first member: destroyed after the statements below
  // Statements of the hot paths, prepared on first use and kept (SQLITE_PREPARE_PERSISTENT).
  sqlite::Stmt checkin;
  sqlite::Stmt host_state;
  sqlite::Stmt host_by_id;
  sqlite::Stmt host_by_fingerprint;
  sqlite::Stmt inventory_state;
  sqlite::Stmt insert_package;
  sqlite::Stmt insert_update;
  sqlite::Stmt set_inventory_hash;
  sqlite::Stmt stored_packages;
  sqlite::Stmt stored_updates;
  sqlite::Stmt update_package;
  sqlite::Stmt update_update;
  sqlite::Stmt revalue_package;
  sqlite::Stmt trim_packages;
  sqlite::Stmt trim_updates;
  sqlite::Stmt api_token_by_hash;
  sqlite::Stmt api_token_use;
  sqlite::Stmt api_token_touch;
  sqlite::Stmt audit_last;
  sqlite::Stmt audit_insert;
};

// A statement of a hot path: prepared once, kept in Impl.
inline Result<sqlite::Stmt*> cached(sqlite::Db& db, sqlite::Stmt& slot, std::string_view sql) {
  if (!slot.valid()) {
    PF_TRY(stmt, db.prepare(sql));
    slot = std::move(*stmt);
  }
  return &slot;
}

// Resets a statement that returned rows, so that it holds no read lock after use.
struct ResetOnExit {
  sqlite::Stmt& stmt;
  ~ResetOnExit() { stmt.reset(); }
};

}  // namespace pf::store
