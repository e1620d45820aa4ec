// SPDX-License-Identifier: Apache-2.0
// The operator API (/api/v1): hosts and their findings, advisories, enrollment tokens, API
// tokens, users, the audit log.
// Bodies are strict (an unknown field is an error naming it). Every change is audited in the
// transaction that makes it, with actor = the calling token's user. docs/api.md.
#include <algorithm>
#include <charconv>
#include <set>

#include "patchflow/auth/duration.hpp"
#include "patchflow/auth/labels.hpp"
#include "patchflow/auth/password.hpp"
#include "patchflow/auth/token.hpp"
#include "patchflow/core/ranked.hpp"
#include "patchflow/store/advisory_store.hpp"
#include "findings_updater.hpp"
#include "service.hpp"

namespace pf::server {
namespace {

Expect<int> limit_param(const Call& call, int fallback) {
  auto text = call.query_value("limit");
  if (!text) return fallback;
  int n = 0;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (text->empty() || ec != std::errc() || ptr != text->data() + text->size() || n < 1 ||
      n > store::kMaxPageSize) {
    return invalid("limit must be 1.." + std::to_string(store::kMaxPageSize), "limit");
  }
  return n;
}

Expect<bool> bool_param(const Call& call, std::string_view key) {
  auto v = call.query_value(key);
  if (!v || *v == "false" || *v == "0") return false;
  if (*v == "true" || *v == "1" || v->empty()) return true;
  return invalid("expected true or false", std::string(key));
}

const Principal& who(const Call& call) { return *call.principal; }

store::AuditEntry audit(const Call& call, std::string action, std::string target,
                        const json& before, const json& after) {
  return store::AuditEntry{who(call).user,
                           std::move(action),
                           std::move(target),
                           before.is_null() ? "" : before.dump(),
                           after.is_null() ? "" : after.dump(),
                           call.now};
}

Expect<std::chrono::seconds> duration_field(const json& body, std::string_view key,
                                            std::optional<std::string_view> fallback) {
  auto text = string_field(body, key, "", false, 64);
  if (!text) return tl::unexpected(text.error());
  if (!*text && !fallback) return std::chrono::seconds(0);
  auto d = auth::parse_duration(text->value_or(std::string(fallback.value_or(""))), key);
  if (!d) return invalid(d.error().message, std::string(key));
  return *d;
}

Expect<store::User> find_user(Service& svc, const Call& call, store::FleetStore& s,
                              const std::string& name, const std::string& field) {
  auto u = s.user(name);
  if (!u) return from_error(svc, call, u.error());
  if (!*u) return fail(404, "not_found", "no user '" + name.substr(0, 64) + "'", field);
  return std::move(**u);
}

Expect<std::optional<advisories::Severity>> severity_param(const Call& call) {
  auto text = call.query_value("severity");
  if (!text) return std::nullopt;
  if (text->size() > 32) return invalid("too long", "severity");
  auto s = advisories::severity_from_name(*text);
  if (!s) return invalid("expected negligible, low, medium, high or critical", "severity");
  return *s;
}

// The advisory's severity for filtering: the highest of its own and its entries' (in
// `ecosystem` when given; Debian gives severity per package).
advisories::Severity effective_severity(const advisories::Advisory& a,
                                        std::string_view ecosystem) {
  auto s = a.severity;
  for (const auto& e : a.affected) {
    if (ecosystem.empty() || e.ecosystem == ecosystem) s = std::max(s, e.severity);
  }
  return s;
}

json advisory_doc(const advisories::Advisory& a, advisories::Severity severity, bool kev,
                  std::string_view ecosystem) {
  json affected = json::array();
  for (const auto& e : a.affected) {
    if (!ecosystem.empty() && e.ecosystem != ecosystem) continue;
    const auto fixed = e.fixed_version();
    affected.push_back(
        {{"ecosystem", e.ecosystem},
         {"package", e.package},
         {"package_kind", e.package_kind == advisories::PackageKind::source ? "source" : "binary"},
         {"severity", advisories::severity_name(e.severity)},
         {"fixed_version", fixed ? json(std::string(*fixed)) : json(nullptr)}});
  }
  return {{"id", a.id},
          {"severity", advisories::severity_name(severity)},
          {"summary", a.summary},
          {"cves", a.cves},
          {"kev", kev},
          {"published", a.published ? json(rfc3339(a.published)) : json(nullptr)},
          {"modified", a.modified ? json(rfc3339(a.modified)) : json(nullptr)},
          {"source", a.source},
          {"affected", std::move(affected)}};
}

}  // namespace

json finding_doc(const ranked::Finding& f) {
  json parts = json::array();
  for (const auto& p : f.score.parts) {
    parts.push_back({{"name", p.name}, {"value", p.value}, {"weight", p.weight},
                     {"contribution", p.contribution}});
  }
  return {{"advisory_id", f.advisory_id},
          {"package", f.package},
          {"source_package", f.source_package},
          {"arch", f.arch},
          {"installed_version", f.installed_version},
          {"fixed_version", f.fixed_version ? json(*f.fixed_version) : json(nullptr)},
          {"last_affected", f.last_affected ? json(*f.last_affected) : json(nullptr)},
          {"severity", advisories::severity_name(f.severity)},
          {"cves", f.cves},
          {"kev", f.kev},
          {"epss", f.epss ? json(*f.epss) : json(nullptr)},
          {"cvss", f.cvss ? json(*f.cvss) : json(nullptr)},
          {"risk", f.score.value},
          {"risk_parts", std::move(parts)}};
}

Outcome whoami(Service&, Call& call) {
  const auto& p = who(call);
  return json_reply(
      {{"user", p.user}, {"role", std::string(auth::to_string(p.role))}, {"token_id", p.token_id}});
}

Outcome list_hosts(Service& svc, Call& call) {
  store::HostQuery q;
  for (const auto& l : call.query_values("label")) {
    const auto eq = l.find('=');
    if (eq == std::string::npos) return invalid("expected label=key=value", "label");
    const std::string key = l.substr(0, eq);
    const std::string value = l.substr(eq + 1);
    if (auto ok = auth::check_label(key, value, "label"); !ok) {
      return invalid(ok.error().message, "label");
    }
    if (q.labels.contains(key)) return invalid("label '" + key + "' given twice", "label");
    q.labels.emplace(key, value);
  }
  q.ecosystem = call.query_value("ecosystem").value_or("");
  q.name_prefix = call.query_value("name_prefix").value_or("");
  auto limit = limit_param(call, 100);
  if (!limit) return tl::unexpected(limit.error());
  q.limit = *limit;
  q.cursor = call.query_value("cursor").value_or("");
  auto revoked = bool_param(call, "include_revoked");
  if (!revoked) return tl::unexpected(revoked.error());
  q.include_revoked = *revoked;
  auto min_severity = severity_param(call);
  if (!min_severity) return tl::unexpected(min_severity.error());
  if (*min_severity) q.min_severity = static_cast<int>(**min_severity);
  if (auto ok = store::validate_host_query(q); !ok) {
    return invalid(ok.error().message, ok.error().where);
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto page = (*lease)->list_hosts(q);
  if (!page) return from_error(svc, call, page.error());
  json hosts = json::array();
  for (const auto& h : page->hosts) hosts.push_back(host_summary(h));
  return json_reply({{"hosts", std::move(hosts)}, {"next_cursor", page->next_cursor}});
}

Outcome get_host(Service& svc, Call& call) {
  const std::string& id = call.param("id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto host = (*lease)->host(id);
  if (!host) return from_error(svc, call, host.error());
  if (!*host) return fail(404, "not_found", "no host with this id", "id");
  auto packages = (*lease)->packages(id);
  if (!packages) return from_error(svc, call, packages.error());
  auto updates = (*lease)->updates(id);
  if (!updates) return from_error(svc, call, updates.error());
  return json_reply(host_detail(**host, *packages, *updates));
}

Outcome list_advisories(Service& svc, Call& call) {
  const std::string ecosystem = call.query_value("ecosystem").value_or("");
  if (ecosystem.size() > 128) return invalid("too long", "ecosystem");
  auto min_severity = severity_param(call);
  if (!min_severity) return tl::unexpected(min_severity.error());
  auto kev_only = bool_param(call, "kev");
  if (!kev_only) return tl::unexpected(kev_only.error());
  auto limit = limit_param(call, 100);
  if (!limit) return tl::unexpected(limit.error());
  const std::string cursor = call.query_value("cursor").value_or("");
  if (cursor.size() > 512) return invalid("too long", "cursor");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  store::AdvisoryStore* const store = &lease->advisories();
  auto all = store->advisories(ecosystem);  // ordered by id
  if (!all) return from_error(svc, call, all.error());

  struct Candidate {
    const advisories::Advisory* advisory;
    advisories::Severity severity;
  };
  std::vector<Candidate> candidates;
  for (const auto& a : *all) {
    if (!cursor.empty() && a.id <= cursor) continue;
    const auto s = effective_severity(a, ecosystem);
    if (*min_severity && s < **min_severity) continue;
    candidates.push_back({&a, s});
  }
  // KEV is a property of CVE records: look them up a chunk of advisories at a time until the
  // page (and one more, to know whether there is a next) is full.
  constexpr std::size_t kChunk = 500;
  const auto want = static_cast<std::size_t>(*limit) + 1;
  json page = json::array();
  std::string last_id;
  bool more = false;
  for (std::size_t i = 0; i < candidates.size() && !more; i += kChunk) {
    const auto end = std::min(candidates.size(), i + kChunk);
    std::vector<std::string> ids;
    for (std::size_t j = i; j < end; ++j) {
      const auto& c = candidates[j].advisory->cves;
      ids.insert(ids.end(), c.begin(), c.end());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    auto records = store->cves(ids);
    if (!records) return from_error(svc, call, records.error());
    std::set<std::string, std::less<>> kev;
    for (const auto& r : *records) {
      if (r.kev) kev.insert(r.id);
    }
    for (std::size_t j = i; j < end; ++j) {
      const auto& a = *candidates[j].advisory;
      const bool is_kev = std::any_of(a.cves.begin(), a.cves.end(),
                                      [&](const std::string& id) { return kev.contains(id); });
      if (*kev_only && !is_kev) continue;
      if (page.size() + 1 == want) {
        more = true;
        break;
      }
      page.push_back(advisory_doc(a, candidates[j].severity, is_kev, ecosystem));
      last_id = a.id;
    }
  }
  return json_reply({{"advisories", std::move(page)}, {"next_cursor", more ? last_id : ""}});
}

Outcome host_findings(Service& svc, Call& call) {
  const std::string& id = call.param("id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto host = (*lease)->host(id);
  if (!host) return from_error(svc, call, host.error());
  if (!*host) return fail(404, "not_found", "no host with this id", "id");
  auto packages = (*lease)->packages(id);
  if (!packages) return from_error(svc, call, packages.error());
  store::AdvisoryStore& store = lease->advisories();
  std::vector<advisories::Advisory> known;
  if (!(*host)->ecosystem.empty()) {
    auto a = store.advisories((*host)->ecosystem);
    if (!a) return from_error(svc, call, a.error());
    known = std::move(*a);
  }
  auto found = compute_findings(**host, std::move(*packages), known, store);
  if (!found) return from_error(svc, call, found.error());
  json list = json::array();
  for (const auto& f : *found) list.push_back(finding_doc(f));
  return json_reply({{"host_id", id},
                     {"ecosystem", (*host)->ecosystem},
                     {"advisories", known.size()},
                     {"findings", std::move(list)}});
}

Outcome revoke_host(Service& svc, Call& call) {
  const std::string& id = call.param("id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto host = (*lease)->host(id);
  if (!host) return from_error(svc, call, host.error());
  if (!*host) return fail(404, "not_found", "no host with this id", "id");
  if ((*host)->revoked_at) return fail(409, "conflict", "the host is revoked already", "id");
  json after = host_summary(**host);
  after["revoked_at"] = rfc3339(call.now);
  auto ok = (*lease)->revoke_host(id, call.now,
                                  audit(call, "host.revoke", id, host_summary(**host), after));
  if (!ok) return from_error(svc, call, ok.error());
  svc.log->info("host revoked", {{"request_id", call.request_id}, {"host_id", id},
                                 {"actor", who(call).user}});
  return json_reply({{"id", id}, {"revoked_at", rfc3339(call.now)}});
}

Outcome put_host_labels(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"labels"}); !ok) return tl::unexpected(ok.error());
  if (!call.body.contains("labels")) return invalid("missing", "labels");
  auto labels = labels_field(call.body, "labels", "");
  if (!labels) return tl::unexpected(labels.error());
  const std::string& id = call.param("id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto host = (*lease)->host(id);
  if (!host) return from_error(svc, call, host.error());
  if (!*host) return fail(404, "not_found", "no host with this id", "id");
  auto ok = (*lease)->set_labels(id, *labels,
                                 audit(call, "host.set_labels", id,
                                       json{{"labels", (*host)->labels}},
                                       json{{"labels", *labels}}));
  if (!ok) return from_error(svc, call, ok.error());
  return json_reply({{"id", id}, {"labels", *labels}});
}

Outcome create_enrollment_token(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"expires_in", "labels"}); !ok) {
    return tl::unexpected(ok.error());
  }
  auto expires = duration_field(call.body, "expires_in", "24h");
  if (!expires) return tl::unexpected(expires.error());
  auto labels = labels_field(call.body, "labels", "");
  if (!labels) return tl::unexpected(labels.error());
  auto token = auth::generate_token(auth::TokenKind::enrollment);
  if (!token) return from_error(svc, call, token.error());
  store::EnrollmentToken t;
  t.token_hash = auth::token_hash(*token);
  t.token_id = auth::token_id(*token).value();
  t.labels = *labels;
  t.created_by = who(call).user;
  t.created_at = call.now;
  t.expires_at = call.now + expires->count();
  const json doc = enrollment_token_doc(t, call.now);
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto ok = (*lease)->create_enrollment_token(
      t, audit(call, "enrollment_token.create", t.token_id, nullptr, doc));
  if (!ok) return from_error(svc, call, ok.error());
  json out = doc;
  out["token"] = *token;
  out["ca_fingerprint"] = svc.ca_fingerprint;
  return json_reply(out, 201);
}

Outcome list_enrollment_tokens(Service& svc, Call& call) {
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto tokens = (*lease)->list_enrollment_tokens();
  if (!tokens) return from_error(svc, call, tokens.error());
  json list = json::array();
  for (const auto& t : *tokens) list.push_back(enrollment_token_doc(t, call.now));
  return json_reply({{"enrollment_tokens", std::move(list)}});
}

Outcome create_api_token(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"user", "role", "expires_in"}); !ok) {
    return tl::unexpected(ok.error());
  }
  auto user_name = string_field(call.body, "user", "", false, 64);
  if (!user_name) return tl::unexpected(user_name.error());
  auto role_text = string_field(call.body, "role", "", false, 64);
  if (!role_text) return tl::unexpected(role_text.error());
  auto expires = duration_field(call.body, "expires_in", std::nullopt);
  if (!expires) return tl::unexpected(expires.error());

  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto user = find_user(svc, call, **lease, user_name->value_or(who(call).user), "user");
  if (!user) return tl::unexpected(user.error());
  auto user_role = auth::parse_role(user->role);
  if (!user_role) return from_error(svc, call, user_role.error());
  auth::Role role = *user_role;
  if (*role_text) {
    auto r = auth::parse_role(**role_text);
    if (!r) return invalid(r.error().message, "role");
    if (!auth::allows(*user_role, *r)) {
      return invalid("role '" + **role_text + "' is more than user '" + user->name +
                         "' has (" + user->role + ")",
                     "role");
    }
    role = *r;
  }
  auto token = auth::generate_token(auth::TokenKind::api);
  if (!token) return from_error(svc, call, token.error());
  store::ApiToken t;
  t.token_hash = auth::token_hash(*token);
  t.token_id = auth::token_id(*token).value();
  t.user = user->name;
  t.role = std::string(auth::to_string(role));
  t.created_at = call.now;
  if (expires->count() > 0) t.expires_at = call.now + expires->count();
  const json doc = api_token_doc(t, call.now);
  auto ok = (*lease)->create_api_token(t, audit(call, "api_token.create", t.token_id, nullptr, doc));
  if (!ok) return from_error(svc, call, ok.error());
  json out = doc;
  out["token"] = *token;
  return json_reply(out, 201);
}

