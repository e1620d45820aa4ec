// SPDX-License-Identifier: Apache-2.0
// The health snapshot as JSON (the agent's journal keeps it across a reboot).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include "health_probe.hpp"
#include "patchflow/agent/health.hpp"

namespace pf::agent::health {

namespace {

using json = nlohmann::json;

// Text for dump(): invalid UTF-8 (a process name may hold any byte) becomes U+FFFD instead of
// an exception.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The deepest nesting of arrays and objects, found without building anything; stops early
// past `limit`. Strings are skipped with their escapes.
std::size_t nesting_depth(std::string_view text, std::size_t limit, std::size_t& at) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) {
        at = i + 1;  // 1-based, as nlohmann counts bytes
        return deepest;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

class Reader {
 public:
  explicit Reader(const JsonLimits& limits) : limits_(limits) {}

  const json* member(const json& obj, const char* key, const std::string& path) {
    const auto it = obj.find(key);
    if (it == obj.end()) {
      fail(path.empty() ? key : path + "." + key, "missing");
      return nullptr;
    }
    return &*it;
  }

  bool string(const json& obj, const char* key, const std::string& path, std::string& out) {
    const json* v = member(obj, key, path);
    if (v == nullptr) return false;
    return string_value(*v, join(path, key), out);
  }

  bool string_value(const json& v, const std::string& where, std::string& out) {
    if (!v.is_string()) return fail(where, "must be a string");
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > limits_.max_string) {
      return fail(where, "longer than " + std::to_string(limits_.max_string) + " bytes");
    }
    out = s;
    return true;
  }

  bool boolean(const json& obj, const char* key, const std::string& path, bool& out) {
    const json* v = member(obj, key, path);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return fail(join(path, key), "must be true or false");
    out = v->get<bool>();
    return true;
  }

  bool integer(const json& obj, const char* key, const std::string& path, std::int64_t min,
               std::int64_t max, std::int64_t& out) {
    const json* v = member(obj, key, path);
    if (v == nullptr) return false;
    const std::string where = join(path, key);
    if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max)) return fail(where, range(min, max));
      out = static_cast<std::int64_t>(u);
      return true;
    }
    if (!v->is_number_integer()) return fail(where, "must be an integer");
    out = v->get<std::int64_t>();
    if (out < min || out > max) return fail(where, range(min, max));
    return true;
  }

  const json* array(const json& obj, const char* key, const std::string& path) {
    const json* v = member(obj, key, path);
    if (v == nullptr) return nullptr;
    const std::string where = join(path, key);
    if (!v->is_array()) {
      fail(where, "must be an array");
      return nullptr;
    }
    if (v->size() > limits_.max_items) {
      fail(where, "more than " + std::to_string(limits_.max_items) + " items");
      return nullptr;
    }
    return v;
  }

  bool strings(const json& obj, const char* key, std::vector<std::string>& out) {
    const json* v = array(obj, key, "");
    if (v == nullptr) return false;
    out.clear();
    out.reserve(v->size());
    for (std::size_t i = 0; i < v->size(); ++i) {
      std::string s;
      if (!string_value((*v)[i], std::string(key) + "[" + std::to_string(i) + "]", s)) {
        return false;
      }
      if (s.empty()) return fail(std::string(key) + "[" + std::to_string(i) + "]", "is empty");
      out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return true;
  }

  bool fail(const std::string& where, const std::string& why) {
    if (!error_) error_ = Error{Errc::invalid_input, "snapshot JSON: " + why, where};
    return false;
  }

  [[nodiscard]] const Error& error() const { return *error_; }

 private:
  static std::string join(const std::string& path, const char* key) {
    return path.empty() ? std::string(key) : path + "." + key;
  }
  static std::string range(std::int64_t min, std::int64_t max) {
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
  }

  const JsonLimits& limits_;
  std::optional<Error> error_;
};

// At most 10 years, far beyond any timeout, and small enough for every arithmetic on it.
constexpr std::int64_t kMaxLatencyMs = std::int64_t{10} * 366 * 24 * 3600 * 1000;

}  // namespace

std::string to_json(const Snapshot& s) {
  json probes = json::array();
  for (const auto& p : s.probes) {
    probes.push_back({{"name", p.name},
                      {"ok", p.ok},
                      {"code", p.code},
                      {"latency_ms", p.latency.count()},
                      {"detail", p.detail}});
  }
  const json doc = {{"taken_at", s.taken_at},
                    {"listening", s.listening},
                    {"systemd", s.systemd},
                    {"services_running", s.services_running},
                    {"failed_units", s.failed_units},
                    {"processes", s.processes},
                    {"probes", std::move(probes)}};
  return dump(doc);
}

std::string to_json(std::span<const Regression> regressions) {
  json out = json::array();
  for (const auto& r : regressions) {
    out.push_back({{"kind", r.kind}, {"subject", r.subject}, {"detail", r.detail}});
  }
  return dump(out);
}

Result<Snapshot> snapshot_from_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error(Errc::invalid_input,
                      "snapshot JSON is larger than the limit of " +
                          std::to_string(limits.max_bytes) + " bytes",
                      "snapshot");
  }
  std::size_t deep_at = 0;
  if (nesting_depth(text, limits.max_depth, deep_at) > limits.max_depth) {
    return make_error(Errc::invalid_input,
                      "snapshot JSON is nested deeper than " + std::to_string(limits.max_depth) +
                          " levels",
                      "byte " + std::to_string(deep_at));
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return make_error(Errc::invalid_input, std::string("snapshot JSON: ") + e.what(),
                      "byte " + std::to_string(e.byte));
  }
  if (!doc.is_object()) {
    return make_error(Errc::invalid_input, "snapshot JSON must be an object", "snapshot");
  }
  Reader r(limits);
  Snapshot s;
  const json* probes = nullptr;
  const bool ok = r.string(doc, "taken_at", "", s.taken_at) &&
                  r.strings(doc, "listening", s.listening) &&
                  r.boolean(doc, "systemd", "", s.systemd) &&
                  r.strings(doc, "services_running", s.services_running) &&
                  r.strings(doc, "failed_units", s.failed_units) &&
                  r.strings(doc, "processes", s.processes) &&
                  (probes = r.array(doc, "probes", "")) != nullptr;
  if (!ok) return tl::unexpected(r.error());
  std::set<std::string> names;
  s.probes.reserve(probes->size());
  for (std::size_t i = 0; i < probes->size(); ++i) {
    const json& p = (*probes)[i];
    const std::string path = "probes[" + std::to_string(i) + "]";
    if (!p.is_object()) {
      r.fail(path, "must be an object");
      return tl::unexpected(r.error());
    }
    ProbeResult pr;
    std::int64_t code = 0;
    std::int64_t latency = 0;
    if (!(r.string(p, "name", path, pr.name) && r.boolean(p, "ok", path, pr.ok) &&
          r.integer(p, "code", path, std::numeric_limits<int>::min(),
                    std::numeric_limits<int>::max(), code) &&
          r.integer(p, "latency_ms", path, 0, kMaxLatencyMs, latency) &&
          r.string(p, "detail", path, pr.detail))) {
      return tl::unexpected(r.error());
    }
    if (pr.name.empty()) {
      r.fail(path + ".name", "is empty");
      return tl::unexpected(r.error());
    }
    if (!names.insert(pr.name).second) {
      r.fail(path + ".name", "a probe of this name is already listed");
      return tl::unexpected(r.error());
    }
    pr.code = static_cast<int>(code);
    pr.latency = std::chrono::milliseconds(latency);
    s.probes.push_back(std::move(pr));
  }
  return s;
}

}  // namespace pf::agent::health
