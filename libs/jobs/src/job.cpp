// SPDX-License-Identifier: Apache-2.0
#include "patchflow/jobs/job.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "patchflow/pki/signing.hpp"
#include "patchflow/pkg/backend.hpp"

namespace pf::jobs {
namespace {

using nlohmann::json;

Unexpected bad(const std::string& where, std::string message) {
  return make_error(Errc::invalid_input, std::move(message), where);
}

// The deepest nesting of arrays and objects, counted without parsing (strings skipped), so
// that a hostile document is refused before the parser builds it.
std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return deepest;
}

bool valid_step_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto ok = [](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return !first && (c == '_' || c == '.' || c == '-');
  };
  for (std::size_t i = 0; i < id.size(); ++i)
    if (!ok(id[i], i == 0)) return false;
  return true;
}

bool valid_run_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id[0])) return false;
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!(letter || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Walks one JSON object, remembering which keys were read so that unknown ones are refused.
class Obj {
 public:
  Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  [[nodiscard]] std::string at(std::string_view key) const {
    return path_ + "." + std::string(key);
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool has(const char* key) {
    seen_.insert(key);
    return j_.contains(key);
  }
  const json* get(const char* key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  Result<std::string> str(const char* key, bool required, std::string def = {}) {
    const json* v = get(key);
    if (v == nullptr) {
      if (required) return bad(at(key), "missing");
      return def;
    }
    if (!v->is_string()) return bad(at(key), "must be a string");
    auto s = v->get<std::string>();
    if (s.size() > kMaxString) return bad(at(key), "longer than 64 KiB");
    return s;
  }

  Result<std::int64_t> integer(const char* key, bool required, std::int64_t def, std::int64_t min,
                               std::int64_t max) {
    const json* v = get(key);
    if (v == nullptr) {
      if (required) return bad(at(key), "missing");
      return def;
    }
    if (!v->is_number_integer()) return bad(at(key), "must be an integer");
    std::int64_t n = 0;
    if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max)) {
        return bad(at(key), "must be in " + std::to_string(min) + ".." + std::to_string(max));
      }
      n = static_cast<std::int64_t>(u);
    } else {
      n = v->get<std::int64_t>();
    }
    if (n < min || n > max) {
      return bad(at(key), "must be in " + std::to_string(min) + ".." + std::to_string(max));
    }
    return n;
  }

  Result<bool> boolean(const char* key, bool def) {
    const json* v = get(key);
    if (v == nullptr) return def;
    if (!v->is_boolean()) return bad(at(key), "must be true or false");
    return v->get<bool>();
  }

  Result<std::vector<std::string>> strings(const char* key, std::size_t max_items) {
    const json* v = get(key);
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array()) return bad(at(key), "must be an array of strings");
    if (v->size() > max_items) {
      return bad(at(key), "more than " + std::to_string(max_items) + " items");
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      const auto& item = (*v)[i];
      const std::string where = at(key) + "[" + std::to_string(i) + "]";
      if (!item.is_string()) return bad(where, "must be a string");
      auto s = item.get<std::string>();
      if (s.size() > kMaxString) return bad(where, "longer than 64 KiB");
      if (s.find('\0') != std::string::npos) return bad(where, "contains a NUL byte");
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::vector<int>> exit_codes(const char* key) {
    const json* v = get(key);
    std::vector<int> out{0};
    if (v == nullptr) return out;
    if (!v->is_array() || v->empty()) return bad(at(key), "must be a non-empty array of integers");
    if (v->size() > kMaxArgv) return bad(at(key), "more than 256 items");
    out.clear();
    for (std::size_t i = 0; i < v->size(); ++i) {
      const auto& item = (*v)[i];
      const std::string where = at(key) + "[" + std::to_string(i) + "]";
      if (!item.is_number_integer()) return bad(where, "must be an integer");
      const auto n = item.get<std::int64_t>();
      if (n < 0 || n > 255) return bad(where, "an exit code is in 0..255");
      out.push_back(static_cast<int>(n));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Result<std::chrono::seconds> seconds(const char* key, std::int64_t def, std::int64_t min,
                                       std::int64_t max) {
    auto n = integer(key, false, def, min, max);
    if (!n) return tl::unexpected(n.error());
    return std::chrono::seconds(*n);
  }

  Result<Time> time(const char* key) {
    auto s = str(key, true);
    if (!s) return tl::unexpected(s.error());
    auto t = parse_time(*s);
    if (!t) return bad(at(key), t.error().message);
    return *t;
  }

  // Errors for keys that were never asked for.
  Result<void> finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.contains(it.key())) return bad(at(it.key()), "unknown field");
    }
    return {};
  }

 private:
  const json& j_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
};

