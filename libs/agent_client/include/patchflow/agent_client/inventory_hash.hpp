// SPDX-License-Identifier: Apache-2.0
// The inventory hash a check-in carries: the server asks for the full inventory only when it
// differs from the stored one.
#pragma once

#include <string>
#include <vector>

#include "patchflow/core/inventory.hpp"
#include "patchflow/pkg/backend.hpp"

namespace pf::agent_client {

/// The canonical serialisation the hash is taken over (docs/agent.md):
///
///     "patchflow-inventory-v1\n"
///     "packages " N "\n"   then the N package records, sorted bytewise
///     "updates " M "\n"    then the M update records, sorted bytewise
///
/// A record is its fields in a fixed order, each written as <decimal byte length> ':' <bytes>,
/// then '\n'. Package fields: name, arch, version, source, source_version. Update fields: name,
/// arch, installed, candidate, origin, security ("1" or "0"), the number of advisories as a
/// field, the advisories (sorted), held_reason. These are exactly the fields the inventory
/// upload carries, so the hash changes when the upload would, and only then; the order the
/// package database or the package manager lists them in does not matter.
[[nodiscard]] std::string canonical_inventory(const std::vector<inventory::Package>& packages,
                                              const std::vector<pkg::Update>& updates);

/// "sha256:" + 64 lower-case hex digits of SHA-256 over canonical_inventory().
[[nodiscard]] std::string inventory_hash(const std::vector<inventory::Package>& packages,
                                         const std::vector<pkg::Update>& updates);

}  // namespace pf::agent_client
