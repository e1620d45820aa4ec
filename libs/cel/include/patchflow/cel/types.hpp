// SPDX-License-Identifier: Apache-2.0
// Static types of the condition language and the declared environment an expression is
// checked against (variables and object types with their fields).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pf::cel {

enum class TypeKind { null, boolean, integer, floating, string, list, map, object, dyn };

struct Type {
  TypeKind kind{TypeKind::dyn};
  std::string name;         ///< object: its declared name ("Host")
  std::vector<Type> params;  ///< list: {element}; map: {key, value}

  [[nodiscard]] static Type null() { return {TypeKind::null, {}, {}}; }
  [[nodiscard]] static Type boolean() { return {TypeKind::boolean, {}, {}}; }
  [[nodiscard]] static Type integer() { return {TypeKind::integer, {}, {}}; }
  [[nodiscard]] static Type floating() { return {TypeKind::floating, {}, {}}; }
  [[nodiscard]] static Type string() { return {TypeKind::string, {}, {}}; }
  [[nodiscard]] static Type dyn() { return {TypeKind::dyn, {}, {}}; }
  [[nodiscard]] static Type list(Type element) { return {TypeKind::list, {}, {std::move(element)}}; }
  [[nodiscard]] static Type map(Type key, Type value) {
    return {TypeKind::map, {}, {std::move(key), std::move(value)}};
  }
  [[nodiscard]] static Type object(std::string name) { return {TypeKind::object, std::move(name), {}}; }

  /// "bool", "int", "double", "string", "list(Host)", "map(string, PostResult)", "Host".
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const Type&, const Type&) = default;
};

/// An object type: its fields, and the word used for them in errors ("field", or "stage" for
/// the stages object, so that an unknown name reads "unknown stage 'dbx'").
struct ObjectType {
  std::map<std::string, Type, std::less<>> fields;
  std::string member_noun{"field"};
};

/// What an expression may refer to: variables with their types, and object types.
class Env {
 public:
  void declare_variable(std::string name, Type type);
  void declare_object(std::string name, ObjectType object);

  [[nodiscard]] const Type* variable(std::string_view name) const;
  [[nodiscard]] const ObjectType* object(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> variable_names() const;

 private:
  std::map<std::string, Type, std::less<>> variables_;
  std::map<std::string, ObjectType, std::less<>> objects_;
};

}  // namespace pf::cel
