// SPDX-License-Identifier: Apache-2.0
// The stored form of documents (canonical JSON) and the audit diff between two of them.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "internal.hpp"
#include "patchflow/policy/document.hpp"

namespace pf::policy {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxJsonDepth = 32;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0, max = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') max = std::max(max, ++depth);
    else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return max;
}

std::string_view kind_word(advisories::Kind k) {
  switch (k) {
    case advisories::Kind::security: return "security";
    case advisories::Kind::bugfix: return "bugfix";
    case advisories::Kind::enhancement: return "enhancement";
  }
  return "security";
}

json limit_json(const Limit& l) {
  if (l.percent) return std::to_string(l.value) + "%";
  return l.value;
}

json selector_json(const std::optional<Selector>& s) {
  if (!s) return nullptr;
  return to_string(*s);
}

json window_json(const std::optional<schedule::Window>& w) {
  if (!w) return nullptr;
  return {{"schedule", schedule::to_string(w->schedule)},
          {"duration", schedule::format_duration(w->duration)},
          {"timezone", w->zone.name()},
          {"kind", std::string(schedule::kind_name(w->kind))}};
}

json steps_json(const Stage& s) {
  jobs::Job j = detail::stage_job(s);
  json parsed = json::parse(jobs::to_json(j));
  return {{"preconditions", parsed.at("preconditions")},
          {"pre", parsed.at("pre")},
          {"post", parsed.at("post")},
          {"health", parsed.contains("baseline") ? parsed.at("baseline") : json(nullptr)}};
}

json spec_json(const Baseline& b) {
  json cls = json::array();
  for (auto k : b.classifications) cls.push_back(std::string(kind_word(k)));
  return {{"classifications", cls},
          {"min_severity", std::string(advisories::severity_name(b.min_severity))},
          {"auto_approve_after", detail::format_span(b.auto_approve_after)},
          {"kev_only", b.kev_only},
          {"approve", b.approve},
          {"reject", b.reject},
          {"holds", b.holds},
          {"exclude", b.exclude}};
}

json spec_json(const Group& g) {
  return {{"selector", selector_json(g.selector)},
          {"hosts", g.hosts},
          {"budget", g.budget ? limit_json(*g.budget) : json(nullptr)},
          {"windows", g.windows}};
}

json spec_json(const WindowDoc& w) {
  json cal = nullptr;
  if (w.calendar) {
    json weekend = json::array(), holidays = json::array();
    for (auto d : w.calendar->weekend) weekend.push_back(detail::weekday_text(d));
    for (auto d : w.calendar->holidays) holidays.push_back(detail::format_date(d));
    cal = {{"timezone", w.calendar->zone.name()}, {"weekend", weekend}, {"holidays", holidays}};
  }
  return {{"window", window_json(w.window)}, {"calendar", cal}};
}

json spec_json(const Chain& c) {
  json stages = json::array();
  for (const auto& s : c.stages) {
    json st = {{"name", s.name},
               {"where", s.where},
               {"after", s.after},
               {"when", s.when},
               {"when_where", s.when_where},
               {"targets",
                {{"selector", selector_json(s.targets.selector)},
                 {"group", s.targets.group},
                 {"hosts", s.targets.hosts}}},
               {"rollout",
                {{"max_parallel", limit_json(s.rollout.max_parallel)},
                 {"max_failed", limit_json(s.rollout.max_failed)}}},
               {"retry", s.retry ? json{{"interval", detail::format_span(s.retry->interval)},
                                        {"for", detail::format_span(s.retry->for_duration)}}
                                 : json(nullptr)},
               {"reboot", std::string(jobs::reboot_policy_name(s.reboot))},
               {"soak", detail::soak_text(s.soak)},
               {"approval_required", s.approval_required},
               {"timeout", detail::format_span(s.timeout)},
               {"expected_duration", detail::format_span(s.expected_duration)}};
    st.update(steps_json(s));
    stages.push_back(std::move(st));
  }
  return {{"baseline", c.baseline},
          {"windows", c.windows},
          {"window", window_json(c.window)},
          {"calendar", c.calendar},
          {"emergency_allowed", c.emergency_allowed},
          {"stages", stages}};
}

// ----- from_json -----

struct Bad {
  std::string path, message;
};

[[noreturn]] void bad(const std::string& path, const std::string& message) { throw Bad{path, message}; }

