// SPDX-License-Identifier: Apache-2.0
// Policy as code (apply, get, delete) and chains (plan, runs, approve, pause, resume, cancel).
// docs/api.md, docs/policy.md, docs/chains.md.
#include <algorithm>
#include <map>
#include <set>

#include "chain_loop.hpp"
#include "chain_plan.hpp"
#include "patchflow/orchestrator/state.hpp"
#include "patchflow/policy/document.hpp"
#include "patchflow/store/chain_store.hpp"
#include "patchflow/store/policy_store.hpp"
#include "service.hpp"

namespace pf::server {
namespace {

constexpr std::size_t kMaxFiles = 200;
constexpr std::size_t kMaxSource = std::size_t{1} << 20;
constexpr std::size_t kMaxJustification = 2048;

std::chrono::sys_seconds at(std::int64_t t) {
  return std::chrono::sys_seconds(std::chrono::seconds(t));
}

store::AuditEntry audit_of(const Call& call, std::string action, std::string target,
                           std::string before, std::string after) {
  return store::AuditEntry{call.principal->user, std::move(action), std::move(target),
                           std::move(before), std::move(after), call.now};
}

std::string key_of(const policy::Document& d) {
  return std::string(policy::doc_kind_name(d.kind)) + "/" + d.name;
}

// The stored documents, read back.
Expect<std::vector<std::pair<store::PolicyDoc, policy::Document>>> stored_documents(
    Service& svc, const Call& call, store::PolicyStore& policies) {
  auto all = policies.policies("");
  if (!all) return from_error(svc, call, all.error());
  std::vector<std::pair<store::PolicyDoc, policy::Document>> out;
  for (auto& p : *all) {
    auto d = policy::from_json(p.json);
    if (!d) {
      return fail(500, "internal", "the stored document " + p.kind + "/" + p.name +
                                       " cannot be read: " + d.error().message);
    }
    out.emplace_back(std::move(p), std::move(*d));
  }
  return out;
}

json policy_summary(const store::PolicyDoc& p) {
  return {{"kind", p.kind},
          {"name", p.name},
          {"revision", p.revision},
          {"updated_at", rfc3339(p.updated_at)},
          {"updated_by", p.updated_by}};
}

// A stored document without where it came from (FILE:LINE of the document, its stages and
// gates): the same content applied from another file, or moved within one, is unchanged.
json without_where(json doc) {
  if (doc.is_object()) {
    doc.erase("where");
    doc.erase("when_where");
    for (auto& [k, v] : doc.items()) v = without_where(std::move(v));
  } else if (doc.is_array()) {
    for (auto& v : doc) v = without_where(std::move(v));
  }
  return doc;
}

bool same_content(const std::string& a, const std::string& b) {
  if (a == b) return true;
  const json x = json::parse(a, nullptr, false);
  const json y = json::parse(b, nullptr, false);
  return !x.is_discarded() && !y.is_discarded() && without_where(x) == without_where(y);
}

// "Chain", "chain", "chains" → "Chain".
std::optional<std::string> kind_param(const std::string& text) {
  std::string k = text;
  std::transform(k.begin(), k.end(), k.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (k.ends_with('s')) k.pop_back();
  if (k == "baseline") return "Baseline";
  if (k == "group") return "Group";
  if (k == "window") return "Window";
  if (k == "chain") return "Chain";
  return std::nullopt;
}

}  // namespace

// Policies.

Outcome apply_policies(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"files", "dry_run"}); !ok) return tl::unexpected(ok.error());
  auto dry = bool_field(call.body, "dry_run", "");
  if (!dry) return tl::unexpected(dry.error());
  const bool dry_run = dry->value_or(false);
  if (!call.body.contains("files") || !call.body["files"].is_array() || call.body["files"].empty()) {
    return invalid("expected a non-empty array of {name, source}", "files");
  }
  const json& files = call.body["files"];
  if (files.size() > kMaxFiles) {
    return invalid("more than " + std::to_string(kMaxFiles) + " files", "files");
  }
  std::vector<policy::Document> applied;
  std::set<std::string> keys;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string path = "files[" + std::to_string(i) + "]";
    if (!files[i].is_object()) return invalid("expected an object {name, source}", path);
    if (auto ok = only_keys(files[i], path, {"name", "source"}); !ok) return tl::unexpected(ok.error());
    auto name = string_field(files[i], "name", path, true, 1024);
    if (!name) return tl::unexpected(name.error());
    auto source = string_field(files[i], "source", path, true, kMaxSource);
    if (!source) return tl::unexpected(source.error());
    auto docs = policy::parse_documents(**source, **name);
    if (!docs) {
      return invalid(docs.error().where + ": " + docs.error().message, path + ".source");
    }
    for (auto& d : *docs) {
      if (!keys.insert(key_of(d)).second) {
        return invalid(d.where + ": " + key_of(d) + " is given twice in this apply", path + ".source");
      }
      applied.push_back(std::move(d));
    }
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  store::PolicyStore& policies = lease->policies();
  auto stored = stored_documents(svc, call, policies);
  if (!stored) return tl::unexpected(stored.error());
  // The set after this apply: stored documents, replaced by the applied ones.
  std::vector<policy::Document> set;
  std::map<std::string, const store::PolicyDoc*> stored_by_key;
  for (const auto& [p, d] : *stored) {
    stored_by_key[key_of(d)] = &p;
    if (!keys.contains(key_of(d))) set.push_back(d);
  }
  set.insert(set.end(), applied.begin(), applied.end());
  if (auto ok = policy::validate_set(set); !ok) {
    const std::string where = ok.error().where.empty() ? "" : ok.error().where + ": ";
    return invalid(where + ok.error().message, "files");
  }
  std::vector<store::PolicyPut> puts;
  json documents = json::array();
  for (const auto& d : applied) {
    const std::string key = key_of(d);
    const store::PolicyDoc* old = stored_by_key.contains(key) ? stored_by_key[key] : nullptr;
    // Unchanged content keeps its stored text (and where it first came from).
    std::string text = policy::to_json(d);
    if (old != nullptr && same_content(old->json, text)) text = old->json;
    const std::vector<std::string> lines = policy::diff(old ? old->json : "", text);
    store::PolicyPut put;
    put.doc.kind = std::string(policy::doc_kind_name(d.kind));
    put.doc.name = d.name;
    put.doc.json = text;
    put.doc.updated_by = call.principal->user;
    put.expected_revision = old ? old->revision : 0;
    json after = {{"diff", lines}, {"document", json::parse(text)}};
    put.audit = audit_of(call, "policy.apply", key, old ? old->json : "", after.dump());
    const std::string outcome = old == nullptr ? "created" : (old->json == text ? "unchanged" : "changed");
    documents.push_back({{"kind", put.doc.kind},
                         {"name", d.name},
                         {"outcome", outcome},
                         {"revision", old == nullptr ? 1 : old->revision + (outcome == "changed" ? 1 : 0)},
                         {"diff", outcome == "unchanged" ? json::array() : json(lines)}});
    puts.push_back(std::move(put));
  }
  if (!dry_run) {
    auto outcomes = policies.apply_policies(puts, call.now);
    if (!outcomes) {
      if (outcomes.error().code == Errc::conflict) {
        return fail(409, "conflict", outcomes.error().message + " (applied by someone else meanwhile: apply again)");
      }
      return from_error(svc, call, outcomes.error());
    }
    svc.log->info("policies applied", {{"request_id", call.request_id},
                                       {"documents", std::to_string(puts.size())},
                                       {"user", call.principal->user}});
  }
  return json_reply({{"documents", std::move(documents)}, {"dry_run", dry_run}});
}

