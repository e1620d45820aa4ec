// SPDX-License-Identifier: Apache-2.0
// The YAML document is turned into JSON once (plain scalars typed as YAML 1.2's core schema
// types them, quoted scalars stay strings) and everything else works on that JSON.
#include "openapi_check.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace pf::testing::openapi {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDocumentBytes = 4u << 20;
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxNodes = 500000;
constexpr std::size_t kMaxProblems = 50;

const std::set<std::string, std::less<>> kMethods = {"get", "put", "post", "delete", "patch",
                                                     "head", "options"};
const std::set<std::string, std::less<>> kAccess = {"public",   "agent",    "viewer",
                                                    "approver", "operator", "admin"};
// What validate() understands, and words that only describe.
const std::set<std::string, std::less<>> kSchemaKeywords = {
    "type",      "properties", "required",  "items",   "enum",      "nullable",
    "$ref",      "format",     "minLength", "maxLength", "minimum", "maximum",
    "additionalProperties", "description", "default", "example",  "title"};
const std::set<std::string, std::less<>> kTypes = {"string", "integer", "number",
                                                   "boolean", "array", "object"};

// --- YAML → JSON -------------------------------------------------------------------------

json scalar_value(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() != "?") return s;  // quoted or explicitly tagged: a string
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
  {
    std::int64_t i = 0;
    const char* end = s.data() + s.size();
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    const auto [ptr, ec] = std::from_chars(begin, end, i);
    // Non-negative integers are unsigned, as nlohmann::json reads them from JSON text.
    if (!s.empty() && ec == std::errc() && ptr == end) {
      return i >= 0 ? json(static_cast<std::uint64_t>(i)) : json(i);
    }
  }
  {
    double d = 0;
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, d);
    if (!s.empty() && ec == std::errc() && ptr == end &&
        s.find_first_of("0123456789") != std::string::npos) {
      return d;
    }
  }
  return s;
}

pf::Result<json> to_json(const YAML::Node& node, int depth, std::size_t& nodes) {
  if (depth > kMaxDepth) return make_error(Errc::invalid_input, "nested deeper than 64");
  if (++nodes > kMaxNodes) return make_error(Errc::invalid_input, "more than 500000 nodes");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return json(nullptr);
    case YAML::NodeType::Scalar: return scalar_value(node);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) {
        auto v = to_json(item, depth + 1, nodes);
        if (!v) return v;
        out.push_back(std::move(*v));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return make_error(Errc::invalid_input, "a mapping key that is not a scalar");
        }
        auto v = to_json(kv.second, depth + 1, nodes);
        if (!v) return v;
        out[kv.first.Scalar()] = std::move(*v);
      }
      return out;
    }
  }
  return json(nullptr);
}

// --- helpers -----------------------------------------------------------------------------

std::string kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "nothing";
  }
}