const json& obj(const json& j, const std::string& path, std::initializer_list<std::string_view> keys) {
  if (!j.is_object()) bad(path, "expected an object");
  if (j.size() != keys.size()) bad(path, "expected exactly the keys of the stored form");
  for (auto k : keys) {
    if (!j.contains(std::string(k))) bad(path, "missing key " + std::string(k));
  }
  return j;
}

std::string text(const json& j, const std::string& key, const std::string& path) {
  const auto& v = j.at(key);
  if (!v.is_string()) bad(path + "." + key, "expected a string");
  return v.get<std::string>();
}

bool flag(const json& j, const std::string& key, const std::string& path) {
  const auto& v = j.at(key);
  if (!v.is_boolean()) bad(path + "." + key, "expected true or false");
  return v.get<bool>();
}

std::vector<std::string> texts(const json& j, const std::string& key, const std::string& path) {
  const auto& v = j.at(key);
  if (!v.is_array()) bad(path + "." + key, "expected a list");
  std::vector<std::string> out;
  for (const auto& x : v) {
    if (!x.is_string()) bad(path + "." + key, "expected strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

std::chrono::seconds span(const json& j, const std::string& key, const std::string& path, bool zero) {
  auto d = detail::parse_span(text(j, key, path), zero);
  if (!d) bad(path + "." + key, d.error().message);
  return *d;
}

Limit limit(const json& v, const std::string& path) {
  Limit l;
  if (v.is_number_unsigned()) {
    const auto x = v.get<std::uint64_t>();
    if (x > 100000) bad(path, "count out of range");
    l.value = static_cast<int>(x);
    return l;
  }
  if (!v.is_string()) bad(path, "expected a count or a percentage");
  std::string s = v.get<std::string>();
  if (s.size() < 2 || s.size() > 4 || s.back() != '%') bad(path, "expected a percentage");
  int x = 0;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') bad(path, "expected a percentage");
    x = x * 10 + (s[i] - '0');
  }
  if (x > 100) bad(path, "percentage above 100");
  l.percent = true;
  l.value = x;
  return l;
}

std::optional<Selector> selector(const json& v, const std::string& path) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) bad(path, "expected a selector or null");
  auto s = parse_selector(v.get<std::string>());
  if (!s) bad(path, s.error().message);
  return *s;
}

std::optional<schedule::Window> window(const json& v, const std::string& path) {
  if (v.is_null()) return std::nullopt;
  obj(v, path, {"schedule", "duration", "timezone", "kind"});
  auto w = schedule::make_window(text(v, "schedule", path), text(v, "duration", path),
                                 text(v, "timezone", path), text(v, "kind", path));
  if (!w) bad(path, w.error().where + ": " + w.error().message);
  return *w;
}

Baseline baseline(const json& j, const std::string& p) {
  obj(j, p, {"classifications", "min_severity", "auto_approve_after", "kev_only", "approve", "reject",
             "holds", "exclude"});
  Baseline b;
  b.classifications.clear();
  for (const auto& c : texts(j, "classifications", p)) {
    if (c == "security") b.classifications.push_back(advisories::Kind::security);
    else if (c == "bugfix") b.classifications.push_back(advisories::Kind::bugfix);
    else if (c == "enhancement") b.classifications.push_back(advisories::Kind::enhancement);
    else bad(p + ".classifications", "unknown classification");
  }
  auto sev = advisories::severity_from_name(text(j, "min_severity", p));
  if (!sev) bad(p + ".min_severity", "unknown severity");
  b.min_severity = *sev;
  b.auto_approve_after = span(j, "auto_approve_after", p, true);
  b.kev_only = flag(j, "kev_only", p);
  b.approve = texts(j, "approve", p);
  b.reject = texts(j, "reject", p);
  b.holds = texts(j, "holds", p);
  b.exclude = texts(j, "exclude", p);
  return b;
}

Group group(const json& j, const std::string& p) {
  obj(j, p, {"selector", "hosts", "budget", "windows"});
  Group g;
  g.selector = selector(j.at("selector"), p + ".selector");
  g.hosts = texts(j, "hosts", p);
  if (!j.at("budget").is_null()) g.budget = limit(j.at("budget"), p + ".budget");
  g.windows = texts(j, "windows", p);
  return g;
}

