// SPDX-License-Identifier: Apache-2.0
// The agent's calls of the agent protocol (/agent/v1, DESIGN.md §5) and their documents.
// Facts travel as JSON text: the object `patchflow-agent inventory --json` prints without
// "packages" (the server reads os, kernel, arch, hostname, boot_id and reboot from it).
#pragma once

#include <cstdint>
#include <optional>
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

/// A run handed to the agent: the envelope exactly as the server signed it.
struct WorkItem {
  std::string run_id;
  std::string job;
  std::string envelope;
};

/// The work items of a check-in answer (CheckinResponse::work_json); items that are not
/// objects with string run_id and envelope are left out.
[[nodiscard]] std::vector<WorkItem> work_items(const std::string& work_json);

/// GET /agent/v1/wait?timeout=N: the host's next run, or nullopt when none came within
/// `timeout_s` (204). The client's total timeout must exceed timeout_s.
[[nodiscard]] CallResult<std::optional<WorkItem>> wait_for_work(const HttpsClient& client,
                                                                int timeout_s);

/// One event of a run for POST /agent/v1/runs/{id}/events.
struct RunEvent {
  std::string id;     ///< stable across retries ("<run_id>:<seq>")
  std::uint64_t seq{0};
  std::string kind;   ///< "step", "postponed", "outcome", ...
  std::string state;  ///< "" or running, succeeded, failed, skipped, rolled_back
  std::string body_json;  ///< a JSON object
};

struct EventsResponse {
  std::int64_t accepted{0};
  std::int64_t duplicates{0};
  std::string state;  ///< the run's state on the server
};

/// POST /agent/v1/runs/{run_id}/events. Errc::conflict with http_status 409 and code
/// "canceled" when an operator canceled the run.
[[nodiscard]] CallResult<EventsResponse> post_events(const HttpsClient& client,
                                                     const std::string& run_id,
                                                     const std::vector<RunEvent>& events);

/// POST /agent/v1/renew {csr_pem} → the new certificate (PEM).
[[nodiscard]] CallResult<std::string> renew(const HttpsClient& client, const std::string& csr_pem);

}  // namespace pf::agent_client
