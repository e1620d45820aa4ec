// SPDX-License-Identifier: Apache-2.0
// Choosing and configuring the package backend. Backends are registered here explicitly (no
// static registration): apt for dpkg roots, dnf for rpm roots.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "agent_command.hpp"
#include "patchflow/agent/reboot.hpp"
#include "patchflow/pkg_apt/apt_backend.hpp"
#include "patchflow/pkg_dnf/dnf_backend.hpp"

namespace pf::agent_cli {

int exit_code_for(const Error& error) noexcept {
  switch (error.code) {
    case Errc::invalid_input:
    case Errc::not_found: return kExitUsage;
    case Errc::lock_held:
    case Errc::interrupted:
    case Errc::timeout:
    case Errc::backend_failed:
    case Errc::conflict: return kExitPackageManager;
    case Errc::io: return kExitInternal;
  }
  return kExitInternal;
}

int fail(const Error& error) {
  std::cerr << "patchflow-agent: " << to_string(error) << "\n";
  return exit_code_for(error);
}

void add_backend_flags(CLI::App& command, BackendFlags& flags, bool for_changes,
                       bool with_root) {
  if (with_root) {
    command.add_option("--root", flags.root,
                       "act on the package root DIR instead of / (its own dpkg or rpm database)")
        ->option_text("DIR");
  }
  command.add_option("--backend", flags.backend, "package manager: auto (from the database found "
                                                 "under the root), apt or dnf")
      ->check(CLI::IsMember({"auto", "apt", "dnf"}))
      ->option_text("NAME");
  command.add_option("--releasever", flags.releasever,
                     "dnf: the release version, for roots without a system-release package")
      ->option_text("VER");
  if (with_root) {
    command.add_option("--rpm-dbpath", flags.rpm_dbpath, "rpm database directory inside the root")
        ->option_text("PATH");
  }
  command.add_option("--lock-timeout", flags.lock_timeout_s,
                     "seconds to wait for another package-manager run to release its lock "
                     "(never broken)")
      ->option_text("SECONDS");
  command.add_option("--timeout", flags.tool_timeout_s,
                     "seconds a single package-manager run may take")
      ->option_text("SECONDS");
  if (for_changes) {
    command.add_option("--conffiles", flags.conffiles,
                       "apt: a locally changed configuration file is kept (keep-old) or replaced "
                       "by the package's (take-new, the old one saved as .dpkg-old); never a prompt")
        ->check(CLI::IsMember({"keep-old", "take-new"}))
        ->option_text("POLICY");
    command.add_flag("--no-repair", flags.no_repair,
                     "apt: fail instead of running 'dpkg --configure -a' when an earlier dpkg run "
                     "was interrupted");
  }
}

Result<pkg::Family> detect_family(const std::string& root, const std::string& rpm_dbpath) {
  auto family = agent::detect_family(root, rpm_dbpath);
  if (!family) {
    Error e = family.error();
    if (e.code == Errc::not_found) e.message = "no package database: " + e.message + " (is --root right?)";
    return tl::unexpected(std::move(e));
  }
  return *family == agent::PackageFamily::deb ? pkg::Family::deb : pkg::Family::rpm;
}

Result<std::unique_ptr<pkg::PackageBackend>> open_backend(const BackendFlags& flags) {
  pkg::BackendOptions options;
  options.root = flags.root;
  options.lock_timeout = std::chrono::seconds(flags.lock_timeout_s);
  options.tool_timeout = std::chrono::seconds(flags.tool_timeout_s);
  options.conffiles = flags.conffiles == "take-new" ? pkg::ConffilePolicy::take_new
                                                    : pkg::ConffilePolicy::keep_old;
  options.repair_interrupted = !flags.no_repair;
  options.rpm_dbpath = flags.rpm_dbpath;
  options.releasever = flags.releasever;
  std::string which = flags.backend;
  if (which == "auto") {
    auto family = detect_family(flags.root, flags.rpm_dbpath);
    if (!family) return tl::unexpected(family.error());
    which = *family == pkg::Family::deb ? "apt" : "dnf";
  }
  if (which == "apt") return pkg::apt::make_apt_backend(std::move(options));
  return pkg::dnf::make_dnf_backend(std::move(options));
}

}  // namespace pf::agent_cli