WindowDoc window_doc(const json& j, const std::string& p) {
  obj(j, p, {"window", "calendar"});
  WindowDoc w;
  w.window = window(j.at("window"), p + ".window");
  const auto& c = j.at("calendar");
  if (!c.is_null()) {
    const std::string cp = p + ".calendar";
    obj(c, cp, {"timezone", "weekend", "holidays"});
    schedule::Calendar cal;
    auto zone = schedule::Zone::find(text(c, "timezone", cp));
    if (!zone) bad(cp + ".timezone", zone.error().message);
    cal.zone = *zone;
    cal.weekend.clear();
    for (const auto& d : texts(c, "weekend", cp)) {
      auto wd = detail::parse_weekday(d);
      if (!wd) bad(cp + ".weekend", wd.error().message);
      cal.weekend.push_back(*wd);
    }
    auto hs = texts(c, "holidays", cp);
    if (hs.size() > schedule::kMaxHolidays) bad(cp + ".holidays", "too many holidays");
    for (const auto& d : hs) {
      auto ymd = detail::parse_date(d);
      if (!ymd) bad(cp + ".holidays", ymd.error().message);
      cal.holidays.push_back(*ymd);
    }
    w.calendar = std::move(cal);
  }
  return w;
}

Stage stage(const json& j, const std::string& p) {
  obj(j, p, {"name", "where", "after", "when", "when_where", "targets", "rollout", "retry", "reboot",
             "soak", "approval_required", "timeout", "expected_duration", "preconditions", "pre",
             "post", "health"});
  Stage s;
  s.name = text(j, "name", p);
  s.where = text(j, "where", p);
  s.after = texts(j, "after", p);
  s.when = text(j, "when", p);
  s.when_where = text(j, "when_where", p);
  const auto& t = obj(j.at("targets"), p + ".targets", {"selector", "group", "hosts"});
  s.targets.selector = selector(t.at("selector"), p + ".targets.selector");
  s.targets.group = text(t, "group", p + ".targets");
  s.targets.hosts = texts(t, "hosts", p + ".targets");
  const auto& r = obj(j.at("rollout"), p + ".rollout", {"max_parallel", "max_failed"});
  s.rollout.max_parallel = limit(r.at("max_parallel"), p + ".rollout.max_parallel");
  s.rollout.max_failed = limit(r.at("max_failed"), p + ".rollout.max_failed");
  if (!j.at("retry").is_null()) {
    const auto& rt = obj(j.at("retry"), p + ".retry", {"interval", "for"});
    s.retry = RetryPolicy{span(rt, "interval", p + ".retry", false), span(rt, "for", p + ".retry", false)};
  }
  const auto reboot = text(j, "reboot", p);
  if (reboot == "never") s.reboot = jobs::Reboot::Policy::never;
  else if (reboot == "if_required") s.reboot = jobs::Reboot::Policy::if_required;
  else if (reboot == "always") s.reboot = jobs::Reboot::Policy::always;
  else bad(p + ".reboot", "unknown reboot policy");
  auto soak = detail::parse_soak(text(j, "soak", p));
  if (!soak) bad(p + ".soak", soak.error().message);
  s.soak = *soak;
  s.approval_required = flag(j, "approval_required", p);
  s.timeout = span(j, "timeout", p, false);
  s.expected_duration = span(j, "expected_duration", p, false);
  // The steps through the jobs parser: the same rules as when the job is built.
  json job = json::parse(jobs::to_json(detail::stage_job(Stage{})));
  job["preconditions"] = j.at("preconditions");
  job["pre"] = j.at("pre");
  job["post"] = j.at("post");
  if (!j.at("health").is_null()) job["baseline"] = j.at("health");
  auto parsed = jobs::parse_job(dump(job));
  if (!parsed) bad(p + " " + parsed.error().where, parsed.error().message);
  s.preconditions = std::move(parsed->preconditions);
  s.pre = std::move(parsed->pre);
  s.post = std::move(parsed->post);
  s.health = std::move(parsed->baseline);
  return s;
}

Chain chain(const json& j, const std::string& p) {
  obj(j, p, {"baseline", "windows", "window", "calendar", "emergency_allowed", "stages"});
  Chain c;
  c.baseline = text(j, "baseline", p);
  c.windows = texts(j, "windows", p);
  c.window = window(j.at("window"), p + ".window");
  c.calendar = text(j, "calendar", p);
  c.emergency_allowed = flag(j, "emergency_allowed", p);
  const auto& st = j.at("stages");
  if (!st.is_array()) bad(p + ".stages", "expected a list");
  for (std::size_t i = 0; i < st.size(); ++i) c.stages.push_back(stage(st[i], p + ".stages[" + std::to_string(i) + "]"));
  return c;
}

