// SPDX-License-Identifier: Apache-2.0
// `patchflow-agent inventory`: what is installed on the host (or a root), with its facts: OS,
// kernel, boot, free disk per mount, whether a reboot is needed, systemd services.
#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "agent_command.hpp"
#include "patchflow/agent/facts.hpp"
#include "patchflow/agent/reboot.hpp"
#include "patchflow/agent/services.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg/rpm_db.hpp"

namespace pf::agent_cli {

namespace {

using nlohmann::json;

struct InventoryFlags {
  std::string root{"/"};
  std::string rpm_dbpath{"/var/lib/rpm"};
  std::string proc_dir{"/proc"};
  std::string boot_id_file{"/proc/sys/kernel/random/boot_id"};
  std::string mounts_file{"/proc/self/mounts"};
  bool json{false};
  bool no_services{false};
};

std::string utc(std::chrono::sys_seconds t) {
  const std::time_t tt = static_cast<std::time_t>(t.time_since_epoch().count());
  std::tm tm{};
  char buf[32] = "?";
  if (::gmtime_r(&tt, &tm) != nullptr) std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

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

json unit_json(const agent::ServiceUnit& u) {
  return {{"unit", u.unit}, {"load", u.load}, {"active", u.active}, {"sub", u.sub}};
}

// What was collected; the reboot and service checks may fail without failing the inventory
// (the packages are still worth reporting), so their errors are kept beside them.
struct Inventory {
  agent::OsFacts facts;
  pkg::Family family{pkg::Family::deb};
  std::vector<inventory::Package> packages;
  std::optional<agent::RebootState> reboot;
  std::string reboot_error;
  std::optional<agent::ServiceState> services;
  std::string services_error;
};

Result<Inventory> collect(const InventoryFlags& flags) {
  Inventory inv;
  auto family = detect_family(flags.root, flags.rpm_dbpath);
  if (!family) return tl::unexpected(family.error());
  inv.family = *family;

  agent::FactsOptions fo;
  fo.root = flags.root;
  fo.proc_dir = flags.proc_dir;
  fo.boot_id_file = flags.boot_id_file;
  fo.mounts_file = flags.mounts_file;
  auto facts = agent::collect_facts(fo);
  if (!facts) return tl::unexpected(facts.error());
  inv.facts = std::move(*facts);

  auto packages = inv.family == pkg::Family::deb
                      ? pkg::read_dpkg_status(pkg::dpkg_status_path(flags.root))
                      : pkg::read_rpm_database(flags.root, {.dbpath = flags.rpm_dbpath});
  if (!packages) return tl::unexpected(packages.error());
  inv.packages = std::move(*packages);

  agent::RebootOptions ro;
  ro.root = flags.root;
  ro.family =
      inv.family == pkg::Family::deb ? agent::PackageFamily::deb : agent::PackageFamily::rpm;
  ro.dbpath = flags.rpm_dbpath;
  ro.proc_dir = flags.proc_dir;
  ro.boot_time = inv.facts.boot_time;
  auto reboot = agent::reboot_required(ro);
  if (reboot) {
    inv.reboot = std::move(*reboot);
  } else {
    inv.reboot_error = to_string(reboot.error());
  }

  if (!flags.no_services) {
    agent::ServicesOptions so;
    so.root = flags.root;
    auto services = agent::collect_services(so);
    if (services) {
      inv.services = std::move(*services);
    } else {
      inv.services_error = to_string(services.error());
    }
  }
  return inv;
}

void print_json(const Inventory& inv) {
  const auto& f = inv.facts;
  json out;
  out["os"] = {{"id", f.os_id},
               {"version_id", f.os_version_id},
               {"pretty_name", f.os_pretty_name},
               {"ecosystem", f.ecosystem}};
  out["kernel"] = {{"release", f.kernel_release}, {"version", f.kernel_version}};
  out["arch"] = f.arch;
  out["hostname"] = f.hostname;
  out["boot_id"] = f.boot_id;
  out["boot_time"] = utc(f.boot_time);
  out["uptime_s"] = f.uptime.count();
  auto& mounts = out["mounts"] = json::array();
  for (const auto& m : f.mounts)
    mounts.push_back({{"mount_point", m.mount_point},
                      {"fs_type", m.fs_type},
                      {"device", m.device},
                      {"total_bytes", m.total_bytes},
                      {"available_bytes", m.available_bytes},
                      {"total_inodes", m.total_inodes},
                      {"available_inodes", m.available_inodes}});
  if (inv.reboot) {
    out["reboot"] = {{"required", inv.reboot->required},
                     {"reasons", inv.reboot->reasons},
                     {"packages", inv.reboot->packages}};
  } else {
    out["reboot"] = {{"required", nullptr}, {"error", inv.reboot_error}};
  }
  if (inv.services) {
    auto& s = out["services"] = {{"systemd_running", inv.services->systemd_running},
                                 {"status", inv.services->status}};
    auto& units = s["units"] = json::array();
    for (const auto& u : inv.services->services) units.push_back(unit_json(u));
    auto& failed = s["failed"] = json::array();
    for (const auto& u : inv.services->failed) failed.push_back(unit_json(u));
  } else if (!inv.services_error.empty()) {
    out["services"] = {{"systemd_running", nullptr}, {"error", inv.services_error}};
  }
  out["package_manager"] = inv.family == pkg::Family::deb ? "dpkg" : "rpm";
  auto& list = out["packages"] = json::array();
  for (const auto& p : inv.packages)
    list.push_back({{"name", p.name},
                    {"arch", p.arch},
                    {"version", p.version},
                    {"source", p.source_name},
                    {"source_version", p.source_version}});
  out["warnings"] = f.warnings;
  std::cout << out.dump() << "\n";
}

void print_text(const Inventory& inv) {
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

int run_inventory(const InventoryFlags& flags) {
  auto inv = collect(flags);
  if (!inv) return fail(inv.error());
  if (flags.json) {
    print_json(*inv);
  } else {
    print_text(*inv);
  }
  return kExitOk;
}

}  // namespace

void add_inventory_command(CLI::App& root, int& exit_code) {
  static InventoryFlags flags;
  auto* cmd = root.add_subcommand(
      "inventory", "list what is installed, from the package database, with the host's facts");
  cmd->add_option("--root", flags.root, "read the package root DIR instead of /")
      ->option_text("DIR");
  cmd->add_option("--rpm-dbpath", flags.rpm_dbpath, "rpm database directory inside the root")
      ->option_text("PATH");
  cmd->add_option("--proc-dir", flags.proc_dir,
                  "where uptime and stat are read (a lab host's own files)")
      ->option_text("DIR");
  cmd->add_option("--boot-id-file", flags.boot_id_file,
                  "the boot id file (a lab host's own, changed by its simulated reboots)")
      ->option_text("FILE");
  cmd->add_option("--mounts-file", flags.mounts_file, "the mount table to report free disk of")
      ->option_text("FILE");
  cmd->add_flag("--no-services", flags.no_services, "do not ask systemd for its services");
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
