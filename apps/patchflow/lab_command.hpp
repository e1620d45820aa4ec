// SPDX-License-Identifier: Apache-2.0
// patchflow lab: package fixtures for tests and the lab, built with the real packaging tools.
#pragma once

namespace CLI {
class App;
}

namespace pf::cli {

/// Registers `patchflow lab fixture -f FILE.yaml [--out DIR] [--json] [--keep-failed]`, which
/// builds the .deb/.rpm packages, apt/rpm repositories and package roots a YAML file describes
/// (docs/lab-fixtures.md). The chosen command stores its exit code in `exit_code`.
void add_lab_command(CLI::App& root, int& exit_code);
/// Registers `patchflow lab clock` under `lab` (lab_clock.cpp).
void add_lab_clock_command(CLI::App& lab, int& exit_code);

}  // namespace pf::cli
