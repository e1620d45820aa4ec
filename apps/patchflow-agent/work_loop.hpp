// SPDX-License-Identifier: Apache-2.0
// The run loop's side of jobs: work handed out by the server (check-in answer or long-poll) is
// verified with the server's signing key, run by the job runner (libs/runner, journaled in the
// state directory), and its events reported until the server has each once. Unfinished runs
// (a killed agent, a reboot) are resumed first.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "agent_command.hpp"
#include "patchflow/agent_client/https_client.hpp"
#include "patchflow/agent_client/protocol.hpp"
#include "patchflow/agent_client/state.hpp"

namespace pf::agent_cli {

struct WorkFlags {
  std::string reboot{"system"};  ///< system or lab
  // Taken from the inventory flags (--boot-id-file, --proc-dir) by the run command:
  std::string boot_id_file{"/proc/sys/kernel/random/boot_id"};
  std::string proc_dir{"/proc"};
  std::string policy;  ///< default STATE_DIR/policy.json
};

class WorkHandler {
 public:
  WorkHandler(const agent_client::HttpsClient& client, agent_client::StateFiles files,
              std::string host_id, BackendFlags backend, WorkFlags flags);

  /// Resumes every unfinished run in the journal and reports every event not yet reported.
  void resume_and_report();

  /// Runs one work item (or only reports it, when its journal says it is finished).
  void handle(const agent_client::WorkItem& item);

 private:
  void run(const std::string& run_id, const std::string& envelope);
  /// Posts the run's pending events; false when the server could not be told (retried later).
  bool report(const std::string& run_id);
  void refuse(const std::string& run_id, const std::string& reason);

  const agent_client::HttpsClient& client_;
  agent_client::StateFiles files_;
  std::string host_id_;
  BackendFlags backend_;
  WorkFlags flags_;
};

/// Adds --reboot and --policy to `run` (--boot-id-file and --proc-dir are the inventory's).
void add_work_flags(CLI::App& command, WorkFlags& flags);

}  // namespace pf::agent_cli