std::string short_dump(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::string member(const std::string& path, const std::string& key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
  return plain ? path + "." + key : path + "[" + json(key).dump() + "]";
}

bool is_date_time(std::string_view s) {
  // RFC 3339: 2024-05-01T12:00:00Z, with optional fraction and a Z or ±hh:mm offset.
  const auto digits = [&](std::size_t at, std::size_t n) {
    if (at + n > s.size()) return false;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  if (!(digits(0, 4) && s.size() > 4 && s[4] == '-' && digits(5, 2) && s.size() > 7 &&
        s[7] == '-' && digits(8, 2) && s.size() > 10 && (s[10] == 'T' || s[10] == 't') &&
        digits(11, 2) && s.size() > 13 && s[13] == ':' && digits(14, 2) && s.size() > 16 &&
        s[16] == ':' && digits(17, 2))) {
    return false;
  }
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    return digits(i + 1, 2) && i + 3 < s.size() && s[i + 3] == ':' && digits(i + 4, 2) &&
           i + 6 == s.size();
  }
  return false;
}

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2])) != 0) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Lookups that never throw and never touch a missing key of a const object.
const json& at(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string str(const json& obj, std::string_view key) {
  const json& v = at(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

bool flag(const json& obj, std::string_view key) {
  const json& v = at(obj, key);
  return v.is_boolean() && v.get<bool>();
}

bool has(const json& obj, std::string_view key) { return obj.is_object() && obj.contains(key); }

// Statuses whose answers have no body.
bool no_body_status(int status) { return status == 204 || status == 304; }

std::vector<std::string> path_names(std::string_view path) {
  std::vector<std::string> out;
  for (std::size_t at = path.find('{'); at != std::string_view::npos; at = path.find('{', at)) {
    const auto end = path.find('}', at);
    if (end == std::string_view::npos) break;
    out.emplace_back(path.substr(at + 1, end - at - 1));
    at = end;
  }
  return out;
}

// A document with a keyword of the wrong type ("maxLength: many") is a problem, not a crash.
template <class F>
std::vector<std::string> guarded(std::string_view what, F&& f) {
  try {
    return f();
  } catch (const json::exception& e) {
    return {std::string(what) + ": malformed document: " + e.what()};
  }
}

}  // namespace

// --- the document ------------------------------------------------------------------------

struct Document::Impl {
  std::string source;  // what errors call the document
  json root;
  std::vector<Operation> operations;

  // The node a "#/a/b" reference names, following chains of references.
  const json* resolve(const json& node, std::string& problem) const {
    const json* at = &node;
    for (int hops = 0; at->is_object() && at->contains("$ref"); ++hops) {
      const json& ref = (*at)["$ref"];
      if (hops > 16) {
        problem = "$ref chain longer than 16 (a loop?)";
        return nullptr;
      }
      if (!ref.is_string() || !ref.get_ref<const std::string&>().starts_with("#/")) {
        problem = "$ref " + short_dump(ref) + " is not a local reference (#/...)";
        return nullptr;
      }
      try {
        const json::json_pointer ptr(ref.get<std::string>().substr(1));
        if (!root.contains(ptr)) {
          problem = "$ref " + ref.get<std::string>() + " names nothing";
          return nullptr;
        }
        at = &root.at(ptr);
      } catch (const json::exception&) {
        problem = "$ref " + short_dump(ref) + " is not a JSON pointer";
        return nullptr;
      }
    }
    return at;
  }

  const json* operation_node(std::string_view method, std::string_view path) const {
    const auto& paths = root["paths"];
    const auto item = paths.find(std::string(path));
    if (item == paths.end() || !item->is_object()) return nullptr;
    const auto op = item->find(lower(std::string(method)));
    return op == item->end() ? nullptr : &*op;
  }

  // Path-item parameters, overridden by the operation's (same name and location), resolved.
  std::vector<const json*> parameters(std::string_view path, const json& op,
                                      std::vector<std::string>& problems) const {
    std::map<std::pair<std::string, std::string>, const json*> by_key;
    const auto add = [&](const json& list) {
      if (!list.is_array()) return;
      for (const auto& p : list) {
        std::string problem;
        const json* r = resolve(p, problem);
        if (r == nullptr) {
          problems.push_back(std::string(path) + ": parameter " + problem);
          continue;
        }
        by_key[{str(*r, "in"), str(*r, "name")}] = r;
      }
    };
    const auto& item = root["paths"][std::string(path)];
    if (item.contains("parameters")) add(item["parameters"]);
    if (op.contains("parameters")) add(op["parameters"]);
    std::vector<const json*> out;
    for (const auto& [key, p] : by_key) out.push_back(p);
    return out;
  }

  void validate(const json& schema, const json& value, const std::string& path, int depth,
                std::vector<std::string>& out) const {
    if (out.size() >= kMaxProblems) return;
    if (depth > kMaxDepth) {
      out.push_back(path + ": the schema nests deeper than 64 (a $ref loop?)");
      return;
    }
    std::string problem;
    const json* s = resolve(schema, problem);
    if (s == nullptr) {
      out.push_back(path + ": " + problem);
      return;
    }
    if (!s->is_object()) {
      out.push_back(path + ": the schema is " + kind_of(*s) + ", not an object");
      return;
    }
    if (value.is_null()) {
      if (!flag(*s, "nullable")) {
        out.push_back(path + ": null, but the schema is not nullable" +
                      (s->contains("type") ? " (expected " + str(*s, "type") + ")" : ""));
      }
      return;
    }
    const std::string type = s->contains("type") && (*s)["type"].is_string()
                                 ? (*s)["type"].get<std::string>()
                                 : "";
    if (!type.empty()) {
      bool ok = false;
      if (type == "string") ok = value.is_string();
      else if (type == "integer") ok = value.is_number_integer();
      else if (type == "number") ok = value.is_number();
      else if (type == "boolean") ok = value.is_boolean();
      else if (type == "array") ok = value.is_array();
      else if (type == "object") ok = value.is_object();
      if (!ok) {
        out.push_back(path + ": expected " + type + ", got " + kind_of(value) + " " +
                      short_dump(value));
        return;
      }
    }
    if (s->contains("enum") && (*s)["enum"].is_array()) {
      const auto& e = (*s)["enum"];
      if (std::find(e.begin(), e.end(), value) == e.end()) {
        out.push_back(path + ": " + short_dump(value) + " is not one of " + short_dump(e));
      }
    }
    if (value.is_string()) {
      const auto& text = value.get_ref<const std::string&>();
      if (at(*s, "minLength").is_number_unsigned() &&
          code_points(text) < (*s)["minLength"].get<std::size_t>()) {
        out.push_back(path + ": shorter than minLength " + (*s)["minLength"].dump());
      }
      if (at(*s, "maxLength").is_number_unsigned() &&
          code_points(text) > (*s)["maxLength"].get<std::size_t>()) {
        out.push_back(path + ": longer than maxLength " + (*s)["maxLength"].dump());
      }
      if (str(*s, "format") == "date-time" && !is_date_time(text)) {
        out.push_back(path + ": " + short_dump(value) + " is not an RFC 3339 date-time");
      }
    }
    if (value.is_number()) {
      if (at(*s, "minimum").is_number() && value.get<double>() < (*s)["minimum"].get<double>()) {
        out.push_back(path + ": " + value.dump() + " is below minimum " + (*s)["minimum"].dump());
      }
      if (at(*s, "maximum").is_number() && value.get<double>() > (*s)["maximum"].get<double>()) {
        out.push_back(path + ": " + value.dump() + " is above maximum " + (*s)["maximum"].dump());
      }
    }
    if (value.is_array() && s->contains("items")) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        validate((*s)["items"], value[i], path + "[" + std::to_string(i) + "]", depth + 1, out);
      }
    }
    if (value.is_object()) {
      const json empty = json::object();
      const json& props = s->contains("properties") ? (*s)["properties"] : empty;
      if (s->contains("required") && (*s)["required"].is_array()) {
        for (const auto& r : (*s)["required"]) {
          if (r.is_string() && !value.contains(r.get<std::string>())) {
            out.push_back(path + ": missing required property " + r.dump());
          }
        }
      }
      for (const auto& [key, v] : value.items()) {
        const std::string at = member(path, key);
        if (props.contains(key)) {
          validate(props[key], v, at, depth + 1, out);
        } else if (s->contains("additionalProperties")) {
          const json& extra = (*s)["additionalProperties"];
          if (extra.is_boolean()) {
            if (!extra.get<bool>()) {
              out.push_back(at + ": property not in the schema (additionalProperties: false)");
            }
          } else {
            validate(extra, v, at, depth + 1, out);
          }
        }
      }
    }
  }

  void lint_schema(const json& schema, const std::string& where, int depth,
                   std::vector<std::string>& out) const {
    if (depth > kMaxDepth) {
      out.push_back(where + ": nested deeper than 64");
      return;
    }
    if (!schema.is_object()) {
      out.push_back(where + ": a schema must be an object, not " + kind_of(schema));
      return;
    }
    if (schema.contains("$ref")) {
      std::string problem;
      if (resolve(schema, problem) == nullptr) out.push_back(where + ": " + problem);
      if (schema.size() > 1) out.push_back(where + ": siblings of $ref are ignored in OpenAPI 3.0");
      return;
    }
    for (const auto& [key, v] : schema.items()) {
      if (key.starts_with("x-")) continue;
      if (!kSchemaKeywords.contains(key)) {
        out.push_back(where + ": keyword '" + key + "' is not checked by the validator");
      }
    }
    if (schema.contains("type") &&
        (!schema["type"].is_string() || !kTypes.contains(schema["type"].get<std::string>()))) {
      out.push_back(where + ": unknown type " + short_dump(schema["type"]));
    }
    if (schema.contains("nullable") && !schema["nullable"].is_boolean()) {
      out.push_back(where + ": nullable must be true or false");
    }
    if (schema.contains("enum") && (!schema["enum"].is_array() || schema["enum"].empty())) {
      out.push_back(where + ": enum must be a non-empty list");
    }
    for (const char* key : {"minLength", "maxLength"}) {
      if (schema.contains(key) && !schema[key].is_number_unsigned()) {
        out.push_back(where + ": " + key + " must be a non-negative integer");
      }
    }
    for (const char* key : {"minimum", "maximum"}) {
      if (schema.contains(key) && !schema[key].is_number()) {
        out.push_back(where + ": " + key + " must be a number");
      }
    }
    if (schema.contains("required")) {
      const auto& req = schema["required"];
      if (!req.is_array()) {
        out.push_back(where + ": required must be a list");
      } else {
        for (const auto& r : req) {
          if (!r.is_string() || !schema.contains("properties") ||
              !schema["properties"].contains(r.get<std::string>())) {
            out.push_back(where + ": required " + short_dump(r) + " is not among its properties");
          }
        }
      }
    }
    if (schema.contains("properties")) {
      if (!schema["properties"].is_object()) {
        out.push_back(where + ": properties must be a mapping");
      } else {
        for (const auto& [key, v] : schema["properties"].items()) {
          lint_schema(v, where + ".properties." + key, depth + 1, out);
        }
      }
    }
    if (schema.contains("items")) lint_schema(schema["items"], where + ".items", depth + 1, out);
    if (schema.contains("additionalProperties") && !schema["additionalProperties"].is_boolean()) {
      lint_schema(schema["additionalProperties"], where + ".additionalProperties", depth + 1, out);
    }
    if (str(schema, "type") == "array" && !schema.contains("items")) {
      out.push_back(where + ": an array schema without items");
    }
  }

  // Every "$ref" anywhere in the document resolves.
  void lint_refs(const json& node, const std::string& where, int depth,
                 std::vector<std::string>& out) const {
    if (depth > kMaxDepth) return;
    if (node.is_object()) {
      if (node.contains("$ref")) {
        std::string problem;
        if (resolve(node, problem) == nullptr) out.push_back(where + ": " + problem);
      }
      for (const auto& [key, v] : node.items()) lint_refs(v, where + "/" + key, depth + 1, out);
    } else if (node.is_array()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        lint_refs(node[i], where + "/" + std::to_string(i), depth + 1, out);
      }
    }
  }

  void lint_content(const json& content, const std::string& where,
                    std::vector<std::string>& out) const {
    if (!content.is_object() || content.empty()) {
      out.push_back(where + ": content must name at least one media type");
      return;
    }
    for (const auto& [media, body] : content.items()) {
      if (!body.is_object() || !body.contains("schema")) {
        out.push_back(where + "." + media + ": no schema");
        continue;
      }
      lint_schema(body["schema"], where + "." + media + ".schema", 0, out);
    }
  }

  void lint_operation(const Operation& op, const json& node, std::set<std::string>& ids,
                      std::vector<std::string>& out) const {
    const std::string name = op.method + " " + op.path;
    if (op.summary.empty()) out.push_back(name + ": no summary");
    if (!kAccess.contains(op.access)) {
      out.push_back(name + ": x-patchflow-access " + short_dump(node.value("x-patchflow-access",
                                                                           json(nullptr))) +
                    " is not one of public, agent, viewer, approver, operator, admin");
    }
    const std::string id = str(node, "operationId");
    if (id.empty()) out.push_back(name + ": no operationId");
    if (!id.empty() && !ids.insert(id).second) out.push_back(name + ": operationId " + id + " twice");

    // Path parameters: each {name} declared (required, in: path), nothing else in: path.
    std::vector<std::string> problems;
    const auto params = parameters(op.path, node, problems);
    for (auto& p : problems) out.push_back(name + ": " + p);
    std::set<std::string> declared;
    for (const json* p : params) {
      const std::string in = str(*p, "in");
      const std::string pname = str(*p, "name");
      if (in != "path" && in != "query" && in != "header") {
        out.push_back(name + ": parameter " + pname + " has in: " + short_dump(p->value("in", json(nullptr))));
      }
      if (!p->contains("schema")) {
        out.push_back(name + ": parameter " + pname + " has no schema");
      } else {
        lint_schema((*p)["schema"], name + " parameter " + pname, 0, out);
      }
      if (in == "path") {
        declared.insert(pname);
        if (!flag(*p, "required")) {
          out.push_back(name + ": path parameter " + pname + " must be required");
        }
      }
    }
    const auto names = path_names(op.path);
    const std::set<std::string> in_path(names.begin(), names.end());
    for (const auto& n : in_path) {
      if (!declared.contains(n)) out.push_back(name + ": path parameter {" + n + "} not declared");
    }
    for (const auto& n : declared) {
      if (!in_path.contains(n)) out.push_back(name + ": parameter " + n + " is not in the path");
    }

    // Request body.
    const bool has_body = node.contains("requestBody");
    if (has_body) {
      std::string problem;
      const json* rb = resolve(node["requestBody"], problem);
      if (rb == nullptr) {
        out.push_back(name + ": requestBody " + problem);
      } else if (!rb->contains("content")) {
        out.push_back(name + ": requestBody without content");
      } else {
        lint_content((*rb)["content"], name + " requestBody", out);
      }
    }

    // Responses.
    const auto& responses = node.contains("responses") ? node["responses"] : json::object();
    if (!responses.is_object() || responses.empty()) out.push_back(name + ": no responses");
    bool success = false;
    for (const auto& [code, r] : responses.items()) {
      int status = 0;
      const auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
      if (ec != std::errc() || ptr != code.data() + code.size() || status < 100 || status > 599) {
        out.push_back(name + ": response key '" + code + "' is not a status");
        continue;
      }
      success = success || (status >= 200 && status < 300);
      std::string problem;
      const json* resolved = resolve(r, problem);
      if (resolved == nullptr) {
        out.push_back(name + " " + code + ": " + problem);
        continue;
      }
      if (!resolved->contains("description")) out.push_back(name + " " + code + ": no description");
      if (resolved->contains("content")) {
        if (no_body_status(status)) {
          out.push_back(name + " " + code + ": a " + code +
                        " answer has no body; the response must declare no content");
        }
        lint_content((*resolved)["content"], name + " " + code, out);
      }
      if (status >= 400) {
        const json* c = resolved->contains("content") ? &(*resolved)["content"] : nullptr;
        const bool error_doc = c != nullptr && c->size() == 1 && c->contains("application/json") &&
                               (*c)["application/json"].value("schema", json::object()) ==
                                   json{{"$ref", "#/components/schemas/Error"}};
        if (!error_doc) {
          out.push_back(name + " " + code +
                        ": an error response must be application/json with the Error schema");
        }
      }
    }
    if (!success) out.push_back(name + ": no 2xx response");
    const auto documents = [&](int s) {
      return std::find(op.statuses.begin(), op.statuses.end(), s) != op.statuses.end();
    };

    // Security fits the access.
    const json& security = has(node, "security") ? node["security"] : at(root, "security");
    const bool api = op.access != "public" && op.access != "agent";
    bool bearer = false;
    if (security.is_array()) {
      for (const auto& req : security) bearer = bearer || (req.is_object() && req.contains("apiToken"));
    }
    if (api) {
      if (!bearer) out.push_back(name + ": an API operation must require the apiToken scheme");
      if (!documents(401)) out.push_back(name + ": an API operation must document 401");
      if (!documents(403)) out.push_back(name + ": an API operation must document 403");
    } else if (!security.is_array() || !security.empty()) {
      out.push_back(name + ": a " + op.access + " operation must declare security: []");
    }
    if (op.access == "agent") {
      if (str(node, "x-patchflow-client-certificate") != "required") {
        out.push_back(name + ": an agent operation must say x-patchflow-client-certificate: required");
      }
      if (!documents(401) || !documents(403)) {
        out.push_back(name + ": an agent operation must document 401 and 403");
      }
    }
    if (has_body && (!documents(400) || !documents(413))) {
      out.push_back(name + ": an operation with a body must document 400 and 413");
    }
  }
};

