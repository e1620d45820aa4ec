// SPDX-License-Identifier: Apache-2.0
#include "patchflow/runner/policy.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "patchflow/common/files.hpp"

namespace pf::runner {
namespace {

using nlohmann::json;

Result<void> allowed(const jobs::Command& c, const Policy& policy, const std::string& what) {
  switch (policy.commands) {
    case Policy::Commands::allow: return {};
    case Policy::Commands::deny:
      return make_error(Errc::invalid_input,
                        "this host's policy denies commands (" + what +
                            " is one); allow them in the agent's policy.json with "
                            "{\"commands\":\"allow\"} or an allow_list",
                        what);
    case Policy::Commands::allow_list: {
      const std::string program = c.shell.empty() ? c.argv.at(0) : std::string("/bin/sh");
      if (std::find(policy.allowed.begin(), policy.allowed.end(), program) != policy.allowed.end()) {
        return {};
      }
      return make_error(Errc::invalid_input,
                        "\"" + program + "\" is not in this host's allow-list of commands" +
                            (c.shell.empty() ? "" : " (a shell command runs /bin/sh)"),
                        what);
    }
  }
  return {};
}

Result<void> check_steps(const std::vector<jobs::Step>& steps, const std::string& list,
                         const Policy& policy) {
  for (const auto& s : steps) {
    const std::string what = list + " step \"" + s.id + "\"";
    if (s.type == jobs::StepType::command) {
      if (auto r = allowed(s.command, policy, what); !r) return r;
    } else if (s.check.kind == jobs::CheckKind::command) {
      if (auto r = allowed(s.check.command, policy, what); !r) return r;
    }
  }
  return {};
}

}  // namespace

Result<Policy> parse_policy(std::string_view text, std::string_view name) {
  const std::string where(name);
  if (text.size() > kMaxPolicyBytes) return make_error(Errc::invalid_input, "larger than 64 KiB", where);
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(Errc::invalid_input, "not a JSON object", where);
  }
  Policy p;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() != "commands" && it.key() != "allowed") {
      return make_error(Errc::invalid_input, "unknown field", where + ": " + it.key());
    }
  }
  const auto c = doc.find("commands");
  if (c == doc.end() || !c->is_string()) {
    return make_error(Errc::invalid_input, "\"commands\" must be allow, deny or allow_list", where + ": commands");
  }
  const auto mode = c->get<std::string>();
  if (mode == "allow") p.commands = Policy::Commands::allow;
  else if (mode == "deny") p.commands = Policy::Commands::deny;
  else if (mode == "allow_list") p.commands = Policy::Commands::allow_list;
  else return make_error(Errc::invalid_input, "\"commands\" must be allow, deny or allow_list", where + ": commands");
  if (const auto a = doc.find("allowed"); a != doc.end()) {
    if (!a->is_array() || a->size() > 1024) {
      return make_error(Errc::invalid_input, "\"allowed\" must be an array of at most 1024 paths", where + ": allowed");
    }
    for (const auto& item : *a) {
      if (!item.is_string() || item.get<std::string>().empty() || item.get<std::string>()[0] != '/') {
        return make_error(Errc::invalid_input, "\"allowed\" holds absolute program paths", where + ": allowed");
      }
      p.allowed.push_back(item.get<std::string>());
    }
  }
  if (p.commands == Policy::Commands::allow_list && p.allowed.empty()) {
    return make_error(Errc::invalid_input, "allow_list needs a non-empty \"allowed\"", where + ": allowed");
  }
  return p;
}

Result<Policy> load_policy(const std::filesystem::path& file) {
  auto text = files::read_at_most(file, kMaxPolicyBytes);
  if (!text) {
    if (text.error().code == Errc::not_found) return Policy{};
    return tl::unexpected(text.error());
  }
  return parse_policy(*text, file.string());
}

Result<void> check_policy(const jobs::Job& job, const Policy& policy) {
  if (auto r = check_steps(job.preconditions, "precondition", policy); !r) return r;
  if (auto r = check_steps(job.pre, "pre", policy); !r) return r;
  if (auto r = check_steps(job.reboot.before, "reboot.before", policy); !r) return r;
  if (auto r = check_steps(job.reboot.after, "reboot.after", policy); !r) return r;
  if (auto r = check_steps(job.post, "post", policy); !r) return r;
  if (job.rollback.command) {
    if (auto r = check_steps({*job.rollback.command}, "rollback", policy); !r) return r;
  }
  if (job.baseline) {
    for (const auto& p : job.baseline->probes) {
      if (p.kind != jobs::Probe::Kind::command) continue;
      jobs::Command c;
      c.argv = p.argv;
      if (auto r = allowed(c, policy, "baseline probe \"" + p.name + "\""); !r) return r;
    }
  }
  return {};
}

}  // namespace pf::runner
