// SPDX-License-Identifier: Apache-2.0
// What the host has: its facts and its installed packages, collected once for `inventory`,
// `enroll` and `run` (the facts document of the agent protocol is `inventory --json` without
// "packages").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "patchflow/agent/facts.hpp"
#include "patchflow/agent/reboot.hpp"
#include "patchflow/agent/services.hpp"
#include "patchflow/common/error.hpp"
#include "patchflow/core/inventory.hpp"
#include "patchflow/pkg/backend.hpp"

namespace CLI {
class App;
}

namespace pf::agent_cli {

/// Where the facts and the package database are read.
struct InventoryFlags {
  std::string root{"/"};
  std::string rpm_dbpath{"/var/lib/rpm"};
  std::string proc_dir{"/proc"};
  std::string boot_id_file{"/proc/sys/kernel/random/boot_id"};
  std::string mounts_file{"/proc/self/mounts"};
  bool no_services{false};
};

/// Adds --root, --rpm-dbpath, --proc-dir, --boot-id-file, --mounts-file and --no-services.
void add_inventory_flags(CLI::App& command, InventoryFlags& flags);

/// What was collected. The reboot and service checks may fail without failing the inventory
/// (the packages are still worth reporting), so their errors are kept beside them.
struct HostInventory {
  agent::OsFacts facts;
  pkg::Family family{pkg::Family::deb};
  std::vector<inventory::Package> packages;
  std::optional<agent::RebootState> reboot;
  std::string reboot_error;
  std::optional<agent::ServiceState> services;
  std::string services_error;
};

[[nodiscard]] Result<HostInventory> collect_host_inventory(const InventoryFlags& flags);

/// The JSON document of `inventory --json`; without "packages" it is the facts document that
/// enroll and check-in send.
[[nodiscard]] std::string inventory_json(const HostInventory& inv, bool with_packages);

}  // namespace pf::agent_cli
