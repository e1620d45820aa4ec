// SPDX-License-Identifier: Apache-2.0
#include "sqlite.hpp"

namespace pf::store::sqlite {

Error last_error(sqlite3* db, int rc, std::string_view what) {
  Errc code = Errc::io;
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = Errc::lock_held;
  if (primary == SQLITE_CONSTRAINT) code = Errc::conflict;
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, std::move(message), "sqlite"};
}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int index, std::string_view text) {
  // SQLite binds NULL for a null pointer; an empty view (whose data() may be null) is ''.
  const char* data = text.data() != nullptr ? text.data() : "";
  sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind(int index, std::optional<double> value) {
  if (value) {
    sqlite3_bind_double(stmt_, index, *value);
  } else {
    sqlite3_bind_null(stmt_, index);
  }
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Stmt& Stmt::bind_opt(int index, std::optional<std::int64_t> value) {
  if (value) {
    sqlite3_bind_int64(stmt_, index, *value);
  } else {
    sqlite3_bind_null(stmt_, index);
  }
  return *this;
}

Result<bool> Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = last_error(db_, rc, "step");
  sqlite3_reset(stmt_);
  return Unexpected(std::move(e));
}

Result<void> Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return Unexpected(std::move(r.error()));
    if (!*r) break;
  }
  reset();
  return {};
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Stmt::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

std::int64_t Stmt::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::optional<double> Stmt::real(int column) const {
  if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(stmt_, column);
}

std::optional<std::int64_t> Stmt::opt_integer(int column) const {
  if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, column);
}

bool Stmt::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Db::~Db() { sqlite3_close_v2(db_); }

Result<Db> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    Error e = last_error(raw, rc, "open " + path);
    e.where = path;
    return Unexpected(std::move(e));
  }
  sqlite3_extended_result_codes(raw, 1);
  // Another process (a second CLI, the server) may hold the write lock briefly.
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

Result<void> Db::exec(std::string_view sql) {
  const std::string copy(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    Error e = last_error(db_, rc, "exec");
    e.message = "exec: " + text;
    return Unexpected(std::move(e));
  }
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Unexpected(last_error(db_, rc, "prepare"));
  return Stmt(db_, stmt);
}

Transaction::~Transaction() {
  if (!open_) return;
  (void)db_.exec(nested_ ? "ROLLBACK TO pf_nested; RELEASE pf_nested" : "ROLLBACK");
}

Result<void> Transaction::begin() {
  nested_ = sqlite3_get_autocommit(db_.handle()) == 0;
  auto r = db_.exec(nested_ ? "SAVEPOINT pf_nested" : "BEGIN IMMEDIATE");
  if (r) open_ = true;
  return r;
}

Result<void> Transaction::commit() {
  auto r = db_.exec(nested_ ? "RELEASE pf_nested" : "COMMIT");
  if (r) open_ = false;
  return r;
}

}  // namespace pf::store::sqlite