Document::Document(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

pf::Result<Document> Document::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(Errc::io, "cannot read", file.string());
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxDocumentBytes) {
      return make_error(Errc::invalid_input, "larger than 4 MiB", file.string());
    }
  }
  return parse(text, file.string());
}

pf::Result<Document> Document::parse(const std::string& yaml, std::string_view name) {
  if (yaml.size() > kMaxDocumentBytes) {
    return make_error(Errc::invalid_input, "larger than 4 MiB", std::string(name));
  }
  auto impl = std::make_shared<Impl>();
  impl->source = name;
  try {
    std::size_t nodes = 0;
    auto root = to_json(YAML::Load(yaml), 0, nodes);
    if (!root) return make_error(Errc::invalid_input, root.error().message, std::string(name));
    impl->root = std::move(*root);
  } catch (const YAML::Exception& e) {
    return make_error(Errc::invalid_input,
                      "not YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")",
                      std::string(name));
  }
  const json& root = impl->root;
  if (!root.is_object() || !str(root, "openapi").starts_with("3.0.")) {
    return make_error(Errc::invalid_input, "not an OpenAPI 3.0 document", std::string(name));
  }
  if (!root.contains("paths") || !root["paths"].is_object()) {
    return make_error(Errc::invalid_input, "no paths", std::string(name));
  }
  for (const auto& [path, item] : root["paths"].items()) {
    if (!item.is_object()) {
      return make_error(Errc::invalid_input, "path item is not a mapping", std::string(name) + ": " + path);
    }
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.contains(method)) continue;
      if (!op.is_object()) {
        return make_error(Errc::invalid_input, "operation is not a mapping",
                          std::string(name) + ": " + method + " " + path);
      }
      Operation o;
      o.method = upper(method);
      o.path = path;
      o.access = str(op, "x-patchflow-access");
      o.summary = str(op, "summary");
      if (op.contains("responses") && op["responses"].is_object()) {
        for (const auto& [code, r] : op["responses"].items()) {
          int status = 0;
          const auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
          if (ec == std::errc() && ptr == code.data() + code.size()) o.statuses.push_back(status);
        }
      }
      impl->operations.push_back(std::move(o));
    }
  }
  return Document(std::move(impl));
}

