// SPDX-License-Identifier: Apache-2.0
// `patchflow lab clock`: the lab server's orchestrator clock (its clock_file, docs/lab.md):
// jump into tonight's maintenance window or past a soak of business days without waiting.
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "command.hpp"
#include "lab_command.hpp"
#include "patchflow/auth/duration.hpp"
#include "patchflow/jobs/job.hpp"

namespace pf::cli {
namespace {

namespace fs = std::filesystem;

struct ClockOptions {
  std::string dir{"pf-lab"};
  std::string at;
  std::string advance;
  bool reset{false};
};

std::chrono::sys_seconds system_now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

long long read_offset(const fs::path& file) {
  std::ifstream in(file);
  long long offset = 0;
  if (in >> offset) return offset;
  return 0;
}

int write_offset(const fs::path& file, long long offset) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << offset << "\n";
    if (!out) {
      std::cerr << "patchflow: error: cannot write " << tmp << "\n";
      return kExitInternal;
    }
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) {
    std::cerr << "patchflow: error: cannot replace " << file << ": " << ec.message() << "\n";
    return kExitInternal;
  }
  return kExitOk;
}

int clock(const ClockOptions& opt) {
  const fs::path dir(opt.dir);
  if (!fs::exists(dir / "lab.json")) {
    std::cerr << "patchflow: error: " << dir << " holds no lab (no lab.json); start one with "
              << "'patchflow lab up'\n";
    return kExitUsage;
  }
  const fs::path file = dir / "clock";
  long long offset = read_offset(file);
  const int given = (opt.at.empty() ? 0 : 1) + (opt.advance.empty() ? 0 : 1) + (opt.reset ? 1 : 0);
  if (given > 1) {
    std::cerr << "patchflow: error: give one of --at, --advance and --reset\n";
    return kExitUsage;
  }
  if (!opt.at.empty()) {
    auto t = jobs::parse_time(opt.at);
    if (!t) {
      std::cerr << "patchflow: error: --at: expected an RFC 3339 time (2026-12-24T21:30:00Z): "
                << t.error().message << "\n";
      return kExitUsage;
    }
    offset = (*t - system_now()).count();
  } else if (!opt.advance.empty()) {
    auto d = auth::parse_duration(opt.advance, "--advance");
    if (!d) {
      std::cerr << "patchflow: error: --advance: " << d.error().message << "\n";
      return kExitUsage;
    }
    offset += d->count();
  } else if (opt.reset) {
    offset = 0;
  }
  if (given == 1) {
    if (int rc = write_offset(file, offset); rc != kExitOk) return rc;
  }
  const auto now = system_now() + std::chrono::seconds(offset);
  std::cout << "lab orchestrator clock: " << jobs::format_time(now) << " (system clock "
            << (offset >= 0 ? "+" : "") << offset << " s)\n";
  return kExitOk;
}

}  // namespace

void add_lab_clock_command(CLI::App& lab, int& exit_code) {
  auto opt = std::make_shared<ClockOptions>();
  auto* cmd = lab.add_subcommand(
      "clock", "Show or move the lab orchestrator's clock (windows, soaks) without waiting");
  cmd->add_option("--dir", opt->dir, "The lab's directory")->capture_default_str();
  cmd->add_option("--at", opt->at, "Make it this time now (RFC 3339, e.g. 2026-12-24T21:30:00Z)");
  cmd->add_option("--advance", opt->advance, "Move it forward by this much (2d, 36h, 90m)");
  cmd->add_flag("--reset", opt->reset, "Back to the system clock");
  cmd->footer(R"(Only the orchestrator of the lab's server sees this clock (its clock_file): the
time at which windows open and soaks end. Agents and the audit log keep the system clock.

Examples:
  patchflow lab clock --at 2026-12-01T21:30:00Z   # 22:30 in Berlin: the nightly window
  patchflow lab clock --advance 3d                 # past a soak of 2 business days

Exit status: 0 shown or moved; 2 no lab in --dir or bad input.)");
  cmd->callback([opt, &exit_code] { exit_code = clock(*opt); });
}

}  // namespace pf::cli
