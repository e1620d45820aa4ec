// SPDX-License-Identifier: Apache-2.0
// Fleet-wide findings, runs (signed work for one host and the events its agent reports),
// the agents' long-poll, and password login. docs/api.md, docs/protocol.md.
#include <algorithm>
#include <charconv>
#include <thread>

#include "findings_updater.hpp"
#include "patchflow/auth/duration.hpp"
#include "patchflow/auth/password.hpp"
#include "patchflow/auth/token.hpp"
#include "patchflow/jobs/job.hpp"
#include "service.hpp"

namespace pf::server {
namespace {

Expect<int> int_param(const Call& call, std::string_view key, int fallback, int lo, int hi) {
  auto text = call.query_value(key);
  if (!text) return fallback;
  int n = 0;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (text->empty() || ec != std::errc() || ptr != text->data() + text->size() || n < lo ||
      n > hi) {
    return invalid("must be " + std::to_string(lo) + ".." + std::to_string(hi),
                   std::string(key));
  }
  return n;
}

Expect<bool> flag_param(const Call& call, std::string_view key) {
  auto v = call.query_value(key);
  if (!v || *v == "false" || *v == "0") return false;
  if (*v == "true" || *v == "1" || v->empty()) return true;
  return invalid("expected true or false", std::string(key));
}

Expect<std::string> text_param(const Call& call, std::string_view key, std::size_t max) {
  auto v = call.query_value(key).value_or("");
  if (v.size() > max) return invalid("longer than " + std::to_string(max) + " bytes", std::string(key));
  return v;
}

// limit (1..kMaxPageSize, default 100) and cursor (at most max_cursor bytes) of a listing.
Expect<void> page_params(const Call& call, int& limit, std::string& cursor,
                         std::size_t max_cursor) {
  auto l = int_param(call, "limit", 100, 1, store::kMaxPageSize);
  if (!l) return tl::unexpected(l.error());
  auto c = text_param(call, "cursor", max_cursor);
  if (!c) return tl::unexpected(c.error());
  limit = *l;
  cursor = std::move(*c);
  return {};
}

Expect<store::Labels> label_params(const Call& call) {
  store::Labels labels;
  for (const auto& l : call.query_values("label")) {
    const auto eq = l.find('=');
    if (eq == std::string::npos) return invalid("expected label=key=value", "label");
    if (!labels.emplace(l.substr(0, eq), l.substr(eq + 1)).second) {
      return invalid("label '" + l.substr(0, eq) + "' given twice", "label");
    }
  }
  if (auto ok = store::validate_labels(labels); !ok) return invalid(ok.error().message, "label");
  return labels;
}

json run_doc(const store::Run& r) {
  json doc = {{"id", r.id},
              {"host_id", r.host_id},
              {"job", r.job},
              {"state", std::string(store::to_string(r.state))},
              {"created_by", r.created_by},
              {"created_at", rfc3339(r.created_at)},
              {"delivered_at", time_or_null(r.delivered_at)},
              {"finished_at", time_or_null(r.finished_at)},
              {"events", r.events},
              {"outcome", nullptr}};
  if (!r.outcome.empty()) {
    doc["outcome"] = json::parse(r.outcome, nullptr, false);
    if (doc["outcome"].is_discarded()) doc["outcome"] = r.outcome;
  }
  return doc;
}

const Principal& who(const Call& call) { return *call.principal; }

store::AuditEntry audit(const Call& call, std::string action, std::string target,
                        const json& before, const json& after) {
  return store::AuditEntry{who(call).user,          std::move(action),
                           std::move(target),       before.is_null() ? "" : before.dump(),
                           after.is_null() ? "" : after.dump(), call.now};
}

}  // namespace

// Findings.

Outcome list_findings(Service& svc, Call& call) {
  store::FindingQuery q;
  const std::string status = call.query_value("status").value_or("open");
  if (status == "open") {
    q.status = store::FindingStatus::open;
  } else if (status == "fixed") {
    q.status = store::FindingStatus::fixed;
  } else if (status == "any") {
    q.status = store::FindingStatus::any;
  } else {
    return invalid("expected open, fixed or any", "status");
  }
  if (auto text = call.query_value("severity")) {
    if (text->size() > 32) return invalid("too long", "severity");
    auto s = advisories::severity_from_name(*text);
    if (!s) return invalid("expected negligible, low, medium, high or critical", "severity");
    q.min_severity = static_cast<int>(*s);
  }
  auto kev = flag_param(call, "kev");
  if (!kev) return tl::unexpected(kev.error());
  q.kev_only = *kev;
  auto revoked = flag_param(call, "include_revoked");
  if (!revoked) return tl::unexpected(revoked.error());
  q.include_revoked = *revoked;
  for (auto [key, field] : {std::pair{"host", &q.host_id}, std::pair{"advisory", &q.advisory_id},
                            std::pair{"package", &q.package}}) {
    auto v = text_param(call, key, store::kMaxFactField);
    if (!v) return tl::unexpected(v.error());
    *field = std::move(*v);
  }
  auto labels = label_params(call);
  if (!labels) return tl::unexpected(labels.error());
  q.labels = std::move(*labels);
  if (auto ok = page_params(call, q.limit, q.cursor, 8192); !ok) return tl::unexpected(ok.error());
  if (auto ok = store::validate_finding_query(q); !ok) {
    return invalid(ok.error().message, ok.error().where);
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto page = lease->findings().list_findings(q);
  if (!page) return from_error(svc, call, page.error());
  json list = json::array();
  for (const auto& f : page->findings) {
    json doc = json::parse(f.row.detail, nullptr, false);
    if (!doc.is_object()) doc = json::object();
    doc["host_id"] = f.host_id;
    doc["advisory_id"] = f.row.advisory_id;
    doc["package"] = f.row.package;
    doc["arch"] = f.row.arch;
    doc["status"] = f.open ? "open" : "fixed";
    doc["first_seen"] = rfc3339(f.first_seen);
    doc["fixed_at"] = time_or_null(f.fixed_at);
    list.push_back(std::move(doc));
  }
  return json_reply({{"findings", std::move(list)}, {"next_cursor", page->next_cursor}});
}

// Runs.

Outcome create_run(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"job", "expires_in"}); !ok) {
    return tl::unexpected(ok.error());
  }
  auto job_obj = object_field(call.body, "job", "", true);
  if (!job_obj) return tl::unexpected(job_obj.error());
  const json& given = **job_obj;
  for (const char* key : {"run_id", "host_id", "issued_at", "expires_at"}) {
    if (given.contains(key)) {
      return invalid(std::string(key) + " is set by the server", std::string("job.") + key);
    }
  }
  std::chrono::seconds ttl = svc.config.work_ttl;
  if (auto text = string_field(call.body, "expires_in", "", false, 64); !text) {
    return tl::unexpected(text.error());
  } else if (*text) {
    auto d = auth::parse_duration(**text, "expires_in");
    if (!d || d->count() < 60 || *d > std::chrono::hours(24 * 30)) {
      return invalid("expected a duration of 1m..30d", "expires_in");
    }
    ttl = *d;
  }
  const std::string& host_id = call.param("id");
  auto suffix = random_hex(12);
  if (!suffix) return from_error(svc, call, suffix.error());
  const std::string run_id = "r_" + *suffix;

  json doc = given;
  doc["run_id"] = run_id;
  doc["host_id"] = host_id;
  doc["issued_at"] = rfc3339(call.now);
  doc["expires_at"] = rfc3339(call.now + ttl.count());
  if (!doc.contains("format")) doc["format"] = 1;
  auto job = jobs::parse_job(doc.dump());
  if (!job) {
    std::string where = job.error().where;
    if (where.starts_with("$.")) where = "job." + where.substr(2);
    if (where == "$") where = "job";
    return invalid(job.error().message, where);
  }
  auto envelope = jobs::make_envelope(*job, svc.signing_key_pem);
  if (!envelope) return from_error(svc, call, envelope.error());

  store::Run run;
  run.id = run_id;
  run.host_id = host_id;
  run.job = job->job;
  run.envelope = *envelope;
  run.created_by = who(call).user;
  run.created_at = call.now;
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  json after = run_doc(run);
  after["work"] = json::parse(jobs::to_json(*job));
  auto ok = lease->runs().create_run(run, audit(call, "run.create", run_id, nullptr, after));
  if (!ok) {
    if (ok.error().code == Errc::not_found) return fail(404, "not_found", "no host with this id", "id");
    if (ok.error().code == Errc::conflict) return fail(409, "conflict", ok.error().message, "id");
    return from_error(svc, call, ok.error());
  }
  svc.work.notify();
  svc.log->info("run queued", {{"request_id", call.request_id},
                               {"run_id", run_id},
                               {"host_id", host_id},
                               {"job", run.job}});
  return json_reply(run_doc(run), 201);
}

