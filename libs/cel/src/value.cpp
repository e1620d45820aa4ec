// SPDX-License-Identifier: Apache-2.0
#include "patchflow/cel/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "patchflow/cel/types.hpp"

namespace pf::cel {

namespace {

std::string format_double(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Infinity" : "-Infinity";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string text(buf, res.ptr);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

void quote(std::string& out, const std::string& s) {
  out += '\'';
  for (const char c : s) {
    switch (c) {
      case '\'': out += "\\'"; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += hex;
        } else {
          out += c;
        }
    }
  }
  out += '\'';
}

// Appends v's text to out, stopping once out is longer than limit.
void append(std::string& out, const Value& v, std::size_t limit) {
  if (out.size() > limit) return;
  if (v.is_null()) {
    out += "null";
  } else if (const bool* b = v.as_bool()) {
    out += *b ? "true" : "false";
  } else if (const std::int64_t* i = v.as_int()) {
    out += std::to_string(*i);
  } else if (const double* d = v.as_double()) {
    out += format_double(*d);
  } else if (const std::string* s = v.as_string()) {
    quote(out, *s);
  } else if (const Value::List* l = v.as_list()) {
    out += '[';
    bool first = true;
    for (const Value& e : *l) {
      if (out.size() > limit) return;
      if (!first) out += ", ";
      first = false;
      append(out, e, limit);
    }
    out += ']';
  } else if (const Value::Map* m = v.as_map()) {
    out += '{';
    bool first = true;
    for (const auto& [k, e] : *m) {
      if (out.size() > limit) return;
      if (!first) out += ", ";
      first = false;
      quote(out, k);
      out += ": ";
      append(out, e, limit);
    }
    out += '}';
  }
}

}  // namespace

const char* Value::kind_name() const noexcept {
  switch (data_.index()) {
    case 0: return "null";
    case 1: return "bool";
    case 2: return "int";
    case 3: return "double";
    case 4: return "string";
    case 5: return "list";
    default: return "map";
  }
}

std::string Value::to_string(std::size_t max_chars) const {
  std::string out;
  append(out, *this, max_chars);
  if (out.size() > max_chars) {
    // Cut on a character boundary (never inside a UTF-8 sequence).
    std::size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "…";
  }
  return out;
}

std::string Type::to_string() const {
  switch (kind) {
    case TypeKind::null: return "null";
    case TypeKind::boolean: return "bool";
    case TypeKind::integer: return "int";
    case TypeKind::floating: return "double";
    case TypeKind::string: return "string";
    case TypeKind::dyn: return "dyn";
    case TypeKind::object: return name;
    case TypeKind::list: return "list(" + params.at(0).to_string() + ")";
    case TypeKind::map:
      return "map(" + params.at(0).to_string() + ", " + params.at(1).to_string() + ")";
  }
  return "?";
}

}  // namespace pf::cel
