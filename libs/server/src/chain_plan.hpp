// SPDX-License-Identifier: Apache-2.0
// From policy documents and the fleet to what a chain run does (docs/chains.md): the stored
// Baseline/Group/Window/Chain documents resolved against the hosts, their labels and their
// available updates into an orchestrator plan, the updates each host's baseline approves, and
// the hosts left out with why. The same resolution serves `patchflow plan` and the start of a
// run, so a run does what its plan showed. Also: the job a host of a stage gets. Private to
// libs/server.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/orchestrator/plan.hpp"
#include "patchflow/policy/document.hpp"
#include "patchflow/server/store_open.hpp"

namespace pf::server {

/// One update of a host with its baseline's verdict.
struct UpdateVerdict {
  policy::Candidate candidate;
  policy::Verdict verdict;
};

/// What one host of a stage gets.
struct HostWork {
  std::string host_id;
  std::string name;
  std::string stage;
  std::vector<UpdateVerdict> updates;  ///< every available update, approved or not
  std::string selection;  ///< "exact:NAME=VERSION,..." of the approved ones; "" none
};

struct ExcludedHost {
  std::string host_id;
  std::string name;
  std::string stage;
  std::string reason;
};

struct ResolvedChain {
  std::string chain;
  std::int64_t revision{0};
  std::string chain_json;  ///< the Chain document as stored (its stages' steps build jobs)
  std::string baseline;    ///< its name
  orch::Plan plan;
  std::map<std::string, HostWork> work;  ///< by host id, for every host of the plan
  std::vector<ExcludedHost> excluded;
};

/// Resolves the stored chain `name` now. not_found: no such chain; invalid_input: the stored
/// documents do not make a valid plan (a missing baseline, ...) or an emergency run of a
/// chain that does not allow one.
[[nodiscard]] Result<ResolvedChain> resolve_chain(OpenedStore& store, std::string_view name,
                                                  bool emergency, std::string justification,
                                                  std::chrono::sys_seconds now);

/// The plan document of GET /api/v1/chains/{name}/plan.
[[nodiscard]] std::string plan_document(const ResolvedChain& resolved,
                                        std::chrono::sys_seconds now);

/// The job of one host of one stage: the stage's preconditions (with retry), health baseline,
/// pre steps, the approved updates, reboot and post steps, rollback on failure.
[[nodiscard]] Result<jobs::Job> stage_job(const policy::Chain& chain, std::string_view chain_name,
                                          std::string_view stage, std::string_view selection,
                                          std::string job_run_id, std::string host_id,
                                          std::chrono::sys_seconds now);

}  // namespace pf::server
