// SPDX-License-Identifier: Apache-2.0
// The environment of a chain's conditions (DESIGN.md §7): `stages.<name>` with counts, ratios,
// hosts and their post-action results; and the values built from stage outcomes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "patchflow/cel/types.hpp"
#include "patchflow/cel/value.hpp"

namespace pf::cel {

/// Env with variable `stages` of object type Stages whose fields are `stage_names`, each a
/// Stage {hosts: list(Host), total, succeeded, failed, skipped, rolled_back: int,
/// success_ratio, failure_ratio: double, health_regressions: int}; Host {name, outcome:
/// string, post: map(string, PostResult), health_regressions: int}; PostResult {passed: bool,
/// exit_code: int}.
[[nodiscard]] Env stages_env(const std::vector<std::string>& stage_names);

struct PostResult {
  bool passed{false};
  std::int64_t exit_code{0};
};

struct HostOutcome {
  std::string name;
  std::string outcome;  ///< "succeeded", "failed", "skipped", "rolled_back", or another state
  std::map<std::string, PostResult> post;  ///< by post step name
  std::int64_t health_regressions{0};
};

struct StageOutcome {
  std::vector<HostOutcome> hosts;
};

/// The Stage value: total = hosts.size(); the four counts by outcome; success_ratio =
/// succeeded / total, failure_ratio = (failed + rolled_back) / total (with no host: 1.0 and
/// 0.0, as all() of an empty list is true); health_regressions = the hosts' sum.
[[nodiscard]] Value stage_value(const StageOutcome& stage);

/// {"stages": {name: stage_value(...)}}
[[nodiscard]] Activation stages_activation(const std::map<std::string, StageOutcome>& stages);

}  // namespace pf::cel
