// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent_client/protocol.hpp"

#include <nlohmann/json.hpp>

namespace pf::agent_client {
namespace {

using nlohmann::json;

CallError bad_answer(const HttpsClient& client, std::string_view path, std::string message) {
  return CallError{
      Failure::bad_response, 0, "",
      Error{Errc::invalid_input, "unexpected answer: " + std::move(message), client.url(path)}};
}

// The 2xx body as a JSON object.
CallResult<json> object_of(const HttpsClient& client, std::string_view path,
                           const Response& response) {
  json doc = json::parse(response.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return tl::unexpected(bad_answer(client, path, "not a JSON object"));
  }
  return doc;
}

CallResult<json> facts_object(const HttpsClient& client, std::string_view path,
                              const std::string& facts_json) {
  if (facts_json.empty()) return json::object();
  json facts = json::parse(facts_json, nullptr, false);
  if (facts.is_discarded() || !facts.is_object()) {
    return tl::unexpected(
        CallError{Failure::local, 0, "",
                  Error{Errc::invalid_input, "the facts are not a JSON object", client.url(path)}});
  }
  return facts;
}

bool string_at(const json& doc, const char* key, std::string& out) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

}  // namespace

CallResult<EnrollResponse> enroll(const HttpsClient& client, const EnrollRequest& request) {
  constexpr std::string_view kPath = "/agent/v1/enroll";
  auto facts = facts_object(client, kPath, request.facts_json);
  if (!facts) return tl::unexpected(facts.error());
  const json body = {{"token", request.token},
                     {"csr_pem", request.csr_pem},
                     {"hostname", request.hostname},
                     {"facts", *facts}};
  auto r = client.request("POST", kPath, body.dump());
  if (!r) return tl::unexpected(r.error());
  auto doc = object_of(client, kPath, *r);
  if (!doc) return tl::unexpected(doc.error());
  EnrollResponse out;
  for (auto [key, field] :
       {std::pair{"host_id", &out.host_id}, std::pair{"cert_pem", &out.cert_pem},
        std::pair{"ca_pem", &out.ca_pem}}) {
    if (!string_at(*doc, key, *field) || field->empty()) {
      return tl::unexpected(bad_answer(client, kPath, std::string("no \"") + key + "\""));
    }
  }
  string_at(*doc, "signing_public_key_pem", out.signing_public_key_pem);
  if (const auto it = doc->find("checkin_interval_s");
      it != doc->end() && it->is_number_integer()) {
    out.checkin_interval_s = it->get<std::int64_t>();
  }
  return out;
}

CallResult<CheckinResponse> checkin(const HttpsClient& client, const std::string& facts_json,
                                    const std::string& inventory_hash) {
  constexpr std::string_view kPath = "/agent/v1/checkin";
  auto facts = facts_object(client, kPath, facts_json);
  if (!facts) return tl::unexpected(facts.error());
  json body = {{"facts", *facts}};
  if (!inventory_hash.empty()) body["inventory_hash"] = inventory_hash;
  auto r = client.request("POST", kPath, body.dump());
  if (!r) return tl::unexpected(r.error());
  auto doc = object_of(client, kPath, *r);
  if (!doc) return tl::unexpected(doc.error());
  CheckinResponse out;
  const auto needed = doc->find("inventory_needed");
  if (needed == doc->end() || !needed->is_boolean()) {
    return tl::unexpected(bad_answer(client, kPath, "no boolean \"inventory_needed\""));
  }
  out.inventory_needed = needed->get<bool>();
  const auto next = doc->find("next_checkin_s");
  if (next == doc->end() || !next->is_number_integer()) {
    return tl::unexpected(bad_answer(client, kPath, "no integer \"next_checkin_s\""));
  }
  out.next_checkin_s = next->get<std::int64_t>();
  if (const auto work = doc->find("work"); work != doc->end() && work->is_array()) {
    out.work_json = work->dump();
  }
  return out;
}

std::vector<WorkItem> work_items(const std::string& work_json) {
  std::vector<WorkItem> out;
  const json doc = json::parse(work_json, nullptr, false);
  if (!doc.is_array()) return out;
  for (const auto& w : doc) {
    if (!w.is_object()) continue;
    const auto id = w.find("run_id");
    const auto env = w.find("envelope");
    if (id == w.end() || !id->is_string() || env == w.end() || !env->is_string()) continue;
    WorkItem item{id->get<std::string>(), "", env->get<std::string>()};
    if (const auto job = w.find("job"); job != w.end() && job->is_string()) {
      item.job = job->get<std::string>();
    }
    out.push_back(std::move(item));
  }
  return out;
}

CallResult<std::optional<WorkItem>> wait_for_work(const HttpsClient& client, int timeout_s) {
  constexpr std::string_view kPath = "/agent/v1/wait";
  const std::string path = std::string(kPath) + "?timeout=" + std::to_string(timeout_s);
  auto r = client.request("GET", path);
  if (!r) return tl::unexpected(r.error());
  if (r->status == 204) return std::optional<WorkItem>();
  auto doc = object_of(client, kPath, *r);
  if (!doc) return tl::unexpected(doc.error());
  auto items = work_items(json::array({*doc}).dump());
  if (items.empty()) {
    return tl::unexpected(bad_answer(client, kPath, "no string \"run_id\" and \"envelope\""));
  }
  return std::optional<WorkItem>(std::move(items.front()));
}

CallResult<EventsResponse> post_events(const HttpsClient& client, const std::string& run_id,
                                       const std::vector<RunEvent>& events) {
  const std::string path = "/agent/v1/runs/" + run_id + "/events";
  json list = json::array();
  for (const auto& e : events) {
    json body = json::parse(e.body_json, nullptr, false);
    if (!body.is_object()) body = json{{"text", e.body_json}};
    json item = {{"id", e.id}, {"seq", e.seq}, {"kind", e.kind}, {"body", std::move(body)}};
    if (!e.state.empty()) item["state"] = e.state;
    list.push_back(std::move(item));
  }
  auto r = client.request("POST", path, json{{"events", std::move(list)}}.dump());
  if (!r) return tl::unexpected(r.error());
  auto doc = object_of(client, path, *r);
  if (!doc) return tl::unexpected(doc.error());
  EventsResponse out;
  out.accepted = doc->value("accepted", std::int64_t{0});
  out.duplicates = doc->value("duplicates", std::int64_t{0});
  out.state = doc->value("state", std::string());
  return out;
}

std::string inventory_document(const std::string& hash,
                               const std::vector<inventory::Package>& packages,
                               const std::vector<pkg::Update>& updates) {
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
                   {"installed", u.installed},
                   {"candidate", u.candidate},
                   {"origin", u.origin},
                   {"security", u.security},
                   {"advisories", u.advisories},
                   {"held_reason", u.held_reason}});
  }
  return json{{"hash", hash}, {"packages", std::move(pkgs)}, {"updates", std::move(ups)}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

CallResult<InventoryResponse> put_inventory(const HttpsClient& client, const std::string& hash,
                                            const std::vector<inventory::Package>& packages,
                                            const std::vector<pkg::Update>& updates) {
  constexpr std::string_view kPath = "/agent/v1/inventory";
  auto r = client.request("PUT", kPath, inventory_document(hash, packages, updates));
  if (!r) return tl::unexpected(r.error());
  auto doc = object_of(client, kPath, *r);
  if (!doc) return tl::unexpected(doc.error());
  InventoryResponse out;
  if (const auto it = doc->find("stored"); it != doc->end() && it->is_boolean()) {
    out.stored = it->get<bool>();
  }
  return out;
}

CallResult<std::string> renew(const HttpsClient& client, const std::string& csr_pem) {
  constexpr std::string_view kPath = "/agent/v1/renew";
  auto r = client.request("POST", kPath, json{{"csr_pem", csr_pem}}.dump());
  if (!r) return tl::unexpected(r.error());
  auto doc = object_of(client, kPath, *r);
  if (!doc) return tl::unexpected(doc.error());
  std::string cert;
  if (!string_at(*doc, "cert_pem", cert) || cert.empty()) {
    return tl::unexpected(bad_answer(client, kPath, "no \"cert_pem\""));
  }
  return cert;
}

}  // namespace pf::agent_client
