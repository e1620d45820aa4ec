// SPDX-License-Identifier: Apache-2.0
// The checks every PolicyStore and ChainStore backend applies before it writes.
#include <algorithm>
#include <set>
#include <utility>

#include "patchflow/store/chain_store.hpp"
#include "patchflow/store/fleet_store.hpp"
#include "patchflow/store/policy_store.hpp"

namespace pf::store {
namespace {

Unexpected invalid(std::string message, std::string where) {
  return make_error(Errc::invalid_input, std::move(message), std::move(where));
}

Result<void> check_text(std::string_view value, std::size_t max, const std::string& where) {
  if (value.empty()) return invalid(where + " is empty", where);
  if (value.size() > max) {
    return invalid(where + " longer than " + std::to_string(max) + " bytes", where);
  }
  if (value.find('\0') != std::string_view::npos) {
    return invalid(where + " contains a NUL byte", where);
  }
  return {};
}

bool is_policy_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

bool is_policy_kind(std::string_view kind) noexcept {
  return std::find(std::begin(kPolicyKinds), std::end(kPolicyKinds), kind) !=
         std::end(kPolicyKinds);
}

Result<void> validate_policy_doc(const PolicyDoc& doc, const std::string& at) {
  if (!is_policy_kind(doc.kind)) {
    return invalid("kind must be Baseline, Group, Window or Chain", at + "kind");
  }
  if (!is_policy_name(doc.name)) {
    return invalid("name must be 1..63 of [a-z0-9-]", at + "name");
  }
  if (auto ok = check_text(doc.json, kMaxPolicyJson, at + "json"); !ok) return ok;
  return check_text(doc.updated_by, 256, at + "updated_by");
}

Result<void> validate_policy_puts(std::span<const PolicyPut> puts) {
  if (puts.size() > kMaxPoliciesPerApply) {
    return invalid("more than " + std::to_string(kMaxPoliciesPerApply) + " documents in one apply",
                   "documents");
  }
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (std::size_t i = 0; i < puts.size(); ++i) {
    const auto& p = puts[i];
    const std::string at = "documents[" + std::to_string(i) + "].";
    if (auto ok = validate_policy_doc(p.doc, at); !ok) return ok;
    if (p.expected_revision < 0) return invalid("expected revision < 0", at + "expected_revision");
    if (auto ok = validate_audit_entry(p.audit); !ok) {
      return invalid(ok.error().message, at + "audit." + ok.error().where);
    }
    if (!seen.emplace(p.doc.kind, p.doc.name).second) {
      return invalid(p.doc.kind + "/" + p.doc.name + " twice in one apply", at + "name");
    }
  }
  return {};
}

bool is_chain_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Result<void> validate_chain_run(const ChainRun& run) {
  if (!is_chain_id(run.id)) return invalid("chain run id must be 1..64 of [A-Za-z0-9_-]", "id");
  if (!is_policy_name(run.chain)) return invalid("chain must be 1..63 of [a-z0-9-]", "chain");
  if (run.chain_revision < 1) return invalid("chain revision must be >= 1", "chain_revision");
  if (auto ok = check_text(run.status, 64, "status"); !ok) return ok;
  if (auto ok = check_text(run.state, kMaxChainState, "state"); !ok) return ok;
  return check_text(run.created_by, 256, "created_by");
}

Result<void> validate_chain_decision(std::string_view run_id, std::string_view state,
                                     std::string_view status, std::span<const std::string> commands,
                                     std::span<const std::int64_t> consumed_events) {
  if (!is_chain_id(run_id)) return invalid("chain run id must be 1..64 of [A-Za-z0-9_-]", "id");
  if (auto ok = check_text(state, kMaxChainState, "state"); !ok) return ok;
  if (auto ok = check_text(status, 64, "status"); !ok) return ok;
  if (commands.size() > kMaxCommandsPerDecision) {
    return invalid(
        "more than " + std::to_string(kMaxCommandsPerDecision) + " commands in one decision",
        "commands");
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (auto ok = check_text(commands[i], kMaxChainCommand, "commands[" + std::to_string(i) + "]");
        !ok) {
      return ok;
    }
  }
  if (consumed_events.size() > kMaxConsumedEvents) {
    return invalid("more than " + std::to_string(kMaxConsumedEvents) + " consumed events",
                   "events");
  }
  std::set<std::int64_t> seen;
  for (std::size_t i = 0; i < consumed_events.size(); ++i) {
    if (!seen.insert(consumed_events[i]).second) {
      return invalid("event " + std::to_string(consumed_events[i]) + " listed twice",
                     "events[" + std::to_string(i) + "]");
    }
  }
  return {};
}

Result<void> validate_chain_event(const ChainEvent& event) {
  if (!is_chain_id(event.run_id)) {
    return invalid("chain run id must be 1..64 of [A-Za-z0-9_-]", "run_id");
  }
  if (auto ok = check_text(event.json, kMaxChainEventJson, "json"); !ok) return ok;
  return check_text(event.by, 256, "by");
}

Result<void> validate_chain_log_line(std::string_view run_id, std::string_view line) {
  if (!is_chain_id(run_id)) return invalid("chain run id must be 1..64 of [A-Za-z0-9_-]", "run_id");
  return check_text(line, kMaxChainLogLine, "line");
}

Result<void> validate_chain_limit(int limit) {
  if (limit < 1 || limit > kMaxPageSize) {
    return invalid("limit must be 1.." + std::to_string(kMaxPageSize), "limit");
  }
  return {};
}

}  // namespace pf::store