const std::vector<Operation>& Document::operations() const { return impl_->operations; }

const Operation* Document::find(std::string_view method, std::string_view path) const {
  for (const auto& op : impl_->operations) {
    if (op.method == method && op.path == path) return &op;
  }
  return nullptr;
}

std::vector<std::string> Document::lint() const {
  return guarded("openapi", [&]() -> std::vector<std::string> {
    std::vector<std::string> out;
    const json& root = impl_->root;
    impl_->lint_refs(root, "#", 0, out);
    const json& schemes = root.value("components", json::object()).value("securitySchemes", json::object());
    if (!schemes.contains("apiToken") || schemes["apiToken"].value("type", "") != "http" ||
        schemes["apiToken"].value("scheme", "") != "bearer") {
      out.push_back("components.securitySchemes.apiToken must be an http bearer scheme");
    }
    const json& schemas = root.value("components", json::object()).value("schemas", json::object());
    if (!schemas.contains("Error")) out.push_back("components.schemas.Error is missing");
    for (const auto& [name, schema] : schemas.items()) {
      impl_->lint_schema(schema, "components.schemas." + name, 0, out);
    }
    std::set<std::string> ids;
    for (const auto& op : impl_->operations) {
      impl_->lint_operation(op, *impl_->operation_node(op.method, op.path), ids, out);
    }
    return out;
  });
}