Outcome list_api_tokens(Service& svc, Call& call) {
  auto user = call.query_value("user");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto tokens = user ? (*lease)->list_api_tokens(std::string_view(*user))
                     : (*lease)->list_api_tokens(std::nullopt);
  if (!tokens) return from_error(svc, call, tokens.error());
  json list = json::array();
  for (const auto& t : *tokens) list.push_back(api_token_doc(t, call.now));
  return json_reply({{"api_tokens", std::move(list)}});
}

Outcome revoke_api_token(Service& svc, Call& call) {
  const std::string& id = call.param("token_id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto tokens = (*lease)->list_api_tokens(std::nullopt);
  if (!tokens) return from_error(svc, call, tokens.error());
  const store::ApiToken* found = nullptr;
  for (const auto& t : *tokens) {
    if (t.token_id == id) found = &t;
  }
  if (found == nullptr) return fail(404, "not_found", "no API token with this id", "token_id");
  if (found->revoked_at) return fail(409, "conflict", "the token is revoked already", "token_id");
  json after = api_token_doc(*found, call.now);
  after["state"] = "revoked";
  after["revoked_at"] = rfc3339(call.now);
  auto ok = (*lease)->revoke_api_token(
      id, call.now, audit(call, "api_token.revoke", id, api_token_doc(*found, call.now), after));
  if (!ok) return from_error(svc, call, ok.error());
  return json_reply({{"token_id", id}, {"revoked_at", rfc3339(call.now)}});
}

Outcome list_users(Service& svc, Call& call) {
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto users = (*lease)->list_users();
  if (!users) return from_error(svc, call, users.error());
  json list = json::array();
  for (const auto& u : *users) list.push_back(user_doc(u));
  return json_reply({{"users", std::move(list)}});
}

Outcome create_user(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"name", "role", "password", "disabled"}); !ok) {
    return tl::unexpected(ok.error());
  }
  auto name = string_field(call.body, "name", "", true, 64);
  if (!name) return tl::unexpected(name.error());
  auto role = string_field(call.body, "role", "", true, 64);
  if (!role) return tl::unexpected(role.error());
  auto password = string_field(call.body, "password", "", false, auth::kMaxPasswordBytes);
  if (!password) return tl::unexpected(password.error());
  auto disabled = bool_field(call.body, "disabled", "");
  if (!disabled) return tl::unexpected(disabled.error());
  if (auto r = auth::parse_role(**role); !r) return invalid(r.error().message, "role");
  store::User u;
  u.name = **name;
  u.role = **role;
  u.disabled = disabled->value_or(false);
  u.created_at = call.now;
  if (auto ok = store::validate_user(u); !ok) return invalid(ok.error().message, ok.error().where);
  if (*password) {
    auto phc = auth::hash_password(**password);
    if (!phc) {
      if (phc.error().code == Errc::invalid_input) return invalid(phc.error().message, "password");
      return from_error(svc, call, phc.error());
    }
    u.password_hash = *phc;
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto ok = (*lease)->create_user(u, audit(call, "user.create", u.name, nullptr, user_doc(u)));
  if (!ok) {
    if (ok.error().code == Errc::conflict) {
      return fail(409, "conflict", "user '" + u.name + "' exists", "name");
    }
    return from_error(svc, call, ok.error());
  }
  return json_reply(user_doc(u), 201);
}