Outcome list_runs(Service& svc, Call& call) {
  store::RunQuery q;
  auto host = text_param(call, "host", 64);
  if (!host) return tl::unexpected(host.error());
  q.host_id = std::move(*host);
  if (auto s = call.query_value("state")) {
    auto state = store::run_state_from(*s);
    if (!state) return invalid("not a run state", "state");
    q.state = *state;
  }
  if (auto ok = page_params(call, q.limit, q.cursor, 128); !ok) return tl::unexpected(ok.error());
  if (auto ok = store::validate_run_query(q); !ok) {
    return invalid(ok.error().message, ok.error().where);
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto page = lease->runs().list_runs(q);
  if (!page) return from_error(svc, call, page.error());
  json list = json::array();
  for (const auto& r : page->runs) list.push_back(run_doc(r));
  return json_reply({{"runs", std::move(list)}, {"next_cursor", page->next_cursor}});
}

Outcome get_run(Service& svc, Call& call) {
  const std::string& id = call.param("id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto run = lease->runs().run(id);
  if (!run) return from_error(svc, call, run.error());
  if (!*run) return fail(404, "not_found", "no run with this id", "id");
  auto events = lease->runs().run_events(id);
  if (!events) return from_error(svc, call, events.error());
  json doc = run_doc(**run);
  json list = json::array();
  for (const auto& e : *events) {
    json body = json::parse(e.body, nullptr, false);
    list.push_back({{"id", e.event_id},
                    {"seq", e.seq},
                    {"kind", e.kind},
                    {"state", e.state ? json(std::string(store::to_string(*e.state))) : json(nullptr)},
                    {"body", body.is_discarded() ? json(e.body) : body},
                    {"received_at", rfc3339(e.received_at)}});
  }
  doc["event_log"] = std::move(list);
  return json_reply(doc);
}

Outcome cancel_run(Service& svc, Call& call) {
  const std::string& id = call.param("id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto run = lease->runs().run(id);
  if (!run) return from_error(svc, call, run.error());
  if (!*run) return fail(404, "not_found", "no run with this id", "id");
  json after = run_doc(**run);
  after["state"] = "canceled";
  after["finished_at"] = rfc3339(call.now);
  auto ok = lease->runs().cancel_run(id, call.now,
                                     audit(call, "run.cancel", id, run_doc(**run), after));
  if (!ok) {
    if (ok.error().code == Errc::conflict) return fail(409, "conflict", ok.error().message, "id");
    return from_error(svc, call, ok.error());
  }
  return json_reply(after);
}

// Agents.

namespace {

// A run as the agent gets it: the envelope exactly as signed.
json work_doc(const store::Run& r) {
  return {{"run_id", r.id}, {"job", r.job}, {"envelope", r.envelope}};
}

}  // namespace

json pending_work(Service& svc, const Call& call) {
  json work = json::array();
  // The host row read to authenticate the call says whether anything is pending: a check-in
  // without work costs no extra query.
  if (call.host->pending_runs <= 0) return work;
  auto lease = svc.pool->lease();
  if (!lease) return work;
  auto next = lease->runs().next_run(call.host->id, call.now);
  if (!next) {
    svc.log->warn("cannot read pending work", {{"request_id", call.request_id},
                                               {"error", to_string(next.error())}});
  } else if (*next) {
    work.push_back(work_doc(**next));
  }
  return work;
}

Outcome agent_wait(Service& svc, Call& call) {
  const int longest = static_cast<int>(svc.config.long_poll_timeout.count());
  auto timeout = int_param(call, "timeout", longest, 0, longest);
  if (!timeout) return tl::unexpected(timeout.error());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(*timeout);
  const std::string host_id = call.host->id;
  auto look = [&]() -> Expect<std::optional<store::Run>> {
    // The connection goes back to the pool before any waiting.
    auto lease = svc.pool->lease();
    if (!lease) return from_error(svc, call, lease.error());
    auto next = lease->runs().next_run(host_id, unix_now());
    if (!next) return from_error(svc, call, next.error());
    return std::move(*next);
  };
  auto first = look();
  if (!first) return tl::unexpected(first.error());
  if (*first) return json_reply(work_doc(**first));
  if (*timeout == 0) return Reply{204, "", "application/json"};
  // A bounded number of waits hold worker threads; past it the agent is told "nothing now"
  // at once and keeps to its check-in interval.
  WorkSignal::Slot slot(svc.work);
  if (!slot.held()) return Reply{204, "", "application/json"};
  std::uint64_t seen = svc.work.generation();
  while (std::chrono::steady_clock::now() < deadline) {
    // Woken by a run queued on this server; every 2 s regardless, for runs queued by another
    // server on the same database.
    const auto until = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(2));
    seen = svc.work.wait_until(seen, until);
    if (svc.work.stopping()) break;
    auto next = look();
    if (!next) return tl::unexpected(next.error());
    if (*next) return json_reply(work_doc(**next));
  }
  return Reply{204, "", "application/json"};
}

Outcome agent_run_events(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"events"}); !ok) return tl::unexpected(ok.error());
  const auto it = call.body.find("events");
  if (it == call.body.end() || !it->is_array()) {
    return invalid("expected an array of events", "events");
  }
  constexpr std::size_t kMaxPerCall = 1000;
  if (it->size() > kMaxPerCall) {
    return invalid("at most " + std::to_string(kMaxPerCall) + " events per call", "events");
  }
  std::vector<store::RunEvent> events;
  events.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& e = (*it)[i];
    const std::string path = "events[" + std::to_string(i) + "]";
    if (!e.is_object()) return invalid("expected an object", path);
    if (auto ok = only_keys(e, path, {"id", "seq", "kind", "state", "body"}); !ok) {
      return tl::unexpected(ok.error());
    }
    store::RunEvent ev;
    auto id = string_field(e, "id", path, true, 128);
    if (!id) return tl::unexpected(id.error());
    ev.event_id = **id;
    const auto seq = e.find("seq");
    if (seq == e.end() || !seq->is_number_integer() || seq->get<std::int64_t>() < 0) {
      return invalid("expected an integer >= 0", path + ".seq");
    }
    ev.seq = seq->get<std::int64_t>();
    auto kind = string_field(e, "kind", path, true, 64);
    if (!kind) return tl::unexpected(kind.error());
    ev.kind = **kind;
    auto state = string_field(e, "state", path, false, 32);
    if (!state) return tl::unexpected(state.error());
    if (*state) {
      ev.state = store::run_state_from(**state);
      if (!ev.state) return invalid("not a run state", path + ".state");
    }
    const auto body = e.find("body");
    if (body == e.end() || !body->is_object()) return invalid("expected an object", path + ".body");
    ev.body = body->dump();
    ev.received_at = call.now;
    events.push_back(std::move(ev));
  }
  if (auto ok = store::validate_run_events(events); !ok) {
    return invalid(ok.error().message, ok.error().where);
  }
  const std::string& run_id = call.param("id");
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto added = lease->runs().record_run_events(call.host->id, run_id, events);
  if (!added) {
    if (added.error().code == Errc::not_found) {
      return fail(404, "not_found", "no run with this id for this host", "id");
    }
    if (added.error().code == Errc::conflict) {
      return fail(409, "canceled", "the run was canceled: stop it", "id");
    }
    return from_error(svc, call, added.error());
  }
  auto run = lease->runs().run(run_id);
  if (!run) return from_error(svc, call, run.error());
  return json_reply({{"accepted", *added},
                     {"duplicates", events.size() - *added},
                     {"state", *run ? std::string(store::to_string((*run)->state)) : "unknown"}});
}

