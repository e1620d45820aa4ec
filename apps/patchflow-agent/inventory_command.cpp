// SPDX-License-Identifier: Apache-2.0
// `patchflow-agent inventory`: what is installed on the host (or a root), with its facts: OS,
// kernel, boot, free disk per mount, whether a reboot is needed, systemd services.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "agent_command.hpp"
#include "host_inventory.hpp"

namespace pf::agent_cli {

namespace {

struct InventoryCommandFlags {
  InventoryFlags inventory;
  bool json{false};
};

std::string human_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

void print_text(const HostInventory& inv) {
  const auto& f = inv.facts;
  std::cout << "host:      " << f.hostname << " (boot " << f.boot_id << ", up "
            << f.uptime.count() / 86400 << "d " << (f.uptime.count() % 86400) / 3600 << "h)\n"
            << "os:        " << (f.os_pretty_name.empty() ? f.os_id : f.os_pretty_name) << " ("
            << f.ecosystem << ")\n"
            << "kernel:    " << f.kernel_release << " " << f.arch << "\n";
  if (inv.reboot) {
    std::cout << "reboot:    " << (inv.reboot->required ? "required" : "not required") << "\n";
    for (const auto& r : inv.reboot->reasons) std::cout << "           " << r << "\n";
  } else {
    std::cout << "reboot:    unknown: " << inv.reboot_error << "\n";
  }
  if (inv.services) {
    std::cout << "services:  " << inv.services->status;
    if (inv.services->systemd_running)
      std::cout << ", " << inv.services->services.size() << " units, "
                << inv.services->failed.size() << " failed";
    std::cout << "\n";
    for (const auto& u : inv.services->failed) std::cout << "           failed: " << u.unit << "\n";
  } else if (!inv.services_error.empty()) {
    std::cout << "services:  unknown: " << inv.services_error << "\n";
  }
  for (const auto& m : f.mounts)
    std::cout << "disk:      " << m.mount_point << " " << human_bytes(m.available_bytes)
              << " free of " << human_bytes(m.total_bytes) << " (" << m.fs_type << ")\n";
  for (const auto& w : f.warnings) std::cout << "warning:   " << w << "\n";
  std::cout << "packages:  " << inv.packages.size() << " installed ("
            << (inv.family == pkg::Family::deb ? "dpkg" : "rpm") << ")\n\n";
  std::size_t w = 4;
  for (const auto& p : inv.packages) w = std::max(w, p.name.size() + p.arch.size() + 1);
  for (const auto& p : inv.packages) {
    std::string na = p.name + ":" + p.arch;
    std::cout << na << std::string(w + 2 - na.size(), ' ') << p.version << "\n";
  }
}

int run_inventory(const InventoryCommandFlags& flags) {
  auto inv = collect_host_inventory(flags.inventory);
  if (!inv) return fail(inv.error());
  if (flags.json) {
    std::cout << inventory_json(*inv, true) << "\n";
  } else {
    print_text(*inv);
  }
  return kExitOk;
}

}  // namespace

void add_inventory_command(CLI::App& root, int& exit_code) {
  static InventoryCommandFlags flags;
  auto* cmd = root.add_subcommand(
      "inventory", "list what is installed, from the package database, with the host's facts");
  add_inventory_flags(*cmd, flags.inventory);
  cmd->add_flag("--json", flags.json,
                "print one JSON object: {\"os\":{...},\"kernel\":{...},\"arch\",\"hostname\","
                "\"boot_id\",\"boot_time\",\"uptime_s\",\"mounts\":[...],\"reboot\":{...},"
                "\"services\":{...},\"package_manager\",\"packages\":[{\"name\",\"arch\","
                "\"version\",\"source\",\"source_version\"}],\"warnings\":[...]}");
  cmd->footer("Examples:\n  patchflow-agent inventory\n"
              "  patchflow-agent inventory --root /srv/lab/web1 --json");
  cmd->callback([&exit_code] { exit_code = run_inventory(flags); });
}

}  // namespace pf::agent_cli
