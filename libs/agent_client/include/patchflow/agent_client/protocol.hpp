// SPDX-License-Identifier: Apache-2.0
// The agent's calls of the agent protocol (/agent/v1, DESIGN.md §5) and their documents.
// Facts travel as JSON text: the object `patchflow-agent inventory --json` prints without
// "packages" (the server reads os, kernel, arch, hostname, boot_id and reboot from it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "patchflow/agent_client/https_client.hpp"
#include "patchflow/core/inventory.hpp"
#include "patchflow/pkg/backend.hpp"

namespace pf::agent_client {

struct EnrollRequest {
  std::string token;
  std::string csr_pem;
  std::string hostname;
  std::string facts_json;  ///< a JSON object
};

struct EnrollResponse {
  std::string host_id;
  std::string cert_pem;
  std::string ca_pem;
  std::string signing_public_key_pem;
  std::int64_t checkin_interval_s{0};
};

struct CheckinResponse {
  bool inventory_needed{false};
  std::int64_t next_checkin_s{60};
  std::string work_json{"[]"};  ///< the work items as sent (a JSON array), not acted on yet
};

struct InventoryResponse {
  bool stored{false};  ///< false when the server already had this inventory
};

/// POST /agent/v1/enroll (with a client that has no certificate yet).
[[nodiscard]] CallResult<EnrollResponse> enroll(const HttpsClient& client,
                                                const EnrollRequest& request);

/// POST /agent/v1/checkin {facts, inventory_hash}. An empty hash is sent as absent.
[[nodiscard]] CallResult<CheckinResponse> checkin(const HttpsClient& client,
                                                  const std::string& facts_json,
                                                  const std::string& inventory_hash);

/// The body of PUT /agent/v1/inventory: {hash, packages:[{name,arch,version,source,
/// source_version}], updates:[{name,arch,installed,candidate,origin,security,advisories,
/// held_reason}]}.
[[nodiscard]] std::string inventory_document(const std::string& hash,
                                             const std::vector<inventory::Package>& packages,
                                             const std::vector<pkg::Update>& updates);

/// PUT /agent/v1/inventory.
[[nodiscard]] CallResult<InventoryResponse> put_inventory(
    const HttpsClient& client, const std::string& hash,
    const std::vector<inventory::Package>& packages, const std::vector<pkg::Update>& updates);

/// POST /agent/v1/renew {csr_pem} → the new certificate (PEM).
[[nodiscard]] CallResult<std::string> renew(const HttpsClient& client, const std::string& csr_pem);

}  // namespace pf::agent_client