Outcome update_user(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"role", "disabled", "password"}); !ok) {
    return tl::unexpected(ok.error());
  }
  auto role = string_field(call.body, "role", "", false, 64);
  if (!role) return tl::unexpected(role.error());
  auto disabled = bool_field(call.body, "disabled", "");
  if (!disabled) return tl::unexpected(disabled.error());
  auto password = string_field(call.body, "password", "", false, auth::kMaxPasswordBytes);
  if (!password) return tl::unexpected(password.error());
  if (*role) {
    if (auto r = auth::parse_role(**role); !r) return invalid(r.error().message, "role");
  }
  std::string phc;
  if (*password) {
    auto h = auth::hash_password(**password);
    if (!h) {
      if (h.error().code == Errc::invalid_input) return invalid(h.error().message, "password");
      return from_error(svc, call, h.error());
    }
    phc = *h;
  }
  const std::string& name = call.param("name");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto& s = **lease;
  std::optional<ApiError> refused;
  store::User now_user;
  auto done = s.atomically([&]() -> Result<void> {
    auto user = s.user(name);
    if (!user) return Unexpected(user.error());
    if (!*user) {
      refused = ApiError{404, "not_found", "no user '" + name.substr(0, 64) + "'", "name"};
      return make_error(Errc::not_found, "no such user");
    }
    store::User u = **user;
    if (*role && **role != u.role) {
      if (auto ok = s.set_role(name, **role,
                               audit(call, "user.set_role", name, json{{"role", u.role}},
                                     json{{"role", **role}}));
          !ok) {
        return ok;
      }
      u.role = **role;
    }
    if (*disabled && **disabled != u.disabled) {
      if (auto ok = s.set_disabled(name, **disabled,
                                   audit(call, "user.set_disabled", name,
                                         json{{"disabled", u.disabled}},
                                         json{{"disabled", **disabled}}));
          !ok) {
        return ok;
      }
      u.disabled = **disabled;
    }
    if (*password) {
      if (auto ok = s.set_password_hash(name, phc,
                                        audit(call, "user.set_password", name,
                                              json{{"has_password", !u.password_hash.empty()}},
                                              json{{"has_password", true}}));
          !ok) {
        return ok;
      }
      u.password_hash = phc;
    }
    // Nobody may lock the fleet out of administration by mistake.
    auto users = s.list_users();
    if (!users) return Unexpected(users.error());
    bool admin_left = false;
    for (const auto& other : *users) {
      if (other.role == "admin" && !other.disabled) admin_left = true;
    }
    if (!admin_left) {
      refused = ApiError{409, "conflict", "this change would leave no enabled admin user",
                         *role ? "role" : "disabled"};
      return make_error(Errc::conflict, "last admin");
    }
    now_user = u;
    return {};
  });
  if (refused) return tl::unexpected(*refused);
  if (!done) return from_error(svc, call, done.error());
  return json_reply(user_doc(now_user));
}

