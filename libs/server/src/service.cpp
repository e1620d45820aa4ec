// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the handlers: errors, JSON field readers, documents.
#include <openssl/rand.h>

#include "patchflow/auth/labels.hpp"
#include "service.hpp"

namespace pf::server {

std::optional<std::string> Call::query_value(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Call::query_values(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == key) out.push_back(v);
  }
  return out;
}

std::string_view default_code(int status) noexcept {
  switch (status) {
    case 400: return "invalid_request";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 431: return "headers_too_large";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "invalid_request";
  }
}

tl::unexpected<ApiError> fail(int status, std::string code, std::string message,
                              std::string field) {
  return tl::unexpected(ApiError{status, std::move(code), std::move(message), std::move(field)});
}

tl::unexpected<ApiError> invalid(std::string message, std::string field) {
  return fail(400, "invalid_request", std::move(message), std::move(field));
}

tl::unexpected<ApiError> from_error(Service& svc, const Call& call, const Error& error) {
  struct Mapping {
    Errc code;
    int status;
    std::string_view api_code;
    bool store_failure;  // counted, logged, details withheld
  };
  static constexpr Mapping kTable[] = {
      {Errc::invalid_input, 400, "invalid_request", false},
      {Errc::not_found, 404, "not_found", false},
      {Errc::conflict, 409, "conflict", false},
      {Errc::lock_held, 503, "unavailable", true},
      {Errc::interrupted, 503, "unavailable", false},
      {Errc::timeout, 503, "unavailable", true},
      {Errc::backend_failed, 500, "internal", true},
      {Errc::io, 500, "internal", true},
  };
  Mapping m{Errc::io, 500, "internal", true};
  for (const auto& row : kTable) {
    if (row.code == error.code) m = row;
  }
  if (m.store_failure) {
    svc.metrics.store_error();
    svc.log->error("store call failed", {{"request_id", call.request_id},
                                         {"route", call.path},
                                         {"error", to_string(error)}});
    return fail(m.status, std::string(m.api_code),
                m.status == 503 ? "the store is busy; retry (request " + call.request_id + ")"
                                : "internal error (request " + call.request_id + ")");
  }
  return fail(m.status, std::string(m.api_code), error.message, error.where);
}

std::string error_body(const ApiError& e) {
  json doc = {{"error", {{"code", e.code}, {"message", e.message}, {"field", e.field}}}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

Reply json_reply(const json& doc, int status) {
  return Reply{status, doc.dump(-1, ' ', false, json::error_handler_t::replace),
               "application/json"};
}

std::string join_path(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

namespace {

std::string_view type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::discarded: return "nothing";
    default: return "a number";
  }
}

}  // namespace

Expect<void> only_keys(const json& obj, std::string_view path,
                       std::initializer_list<std::string_view> allowed) {
  if (!obj.is_object()) {
    return invalid("expected a JSON object, got " + std::string(type_name(obj)),
                   path.empty() ? "body" : std::string(path));
  }
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known) {
      std::string names;
      for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      return invalid("unknown field (expected " + names + ")", join_path(path, key.substr(0, 64)));
    }
  }
  return {};
}

Expect<const json*> object_field(const json& obj, std::string_view key, std::string_view path,
                                 bool required) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return invalid("missing", join_path(path, key));
    return nullptr;
  }
  if (!it->is_object()) {
    return invalid("expected an object, got " + std::string(type_name(*it)), join_path(path, key));
  }
  return &*it;
}

Expect<std::optional<std::string>> string_field(const json& obj, std::string_view key,
                                                std::string_view path, bool required,
                                                std::size_t max_bytes) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return invalid("missing", join_path(path, key));
    return std::nullopt;
  }
  if (!it->is_string()) {
    return invalid("expected a string, got " + std::string(type_name(*it)), join_path(path, key));
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    return invalid("longer than " + std::to_string(max_bytes) + " bytes", join_path(path, key));
  }
  if (s.find('\0') != std::string::npos) return invalid("contains a NUL", join_path(path, key));
  return s;
}

Expect<std::optional<bool>> bool_field(const json& obj, std::string_view key,
                                       std::string_view path) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) {
    return invalid("expected true or false, got " + std::string(type_name(*it)),
                   join_path(path, key));
  }
  return it->get<bool>();
}

Expect<std::vector<std::string>> string_list_field(const json& obj, std::string_view key,
                                                   std::string_view path, std::size_t max_items,
                                                   std::size_t max_bytes) {
  std::vector<std::string> out;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  const std::string where = join_path(path, key);
  if (!it->is_array()) {
    return invalid("expected an array of strings, got " + std::string(type_name(*it)), where);
  }
  if (it->size() > max_items) {
    return invalid("more than " + std::to_string(max_items) + " items", where);
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!v.is_string()) return invalid("expected a string", at);
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > max_bytes) return invalid("longer than " + std::to_string(max_bytes), at);
    out.push_back(s);
  }
  return out;
}

