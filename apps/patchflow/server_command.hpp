// SPDX-License-Identifier: Apache-2.0
// patchflow server (run the server, print its configuration, reset the admin token) and the
// client commands that talk to its REST API (tokens, hosts, audit).
#pragma once

namespace CLI {
class App;
}

namespace pf::cli {

/// Registers `patchflow server [--config FILE] [--<setting> VALUE] [--print-config]` and
/// `patchflow server reset-admin-token`.
void add_server_command(CLI::App& root, int& exit_code);

/// Registers `patchflow tokens create`, `patchflow hosts list|show` and `patchflow audit verify`.
void add_client_commands(CLI::App& root, int& exit_code);
/// Registers `patchflow apply|get|delete|plan|chain` (chain_commands.cpp).
void add_chain_commands(CLI::App& root, int& exit_code);

}  // namespace pf::cli