std::vector<std::string> Document::check_response(std::string_view method, std::string_view path,
                                                   int status, std::string_view content_type,
                                                   std::string_view body) const {
  return guarded("openapi", [&]() -> std::vector<std::string> {
    const std::string name =
        std::string(method) + " " + std::string(path) + " → " + std::to_string(status);
    std::vector<std::string> out;
    const json* op = impl_->operation_node(method, path);
    if (op == nullptr) return {name + ": the operation is not in the document"};
    const json& responses = op->value("responses", json::object());
    const std::string code = std::to_string(status);
    const json* response = responses.contains(code) ? &responses[code]
                           : responses.contains("default") ? &responses["default"]
                                                           : nullptr;
    if (response == nullptr) {
      std::string listed;
      for (const auto& [k, v] : responses.items()) listed += (listed.empty() ? "" : ", ") + k;
      return {name + ": status not documented (documented: " + listed + ")"};
    }
    std::string problem;
    response = impl_->resolve(*response, problem);
    if (response == nullptr) return {name + ": " + problem};
    // 204 and 304 never carry a body (RFC 9110): nothing to validate but its absence, whatever
    // content type the answer names; a document declaring content for them is wrong.
    if (no_body_status(status)) {
      if (!body.empty()) out.push_back(name + ": a body in a " + code + " answer");
      if (response->contains("content")) {
        out.push_back(name + ": the document declares content for a " + code + " answer");
      }
      return out;
    }
    if (!response->contains("content")) {
      if (!body.empty()) out.push_back(name + ": a body where the document declares none");
      return out;
    }
    std::string media(content_type.substr(0, content_type.find(';')));
    while (!media.empty() && media.back() == ' ') media.pop_back();
    media = lower(media);
    const json& content = (*response)["content"];
    if (!content.contains(media)) {
      std::string listed;
      for (const auto& [k, v] : content.items()) listed += (listed.empty() ? "" : ", ") + k;
      return {name + ": content type '" + media + "', the document says " + listed};
    }
    const json& schema = content[media].value("schema", json::object());
    if (media == "application/json") {
      const json doc = json::parse(body, nullptr, false);
      if (doc.is_discarded()) return {name + ": the body is not JSON: " + std::string(body.substr(0, 80))};
      impl_->validate(schema, doc, "$", 0, out);
    } else {
      impl_->validate(schema, json(std::string(body)), "$", 0, out);
    }
    for (auto& p : out) p = name + ": " + p;
    return out;
  });
}