Outcome list_policies(Service& svc, Call& call) {
  std::string kind;
  if (auto k = call.query_value("kind"); k && !k->empty()) {
    auto name = kind_param(*k);
    if (!name) return invalid("expected Baseline, Group, Window or Chain", "kind");
    kind = *name;
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto all = lease->policies().policies(kind);
  if (!all) return from_error(svc, call, all.error());
  json list = json::array();
  for (const auto& p : *all) list.push_back(policy_summary(p));
  return json_reply({{"policies", std::move(list)}});
}

Outcome get_policy(Service& svc, Call& call) {
  auto kind = kind_param(call.param("kind"));
  if (!kind) return invalid("expected Baseline, Group, Window or Chain", "kind");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto p = lease->policies().policy(*kind, call.param("name"));
  if (!p) return from_error(svc, call, p.error());
  if (!*p) return fail(404, "not_found", "no " + *kind + " with this name", "name");
  json doc = policy_summary(**p);
  doc["document"] = json::parse((*p)->json, nullptr, false);
  return json_reply(doc);
}

Outcome delete_policy(Service& svc, Call& call) {
  auto kind = kind_param(call.param("kind"));
  if (!kind) return invalid("expected Baseline, Group, Window or Chain", "kind");
  const std::string& name = call.param("name");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  store::PolicyStore& policies = lease->policies();
  auto stored = stored_documents(svc, call, policies);
  if (!stored) return tl::unexpected(stored.error());
  const store::PolicyDoc* target = nullptr;
  std::vector<policy::Document> rest;
  for (const auto& [p, d] : *stored) {
    if (p.kind == *kind && p.name == name) {
      target = &p;
    } else {
      rest.push_back(d);
    }
  }
  if (target == nullptr) return fail(404, "not_found", "no " + *kind + " with this name", "name");
  // What remains must still hold together: a chain may not lose its baseline.
  if (auto ok = policy::validate_set(rest); !ok) {
    return fail(409, "conflict",
                *kind + "/" + name + " is still in use: " +
                    (ok.error().where.empty() ? "" : ok.error().where + ": ") + ok.error().message,
                "name");
  }
  auto ok = policies.delete_policy(*kind, name, target->revision,
                                   audit_of(call, "policy.delete", *kind + "/" + name, target->json, ""));
  if (!ok) {
    if (ok.error().code == Errc::conflict) return fail(409, "conflict", ok.error().message, "name");
    if (ok.error().code == Errc::not_found) return fail(404, "not_found", ok.error().message, "name");
    return from_error(svc, call, ok.error());
  }
  return json_reply({{"kind", *kind}, {"name", name}, {"deleted", true}});
}

// Chains.

namespace {

// A chain that cannot be resolved: 404 when it does not exist, 409 when the stored documents
// do not make a plan (or the run is not allowed), else the store's error.
tl::unexpected<ApiError> resolve_failed(Service& svc, const Call& call, const Error& e) {
  if (e.code == Errc::not_found) return fail(404, "not_found", e.message, "name");
  if (e.code == Errc::invalid_input) return fail(409, "conflict", e.message, e.where);
  return from_error(svc, call, e);
}

}  // namespace

Outcome chain_plan(Service& svc, Call& call) {
  auto emergency = call.query_value("emergency");
  const bool is_emergency = emergency && (*emergency == "true" || *emergency == "1");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  const auto now = svc.chains ? svc.chains->now() : at(call.now);
  auto resolved = resolve_chain(lease->opened(), call.param("name"), is_emergency,
                                is_emergency ? "plan" : "", now);
  if (!resolved) return resolve_failed(svc, call, resolved.error());
  Reply r;
  r.body = plan_document(*resolved, now);
  return r;
}

Outcome start_chain_run(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"emergency", "justification"}); !ok) {
    return tl::unexpected(ok.error());
  }
  auto emergency = bool_field(call.body, "emergency", "");
  if (!emergency) return tl::unexpected(emergency.error());
  auto justification = string_field(call.body, "justification", "", false, kMaxJustification);
  if (!justification) return tl::unexpected(justification.error());
  const bool is_emergency = emergency->value_or(false);
  std::string why = justification->value_or("");
  if (is_emergency && why.empty()) {
    return invalid("an emergency run needs a justification (recorded in the audit log)",
                   "justification");
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  const auto now = svc.chains ? svc.chains->now() : at(call.now);
  auto resolved = resolve_chain(lease->opened(), call.param("name"), is_emergency, why, now);
  if (!resolved) return resolve_failed(svc, call, resolved.error());
  auto suffix = random_hex(8);
  if (!suffix) return from_error(svc, call, suffix.error());
  RunRecord record;
  record.plan = orch::plan_to_json(resolved->plan);
  record.chain_json = resolved->chain_json;
  for (const auto& [host, work] : resolved->work) record.selections[host] = work.selection;
  store::ChainRun run;
  run.id = "c_" + *suffix;
  run.chain = resolved->chain;
  run.chain_revision = resolved->revision;
  run.status = "starting";
  run.active = true;
  run.state = to_json(record);
  run.created_by = call.principal->user;
  run.created_at = call.now;
  std::size_t hosts = 0;
  for (const auto& s : resolved->plan.stages) hosts += s.hosts.size();
  json after = {{"id", run.id},
                {"chain", run.chain},
                {"chain_revision", run.chain_revision},
                {"emergency", is_emergency},
                {"justification", why},
                {"hosts", static_cast<std::int64_t>(hosts)},
                {"excluded", static_cast<std::int64_t>(resolved->excluded.size())}};
  auto ok = lease->chains().create_chain_run(
      run, audit_of(call, is_emergency ? "chain.run.emergency" : "chain.run", run.id, "", after.dump()));
  if (!ok) return from_error(svc, call, ok.error());
  if (svc.chains) svc.chains->poke();
  svc.log->info("chain run started", {{"request_id", call.request_id},
                                      {"chain_run", run.id},
                                      {"chain", run.chain},
                                      {"emergency", is_emergency ? "true" : "false"}});
  after["status"] = run.status;
  after["created_at"] = rfc3339(run.created_at);
  after["created_by"] = run.created_by;
  return json_reply(after, 201);
}