Result<Obj> object_at(const json& j, const std::string& path) {
  if (!j.is_object()) return bad(path, "must be an object");
  return Obj(j, path);
}

#define PF_TRY_ASSIGN(target, expr)                    \
  do {                                                 \
    auto pf_try_r = (expr);                            \
    if (!pf_try_r) return tl::unexpected(pf_try_r.error()); \
    target = std::move(*pf_try_r);                     \
  } while (0)

#define PF_TRY(expr)                                   \
  do {                                                 \
    auto pf_try_r = (expr);                            \
    if (!pf_try_r) return tl::unexpected(pf_try_r.error()); \
  } while (0)

// The command fields of `o`: argv | shell, and, unless `checks_only`, user, env, cwd.
Result<Command> parse_command(Obj& o, bool full) {
  Command c;
  PF_TRY_ASSIGN(c.argv, o.strings("argv", kMaxArgv));
  PF_TRY_ASSIGN(c.shell, o.str("shell", false));
  const bool has_argv = o.has("argv"), has_shell = o.has("shell");
  if (has_argv == has_shell) return bad(o.path(), "needs exactly one of \"argv\" and \"shell\"");
  if (has_argv && (c.argv.empty() || c.argv[0].empty())) {
    return bad(o.at("argv"), "must name a program");
  }
  if (has_shell && c.shell.empty()) return bad(o.at("shell"), "must not be empty");
  if (has_shell && c.shell.find('\0') != std::string::npos) {
    return bad(o.at("shell"), "contains a NUL byte");
  }
  PF_TRY_ASSIGN(c.ok_exit_codes, o.exit_codes("ok_exit_codes"));
  if (!full) return c;
  PF_TRY_ASSIGN(c.user, o.str("user", false));
  if (!c.user.empty() && (c.user.size() > 64 || c.user.find_first_of(std::string_view(":/ \t\n\0", 6)) != std::string::npos)) {
    return bad(o.at("user"), "is not a user name");
  }
  PF_TRY_ASSIGN(c.cwd, o.str("cwd", false));
  if (!c.cwd.empty() && c.cwd[0] != '/') return bad(o.at("cwd"), "must be an absolute path");
  if (const json* env = o.get("env")) {
    if (!env->is_object()) return bad(o.at("env"), "must be an object of strings");
    if (env->size() > kMaxArgv) return bad(o.at("env"), "more than 256 variables");
    for (auto it = env->begin(); it != env->end(); ++it) {
      const std::string where = o.at("env") + "." + it.key();
      if (!valid_env_name(it.key())) return bad(where, "is not a variable name");
      if (!it->is_string()) return bad(where, "must be a string");
      auto v = it->get<std::string>();
      if (v.size() > kMaxString) return bad(where, "longer than 64 KiB");
      if (v.find('\0') != std::string::npos) return bad(where, "contains a NUL byte");
      c.env[it.key()] = std::move(v);
    }
  }
  return c;
}

constexpr std::array<std::pair<CheckKind, std::string_view>, 10> kCheckNames{{
    {CheckKind::disk_free, "disk_free"},
    {CheckKind::service_active, "service_active"},
    {CheckKind::port_open, "port_open"},
    {CheckKind::http_ok, "http_ok"},
    {CheckKind::file_absent, "file_absent"},
    {CheckKind::file_present, "file_present"},
    {CheckKind::process_absent, "process_absent"},
    {CheckKind::uptime_min, "uptime_min"},
    {CheckKind::on_ac_power, "on_ac_power"},
    {CheckKind::command, "command"},
}};

