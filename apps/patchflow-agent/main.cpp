// SPDX-License-Identifier: Apache-2.0
// patchflow-agent: the small per-host binary. It links no database, PDF or web code; the work
// lives in libs/agent (collectors), the package backends (libs/pkg_apt, libs/pkg_dnf) and the
// agent protocol client (libs/agent_client).
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "agent_command.hpp"

namespace pf::agent_cli {
/// `job run | resume | status | events` (job_command.cpp).
void add_job_command(CLI::App& root, int& exit_code);
}  // namespace pf::agent_cli

int main(int argc, char** argv) {
  CLI::App app{"patchflow-agent: inventory and package work on one host, reported to a "
               "patchflow server",
               "patchflow-agent"};
  app.set_version_flag("--version", "patchflow-agent " PF_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Every command acts on --root (default /): a package root in tests and labs.\n"
      "Exit codes: 0 done, 1 not (fully) applied, 2 usage or input error, 3 the package manager\n"
      "could not act (lock held, interrupted, repository unreachable) or the server is not\n"
      "reachable / does not accept the agent (enroll, run), 4 internal error.\n"
      "Run 'patchflow-agent <command> --help' for a command's options and examples.");
  int exit_code = pf::agent_cli::kExitOk;
  pf::agent_cli::add_inventory_command(app, exit_code);
  pf::agent_cli::add_package_commands(app, exit_code);
  pf::agent_cli::add_enroll_command(app, exit_code);
  pf::agent_cli::add_run_command(app, exit_code);
  pf::agent_cli::add_job_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : pf::agent_cli::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "patchflow-agent: internal error: " << e.what() << "\n";
    return pf::agent_cli::kExitInternal;
  }
  return exit_code;
}