namespace {

json chain_run_summary(const store::ChainRun& r) {
  return {{"id", r.id},
          {"chain", r.chain},
          {"chain_revision", r.chain_revision},
          {"status", r.status},
          {"active", r.active},
          {"created_by", r.created_by},
          {"created_at", rfc3339(r.created_at)},
          {"updated_at", rfc3339(r.updated_at)}};
}

json host_doc(const orch::PlanHost& h, const orch::HostState& s) {
  json post = json::object();
  for (const auto& [name, r] : s.post) post[name] = {{"passed", r.passed}, {"exit_code", r.exit_code}};
  return {{"id", h.id},
          {"name", h.name},
          {"status", std::string(orch::name(s.status))},
          {"wave", s.wave + 1},
          {"job_run_id", s.job_run_id.empty() ? json(nullptr) : json(s.job_run_id)},
          {"post", std::move(post)},
          {"health_regressions", s.health_regressions},
          {"waiting", s.waiting}};
}

json stages_doc(const orch::RunState& run) {
  json stages = json::array();
  for (std::size_t i = 0; i < run.plan.stages.size(); ++i) {
    const auto& ps = run.plan.stages[i];
    const orch::StageState* ss = i < run.stages.size() ? &run.stages[i] : nullptr;
    json counts = {{"total", ps.hosts.size()}, {"succeeded", 0}, {"failed", 0},
                   {"skipped", 0},             {"in_work", 0},   {"pending", 0}};
    json hosts = json::array();
    std::string note;
    if (ss != nullptr) {
      for (std::size_t h = 0; h < ps.hosts.size() && h < ss->hosts.size(); ++h) {
        const auto& hs = ss->hosts[h];
        switch (hs.status) {
          case orch::HostStatus::succeeded: counts["succeeded"] = counts["succeeded"].get<int>() + 1; break;
          case orch::HostStatus::failed:
          case orch::HostStatus::rolled_back:
          case orch::HostStatus::timed_out: counts["failed"] = counts["failed"].get<int>() + 1; break;
          case orch::HostStatus::skipped: counts["skipped"] = counts["skipped"].get<int>() + 1; break;
          case orch::HostStatus::dispatched: counts["in_work"] = counts["in_work"].get<int>() + 1; break;
          default: counts["pending"] = counts["pending"].get<int>() + 1; break;
        }
        hosts.push_back(host_doc(ps.hosts[h], hs));
      }
      note = ss->why;
      if (ss->status == orch::StageStatus::waiting_soak && ss->soak_until) {
        note = "soak until " + rfc3339(ss->soak_until->time_since_epoch().count());
      } else if (ss->status == orch::StageStatus::waiting_window && ss->next_opening) {
        note = "next window " + rfc3339(ss->next_opening->time_since_epoch().count());
      } else if (!ss->approved_by.empty() && note.empty()) {
        note = "approved by " + ss->approved_by;
      }
    }
    stages.push_back({{"name", ps.name},
                      {"status", ss ? std::string(orch::name(ss->status)) : "pending"},
                      {"wave", ss ? ss->wave : 0},
                      {"approval_required", ps.approval_required},
                      {"approved_by", ss ? ss->approved_by : ""},
                      {"when", ps.when},
                      {"explanation", ss ? json(ss->explanation) : json::array()},
                      {"note", note},
                      {"counts", std::move(counts)},
                      {"hosts", std::move(hosts)}});
  }
  return stages;
}

}  // namespace

