// SPDX-License-Identifier: Apache-2.0
// JSON of the state and of the commands. nlohmann::json keeps object keys sorted, so equal
// values give equal text. Reading is bounded and checked; json exceptions stay in this file.
#include <cstdint>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "patchflow/orchestrator/decide.hpp"
#include "patchflow/orchestrator/state.hpp"

namespace pf::orch {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxString = 64 * 1024;
constexpr std::size_t kMaxList = 1'000'000;

// A reading failure with its JSON path, turned into an Error at the entry points.
struct Bad {
  std::string where;
  std::string message;
};

json time_json(Time t) { return t.time_since_epoch().count(); }
json opt_time(const std::optional<Time>& t) { return t ? time_json(*t) : json(nullptr); }

json window_json(const schedule::Window& w) {
  return {{"schedule", schedule::to_string(w.schedule)},
          {"duration_minutes", w.duration.count()},
          {"zone", w.zone.name()},
          {"kind", std::string(schedule::kind_name(w.kind))}};
}

std::string date_text(std::chrono::year_month_day d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

json limit_json(Limit l) { return {{"percent", l.percent}, {"value", l.value}}; }

json soak_json(const Soak& s) {
  const char* kind = s.kind == Soak::Kind::none       ? "none"
                     : s.kind == Soak::Kind::duration ? "duration"
                                                      : "business_days";
  return {{"kind", kind}, {"seconds", s.duration.count()}, {"days", s.days}};
}

json plan_json(const Plan& p) {
  json stages = json::array();
  for (const auto& s : p.stages) {
    json hosts = json::array();
    for (const auto& h : s.hosts)
      hosts.push_back({{"id", h.id}, {"name", h.name}, {"groups", h.groups}, {"window_set", h.window_set}});
    stages.push_back({{"name", s.name},
                      {"after", s.after},
                      {"when", s.when},
                      {"hosts", std::move(hosts)},
                      {"max_parallel", limit_json(s.max_parallel)},
                      {"max_failed", limit_json(s.max_failed)},
                      {"soak", soak_json(s.soak)},
                      {"approval_required", s.approval_required},
                      {"expected_duration", s.expected_duration.count()},
                      {"host_timeout", s.host_timeout.count()}});
  }
  json sets = json::array();
  for (const auto& set : p.window_sets) {
    json ws = json::array();
    for (const auto& w : set) ws.push_back(window_json(w));
    sets.push_back(std::move(ws));
  }
  json cal = nullptr;
  if (p.calendar) {
    json weekend = json::array();
    for (const auto& d : p.calendar->weekend) weekend.push_back(d.c_encoding());
    json holidays = json::array();
    for (const auto& d : p.calendar->holidays) holidays.push_back(date_text(d));
    cal = {{"zone", p.calendar->zone.name()}, {"weekend", weekend}, {"holidays", holidays}};
  }
  return {{"chain", p.chain},
          {"chain_revision", p.chain_revision},
          {"stages", std::move(stages)},
          {"window_sets", std::move(sets)},
          {"calendar", std::move(cal)},
          {"group_budgets", p.group_budgets},
          {"emergency", p.emergency},
          {"justification", p.justification}};
}

json run_json(const RunState& r) {
  json stages = json::array();
  for (const auto& s : r.stages) {
    json hosts = json::array();
    for (const auto& h : s.hosts) {
      json post = json::object();
      for (const auto& [n, pr] : h.post) post[n] = {{"passed", pr.passed}, {"exit_code", pr.exit_code}};
      hosts.push_back({{"status", std::string(name(h.status))},
                       {"wave", h.wave},
                       {"job_run_id", h.job_run_id},
                       {"dispatched_at", opt_time(h.dispatched_at)},
                       {"last_activity", opt_time(h.last_activity)},
                       {"finished_at", opt_time(h.finished_at)},
                       {"post", std::move(post)},
                       {"health_regressions", h.health_regressions},
                       {"waiting", h.waiting}});
    }
    stages.push_back({{"status", std::string(name(s.status))},
                      {"soak_until", opt_time(s.soak_until)},
                      {"next_opening", opt_time(s.next_opening)},
                      {"explanation", s.explanation},
                      {"why", s.why},
                      {"approved_by", s.approved_by},
                      {"started_at", opt_time(s.started_at)},
                      {"finished_at", opt_time(s.finished_at)},
                      {"wave", s.wave},
                      {"hosts", std::move(hosts)}});
  }
  return {{"plan", plan_json(r.plan)},
          {"status", std::string(name(r.status))},
          {"started_at", time_json(r.started_at)},
          {"started_by", r.started_by},
          {"paused_by", r.paused_by},
          {"canceled_by", r.canceled_by},
          {"reason", r.reason},
          {"finished_at", opt_time(r.finished_at)},
          {"stages", std::move(stages)}};
}

// ---- reading ----

const json& need(const json& j, const char* key, const std::string& path) {
  if (!j.is_object()) throw Bad{path, "expected an object"};
  const auto it = j.find(key);
  if (it == j.end()) throw Bad{path, std::string("missing field '") + key + "'"};
  return *it;
}

std::string sub(const std::string& path, const char* key) { return path + "." + key; }
std::string sub(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string str(const json& j, const char* key, const std::string& path) {
  const json& v = need(j, key, path);
  if (!v.is_string()) throw Bad{sub(path, key), "expected a string"};
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > kMaxString) throw Bad{sub(path, key), "string longer than 64 KiB"};
  return s;
}

std::int64_t integer(const json& j, const char* key, const std::string& path, std::int64_t lo,
                     std::int64_t hi) {
  const json& v = need(j, key, path);
  if (!v.is_number_integer()) throw Bad{sub(path, key), "expected an integer"};
  std::int64_t n = 0;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) throw Bad{sub(path, key), "out of range"};
    n = static_cast<std::int64_t>(u);
  } else {
    n = v.get<std::int64_t>();
  }
  if (n < lo || n > hi) throw Bad{sub(path, key), "out of range"};
  return n;
}

