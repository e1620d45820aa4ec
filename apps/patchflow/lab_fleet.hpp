// SPDX-License-Identifier: Apache-2.0
// patchflow lab up / status / down: a local fleet of real agents on package roots, managed by a
// real server, all on loopback (docs/lab.md).
#pragma once

namespace CLI {
class App;
}

namespace pf::cli {

/// Registers `up`, `status` and `down` under the `lab` command. The chosen command stores its
/// exit code in `exit_code`.
void add_lab_fleet_commands(CLI::App& lab, int& exit_code);

}  // namespace pf::cli
