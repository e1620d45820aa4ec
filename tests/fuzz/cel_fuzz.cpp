// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the condition language: parse, check against the stages environment,
// evaluate and explain. Besides "no crash, no sanitizer report": an error is invalid_input with
// a message and a line:column; the parenthesized form of a parsed expression parses to the same
// tree (unless the added parentheses pass the depth bound); evaluate_explained() gives the
// same result as evaluate().
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "patchflow/cel/expr.hpp"
#include "patchflow/cel/stages.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool is_position(const std::string& where) {
  const auto colon = where.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == where.size()) return false;
  for (std::size_t i = 0; i < where.size(); ++i)
    if (i != colon && (where[i] < '0' || where[i] > '9')) return false;
  return true;
}

void require_error(const pf::Error& e) {
  require(e.code == pf::Errc::invalid_input);
  require(!e.message.empty());
  require(is_position(e.where));
}

const pf::cel::Activation& activation() {
  static const pf::cel::Activation act = [] {
    pf::cel::StageOutcome db;
    for (int i = 0; i < 4; ++i) {
      pf::cel::HostOutcome h;
      h.name = "db-" + std::to_string(i);
      h.outcome = i == 3 ? "failed" : "succeeded";
      h.post["db-healthy"] = {i != 2, i == 2 ? 1 : 0};
      h.health_regressions = i == 1 ? 1 : 0;
      db.hosts.push_back(h);
    }
    return pf::cel::stages_activation({{"db", db}, {"app", {}}});
  }();
  return act;
}

std::string show(const pf::Result<pf::cel::Value>& r) {
  return r ? r->to_string(1 << 20) : "error " + r.error().where + " " + r.error().message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pf::cel::Env env = pf::cel::stages_env({"db", "app"});
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto expr = pf::cel::parse(input);
  if (!expr) {
    require_error(expr.error());
    return 0;
  }
  const std::string tree = expr->debug_string();
  if (auto again = pf::cel::parse(tree)) {
    require(again->debug_string() == tree);
  } else {
    require(again.error().message.find("nested more than") != std::string::npos ||
            again.error().message.find("bytes, more than") != std::string::npos);
  }
  (void)pf::cel::referenced_stages(*expr);
  if (auto type = pf::cel::check(*expr, env); !type) require_error(type.error());
  const pf::cel::EvalOptions options{.step_budget = 20'000};
  const auto value = pf::cel::evaluate(*expr, activation(), options);
  if (!value) require_error(value.error());
  const auto explained = pf::cel::evaluate_explained(*expr, activation(), options);
  require(show(explained.result) == show(value));
  require(!explained.terms.empty());
  for (const auto& term : explained.terms) (void)term.to_string();
  return 0;
}
