// SPDX-License-Identifier: Apache-2.0
// PostgresStore's state and the libpqxx helpers shared by its advisory part
// (postgres_store.cpp) and its fleet part (postgres_fleet.cpp). Private to store_postgres.
#pragma once

#include <charconv>
#include <cmath>
#include <exception>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "conninfo.hpp"
#include "migrations.hpp"
#include "patchflow/store_postgres/postgres_store.hpp"

namespace pf::store {

// A statement parameter: text, or SQL NULL. Passed as text, the server converts it.
struct Param {
  std::optional<std::string> text;
};

inline Param text(std::string_view s) {
  return Param{std::string(s)};
}
inline Param integer(std::int64_t v) {
  return Param{std::to_string(v)};
}
inline Param opt_integer(const std::optional<std::int64_t>& v) {
  return v ? integer(*v) : Param{};
}
inline Param boolean(bool v) {
  return Param{v ? "t" : "f"};
}

// Shortest text that reads back as the same double.
inline std::string real_text(double v) {
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NULL";
}

// A PostgreSQL array literal, each element quoted ("NULL" for a null element).
class ArrayText {
 public:
  void add(std::string_view element) {
    open();
    out_ += '"';
    // Runs without '"' or '\\' are copied whole.
    for (std::size_t at = 0; at < element.size();) {
      const std::size_t special = element.find_first_of("\"\\", at);
      out_.append(element.substr(at, special - at));
      if (special == std::string_view::npos) break;
      out_ += '\\';
      out_ += element[special];
      at = special + 1;
    }
    out_ += '"';
  }
  void add_null() {
    open();
    out_ += "NULL";
  }
  // NaN is stored as NULL, as SQLite stores it.
  void add_real(std::optional<double> v) {
    if (!v || std::isnan(*v)) return add_null();
    open();
    out_ += real_text(*v);
  }
  void add_bool(bool v) {
    open();
    out_ += v ? "t" : "f";
  }
  void add_integer(std::int64_t v) {
    open();
    out_ += std::to_string(v);
  }
  [[nodiscard]] std::string text() const { return out_ + "}"; }
  [[nodiscard]] Param done() const { return Param{text()}; }

 private:
  void open() { out_ += out_.size() == 1 ? "" : ","; }
  std::string out_{"{"};
};

inline std::int64_t integer_of(const pqxx::field& f) {
  std::int64_t v = 0;
  const char* s = f.c_str();
  std::from_chars(s, s + f.size(), v);
  return v;
}

inline std::optional<std::int64_t> opt_integer_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return integer_of(f);
}

inline std::optional<double> real_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  const std::string_view s(f.c_str(), f.size());
  if (s == "Infinity") return HUGE_VAL;
  if (s == "-Infinity") return -HUGE_VAL;
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

inline std::string text_of(const pqxx::field& f) {
  return std::string(f.c_str(), f.size());
}
inline bool bool_of(const pqxx::field& f) {
  return f.size() == 1 && f.c_str()[0] == 't';
}

/// The elements of a one-dimensional TEXT[] in PostgreSQL's output form ({a,"b \"c\""}); NULL
/// elements are left out (the store writes none).
std::vector<std::string> text_array_of(const pqxx::field& f);

/// Whether PostgreSQL text can hold `s`: valid UTF-8 without NUL. A lookup by a key it cannot
/// hold finds nothing (as in SQLite, where no stored key equals it).
bool storable(std::string_view s) noexcept;

/// Thrown (and turned into Errc::invalid_input) when a parameter holds a NUL byte: libpq would
/// cut the text there, and PostgreSQL text cannot hold one anyway.
class NulInParameter : public std::invalid_argument {
 public:
  NulInParameter()
      : std::invalid_argument("a text value holds a NUL byte, which PostgreSQL text cannot store") {
  }
};

inline void check_params(const std::vector<Param>& params) {
  for (const auto& p : params) {
    if (p.text && p.text->find('\0') != std::string::npos) throw NulInParameter();
  }
}

Errc errc_for_sqlstate(std::string_view state);
bool lost_sqlstate(std::string_view state);

