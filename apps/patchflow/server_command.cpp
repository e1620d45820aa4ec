// SPDX-License-Identifier: Apache-2.0
// patchflow server: runs the server until SIGTERM/SIGINT, prints its effective configuration,
// or resets the admin token with direct access to the database. The settings table of
// libs/server gives every flag.
#include "server_command.hpp"

#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "command.hpp"
#include "patchflow/server/config.hpp"
#include "patchflow/server/server.hpp"

namespace pf::cli {
namespace {

struct ServerOptions {
  std::string config_file;
  bool print_config{false};
  std::map<std::string, std::string> values;  // by setting key
  std::map<std::string, CLI::Option*> options;
};

int exit_code_for(const Error& e) {
  return e.code == Errc::invalid_input || e.code == Errc::not_found || e.code == Errc::conflict
             ? kExitUsage
             : kExitInternal;
}

Result<server::LoadedConfig> load(const ServerOptions& opt) {
  server::ConfigInputs inputs;
  if (!opt.config_file.empty()) inputs.file = opt.config_file;
  for (const auto& [key, option] : opt.options) {
    if (option->count() > 0) inputs.flags[key] = opt.values.at(key);
  }
  return server::load_config(inputs);
}

int run_server(const ServerOptions& opt) {
  auto loaded = load(opt);
  if (!loaded) {
    std::cerr << "patchflow: error: " << to_string(loaded.error()) << "\n";
    return kExitUsage;
  }
  if (opt.print_config) {
    std::cout << server::print_config(*loaded);
    return kExitOk;
  }
  // SIGTERM and SIGINT are taken by this thread with sigwait(); blocked before any thread
  // starts, so that the server's threads inherit the mask and never see them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto srv = server::Server::start(loaded->config);
  if (!srv) {
    std::cerr << "patchflow: error: " << to_string(srv.error()) << "\n";
    return exit_code_for(srv.error());
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "patchflow: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
            << ": stopping (finishing requests in flight, committing check-ins)\n";
  (*srv)->stop();
  return kExitOk;
}

int run_reset(const ServerOptions& opt) {
  auto loaded = load(opt);
  if (!loaded) {
    std::cerr << "patchflow: error: " << to_string(loaded.error()) << "\n";
    return kExitUsage;
  }
  auto reset = server::reset_admin_token(loaded->config);
  if (!reset) {
    std::cerr << "patchflow: error: " << to_string(reset.error()) << "\n";
    return exit_code_for(reset.error());
  }
  std::cerr << server::admin_token_banner(
      reset->token, "admin token reset: " + std::to_string(reset->revoked) +
                        " admin token(s) revoked, this one created.");
  return kExitOk;
}

void add_setting_flags(CLI::App& cmd, ServerOptions& opt) {
  for (const auto& s : server::settings()) {
    const std::string key(s.key);
    std::string help = std::string(s.description) + " (" + std::string(s.type) +
                       (s.default_text.empty() ? "" : "; default " + std::string(s.default_text)) +
                       "; env " + server::env_name(key) + ")";
    opt.options[key] = cmd.add_option(server::flag_name(key), opt.values[key], help);
  }
}

}  // namespace

void add_server_command(CLI::App& root, int& exit_code) {
  auto opt = std::make_shared<ServerOptions>();
  auto* cmd = root.add_subcommand("server", "Run the patchflow server (REST API and agent gateway)");
  cmd->add_option("--config", opt->config_file, "YAML configuration file");
  cmd->add_flag("--print-config", opt->print_config,
                "Print each effective setting and where it came from, then exit");
  add_setting_flags(*cmd, *opt);
  cmd->footer(R"(Settings come from flags, else PATCHFLOW_<KEY> variables, else the --config file,
else defaults (see --print-config). On the first start the server creates its CA, server
certificate and work-signing key in --state-dir, and an administrator API token that it
prints ONCE on stderr. SIGTERM or SIGINT stops it cleanly.

Examples:
  patchflow server --config /etc/patchflow/server.yaml
  patchflow server --state-dir /tmp/pf --listen 127.0.0.1:8443 --print-config
  patchflow server reset-admin-token --config /etc/patchflow/server.yaml

Exit status: 0 stopped cleanly; 2 bad configuration; 4 could not start.)");

  auto* reset = cmd->add_subcommand(
      "reset-admin-token",
      "Revoke every admin-role API token and print a new one for user admin (needs direct "
      "access to the database; the server may keep running)");
  // The settings (--config, --database, ...) may follow the subcommand's name too.
  reset->fallthrough();
  cmd->callback([opt, cmd, reset, &exit_code] {
    (void)cmd;
    exit_code = reset->parsed() ? run_reset(*opt) : run_server(*opt);
  });
}

}  // namespace pf::cli