Result<std::string> abs_path(Obj& o, const char* key) {
  auto p = o.str(key, true);
  if (!p) return p;
  if (p->empty() || (*p)[0] != '/') return bad(o.at(key), "must be an absolute path");
  if (p->find('\0') != std::string::npos) return bad(o.at(key), "contains a NUL byte");
  return p;
}

// The check fields of `o` (its "check" names the kind).
Result<Check> parse_check(Obj& o) {
  Check c;
  std::string kind;
  PF_TRY_ASSIGN(kind, o.str("check", true));
  auto it = std::find_if(kCheckNames.begin(), kCheckNames.end(),
                         [&](const auto& p) { return p.second == kind; });
  if (it == kCheckNames.end()) return bad(o.at("check"), "unknown check \"" + kind + "\"");
  c.kind = it->first;
  switch (c.kind) {
    case CheckKind::disk_free: {
      PF_TRY_ASSIGN(c.path, abs_path(o, "path"));
      std::int64_t mb = 0;
      PF_TRY_ASSIGN(mb, o.integer("min_free_mb", true, 0, 0, std::int64_t{1} << 40));
      c.min_free_mb = static_cast<std::uint64_t>(mb);
      break;
    }
    case CheckKind::service_active:
      PF_TRY_ASSIGN(c.unit, o.str("unit", true));
      if (c.unit.empty() || c.unit.size() > 256 ||
          c.unit.find_first_of(std::string_view(" \t\n/\0", 5)) != std::string::npos ||
          c.unit[0] == '-') {
        return bad(o.at("unit"), "is not a unit name");
      }
      break;
    case CheckKind::port_open: {
      PF_TRY_ASSIGN(c.host, o.str("host", false, "127.0.0.1"));
      if (c.host.empty() || c.host.size() > 255) return bad(o.at("host"), "is not a host name");
      std::int64_t port = 0;
      PF_TRY_ASSIGN(port, o.integer("port", true, 0, 1, 65535));
      c.port = static_cast<int>(port);
      break;
    }
    case CheckKind::http_ok: {
      PF_TRY_ASSIGN(c.url, o.str("url", true));
      if (!c.url.starts_with("http://") && !c.url.starts_with("https://")) {
        return bad(o.at("url"), "must be an http:// or https:// URL");
      }
      std::int64_t status = 0;
      PF_TRY_ASSIGN(status, o.integer("expect_status", false, 0, 0, 599));
      c.expect_status = static_cast<int>(status);
      break;
    }
    case CheckKind::file_absent:
    case CheckKind::file_present: PF_TRY_ASSIGN(c.path, abs_path(o, "path")); break;
    case CheckKind::process_absent:
      PF_TRY_ASSIGN(c.name, o.str("name", true));
      if (c.name.empty() || c.name.size() > 255 || c.name.find('\0') != std::string::npos) {
        return bad(o.at("name"), "is not a process name");
      }
      break;
    case CheckKind::uptime_min:
      PF_TRY_ASSIGN(c.seconds, o.integer("seconds", true, 0, 0, std::int64_t{10} * 365 * 86400));
      break;
    case CheckKind::on_ac_power: break;
    case CheckKind::command: PF_TRY_ASSIGN(c.command, parse_command(o, false)); break;
  }
  return c;
}

std::int64_t default_timeout(StepType type) {
  switch (type) {
    case StepType::command: return 300;
    case StepType::check: return 30;
    case StepType::wait_for: return 300;
  }
  return 60;
}