Outcome list_chain_runs(Service& svc, Call& call) {
  auto active = call.query_value("active");
  const bool active_only = active && (*active == "true" || *active == "1");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto runs = lease->chains().chain_runs(active_only, store::kMaxPageSize);
  if (!runs) return from_error(svc, call, runs.error());
  json list = json::array();
  for (const auto& r : *runs) list.push_back(chain_run_summary(r));
  return json_reply({{"chain_runs", std::move(list)}});
}

Outcome get_chain_run(Service& svc, Call& call) {
  std::int64_t after = 0;
  if (auto text = call.query_value("log_after")) {
    try {
      std::size_t used = 0;
      after = std::stoll(*text, &used);
      if (used != text->size() || after < 0) throw std::invalid_argument("negative");
    } catch (const std::exception&) {
      return invalid("expected a log sequence number >= 0", "log_after");
    }
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto run = lease->chains().chain_run(call.param("id"));
  if (!run) return from_error(svc, call, run.error());
  if (!*run) return fail(404, "not_found", "no chain run with this id", "id");
  json doc = chain_run_summary(**run);
  doc["stages"] = json::array();
  if (auto record = run_record_from_json((*run)->state); record && !record->orch.empty()) {
    if (auto state = orch::state_from_json(record->orch); state) {
      for (const auto& [id, r] : state->runs) {
        doc["stages"] = stages_doc(r);
        doc["emergency"] = r.plan.emergency;
        doc["justification"] = r.plan.justification;
        doc["reason"] = r.reason;
      }
    }
  }
  constexpr int kLogPage = 500;
  auto log = lease->chains().chain_log((*run)->id, after, kLogPage);
  if (!log) return from_error(svc, call, log.error());
  json lines = json::array();
  for (const auto& l : *log) {
    lines.push_back({{"seq", l.seq}, {"at", rfc3339(l.at)}, {"line", l.line}});
  }
  doc["log_more"] = log->size() == static_cast<std::size_t>(kLogPage);
  doc["log"] = std::move(lines);
  return json_reply(doc);
}

namespace {

Outcome chain_event(Service& svc, Call& call, const std::string& type) {
  json event = {{"type", type}};
  if (type == "approve") {
    if (auto ok = only_keys(call.body, "", {"stage"}); !ok) return tl::unexpected(ok.error());
    auto stage = string_field(call.body, "stage", "", true, 64);
    if (!stage) return tl::unexpected(stage.error());
    event["stage"] = **stage;
  } else {
    if (auto ok = only_keys(call.body, "", {"reason"}); !ok) return tl::unexpected(ok.error());
    auto reason = string_field(call.body, "reason", "", false, 1024);
    if (!reason) return tl::unexpected(reason.error());
    if (*reason) event["reason"] = **reason;
  }
  const std::string& id = call.param("id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  store::ChainEvent e;
  e.run_id = id;
  e.json = event.dump();
  e.by = call.principal->user;
  e.at = call.now;
  auto seq = lease->chains().add_chain_event(e, audit_of(call, "chain." + type, id, "", e.json));
  if (!seq) {
    if (seq.error().code == Errc::not_found) return fail(404, "not_found", "no chain run with this id", "id");
    if (seq.error().code == Errc::conflict) return fail(409, "conflict", "the chain run has ended", "id");
    return from_error(svc, call, seq.error());
  }
  if (svc.chains) svc.chains->poke();
  return json_reply({{"id", id}, {"event", event}, {"seq", *seq}, {"by", e.by}}, 202);
}

}  // namespace

Outcome approve_chain_stage(Service& svc, Call& call) { return chain_event(svc, call, "approve"); }
Outcome pause_chain_run(Service& svc, Call& call) { return chain_event(svc, call, "pause"); }
Outcome resume_chain_run(Service& svc, Call& call) { return chain_event(svc, call, "resume"); }
Outcome cancel_chain_run(Service& svc, Call& call) { return chain_event(svc, call, "cancel"); }

}  // namespace pf::server