// Puts the current transaction pointer back when a (sub)transaction ends.
class CurrentGuard {
 public:
  CurrentGuard(pqxx::dbtransaction*& slot, pqxx::dbtransaction* now) : slot_(slot), saved_(slot) {
    slot_ = now;
  }
  CurrentGuard(const CurrentGuard&) = delete;
  CurrentGuard& operator=(const CurrentGuard&) = delete;
  ~CurrentGuard() { slot_ = saved_; }

 private:
  pqxx::dbtransaction*& slot_;
  pqxx::dbtransaction* saved_;
};

}  // namespace pf::store

// libpqxx converts each parameter through string_traits: Param is text or NULL.
namespace pqxx {
template <>
struct string_traits<pf::store::Param> {
  static constexpr const char* name() noexcept { return "pf::store::Param"; }
  static constexpr bool has_null() noexcept { return true; }
  static bool is_null(const pf::store::Param& p) { return !p.text.has_value(); }
  static pf::store::Param null() { return {}; }
  static std::string to_string(const pf::store::Param& p) { return p.text.value_or(""); }
};
}  // namespace pqxx

namespace pf::store {

/// A prepared statement (named when the connection was made) with these parameters.
inline pqxx::result exec(pqxx::transaction_base& tx, const std::string& statement,
                         const std::vector<Param>& params) {
  check_params(params);
  return tx.exec_prepared(statement, pqxx::prepare::make_dynamic_params(params));
}

/// A statement built at run time, with these parameters.
inline pqxx::result exec_sql(pqxx::transaction_base& tx, const std::string& sql,
                             const std::vector<Param>& params) {
  check_params(params);
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
}

/// Prepares the fleet's statements on a new connection (postgres_fleet.cpp).
void prepare_fleet_statements(pqxx::connection& conn);

/// A read-only snapshot for several reads that must agree.
using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

struct PostgresStore::Impl {
  postgres::ConnInfo info;
  std::unique_ptr<pqxx::connection> conn;
  // Declared after conn, so it is unregistered before the connection goes. Server notices
  // (and libpqxx's complaints about a rollback on a dead connection) are not printed.
  std::unique_ptr<pqxx::quiet_errorhandler> quiet;
  // The innermost open (sub)transaction: a store call made inside atomically() nests in it.
  pqxx::dbtransaction* current{nullptr};
  std::map<unsigned, std::string> cve_statements;

  // Turns the exception being handled into an Error. Call only from a catch block.
  [[nodiscard]] Error failure(std::string_view what) const;

  static std::string one_line_detail(std::string_view detail);

  // Runs `body(tx)` in a transaction of its own (of type Top), or in a savepoint of the open
  // one. Commits when the body succeeds; rolls back when it fails or throws. With Top =
  // pqxx::nontransaction, each statement of the body commits on its own (for bodies whose
  // statements stand alone: one round trip less than BEGIN ... COMMIT around one statement).
  template <class Top, class Body>
  auto in_transaction(std::string_view what, Body&& body)
      -> decltype(body(std::declval<pqxx::transaction_base&>())) {
    try {
      if (current != nullptr) {
        pqxx::subtransaction sub(*current, "pf_nested");
        CurrentGuard guard(current, &sub);
        auto result = body(static_cast<pqxx::transaction_base&>(sub));
        if (result) sub.commit();
        return result;
      }
      if (!conn || !conn->is_open()) {
        if (auto c = connect(); !c) return Unexpected(std::move(c.error()));
      }
      Top tx(*conn);
      if constexpr (std::is_base_of_v<pqxx::dbtransaction, Top>) {
        CurrentGuard guard(current, &tx);
        auto result = body(static_cast<pqxx::transaction_base&>(tx));
        if (result) tx.commit();
        return result;
      } else {
        auto result = body(static_cast<pqxx::transaction_base&>(tx));
        tx.commit();  // nothing to commit: it ends the object's transaction state
        return result;
      }
    } catch (...) {
      return Unexpected(failure(what));
    }
  }

  // A new connection (the first, or after one was lost), with the statements prepared on it.
  // libpqxx's own reconnection is off: it reuses the dead handle (6.4), and leaks on the way.
  Result<void> connect();
  Result<void> prepare();
  // Each migration in its own transaction, under the migration lock.
  Result<void> migrate();
};

}  // namespace pf::store