Outcome list_audit(Service& svc, Call& call) {
  std::int64_t from = 1;
  if (auto c = call.query_value("cursor"); c && !c->empty()) {
    const auto [ptr, ec] = std::from_chars(c->data(), c->data() + c->size(), from);
    if (ec != std::errc() || ptr != c->data() + c->size() || from < 1) {
      return invalid("not a cursor returned by this listing", "cursor");
    }
  }
  auto limit = limit_param(call, 100);
  if (!limit) return tl::unexpected(limit.error());
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  // One more than asked: whether there is a next page.
  auto records = (*lease)->audit_entries(from, std::min(*limit + 1, store::kMaxPageSize));
  if (!records) return from_error(svc, call, records.error());
  json entries = json::array();
  std::string next;
  for (std::size_t i = 0; i < records->size(); ++i) {
    const auto& r = (*records)[i];
    if (static_cast<int>(i) == *limit) {
      next = std::to_string(r.seq);
      break;
    }
    const auto embed = [](const std::string& text) -> json {
      if (text.empty()) return nullptr;
      json v = json::parse(text, nullptr, false);
      return v.is_discarded() ? json(text) : v;
    };
    entries.push_back({{"seq", std::to_string(r.seq)},
                       {"at", rfc3339(r.entry.at)},
                       {"actor", r.entry.actor},
                       {"action", r.entry.action},
                       {"target", r.entry.target},
                       {"before", embed(r.entry.before_json)},
                       {"after", embed(r.entry.after_json)},
                       {"prev_hash", r.prev_hash},
                       {"hash", r.hash}});
  }
  return json_reply({{"entries", std::move(entries)}, {"next_cursor", next}});
}

Outcome verify_audit(Service& svc, Call& call) {
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto v = (*lease)->verify_audit();
  if (!v) return from_error(svc, call, v.error());
  auto head = (*lease)->audit_head();
  if (!head) return from_error(svc, call, head.error());
  // The head goes to the log too: a copy kept outside the database is what reveals a removed
  // tail later.
  svc.log->info("audit verified", {{"request_id", call.request_id},
                                   {"ok", v->ok ? "true" : "false", true},
                                   {"entries", std::to_string(v->entries_checked), true},
                                   {"head_seq", std::to_string(head->seq), true},
                                   {"head_hash", head->hash}});
  return json_reply({{"ok", v->ok},
                     {"entries_checked", v->entries_checked},
                     {"first_bad_seq", v->ok ? json(nullptr) : json(std::to_string(v->first_bad_seq))},
                     {"problem", v->problem},
                     {"head", {{"seq", std::to_string(head->seq)}, {"hash", head->hash}}}});
}

}  // namespace pf::server
