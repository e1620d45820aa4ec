// SPDX-License-Identifier: Apache-2.0
// Collecting the host's facts and packages, and their JSON document.
#include "host_inventory.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "agent_command.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg/rpm_db.hpp"

namespace pf::agent_cli {

namespace {

using nlohmann::json;

std::string utc(std::chrono::sys_seconds t) {
  const std::time_t tt = static_cast<std::time_t>(t.time_since_epoch().count());
  std::tm tm{};
  char buf[32] = "?";
  if (::gmtime_r(&tt, &tm) != nullptr) std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json unit_json(const agent::ServiceUnit& u) {
  return {{"unit", u.unit}, {"load", u.load}, {"active", u.active}, {"sub", u.sub}};
}

}  // namespace

void add_inventory_flags(CLI::App& cmd, InventoryFlags& flags) {
  cmd.add_option("--root", flags.root, "read the package root DIR instead of /")
      ->option_text("DIR");
  cmd.add_option("--rpm-dbpath", flags.rpm_dbpath, "rpm database directory inside the root")
      ->option_text("PATH");
  cmd.add_option("--proc-dir", flags.proc_dir,
                 "where uptime and stat are read (a lab host's own files)")
      ->option_text("DIR");
  cmd.add_option("--boot-id-file", flags.boot_id_file,
                 "the boot id file (a lab host's own, changed by its simulated reboots)")
      ->option_text("FILE");
  cmd.add_option("--mounts-file", flags.mounts_file, "the mount table to report free disk of")
      ->option_text("FILE");
  cmd.add_flag("--no-services", flags.no_services, "do not ask systemd for its services");
}

Result<HostInventory> collect_host_inventory(const InventoryFlags& flags) {
  HostInventory inv;
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

std::string inventory_json(const HostInventory& inv, bool with_packages) {
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
  if (with_packages) {
    auto& list = out["packages"] = json::array();
    for (const auto& p : inv.packages)
      list.push_back({{"name", p.name},
                      {"arch", p.arch},
                      {"version", p.version},
                      {"source", p.source_name},
                      {"source_version", p.source_version}});
  }
  out["warnings"] = f.warnings;
  // Names and reasons come from files of the host: never let a stray byte stop the document.
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace pf::agent_cli