Expect<store::Labels> labels_field(const json& obj, std::string_view key, std::string_view path) {
  store::Labels out;
  auto o = object_field(obj, key, path, false);
  if (!o) return tl::unexpected(o.error());
  if (*o == nullptr) return out;
  const std::string where = join_path(path, key);
  if ((*o)->size() > auth::kMaxLabels) {
    return invalid("more than " + std::to_string(auth::kMaxLabels) + " labels", where);
  }
  for (const auto& [k, v] : (*o)->items()) {
    if (!v.is_string()) return invalid("label values are strings", join_path(where, k.substr(0, 64)));
    const auto& value = v.get_ref<const std::string&>();
    if (auto ok = auth::check_label(k, value, where); !ok) {
      return invalid(ok.error().message, join_path(where, k.substr(0, 64)));
    }
    out.emplace(k, value);
  }
  return out;
}

json time_or_null(const std::optional<std::int64_t>& t) {
  return t ? json(rfc3339(*t)) : json(nullptr);
}

json host_summary(const store::Host& h) {
  return {{"id", h.id},
          {"name", h.name},
          {"labels", h.labels},
          {"os", {{"id", h.os_id}, {"version_id", h.os_version_id}}},
          {"ecosystem", h.ecosystem},
          {"arch", h.arch},
          {"kernel_release", h.kernel_release},
          {"reboot_required", h.reboot_required},
          {"last_seen", h.last_seen > 0 ? json(rfc3339(h.last_seen)) : json(nullptr)},
          {"enrolled_at", rfc3339(h.enrolled_at)},
          {"revoked_at", time_or_null(h.revoked_at)},
          {"findings",
           {{"open", h.open_findings},
            {"max_severity",
             h.max_severity >= 0
                 ? json(advisories::severity_name(static_cast<advisories::Severity>(h.max_severity)))
                 : json(nullptr)}}},
          {"pending_runs", h.pending_runs}};
}

json host_detail(const store::Host& h, const std::vector<inventory::Package>& packages,
                 const std::vector<store::AvailableUpdate>& updates) {
  json doc = host_summary(h);
  doc["boot_id"] = h.boot_id;
  doc["criticality"] = h.criticality;
  doc["reboot"] = {{"required", h.reboot_required}, {"reasons", h.reboot_reasons}};
  doc["certificate"] = {{"fingerprint", h.cert_fingerprint},
                        {"not_after", rfc3339(h.cert_not_after)}};
  doc["inventory_hash"] = h.inventory_hash;
  json pkgs = json::array();
  for (const auto& p : packages) {
    pkgs.push_back({{"name", p.name},
                    {"arch", p.arch},
                    {"version", p.version},
                    {"source", p.source_name},
                    {"source_version", p.source_version}});
  }
  json ups = json::array();
  for (const auto& u : updates) {
    ups.push_back({{"name", u.name},
                   {"arch", u.arch},
                   {"installed_version", u.installed_version},
                   {"candidate_version", u.candidate_version},
                   {"origin", u.origin},
                   {"security", u.security},
                   {"advisories", u.advisories},
                   {"held_reason", u.held_reason}});
  }
  doc["packages"] = std::move(pkgs);
  doc["updates"] = std::move(ups);
  return doc;
}

json user_doc(const store::User& u) {
  return {{"name", u.name},
          {"role", u.role},
          {"disabled", u.disabled},
          {"has_password", !u.password_hash.empty()},
          {"created_at", rfc3339(u.created_at)}};
}

json api_token_doc(const store::ApiToken& t, std::int64_t now) {
  std::string state = "active";
  if (t.revoked_at) {
    state = "revoked";
  } else if (t.expires_at && *t.expires_at <= now) {
    state = "expired";
  }
  return {{"token_id", t.token_id},
          {"user", t.user},
          {"role", t.role},
          {"state", state},
          {"created_at", rfc3339(t.created_at)},
          {"expires_at", time_or_null(t.expires_at)},
          {"revoked_at", time_or_null(t.revoked_at)},
          {"last_used_at", time_or_null(t.last_used_at)}};
}

json enrollment_token_doc(const store::EnrollmentToken& t, std::int64_t now) {
  std::string state = "unused";
  if (t.used_at) {
    state = "used";
  } else if (t.expires_at <= now) {
    state = "expired";
  }
  return {{"token_id", t.token_id},
          {"labels", t.labels},
          {"state", state},
          {"created_by", t.created_by},
          {"created_at", rfc3339(t.created_at)},
          {"expires_at", rfc3339(t.expires_at)},
          {"used_at", time_or_null(t.used_at)},
          {"used_by_host", t.used_by_host ? json(*t.used_by_host) : json(nullptr)}};
}

Result<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    return make_error(Errc::io, "no random bytes (RAND_bytes failed)");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : buf) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace pf::server