std::vector<std::string> Document::check_request(std::string_view method, std::string_view path,
                                                  std::string_view query,
                                                  const nlohmann::json& body) const {
  return guarded("openapi", [&]() -> std::vector<std::string> {
    const std::string name = std::string(method) + " " + std::string(path) + " request";
    std::vector<std::string> out;
    const json* op = impl_->operation_node(method, path);
    if (op == nullptr) return {name + ": the operation is not in the document"};
    std::vector<std::string> problems;
    const auto params = impl_->parameters(path, *op, problems);
    for (auto& p : problems) out.push_back(name + ": " + p);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view item = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (item.empty()) continue;
      const auto eq = item.find('=');
      const std::string key = percent_decode(item.substr(0, eq));
      const std::string value = eq == std::string_view::npos ? "" : percent_decode(item.substr(eq + 1));
      const json* param = nullptr;
      for (const json* p : params) {
        if (str(*p, "in") == "query" && str(*p, "name") == key) param = p;
      }
      if (param == nullptr) {
        out.push_back(name + ": query parameter '" + key + "' is not documented");
        continue;
      }
      std::string problem;
      const json* schema = impl_->resolve(at(*param, "schema"), problem);
      if (schema == nullptr) {
        out.push_back(name + ": query parameter '" + key + "': " + problem);
        continue;
      }
      const json* item_schema = schema;
      if (str(*schema, "type") == "array") {
        item_schema = impl_->resolve(at(*schema, "items"), problem);
        if (item_schema == nullptr) {
          out.push_back(name + ": query parameter '" + key + "': " + problem);
          continue;
        }
      }
      // Query values are text: read them as the schema's type says.
      json typed = value;
      const std::string type = str(*item_schema, "type");
      if (type == "integer") {
        std::int64_t i = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), i);
        if (ec == std::errc() && ptr == value.data() + value.size() && !value.empty()) typed = i;
      } else if (type == "boolean" && (value == "true" || value == "false")) {
        typed = value == "true";
      }
      std::vector<std::string> v;
      impl_->validate(*item_schema, typed, "?" + key, 0, v);
      for (auto& p : v) out.push_back(name + ": " + p);
    }
    if (!op->contains("requestBody")) {
      if (!body.is_null()) out.push_back(name + ": a body, but the operation takes none");
      return out;
    }
    std::string problem;
    const json* rb = impl_->resolve((*op)["requestBody"], problem);
    if (rb == nullptr) return {name + ": requestBody " + problem};
    if (body.is_null()) {
      if (flag(*rb, "required")) out.push_back(name + ": the body is required");
      return out;
    }
    const json& content = rb->value("content", json::object());
    if (!content.contains("application/json")) {
      out.push_back(name + ": the operation takes no JSON body");
      return out;
    }
    std::vector<std::string> v;
    impl_->validate(content["application/json"].value("schema", json::object()), body, "$", 0, v);
    for (auto& p : v) out.push_back(name + ": " + p);
    return out;
  });
}

std::vector<std::string> Document::check_schema(std::string_view name,
                                                const nlohmann::json& value) const {
  return guarded("openapi", [&]() -> std::vector<std::string> {
    const json ref = {{"$ref", "#/components/schemas/" + std::string(name)}};
    std::vector<std::string> out;
    impl_->validate(ref, value, "$", 0, out);
    return out;
  });
}

}  // namespace pf::testing::openapi