Result<Step> parse_step(const json& j, const std::string& path) {
  Obj o(j, path);
  if (!j.is_object()) return bad(path, "a step must be an object");
  Step s;
  PF_TRY_ASSIGN(s.id, o.str("id", true));
  if (!valid_step_id(s.id)) {
    return bad(o.at("id"), "\"" + s.id.substr(0, 80) + "\" is not a step id ([a-z0-9][a-z0-9_.-]{0,63})");
  }
  if (is_reserved_step_id(s.id)) return bad(o.at("id"), "\"" + s.id + "\" is reserved");
  std::string type;
  PF_TRY_ASSIGN(type, o.str("type", true));
  if (type == "command") s.type = StepType::command;
  else if (type == "check") s.type = StepType::check;
  else if (type == "wait_for") s.type = StepType::wait_for;
  else return bad(o.at("type"), "must be command, check or wait_for");
  PF_TRY_ASSIGN(s.timeout, o.seconds("timeout_s", default_timeout(s.type), kMinTimeoutS, kMaxTimeoutS));
  switch (s.type) {
    case StepType::command: PF_TRY_ASSIGN(s.command, parse_command(o, true)); break;
    case StepType::check: PF_TRY_ASSIGN(s.check, parse_check(o)); break;
    case StepType::wait_for: {
      const json* inner = o.get("check");
      if (inner == nullptr) return bad(o.at("check"), "missing");
      if (!inner->is_object()) return bad(o.at("check"), "must be a check object");
      Obj io(*inner, o.at("check"));
      PF_TRY_ASSIGN(s.check, parse_check(io));
      PF_TRY(io.finish());
      PF_TRY_ASSIGN(s.interval, o.seconds("interval_s", 2, 1, 3600));
      break;
    }
  }
  PF_TRY(o.finish());
  return s;
}