int small(const json& j, const char* key, const std::string& path, int lo, int hi) {
  return static_cast<int>(integer(j, key, path, lo, hi));
}

bool boolean(const json& j, const char* key, const std::string& path) {
  const json& v = need(j, key, path);
  if (!v.is_boolean()) throw Bad{sub(path, key), "expected true or false"};
  return v.get<bool>();
}

const json& array(const json& j, const char* key, const std::string& path, std::size_t max = kMaxList) {
  const json& v = need(j, key, path);
  if (!v.is_array()) throw Bad{sub(path, key), "expected an array"};
  if (v.size() > max) throw Bad{sub(path, key), "more than " + std::to_string(max) + " items"};
  return v;
}

std::vector<std::string> strings(const json& j, const char* key, const std::string& path) {
  const json& a = array(j, key, path, 10'000);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) throw Bad{sub(sub(path, key), i), "expected a string"};
    if (a[i].get_ref<const std::string&>().size() > kMaxString) throw Bad{sub(sub(path, key), i), "string too long"};
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

// Seconds since the epoch within years 1900..2399 (the range schedule works in).
constexpr std::int64_t kMinTime = -2208988800;  // 1900-01-01
constexpr std::int64_t kMaxTime = 13569465600;  // 2400-01-01

Time time_of(const json& j, const char* key, const std::string& path) {
  return Time{std::chrono::seconds{integer(j, key, path, kMinTime, kMaxTime)}};
}

std::optional<Time> opt_time_of(const json& j, const char* key, const std::string& path) {
  const json& v = need(j, key, path);
  if (v.is_null()) return std::nullopt;
  return time_of(j, key, path);
}

schedule::Zone zone_of(const json& j, const char* key, const std::string& path) {
  auto z = schedule::Zone::find(str(j, key, path));
  if (!z) throw Bad{sub(path, key), z.error().message};
  return *z;
}

schedule::Window window_of(const json& j, const std::string& path) {
  schedule::Window w;
  auto sched = schedule::parse_schedule(str(j, "schedule", path));
  if (!sched) throw Bad{sub(path, "schedule"), to_string(sched.error())};
  w.schedule = *sched;
  w.duration = std::chrono::minutes{integer(j, "duration_minutes", path, schedule::kMinDuration.count(),
                                            schedule::kMaxDuration.count())};
  w.zone = zone_of(j, "zone", path);
  auto kind = schedule::parse_kind(str(j, "kind", path));
  if (!kind) throw Bad{sub(path, "kind"), kind.error().message};
  w.kind = *kind;
  return w;
}

Limit limit_of(const json& j, const char* key, const std::string& path) {
  const json& v = need(j, key, path);
  const std::string p = sub(path, key);
  return {boolean(v, "percent", p), small(v, "value", p, -1'000'000, 1'000'000)};
}

Soak soak_of(const json& j, const std::string& path) {
  const json& v = need(j, "soak", path);
  const std::string p = sub(path, "soak");
  Soak s;
  const std::string kind = str(v, "kind", p);
  if (kind == "none") s.kind = Soak::Kind::none;
  else if (kind == "duration") s.kind = Soak::Kind::duration;
  else if (kind == "business_days") s.kind = Soak::Kind::business_days;
  else throw Bad{sub(p, "kind"), "expected none, duration or business_days"};
  s.duration = std::chrono::seconds{integer(v, "seconds", p, 0, 400LL * 86400)};
  s.days = small(v, "days", p, 0, schedule::kMaxBusinessDays);
  return s;
}

Plan plan_of(const json& j, const std::string& path) {
  Plan p;
  p.chain = str(j, "chain", path);
  p.chain_revision = integer(j, "chain_revision", path, INT64_MIN, INT64_MAX);
  const json& stages = array(j, "stages", path, kMaxStages);
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string sp = sub(sub(path, "stages"), i);
    const json& s = stages[i];
    PlanStage ps;
    ps.name = str(s, "name", sp);
    ps.after = strings(s, "after", sp);
    ps.when = str(s, "when", sp);
    const json& hosts = array(s, "hosts", sp, kMaxHostsPerStage);
    for (std::size_t h = 0; h < hosts.size(); ++h) {
      const std::string hp = sub(sub(sp, "hosts"), h);
      PlanHost ph;
      ph.id = str(hosts[h], "id", hp);
      ph.name = str(hosts[h], "name", hp);
      ph.groups = strings(hosts[h], "groups", hp);
      ph.window_set = small(hosts[h], "window_set", hp, -1, static_cast<int>(kMaxWindowSets));
      ps.hosts.push_back(std::move(ph));
    }
    ps.max_parallel = limit_of(s, "max_parallel", sp);
    ps.max_failed = limit_of(s, "max_failed", sp);
    ps.soak = soak_of(s, sp);
    ps.approval_required = boolean(s, "approval_required", sp);
    ps.expected_duration = std::chrono::seconds{integer(s, "expected_duration", sp, 0, 400LL * 86400)};
    ps.host_timeout = std::chrono::seconds{integer(s, "host_timeout", sp, 0, 400LL * 86400)};
    p.stages.push_back(std::move(ps));
  }
  const json& sets = array(j, "window_sets", path, kMaxWindowSets);
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const std::string wp = sub(sub(path, "window_sets"), i);
    if (!sets[i].is_array() || sets[i].size() > 1000) throw Bad{wp, "expected an array of at most 1000 windows"};
    std::vector<schedule::Window> set;
    for (std::size_t k = 0; k < sets[i].size(); ++k) set.push_back(window_of(sets[i][k], sub(wp, k)));
    p.window_sets.push_back(std::move(set));
  }
  const json& cal = need(j, "calendar", path);
  if (!cal.is_null()) {
    const std::string cp = sub(path, "calendar");
    schedule::Calendar c;
    c.zone = zone_of(cal, "zone", cp);
    c.weekend.clear();
    const json& weekend = array(cal, "weekend", cp, 7);
    for (std::size_t i = 0; i < weekend.size(); ++i) {
      if (!weekend[i].is_number_unsigned() || weekend[i].get<unsigned>() > 6)
        throw Bad{sub(sub(cp, "weekend"), i), "expected a weekday 0 (Sunday) .. 6"};
      c.weekend.emplace_back(weekend[i].get<unsigned>());
    }
    const json& holidays = array(cal, "holidays", cp, schedule::kMaxHolidays);
    for (std::size_t i = 0; i < holidays.size(); ++i) {
      const std::string hp = sub(sub(cp, "holidays"), i);
      if (!holidays[i].is_string()) throw Bad{hp, "expected YYYY-MM-DD"};
      const auto& t = holidays[i].get_ref<const std::string&>();
      int y = 0;
      unsigned m = 0, d = 0;
      char tail = 0;
      if (t.size() != 10 || std::sscanf(t.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3)
        throw Bad{hp, "expected YYYY-MM-DD"};
      const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
      if (!ymd.ok() || date_text(ymd) != t) throw Bad{hp, "not a date"};
      c.holidays.push_back(ymd);
    }
    p.calendar = std::move(c);
  }
  const json& budgets = need(j, "group_budgets", path);
  if (!budgets.is_object() || budgets.size() > 100'000) throw Bad{sub(path, "group_budgets"), "expected an object"};
  for (auto it = budgets.begin(); it != budgets.end(); ++it) {
    if (!it.value().is_number_integer()) throw Bad{sub(path, "group_budgets") + "." + it.key(), "expected an integer"};
    p.group_budgets[it.key()] = small(budgets, it.key().c_str(), sub(path, "group_budgets"), -1'000'000, 1'000'000);
  }
  p.emergency = boolean(j, "emergency", path);
  p.justification = str(j, "justification", path);
  return p;
}

template <class E>
E enum_of(const json& j, const char* key, const std::string& path, E last) {
  const std::string text = str(j, key, path);
  for (int i = 0; i <= static_cast<int>(last); ++i)
    if (name(static_cast<E>(i)) == text) return static_cast<E>(i);
  throw Bad{sub(path, key), "unknown status '" + text + "'"};
}

RunState run_of(const json& j, const std::string& path) {
  RunState r;
  r.plan = plan_of(need(j, "plan", path), sub(path, "plan"));
  r.status = enum_of(j, "status", path, RunStatus::canceled);
  r.started_at = time_of(j, "started_at", path);
  r.started_by = str(j, "started_by", path);
  r.paused_by = str(j, "paused_by", path);
  r.canceled_by = str(j, "canceled_by", path);
  r.reason = str(j, "reason", path);
  r.finished_at = opt_time_of(j, "finished_at", path);
  const json& stages = array(j, "stages", path, kMaxStages);
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string sp = sub(sub(path, "stages"), i);
    const json& s = stages[i];
    StageState ss;
    ss.status = enum_of(s, "status", sp, StageStatus::canceled);
    ss.soak_until = opt_time_of(s, "soak_until", sp);
    ss.next_opening = opt_time_of(s, "next_opening", sp);
    ss.explanation = strings(s, "explanation", sp);
    ss.why = str(s, "why", sp);
    ss.approved_by = str(s, "approved_by", sp);
    ss.started_at = opt_time_of(s, "started_at", sp);
    ss.finished_at = opt_time_of(s, "finished_at", sp);
    ss.wave = small(s, "wave", sp, 0, static_cast<int>(kMaxHostsPerStage));
    const json& hosts = array(s, "hosts", sp, kMaxHostsPerStage);
    for (std::size_t h = 0; h < hosts.size(); ++h) {
      const std::string hp = sub(sub(sp, "hosts"), h);
      const json& hj = hosts[h];
      HostState hs;
      hs.status = enum_of(hj, "status", hp, HostStatus::not_started);
      hs.wave = small(hj, "wave", hp, 0, static_cast<int>(kMaxHostsPerStage));
      hs.job_run_id = str(hj, "job_run_id", hp);
      hs.dispatched_at = opt_time_of(hj, "dispatched_at", hp);
      hs.last_activity = opt_time_of(hj, "last_activity", hp);
      hs.finished_at = opt_time_of(hj, "finished_at", hp);
      const json& post = need(hj, "post", hp);
      if (!post.is_object() || post.size() > 1000) throw Bad{sub(hp, "post"), "expected an object"};
      for (auto it = post.begin(); it != post.end(); ++it) {
        const std::string pp = sub(hp, "post") + "." + it.key();
        hs.post[it.key()] = {boolean(it.value(), "passed", pp),
                             integer(it.value(), "exit_code", pp, INT64_MIN, INT64_MAX)};
      }
      hs.health_regressions = integer(hj, "health_regressions", hp, 0, 1'000'000'000);
      hs.waiting = str(hj, "waiting", hp);
      ss.hosts.push_back(std::move(hs));
    }
    r.stages.push_back(std::move(ss));
  }
  // What decide relies on: stages and hosts parallel to the plan, a valid plan while active.
  if (!r.stages.empty() || !is_final(r.status)) {
    if (r.stages.size() != r.plan.stages.size()) throw Bad{sub(path, "stages"), "not parallel to plan.stages"};
    for (std::size_t i = 0; i < r.stages.size(); ++i)
      if (r.stages[i].hosts.size() != r.plan.stages[i].hosts.size())
        throw Bad{sub(sub(path, "stages"), i) + ".hosts", "not parallel to the plan's hosts"};
  }
  if (!is_final(r.status)) {
    if (auto ok = validate(r.plan); !ok) throw Bad{sub(path, "plan") + "." + ok.error().where, ok.error().message};
  }
  return r;
}

json command_json(const Command& c) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, StartHost>)
          return {{"type", "start_host"}, {"run_id", v.run_id}, {"stage", v.stage},
                  {"host_id", v.host_id}, {"job_run_id", v.job_run_id}, {"deadline", time_json(v.deadline)}};
        else if constexpr (std::is_same_v<T, CancelHost>)
          return {{"type", "cancel_host"}, {"run_id", v.run_id}, {"host_id", v.host_id},
                  {"job_run_id", v.job_run_id}};
        else if constexpr (std::is_same_v<T, Log>)
          return {{"type", "log"}, {"run_id", v.run_id}, {"line", v.line}};
        else
          return {{"type", "run_finished"}, {"run_id", v.run_id}, {"status", std::string(name(v.status))}};
      },
      c);
}

