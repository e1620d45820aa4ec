// SPDX-License-Identifier: Apache-2.0
#include "patchflow/cel/stages.hpp"

namespace pf::cel {

Env stages_env(const std::vector<std::string>& stage_names) {
  Env env;
  ObjectType post;
  post.fields = {{"passed", Type::boolean()}, {"exit_code", Type::integer()}};
  env.declare_object("PostResult", std::move(post));

  ObjectType host;
  host.fields = {{"name", Type::string()},
                 {"outcome", Type::string()},
                 {"post", Type::map(Type::string(), Type::object("PostResult"))},
                 {"health_regressions", Type::integer()}};
  env.declare_object("Host", std::move(host));

  ObjectType stage;
  stage.fields = {{"hosts", Type::list(Type::object("Host"))},
                  {"total", Type::integer()},
                  {"succeeded", Type::integer()},
                  {"failed", Type::integer()},
                  {"skipped", Type::integer()},
                  {"rolled_back", Type::integer()},
                  {"success_ratio", Type::floating()},
                  {"failure_ratio", Type::floating()},
                  {"health_regressions", Type::integer()}};
  env.declare_object("Stage", std::move(stage));

  ObjectType stages;
  stages.member_noun = "stage";
  for (const auto& name : stage_names) stages.fields.emplace(name, Type::object("Stage"));
  env.declare_object("Stages", std::move(stages));
  env.declare_variable("stages", Type::object("Stages"));
  return env;
}

Value stage_value(const StageOutcome& stage) {
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t skipped = 0;
  std::int64_t rolled_back = 0;
  std::int64_t regressions = 0;
  Value::List hosts;
  hosts.reserve(stage.hosts.size());
  for (const auto& h : stage.hosts) {
    if (h.outcome == "succeeded") ++succeeded;
    else if (h.outcome == "failed") ++failed;
    else if (h.outcome == "skipped") ++skipped;
    else if (h.outcome == "rolled_back") ++rolled_back;
    regressions += h.health_regressions;
    Value::Map post;
    for (const auto& [name, result] : h.post)
      post.emplace(name, Value(Value::Map{{"passed", Value(result.passed)},
                                          {"exit_code", Value(result.exit_code)}}));
    hosts.emplace_back(Value::Map{{"name", Value(h.name)},
                                  {"outcome", Value(h.outcome)},
                                  {"post", Value(std::move(post))},
                                  {"health_regressions", Value(h.health_regressions)}});
  }
  const auto total = static_cast<std::int64_t>(stage.hosts.size());
  const double success_ratio =
      total == 0 ? 1.0 : static_cast<double>(succeeded) / static_cast<double>(total);
  const double failure_ratio =
      total == 0 ? 0.0 : static_cast<double>(failed + rolled_back) / static_cast<double>(total);
  return Value(Value::Map{{"hosts", Value(std::move(hosts))},
                          {"total", Value(total)},
                          {"succeeded", Value(succeeded)},
                          {"failed", Value(failed)},
                          {"skipped", Value(skipped)},
                          {"rolled_back", Value(rolled_back)},
                          {"success_ratio", Value(success_ratio)},
                          {"failure_ratio", Value(failure_ratio)},
                          {"health_regressions", Value(regressions)}});
}

Activation stages_activation(const std::map<std::string, StageOutcome>& stages) {
  Value::Map all;
  for (const auto& [name, stage] : stages) all.emplace(name, stage_value(stage));
  return Activation{{"stages", Value(std::move(all))}};
}

}  // namespace pf::cel
