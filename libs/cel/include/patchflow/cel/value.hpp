// SPDX-License-Identifier: Apache-2.0
// Runtime values of the condition language: null, bool, int, double, string, list and map
// (string keys). Objects of the environment (a stage, a host, a post result) are maps.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace pf::cel {

class Value {
 public:
  using List = std::vector<Value>;
  using Map = std::map<std::string, Value, std::less<>>;

  Value() = default;  ///< null
  Value(bool b) : data_(b) {}
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  Value(I i) : data_(static_cast<std::int64_t>(i)) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(List l) : data_(std::move(l)) {}
  Value(Map m) : data_(std::move(m)) {}

  [[nodiscard]] bool is_null() const noexcept { return data_.index() == 0; }
  [[nodiscard]] const bool* as_bool() const noexcept { return std::get_if<bool>(&data_); }
  [[nodiscard]] const std::int64_t* as_int() const noexcept { return std::get_if<std::int64_t>(&data_); }
  [[nodiscard]] const double* as_double() const noexcept { return std::get_if<double>(&data_); }
  [[nodiscard]] const std::string* as_string() const noexcept { return std::get_if<std::string>(&data_); }
  [[nodiscard]] const List* as_list() const noexcept { return std::get_if<List>(&data_); }
  [[nodiscard]] const Map* as_map() const noexcept { return std::get_if<Map>(&data_); }
  [[nodiscard]] List* as_list() noexcept { return std::get_if<List>(&data_); }
  [[nodiscard]] Map* as_map() noexcept { return std::get_if<Map>(&data_); }

  /// The name of the value's kind: "null", "bool", "int", "double", "string", "list", "map".
  [[nodiscard]] const char* kind_name() const noexcept;

  /// Literal-like text: 3, 0.91, 1.0, true, 'db-1', [1, 2], {'a': 1}; strings and collections
  /// longer than max_chars are cut with "…".
  [[nodiscard]] std::string to_string(std::size_t max_chars = 120) const;

  /// Structural equality (int 1 and double 1.0 differ here; the language's == does not).
  friend bool operator==(const Value&, const Value&) = default;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, List, Map> data_;
};

/// The variables an expression is evaluated with, by name ("stages").
using Activation = std::map<std::string, Value, std::less<>>;

}  // namespace pf::cel
