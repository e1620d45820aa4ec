// SPDX-License-Identifier: Apache-2.0
#include "patchflow/cel/types.hpp"

namespace pf::cel {

void Env::declare_variable(std::string name, Type type) {
  variables_.insert_or_assign(std::move(name), std::move(type));
}

void Env::declare_object(std::string name, ObjectType object) {
  objects_.insert_or_assign(std::move(name), std::move(object));
}

const Type* Env::variable(std::string_view name) const {
  const auto it = variables_.find(name);
  return it == variables_.end() ? nullptr : &it->second;
}

const ObjectType* Env::object(std::string_view name) const {
  const auto it = objects_.find(name);
  return it == objects_.end() ? nullptr : &it->second;
}

std::vector<std::string> Env::variable_names() const {
  std::vector<std::string> names;
  for (const auto& [name, type] : variables_) names.push_back(name);
  return names;
}

}  // namespace pf::cel
