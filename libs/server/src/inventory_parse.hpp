// SPDX-License-Identifier: Apache-2.0
// The body of PUT /agent/v1/inventory read in one streaming pass (nlohmann's SAX interface)
// straight into rows: no JSON document is built. Private to libs/server.
#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "patchflow/core/inventory.hpp"
#include "patchflow/store/fleet_store.hpp"

namespace pf::server {

/// A checked inventory upload.
struct InventoryBody {
  std::string hash;
  std::vector<inventory::Package> packages;
  std::vector<store::AvailableUpdate> updates;
};

/// Why an upload was refused: the message and the field it names ("packages[3].version",
/// "hash", "body"), as the 400 answer carries them.
struct InventoryError {
  std::string message;
  std::string field;
};

/// Reads an inventory body (docs/protocol.md). The same rules, and the same first error, as
/// reading the parsed document would give: malformed JSON first, then a body that is not an
/// object, then "hash", then "packages" (the array, its size, its rows in order, each row's
/// fields in a fixed order), then "updates", then store::validate_inventory. A key given twice
/// counts with its last value; unknown keys are ignored at every level. Never throws. The
/// caller bounds the body's size and nesting depth.
[[nodiscard]] tl::expected<InventoryBody, InventoryError> parse_inventory(std::string_view body);

}  // namespace pf::server
