// SPDX-License-Identifier: Apache-2.0
// patchflow: the operator's command line. Command wiring only; the work lives in libs/.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "command.hpp"
#include "lab_command.hpp"
#include "server_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"patchflow: automated patch management for Linux fleets", "patchflow"};
  app.set_version_flag("--version", "patchflow " PF_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'patchflow <command> --help' for a command's options and examples.");
  int exit_code = pf::cli::kExitOk;
  pf::cli::add_scan_command(app, exit_code);
  pf::cli::add_feeds_command(app, exit_code);
  pf::cli::add_version_command(app, exit_code);
  pf::cli::add_lab_command(app, exit_code);
  pf::cli::add_server_command(app, exit_code);
  pf::cli::add_client_commands(app, exit_code);
  pf::cli::add_chain_commands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // --help and --version are successes; every other parse error is a usage error.
    return rc == 0 ? 0 : pf::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "patchflow: internal error: " << e.what() << "\n";
    return pf::cli::kExitInternal;
  }
  return exit_code;
}