Result<std::vector<Step>> parse_steps(Obj& parent, const char* key, std::size_t& count) {
  std::vector<Step> out;
  const json* v = parent.get(key);
  if (v == nullptr) return out;
  if (!v->is_array()) return bad(parent.at(key), "must be an array of steps");
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (++count > kMaxSteps) {
      return bad(parent.at(key) + "[" + std::to_string(i) + "]", "more than 200 steps in the job");
    }
    auto s = parse_step((*v)[i], parent.at(key) + "[" + std::to_string(i) + "]");
    if (!s) return tl::unexpected(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

Result<Probe> parse_probe(const json& j, const std::string& path) {
  if (!j.is_object()) return bad(path, "a probe must be an object");
  Obj o(j, path);
  Probe p;
  PF_TRY_ASSIGN(p.name, o.str("name", true));
  if (!valid_step_id(p.name)) return bad(o.at("name"), "is not a probe name ([a-z0-9][a-z0-9_.-]{0,63})");
  std::string kind;
  PF_TRY_ASSIGN(kind, o.str("kind", true));
  PF_TRY_ASSIGN(p.timeout, o.seconds("timeout_s", 10, 1, 3600));
  if (kind == "command") {
    p.kind = Probe::Kind::command;
    PF_TRY_ASSIGN(p.argv, o.strings("argv", kMaxArgv));
    if (p.argv.empty() || p.argv[0].empty()) return bad(o.at("argv"), "must name a program");
    PF_TRY_ASSIGN(p.ok_exit_codes, o.exit_codes("ok_exit_codes"));
  } else if (kind == "http") {
    p.kind = Probe::Kind::http;
    PF_TRY_ASSIGN(p.url, o.str("url", true));
    if (!p.url.starts_with("http://") && !p.url.starts_with("https://")) {
      return bad(o.at("url"), "must be an http:// or https:// URL");
    }
    std::int64_t st = 0;
    PF_TRY_ASSIGN(st, o.integer("expect_status", false, 0, 0, 599));
    p.expect_status = static_cast<int>(st);
  } else {
    return bad(o.at("kind"), "must be command or http");
  }
  PF_TRY(o.finish());
  return p;
}

Result<Job> parse_document(const json& doc) {
  if (!doc.is_object()) return bad("$", "a job must be a JSON object");
  Obj o(doc, "$");
  Job job;
  std::int64_t format = 0;
  PF_TRY_ASSIGN(format, o.integer("format", true, 0, 0, 1000));
  if (format != 1) return bad("$.format", "format " + std::to_string(format) + " is not supported (this agent reads format 1)");
  PF_TRY_ASSIGN(job.run_id, o.str("run_id", true));
  if (!valid_run_id(job.run_id)) return bad("$.run_id", "is not a run id ([A-Za-z0-9][A-Za-z0-9_.-]{0,127})");
  PF_TRY_ASSIGN(job.job, o.str("job", false));
  PF_TRY_ASSIGN(job.host_id, o.str("host_id", true));
  if (job.host_id.empty() || job.host_id.size() > 256) return bad("$.host_id", "must not be empty");
  PF_TRY_ASSIGN(job.issued_at, o.time("issued_at"));
  PF_TRY_ASSIGN(job.expires_at, o.time("expires_at"));
  std::size_t count = 0;
  PF_TRY_ASSIGN(job.preconditions, parse_steps(o, "preconditions", count));
  if (const json* r = o.get("retry")) {
    auto ro = object_at(*r, "$.retry");
    if (!ro) return tl::unexpected(ro.error());
    Retry retry;
    PF_TRY_ASSIGN(retry.interval, ro->seconds("interval_s", 60, 1, 86400));
    PF_TRY_ASSIGN(retry.until, ro->time("until"));
    PF_TRY(ro->finish());
    job.retry = retry;
  }
  if (const json* b = o.get("baseline")) {
    auto bo = object_at(*b, "$.baseline");
    if (!bo) return tl::unexpected(bo.error());
    Baseline baseline;
    if (const json* probes = bo->get("probes")) {
      if (!probes->is_array()) return bad("$.baseline.probes", "must be an array");
      if (probes->size() > kMaxArgv) return bad("$.baseline.probes", "more than 256 probes");
      for (std::size_t i = 0; i < probes->size(); ++i) {
        auto p = parse_probe((*probes)[i], "$.baseline.probes[" + std::to_string(i) + "]");
        if (!p) return tl::unexpected(p.error());
        baseline.probes.push_back(std::move(*p));
      }
    }
    PF_TRY_ASSIGN(baseline.rollback_on_regression, bo->boolean("rollback_on_regression", false));
    PF_TRY(bo->finish());
    job.baseline = std::move(baseline);
  }
  PF_TRY_ASSIGN(job.pre, parse_steps(o, "pre", count));
  if (const json* i = o.get("install")) {
    auto io = object_at(*i, "$.install");
    if (!io) return tl::unexpected(io.error());
    Install install;
    PF_TRY_ASSIGN(install.select, io->str("select", true));
    std::string conffiles;
    PF_TRY_ASSIGN(conffiles, io->str("conffiles", false, "keep-old"));
    if (conffiles == "keep-old") install.conffiles = Install::Conffiles::keep_old;
    else if (conffiles == "take-new") install.conffiles = Install::Conffiles::take_new;
    else return bad("$.install.conffiles", "must be keep-old or take-new");
    PF_TRY(io->finish());
    job.install = std::move(install);
  }
  if (const json* r = o.get("reboot")) {
    auto ro = object_at(*r, "$.reboot");
    if (!ro) return tl::unexpected(ro.error());
    std::string policy;
    PF_TRY_ASSIGN(policy, ro->str("policy", false, "never"));
    if (policy == "never") job.reboot.policy = Reboot::Policy::never;
    else if (policy == "if_required") job.reboot.policy = Reboot::Policy::if_required;
    else if (policy == "always") job.reboot.policy = Reboot::Policy::always;
    else return bad("$.reboot.policy", "must be never, if_required or always");
    std::int64_t max = 0;
    PF_TRY_ASSIGN(max, ro->integer("max_reboots", false, 1, 1, 5));
    job.reboot.max_reboots = static_cast<int>(max);
    PF_TRY_ASSIGN(job.reboot.before, parse_steps(*ro, "before", count));
    PF_TRY_ASSIGN(job.reboot.after, parse_steps(*ro, "after", count));
    PF_TRY(ro->finish());
  }
  PF_TRY_ASSIGN(job.post, parse_steps(o, "post", count));
  if (const json* r = o.get("rollback")) {
    auto ro = object_at(*r, "$.rollback");
    if (!ro) return tl::unexpected(ro.error());
    std::string when, mode;
    PF_TRY_ASSIGN(when, ro->str("when", false, "on_failure"));
    if (when == "on_failure") job.rollback.when = Rollback::When::on_failure;
    else if (when == "never") job.rollback.when = Rollback::When::never;
    else return bad("$.rollback.when", "must be on_failure or never");
    PF_TRY_ASSIGN(mode, ro->str("mode", false, "packages"));
    if (mode == "packages") job.rollback.mode = Rollback::Mode::packages;
    else if (mode == "command") job.rollback.mode = Rollback::Mode::command;
    else return bad("$.rollback.mode", "must be packages or command");
    if (const json* c = ro->get("command")) {
      if (++count > kMaxSteps) return bad("$.rollback.command", "more than 200 steps in the job");
      auto s = parse_step(*c, "$.rollback.command");
      if (!s) return tl::unexpected(s.error());
      job.rollback.command = std::move(*s);
    }
    PF_TRY(ro->finish());
  }
  PF_TRY(o.finish());
  PF_TRY(validate(job));
  return job;
}

json command_json(const Command& c, bool full) {
  json j = json::object();
  if (c.shell.empty()) j["argv"] = c.argv;
  else j["shell"] = c.shell;
  j["ok_exit_codes"] = c.ok_exit_codes;
  if (full) {
    j["user"] = c.user;
    j["env"] = c.env;
    j["cwd"] = c.cwd;
  }
  return j;
}

json check_json(const Check& c) {
  json j = json::object();
  j["check"] = std::string(check_kind_name(c.kind));
  switch (c.kind) {
    case CheckKind::disk_free:
      j["path"] = c.path;
      j["min_free_mb"] = c.min_free_mb;
      break;
    case CheckKind::service_active: j["unit"] = c.unit; break;
    case CheckKind::port_open:
      j["host"] = c.host;
      j["port"] = c.port;
      break;
    case CheckKind::http_ok:
      j["url"] = c.url;
      j["expect_status"] = c.expect_status;
      break;
    case CheckKind::file_absent:
    case CheckKind::file_present: j["path"] = c.path; break;
    case CheckKind::process_absent: j["name"] = c.name; break;
    case CheckKind::uptime_min: j["seconds"] = c.seconds; break;
    case CheckKind::on_ac_power: break;
    case CheckKind::command: j.update(command_json(c.command, false)); break;
  }
  return j;
}

json step_json(const Step& s) {
  json j = json::object();
  switch (s.type) {
    case StepType::command: j = command_json(s.command, true); break;
    case StepType::check: j = check_json(s.check); break;
    case StepType::wait_for:
      j["check"] = check_json(s.check);
      j["interval_s"] = s.interval.count();
      break;
  }
  j["id"] = s.id;
  j["type"] = std::string(step_type_name(s.type));
  j["timeout_s"] = s.timeout.count();
  return j;
}

json steps_json(const std::vector<Step>& steps) {
  json a = json::array();
  for (const auto& s : steps) a.push_back(step_json(s));
  return a;
}

Result<void> check_ids(const std::vector<Step>& steps, const std::string& path,
                       std::set<std::string>& seen) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    const std::string where = path + "[" + std::to_string(i) + "]";
    if (!valid_step_id(s.id)) return bad(where + ".id", "is not a step id");
    if (is_reserved_step_id(s.id)) return bad(where + ".id", "\"" + s.id + "\" is reserved");
    if (!seen.insert(s.id).second) return bad(where + ".id", "step id \"" + s.id + "\" is used twice");
    if (s.timeout.count() < kMinTimeoutS || s.timeout.count() > kMaxTimeoutS) {
      return bad(where + ".timeout_s", "must be in 1..86400");
    }
    if (s.type == StepType::command && s.command.argv.empty() == s.command.shell.empty()) {
      return bad(where, "needs exactly one of \"argv\" and \"shell\"");
    }
    if (s.type == StepType::wait_for && s.interval > s.timeout) {
      return bad(where + ".interval_s", "is longer than the step's timeout");
    }
  }
  return {};
}

}  // namespace