// Login.

Outcome login(Service& svc, Call& call) {
  if (auto ok = only_keys(call.body, "", {"user", "password"}); !ok) {
    return tl::unexpected(ok.error());
  }
  auto name = string_field(call.body, "user", "", true, 64);
  if (!name) return tl::unexpected(name.error());
  auto password = string_field(call.body, "password", "", true, auth::kMaxPasswordBytes + 1);
  if (!password) return tl::unexpected(password.error());
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto user = (*lease)->user(**name);
  if (!user) return from_error(svc, call, user.error());
  // The same work whether or not the user exists, so that timing does not tell.
  static const std::string kDummy = auth::hash_password("not a password").value_or("");
  const bool can = *user && !(*user)->disabled && !(*user)->password_hash.empty();
  auto match = auth::verify_password(**password, can ? (*user)->password_hash : kDummy);
  if (!can || !match || !*match) {
    svc.metrics.login(false);
    svc.log->warn("login refused", {{"request_id", call.request_id}, {"user", name->value()}});
    // A short pause makes guessing slower without holding a thread long.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return fail(401, "unauthenticated", "wrong user name or password");
  }
  auto token = auth::generate_token(auth::TokenKind::session);
  if (!token) return from_error(svc, call, token.error());
  store::ApiToken t;
  t.token_hash = auth::token_hash(*token);
  t.token_id = auth::token_id(*token).value();
  t.user = (*user)->name;
  t.role = (*user)->role;
  t.created_at = call.now;
  t.expires_at = call.now + svc.config.session_ttl.count();
  const json doc = api_token_doc(t, call.now);
  store::AuditEntry entry{t.user, "session.login", t.token_id, "", doc.dump(), call.now};
  auto ok = (*lease)->create_api_token(t, entry);
  if (!ok) return from_error(svc, call, ok.error());
  svc.metrics.login(true);
  json out = doc;
  out["token"] = *token;
  return json_reply(out, 201);
}

Outcome logout(Service& svc, Call& call) {
  const std::string& id = who(call).token_id;
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto ok = (*lease)->revoke_api_token(
      id, call.now, audit(call, "session.logout", id, nullptr, json{{"revoked_at", rfc3339(call.now)}}));
  if (!ok) return from_error(svc, call, ok.error());
  return json_reply({{"token_id", id}, {"revoked_at", rfc3339(call.now)}});
}

}  // namespace pf::server