template <class F>
auto guarded(std::string_view text, std::size_t max, F&& f) -> Result<decltype(f(json{}))> {
  if (text.size() > max)
    return make_error(Errc::invalid_input, "JSON of " + std::to_string(text.size()) +
                                               " bytes, more than " + std::to_string(max), "$");
  try {
    const json j = json::parse(text.begin(), text.end());
    return f(j);
  } catch (const Bad& b) {
    return make_error(Errc::invalid_input, b.message, b.where);
  } catch (const json::exception& e) {
    return make_error(Errc::invalid_input, std::string("not JSON: ") + e.what(), "$");
  }
}

}  // namespace

std::string to_json(const State& state) {
  json runs = json::object();
  for (const auto& [id, run] : state.runs) runs[id] = run_json(run);
  return json{{"version", 1}, {"runs", std::move(runs)}}.dump();
}

Result<State> state_from_json(std::string_view text) {
  return guarded(text, kMaxStateJsonBytes, [](const json& j) {
    if (integer(j, "version", "$", 0, 100) != 1) throw Bad{"$.version", "unsupported version"};
    const json& runs = need(j, "runs", "$");
    if (!runs.is_object()) throw Bad{"$.runs", "expected an object"};
    if (runs.size() > kMaxRuns) throw Bad{"$.runs", "more than " + std::to_string(kMaxRuns) + " runs"};
    State s;
    for (auto it = runs.begin(); it != runs.end(); ++it)
      s.runs.emplace(it.key(), run_of(it.value(), "$.runs." + it.key()));
    return s;
  });
}

std::string plan_to_json(const Plan& plan) { return plan_json(plan).dump(); }

Result<Plan> plan_from_json(std::string_view text) {
  return guarded(text, kMaxStateJsonBytes, [](const json& j) { return plan_of(j, "$"); });
}

std::string to_json(const Command& command) { return command_json(command).dump(); }

Result<Command> command_from_json(std::string_view text) {
  return guarded(text, 1u << 20, [](const json& j) -> Command {
    const std::string type = str(j, "type", "$");
    if (type == "start_host")
      return StartHost{str(j, "run_id", "$"), str(j, "stage", "$"), str(j, "host_id", "$"),
                       str(j, "job_run_id", "$"), time_of(j, "deadline", "$")};
    if (type == "cancel_host")
      return CancelHost{str(j, "run_id", "$"), str(j, "host_id", "$"), str(j, "job_run_id", "$")};
    if (type == "log") return Log{str(j, "run_id", "$"), str(j, "line", "$")};
    if (type == "run_finished")
      return RunFinished{str(j, "run_id", "$"), enum_of(j, "status", "$", RunStatus::canceled)};
    throw Bad{"$.type", "unknown command type '" + type + "'"};
  });
}

}  // namespace pf::orch