std::string_view check_kind_name(CheckKind kind) noexcept {
  for (const auto& [k, name] : kCheckNames)
    if (k == kind) return name;
  return "unknown";
}

std::string_view step_type_name(StepType type) noexcept {
  switch (type) {
    case StepType::command: return "command";
    case StepType::check: return "check";
    case StepType::wait_for: return "wait_for";
  }
  return "unknown";
}

std::string_view reboot_policy_name(Reboot::Policy policy) noexcept {
  switch (policy) {
    case Reboot::Policy::never: return "never";
    case Reboot::Policy::if_required: return "if_required";
    case Reboot::Policy::always: return "always";
  }
  return "never";
}

bool is_reserved_step_id(std::string_view id) noexcept {
  static constexpr std::array<std::string_view, 5> kReserved{"install", "baseline", "health",
                                                             "rollback", "postponed"};
  if (std::find(kReserved.begin(), kReserved.end(), id) != kReserved.end()) return true;
  return id.starts_with("reboot.");
}

Result<void> validate(const Job& job) {
  if (job.format != 1) return bad("$.format", "must be 1");
  if (!valid_run_id(job.run_id)) return bad("$.run_id", "is not a run id");
  if (job.host_id.empty()) return bad("$.host_id", "must not be empty");
  if (job.expires_at <= job.issued_at) return bad("$.expires_at", "must be after issued_at");
  if (job.expires_at - job.issued_at > std::chrono::days(31)) {
    return bad("$.expires_at", "is more than 31 days after issued_at");
  }
  std::set<std::string> ids;
  PF_TRY(check_ids(job.preconditions, "$.preconditions", ids));
  PF_TRY(check_ids(job.pre, "$.pre", ids));
  PF_TRY(check_ids(job.reboot.before, "$.reboot.before", ids));
  PF_TRY(check_ids(job.reboot.after, "$.reboot.after", ids));
  PF_TRY(check_ids(job.post, "$.post", ids));
  const std::size_t steps = job.preconditions.size() + job.pre.size() + job.reboot.before.size() +
                            job.reboot.after.size() + job.post.size() +
                            (job.rollback.command ? 1 : 0);
  if (steps > kMaxSteps) return bad("$", "more than 200 steps in the job");
  if (job.retry && job.retry->interval.count() < 1) return bad("$.retry.interval_s", "must be at least 1");
  if (job.install) {
    auto sel = pkg::parse_selection(job.install->select);
    if (!sel) return bad("$.install.select", sel.error().message);
  }
  if (job.reboot.max_reboots < 1 || job.reboot.max_reboots > 5) {
    return bad("$.reboot.max_reboots", "must be in 1..5");
  }
  if (job.rollback.command) {
    std::vector<Step> one{*job.rollback.command};
    PF_TRY(check_ids(one, "$.rollback.command", ids));
    if (job.rollback.command->type != StepType::command) {
      return bad("$.rollback.command.type", "a rollback command is a step of type command");
    }
  }
  if (job.rollback.mode == Rollback::Mode::command && !job.rollback.command) {
    return bad("$.rollback.command", "missing (rollback mode is command)");
  }
  if (job.baseline) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < job.baseline->probes.size(); ++i) {
      if (!names.insert(job.baseline->probes[i].name).second) {
        return bad("$.baseline.probes[" + std::to_string(i) + "].name", "probe name used twice");
      }
    }
  }
  return {};
}

