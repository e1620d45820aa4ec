// SPDX-License-Identifier: Apache-2.0
// Wiring shared by the patchflow subcommands.
#pragma once

namespace CLI {
class App;
}

namespace pf::cli {

/// Exit codes every command uses (docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitFound = 1,      ///< "found something" where the user asked (scan --exit-code, bad batch lines)
  kExitUsage = 2,      ///< usage or input error
  kExitUnreachable = 3,
  kExitInternal = 4,
};

/// Registers `patchflow version ...`. The chosen command stores its exit code in `exit_code`.
void add_version_command(CLI::App& root, int& exit_code);
/// Registers `patchflow feeds import|sync|status`.
void add_feeds_command(CLI::App& root, int& exit_code);
/// Registers `patchflow scan`.
void add_scan_command(CLI::App& root, int& exit_code);

}  // namespace pf::cli