void diff_into(const json& a, const json& b, const std::string& path, std::vector<std::string>& out) {
  auto child = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys) {
      const bool in_a = a.contains(k), in_b = b.contains(k);
      if (in_a && in_b) diff_into(a.at(k), b.at(k), child(k), out);
      else if (in_a) out.push_back("- " + child(k) + ": " + dump(a.at(k)));
      else out.push_back("+ " + child(k) + ": " + dump(b.at(k)));
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    const std::size_t n = std::max(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      if (i < a.size() && i < b.size()) diff_into(a[i], b[i], p, out);
      else if (i < a.size()) out.push_back("- " + p + ": " + dump(a[i]));
      else out.push_back("+ " + p + ": " + dump(b[i]));
    }
    return;
  }
  if (a != b) out.push_back((path.empty() ? "$" : path) + ": " + dump(a) + " → " + dump(b));
}

json parse_bounded(std::string_view text) {
  if (text.size() > kMaxFileBytes || nesting_depth(text) > kMaxJsonDepth) return json::value_t::discarded;
  return json::parse(text, nullptr, false);
}

}  // namespace

std::string to_json(const Document& doc) {
  json spec = std::visit([](const auto& s) { return spec_json(s); }, doc.spec);
  json j = {{"kind", std::string(doc_kind_name(doc.kind))},
            {"name", doc.name},
            {"labels", doc.labels},
            {"where", doc.where},
            {"spec", std::move(spec)}};
  return dump(j);
}

Result<Document> from_json(std::string_view input) {
  if (input.size() > kMaxFileBytes) return make_error(Errc::invalid_input, "larger than 1 MiB", "$");
  if (nesting_depth(input) > kMaxJsonDepth) return make_error(Errc::invalid_input, "nested deeper than 32 levels", "$");
  json j = json::parse(input, nullptr, false);
  if (j.is_discarded()) return make_error(Errc::invalid_input, "not valid JSON", "$");
  try {
    obj(j, "$", {"kind", "name", "labels", "where", "spec"});
    Document d;
    const auto kind = text(j, "kind", "$");
    d.name = text(j, "name", "$");
    if (!valid_name(d.name)) bad("$.name", "not a valid name");
    d.where = text(j, "where", "$");
    const auto& labels = j.at("labels");
    if (!labels.is_object()) bad("$.labels", "expected an object");
    for (const auto& [k, v] : labels.items()) {
      if (!v.is_string()) bad("$.labels." + k, "expected a string");
      d.labels[k] = v.get<std::string>();
    }
    const auto& spec = j.at("spec");
    if (kind == "Baseline") {
      d.kind = DocKind::baseline;
      d.spec = baseline(spec, "$.spec");
    } else if (kind == "Group") {
      d.kind = DocKind::group;
      d.spec = group(spec, "$.spec");
    } else if (kind == "Window") {
      d.kind = DocKind::window;
      d.spec = window_doc(spec, "$.spec");
    } else if (kind == "Chain") {
      d.kind = DocKind::chain;
      d.spec = chain(spec, "$.spec");
    } else {
      bad("$.kind", "expected Baseline, Group, Window or Chain");
    }
    return d;
  } catch (const Bad& e) {
    return make_error(Errc::invalid_input, e.message, e.path);
  } catch (const json::exception& e) {
    return make_error(Errc::invalid_input, std::string("unexpected JSON: ") + e.what(), "$");
  }
}

std::vector<std::string> diff(std::string_view old_json, std::string_view new_json) {
  std::vector<std::string> out;
  const json a = parse_bounded(old_json), b = parse_bounded(new_json);
  if (a.is_discarded() || b.is_discarded()) {
    if (old_json != new_json) {
      auto cut = [](std::string_view s) {
        return std::string(s.substr(0, 200)) + (s.size() > 200 ? "..." : "");
      };
      out.push_back("$: " + cut(old_json) + " → " + cut(new_json));
    }
    return out;
  }
  diff_into(a, b, "", out);
  return out;
}

}  // namespace pf::policy