Result<Job> parse_job(std::string_view text) {
  if (text.size() > kMaxDocumentBytes) return bad("$", "the job is larger than 1 MiB");
  if (nesting_depth(text) > kMaxDepth) return bad("$", "nested deeper than 32 levels");
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return bad("$", "not valid JSON");
  try {
    return parse_document(doc);
  } catch (const json::exception& e) {
    return bad("$", std::string("unexpected JSON: ") + e.what());
  }
}

std::string to_json(const Job& job) {
  json j = json::object();
  j["format"] = job.format;
  j["run_id"] = job.run_id;
  j["job"] = job.job;
  j["host_id"] = job.host_id;
  j["issued_at"] = format_time(job.issued_at);
  j["expires_at"] = format_time(job.expires_at);
  j["preconditions"] = steps_json(job.preconditions);
  if (job.retry) {
    j["retry"] = {{"interval_s", job.retry->interval.count()},
                  {"until", format_time(job.retry->until)}};
  }
  if (job.baseline) {
    json probes = json::array();
    for (const auto& p : job.baseline->probes) {
      json pj = {{"name", p.name}, {"timeout_s", p.timeout.count()}};
      if (p.kind == Probe::Kind::command) {
        pj["kind"] = "command";
        pj["argv"] = p.argv;
        pj["ok_exit_codes"] = p.ok_exit_codes;
      } else {
        pj["kind"] = "http";
        pj["url"] = p.url;
        pj["expect_status"] = p.expect_status;
      }
      probes.push_back(std::move(pj));
    }
    j["baseline"] = {{"probes", probes},
                     {"rollback_on_regression", job.baseline->rollback_on_regression}};
  }
  j["pre"] = steps_json(job.pre);
  if (job.install) {
    j["install"] = {{"select", job.install->select},
                    {"conffiles", job.install->conffiles == Install::Conffiles::keep_old
                                      ? "keep-old"
                                      : "take-new"}};
  }
  j["reboot"] = {{"policy", std::string(reboot_policy_name(job.reboot.policy))},
                 {"max_reboots", job.reboot.max_reboots},
                 {"before", steps_json(job.reboot.before)},
                 {"after", steps_json(job.reboot.after)}};
  j["post"] = steps_json(job.post);
  json rb = {{"when", job.rollback.when == Rollback::When::on_failure ? "on_failure" : "never"},
             {"mode", job.rollback.mode == Rollback::Mode::packages ? "packages" : "command"}};
  if (job.rollback.command) rb["command"] = step_json(*job.rollback.command);
  j["rollback"] = std::move(rb);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string envelope_json(std::string_view work, std::string_view signature) {
  json j = {{"work", std::string(work)}, {"signature", std::string(signature)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::string> make_envelope(const Job& job, std::string_view private_pem) {
  PF_TRY(validate(job));
  const std::string work = to_json(job);
  auto sig = pki::sign(private_pem, work);
  if (!sig) return tl::unexpected(sig.error());
  return envelope_json(work, *sig);
}

Result<Job> open_envelope(std::string_view envelope_text, std::string_view public_pem) {
  // The envelope holds the work as a string, so it is at most a little larger than the work.
  if (envelope_text.size() > kMaxDocumentBytes * 2 + 4096) {
    return bad("envelope", "larger than 2 MiB");
  }
  if (nesting_depth(envelope_text) > 2) return bad("envelope", "not a signed work envelope");
  json env = json::parse(envelope_text, nullptr, false);
  if (env.is_discarded() || !env.is_object()) {
    return bad("envelope", "not a signed work envelope (a JSON object with \"work\" and \"signature\")");
  }
  const auto work = env.find("work");
  const auto sig = env.find("signature");
  if (work == env.end() || !work->is_string()) return bad("envelope.work", "missing: the work is not signed");
  if (sig == env.end() || !sig->is_string() || sig->get_ref<const std::string&>().empty()) {
    return bad("envelope.signature", "missing: unsigned work is refused");
  }
  for (auto it = env.begin(); it != env.end(); ++it) {
    if (it.key() != "work" && it.key() != "signature") return bad("envelope." + it.key(), "unknown field");
  }
  const auto& work_text = work->get_ref<const std::string&>();
  auto verified = pki::verify(public_pem, work_text, sig->get_ref<const std::string&>());
  if (!verified) {
    return bad("envelope.signature", "work is not signed by the server's key: " + verified.error().message);
  }
  auto job = parse_job(work_text);
  if (!job) {
    Error e = job.error();
    e.where = "work:" + e.where;
    return tl::unexpected(std::move(e));
  }
  return job;
}

std::string format_time(Time t) {
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{t - days};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

Result<Time> parse_time(std::string_view s) {
  auto fail = [&] {
    return make_error(Errc::invalid_input,
                      "\"" + std::string(s.substr(0, 64)) + "\" is not an RFC 3339 time", "time");
  };
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || !digits(0, 4, y) || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, h) || s[13] != ':' ||
      !digits(14, 2, mi) || s[16] != ':' || !digits(17, 2, se)) {
    return fail();
  }
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start || pos - start > 9) return fail();
  }
  int offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, om) || oh > 23 || om > 59) {
      return fail();
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return fail();
  }
  if (pos != s.size()) return fail();
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 60) return fail();
  const auto t = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                 std::chrono::seconds(std::min(se, 59)) - std::chrono::seconds(offset_s);
  return Time(t);
}

}  // namespace pf::jobs
