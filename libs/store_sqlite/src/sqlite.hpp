// SPDX-License-Identifier: Apache-2.0
// A thin RAII layer over the SQLite C API (private to store_sqlite).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::store::sqlite {

/// Turns the connection's last error into an Error: SQLITE_BUSY/LOCKED -> lock_held,
/// constraint violations -> conflict, everything else -> io.
[[nodiscard]] Error last_error(sqlite3* db, int rc, std::string_view what);

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQLite.
  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, std::optional<double> value);
  Stmt& bind_null(int index);
  /// NULL when empty.
  Stmt& bind_opt(int index, std::optional<std::int64_t> value);

  /// One step: true when a row is available, false when done.
  [[nodiscard]] Result<bool> step();
  /// Steps to completion (for statements without rows) and resets for reuse.
  [[nodiscard]] Result<void> run();
  void reset();

  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] std::optional<double> real(int column) const;
  /// nullopt for NULL.
  [[nodiscard]] std::optional<std::int64_t> opt_integer(int column) const;
  [[nodiscard]] bool is_null(int column) const;
  /// Whether a statement is held (a default-constructed Stmt holds none).
  [[nodiscard]] bool valid() const noexcept { return stmt_ != nullptr; }

 private:
  sqlite3* db_{nullptr};
  sqlite3_stmt* stmt_{nullptr};
};

class Db {
 public:
  Db() = default;
  explicit Db(sqlite3* db) : db_(db) {}
  Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Db& operator=(Db&&) = delete;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  [[nodiscard]] static Result<Db> open(const std::string& path);
  [[nodiscard]] Result<void> exec(std::string_view sql);
  [[nodiscard]] Result<Stmt> prepare(std::string_view sql);
  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

 private:
  sqlite3* db_{nullptr};
};

/// BEGIN IMMEDIATE, or a SAVEPOINT when a transaction is already open (so that a batch
/// written inside an import's transaction nests in it); rolled back on destruction unless
/// commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  [[nodiscard]] Result<void> begin();
  [[nodiscard]] Result<void> commit();

 private:
  Db& db_;
  bool open_{false};
  bool nested_{false};
};

}  // namespace pf::store::sqlite
