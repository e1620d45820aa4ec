// SPDX-License-Identifier: Apache-2.0
// The reference for parse_inventory (libs/server/src/inventory_parse.hpp): how the server read
// PUT /agent/v1/inventory before the streaming reader, parsing the whole document with
// nlohmann::json and then reading its fields. The unit tests and the fuzz target
// (inventory_parse_fuzz) check that both give the same rows or the same first error. One
// deliberate difference: a number too large for a double was an uncaught out_of_range (an
// HTTP 500); both now call it malformed JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "inventory_parse.hpp"

namespace pf::server::testing {

using InventoryResult = tl::expected<InventoryBody, InventoryError>;

namespace detail {

using json = nlohmann::json;

inline std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    default: return "a number";
  }
}

inline tl::unexpected<InventoryError> refuse(std::string message, std::string field) {
  return tl::unexpected(InventoryError{std::move(message), std::move(field)});
}

// string_field: absent or null is nullopt (or "missing" when required).
inline tl::expected<std::optional<std::string>, InventoryError> text(const json& obj,
                                                                     const std::string& key,
                                                                     const std::string& path,
                                                                     bool required) {
  const std::string where = path.empty() ? key : path + "." + key;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return refuse("missing", where);
    return std::nullopt;
  }
  if (!it->is_string()) return refuse("expected a string, got " + type_name(*it), where);
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > store::kMaxFactField) {
    return refuse("longer than " + std::to_string(store::kMaxFactField) + " bytes", where);
  }
  if (s.find('\0') != std::string::npos) return refuse("contains a NUL", where);
  return s;
}

}  // namespace detail

inline InventoryResult reference_parse_inventory(std::string_view input) {
  using detail::json;
  using detail::refuse;
  json body;
  try {
    body = json::parse(input);
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return refuse("malformed JSON: " + what, "body");
  }
  if (!body.is_object()) return refuse("the body must be a JSON object", "body");
  InventoryBody out;
  auto hash = detail::text(body, "hash", "", true);
  if (!hash) return tl::unexpected(hash.error());
  if ((*hash)->empty()) return refuse("empty", "hash");
  out.hash = **hash;

  const auto rows = [&](const char* key) -> tl::expected<const json*, InventoryError> {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) return nullptr;
    if (!it->is_array()) return refuse("expected an array", key);
    if (it->size() > store::kMaxInventoryRows) {
      return refuse("more than " + std::to_string(store::kMaxInventoryRows) + " rows", key);
    }
    return &*it;
  };
  auto pkgs = rows("packages");
  if (!pkgs) return tl::unexpected(pkgs.error());
  for (std::size_t i = 0; *pkgs != nullptr && i < (*pkgs)->size(); ++i) {
    const json& row = (**pkgs)[i];
    const std::string where = "packages[" + std::to_string(i) + "]";
    if (!row.is_object()) return refuse("expected an object", where);
    inventory::Package p;
    for (auto [key, dst, required] :
         {std::tuple{"name", &p.name, true}, std::tuple{"arch", &p.arch, false},
          std::tuple{"version", &p.version, true}, std::tuple{"source", &p.source_name, false},
          std::tuple{"source_version", &p.source_version, false}}) {
      auto v = detail::text(row, key, where, required);
      if (!v) return tl::unexpected(v.error());
      if (*v) *dst = **v;
    }
    out.packages.push_back(std::move(p));
  }
  auto ups = rows("updates");
  if (!ups) return tl::unexpected(ups.error());
  for (std::size_t i = 0; *ups != nullptr && i < (*ups)->size(); ++i) {
    const json& row = (**ups)[i];
    const std::string where = "updates[" + std::to_string(i) + "]";
    if (!row.is_object()) return refuse("expected an object", where);
    store::AvailableUpdate u;
    for (auto [key, dst, required] :
         {std::tuple{"name", &u.name, true}, std::tuple{"arch", &u.arch, false},
          std::tuple{"installed", &u.installed_version, false},
          std::tuple{"candidate", &u.candidate_version, true},
          std::tuple{"origin", &u.origin, false},
          std::tuple{"held_reason", &u.held_reason, false}}) {
      auto v = detail::text(row, key, where, required);
      if (!v) return tl::unexpected(v.error());
      if (*v) *dst = **v;
    }
    if (const auto s = row.find("security"); s != row.end() && !s->is_null()) {
      if (!s->is_boolean()) {
        return refuse("expected true or false, got " + detail::type_name(*s),
                      where + ".security");
      }
      u.security = s->get<bool>();
    }
    if (const auto a = row.find("advisories"); a != row.end() && !a->is_null()) {
      const std::string at = where + ".advisories";
      if (!a->is_array()) {
        return refuse("expected an array of strings, got " + detail::type_name(*a), at);
      }
      if (a->size() > 1000) return refuse("more than 1000 items", at);
      for (std::size_t j = 0; j < a->size(); ++j) {
        const json& v = (*a)[j];
        const std::string aj = at + "[" + std::to_string(j) + "]";
        if (!v.is_string()) return refuse("expected a string", aj);
        if (v.get_ref<const std::string&>().size() > store::kMaxFactField) {
          return refuse("longer than " + std::to_string(store::kMaxFactField), aj);
        }
        u.advisories.push_back(v.get<std::string>());
      }
    }
    out.updates.push_back(std::move(u));
  }
  if (auto ok = store::validate_inventory(out.hash, out.packages, out.updates); !ok) {
    return refuse(ok.error().message, ok.error().where);
  }
  return out;
}

/// Equal rows, or equal errors (message and field); otherwise what differs.
inline std::string compare(const InventoryResult& a, const InventoryResult& b) {
  if (a.has_value() != b.has_value()) {
    return std::string("one accepted, the other refused: ") +
           (a ? b.error().message + " @ " + b.error().field
              : a.error().message + " @ " + a.error().field);
  }
  if (!a) {
    if (a.error().message != b.error().message || a.error().field != b.error().field) {
      return "errors differ: '" + a.error().message + "' @ " + a.error().field + " vs '" +
             b.error().message + "' @ " + b.error().field;
    }
    return {};
  }
  if (a->hash != b->hash) return "hash differs";
  if (a->packages.size() != b->packages.size()) return "package count differs";
  for (std::size_t i = 0; i < a->packages.size(); ++i) {
    const auto& p = a->packages[i];
    const auto& q = b->packages[i];
    if (p.name != q.name || p.arch != q.arch || p.version != q.version ||
        p.source_name != q.source_name || p.source_version != q.source_version) {
      return "packages[" + std::to_string(i) + "] differs";
    }
  }
  if (a->updates.size() != b->updates.size()) return "update count differs";
  for (std::size_t i = 0; i < a->updates.size(); ++i) {
    const auto& u = a->updates[i];
    const auto& v = b->updates[i];
    if (u.name != v.name || u.arch != v.arch || u.installed_version != v.installed_version ||
        u.candidate_version != v.candidate_version || u.origin != v.origin ||
        u.held_reason != v.held_reason || u.security != v.security ||
        u.advisories != v.advisories) {
      return "updates[" + std::to_string(i) + "] differs";
    }
  }
  return {};
}

}  // namespace pf::server::testing
