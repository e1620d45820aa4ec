// SPDX-License-Identifier: Apache-2.0
// `patchflow-agent updates | plan | apply | rollback`: the package backend, from the command line.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "agent_command.hpp"
#include "report_json.hpp"

namespace pf::agent_cli {

namespace {

constexpr std::size_t kMaxReportFile = std::size_t{64} << 20;

struct ChangeFlags {
  BackendFlags backend;
  std::string select;
  std::string report_file;
  bool json{false};
  bool no_refresh{false};
};

// Writes `data` to `file` through a temporary file, fsync'ed before the rename, so that a
// crash leaves either the old report or the new one, never half of one.
Result<void> write_durably(const std::string& file, const std::string& data) {
  std::string tmp = file + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::io, std::strerror(errno), tmp);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return make_error(Errc::io, std::strerror(e), tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return make_error(Errc::io, std::strerror(errno), tmp);
  if (::rename(tmp.c_str(), file.c_str()) != 0)
    return make_error(Errc::io, std::strerror(errno), file);
  return {};
}

Result<std::string> read_bounded(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(Errc::not_found, "cannot open", file);
  std::string data(kMaxReportFile + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > kMaxReportFile)
    return make_error(Errc::invalid_input, "larger than 64 MiB", file);
  return data;
}

int exit_for_report(const pkg::ApplyReport& report) {
  switch (report.outcome) {
    case pkg::ApplyOutcome::applied:
    case pkg::ApplyOutcome::applied_reboot_required:
    case pkg::ApplyOutcome::nothing_to_do: return kExitOk;
    case pkg::ApplyOutcome::not_applied:
    case pkg::ApplyOutcome::resolve_failed: return kExitNotApplied;  // nothing changed
    case pkg::ApplyOutcome::install_failed: return kExitPackageManager;
  }
  return kExitInternal;
}

// Prints the report, saves it when asked, and returns the exit code.
int finish(const ChangeFlags& flags, const pkg::ApplyReport& report, const std::string& selection) {
  std::string json = report_json(report, selection);
  if (!flags.report_file.empty()) {
    if (auto w = write_durably(flags.report_file, json + "\n"); !w) return fail(w.error());
  }
  if (flags.json)
    std::cout << json << "\n";
  else
    print_report(std::cout, report);
  return exit_for_report(report);
}

int run_updates(const ChangeFlags& flags) {
  auto backend = open_backend(flags.backend);
  if (!backend) return fail(backend.error());
  if (!flags.no_refresh) {
    std::cerr << "refreshing repository metadata...\n";
    if (auto r = (*backend)->refresh(); !r) return fail(r.error());
  }
  auto updates = (*backend)->upgradable();
  if (!updates) return fail(updates.error());
  if (flags.json)
    std::cout << updates_json(*updates) << "\n";
  else
    print_updates(std::cout, *updates);
  return kExitOk;
}

int run_plan(const ChangeFlags& flags) {
  auto selection = pkg::parse_selection(flags.select);
  if (!selection) return fail(selection.error());
  auto backend = open_backend(flags.backend);
  if (!backend) return fail(backend.error());
  auto plan = (*backend)->plan(*selection);
  if (!plan) return fail(plan.error());
  if (flags.json)
    std::cout << plan_json(*plan) << "\n";
  else
    print_plan(std::cout, *plan);
  return kExitOk;
}

int run_apply(const ChangeFlags& flags) {
  auto selection = pkg::parse_selection(flags.select);
  if (!selection) return fail(selection.error());
  auto backend = open_backend(flags.backend);
  if (!backend) return fail(backend.error());
  std::cerr << "applying " << pkg::to_string(*selection) << " with " << (*backend)->name()
            << " on " << flags.backend.root << "...\n";
  auto report = (*backend)->apply(*selection);
  if (!report) return fail(report.error());
  return finish(flags, *report, pkg::to_string(*selection));
}

int run_rollback(const ChangeFlags& flags) {
  auto text = read_bounded(flags.report_file);
  if (!text) return fail(text.error());
  auto previous = parse_report_json(*text, flags.report_file);
  if (!previous) return fail(previous.error());
  auto targets = pkg::rollback_targets(*previous);
  if (targets.empty()) {
    std::cout << "nothing to roll back: the report records no change\n";
    return kExitOk;
  }
  auto backend = open_backend(flags.backend);
  if (!backend) return fail(backend.error());
  std::cerr << "rolling back " << targets.size() << " package(s) with " << (*backend)->name()
            << "...\n";
  auto report = (*backend)->restore(targets);
  if (!report) return fail(report.error());
  ChangeFlags out = flags;
  out.report_file.clear();  // never overwrite the report being rolled back
  return finish(out, *report, "rollback");
}

const char* kSelectHelp =
    "what to install: all | security | packages:NAME[:ARCH],... | advisories:ID,... | "
    "exact:NAME[:ARCH]=VERSION,...";

}  // namespace

void add_package_commands(CLI::App& root, int& exit_code) {
  static ChangeFlags updates, plan, apply, rollback;

  auto* u = root.add_subcommand("updates", "list available updates (held-back ones with why)");
  add_backend_flags(*u, updates.backend, false);
  u->add_flag("--no-refresh", updates.no_refresh, "use the metadata fetched last time");
  u->add_flag("--json", updates.json, "print {\"updates\":[...]} as JSON");
  u->footer("Examples:\n  patchflow-agent updates\n  patchflow-agent updates --root /srv/lab/db1 --json");
  u->callback([&exit_code] { exit_code = run_updates(updates); });

  auto* p = root.add_subcommand("plan", "show what a selection would change, changing nothing");
  add_backend_flags(*p, plan.backend, false);
  p->add_option("--select", plan.select, kSelectHelp)->required()->option_text("SELECTION");
  p->add_flag("--json", plan.json, "print {\"changes\":[...],\"skipped\":[...]} as JSON");
  p->footer("Examples:\n  patchflow-agent plan --select security\n"
            "  patchflow-agent plan --select exact:openssl=3.0.11-1~deb12u2 --json");
  p->callback([&exit_code] { exit_code = run_plan(plan); });

  auto* a = root.add_subcommand(
      "apply", "install a selection and report, package by package, what really changed");
  add_backend_flags(*a, apply.backend, true);
  a->add_option("--select", apply.select, kSelectHelp)->required()->option_text("SELECTION");
  a->add_option("--report-file", apply.report_file,
                "also write the verified report (JSON) to FILE, durably; 'rollback' reads it")
      ->option_text("FILE");
  a->add_flag("--json", apply.json, "print the report as JSON");
  a->footer(
      "The result is read back from the package database: a package the tool claims to have\n"
      "installed but did not change is 'not_applied' with the reason.\n"
      "Examples:\n  patchflow-agent apply --select security --report-file /var/lib/patchflow/last.json\n"
      "  patchflow-agent apply --select packages:nginx,openssl --conffiles keep-old");
  a->callback([&exit_code] { exit_code = run_apply(apply); });

  auto* r = root.add_subcommand(
      "rollback", "put every package a saved report changed back to its version before");
  add_backend_flags(*r, rollback.backend, true);
  r->add_option("--report-file", rollback.report_file, "the report written by 'apply --report-file'")
      ->required()
      ->option_text("FILE");
  r->add_flag("--json", rollback.json, "print the rollback's report as JSON");
  r->footer("The old versions must still be offered by a repository (or the package cache).\n"
            "Example:\n  patchflow-agent rollback --report-file /var/lib/patchflow/last.json");
  r->callback([&exit_code] { exit_code = run_rollback(rollback); });
}

}  // namespace pf::agent_cli
