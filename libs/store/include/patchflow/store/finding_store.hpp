// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/store/fleet_store.hpp"

/// Findings kept by the server: host × (advisory, package, arch), open or fixed, with when
/// each was first seen and when it was fixed. The server derives them from the stored
/// inventory and advisories (pf::ranked) and hands each host's whole current set to
/// put_findings; the store turns the difference into history (new → open with first_seen,
/// gone → fixed with fixed_at, reappearing → open again). A host's findings are current when
/// its findings_state equals the state the server computes from its inventory hash and the
/// advisories' generation, so nothing is lost when the server stops half-way: it recomputes.
namespace pf::store {

/// One finding of a host as matched now.
struct FindingRow {
  std::string advisory_id;
  std::string package;
  std::string arch;
  std::string installed_version;
  std::string fixed_version;  ///< "" when there is no fix yet
  int severity{0};            ///< advisories::Severity as its integer
  bool kev{false};
  std::int64_t risk_milli{0};  ///< risk score x 1000, rounded (exact ordering and cursors)
  std::string detail;          ///< the API's JSON of the finding (CVEs, EPSS, risk parts)
};

enum class FindingStatus { open, fixed, any };

struct StoredFinding {
  std::string host_id;
  FindingRow row;
  bool open{true};
  std::int64_t first_seen{0};
  std::optional<std::int64_t> fixed_at;
};

/// Which findings list_findings returns: all conditions must hold.
struct FindingQuery {
  FindingStatus status{FindingStatus::open};
  std::optional<int> min_severity;
  bool kev_only{false};
  std::string host_id;      ///< exact; empty: any
  std::string advisory_id;  ///< exact; empty: any
  std::string package;      ///< exact; empty: any
  Labels labels;            ///< each key=value must be a label of the finding's host
  bool include_revoked{false};
  int limit{100};           ///< 1..kMaxPageSize
  std::string cursor;       ///< "" or a next_cursor returned before
};

struct FindingPage {
  /// Ordered by risk descending, then host id, advisory id, package, arch.
  std::vector<StoredFinding> findings;
  std::string next_cursor;  ///< "" when this is the last page
};

/// What put_findings changed.
struct FindingsDelta {
  std::size_t opened{0};  ///< new, or open again
  std::size_t fixed{0};
  std::size_t open{0};    ///< open after the call
};

/// At most this many findings per host.
inline constexpr std::size_t kMaxFindingsPerHost = 100000;

class FindingStore {
 public:
  FindingStore() = default;
  FindingStore(const FindingStore&) = delete;
  FindingStore& operator=(const FindingStore&) = delete;
  virtual ~FindingStore() = default;

  /// Replaces the host's current findings by `rows` (unique by advisory, package, arch) at
  /// `now`, and sets the host's findings_state, its highest open severity and its open count,
  /// in one transaction. When the host's findings_state is `state` already, writes nothing.
  /// not_found for an unknown host, invalid_input for bad rows.
  [[nodiscard]] virtual Result<FindingsDelta> put_findings(std::string_view host_id,
                                                           std::string_view state,
                                                           std::span<const FindingRow> rows,
                                                           std::int64_t now) = 0;

  /// Up to `limit` ids of non-revoked hosts with an inventory whose findings_state differs from
  /// their inventory hash + ":" + `generation`, ordered by id after `after_id`.
  [[nodiscard]] virtual Result<std::vector<std::string>> hosts_with_stale_findings(
      std::string_view generation, std::string_view after_id, int limit) = 0;

  [[nodiscard]] virtual Result<FindingPage> list_findings(const FindingQuery& query) = 0;

  /// A number that changes whenever advisories or CVE records are written (put_advisories,
  /// put_cves), on any connection.
  [[nodiscard]] virtual Result<std::int64_t> advisories_generation() = 0;
};

/// The findings_state of a host whose inventory has `inventory_hash` when the advisories are at
/// `generation`.
[[nodiscard]] std::string findings_state(std::string_view inventory_hash,
                                         std::string_view generation);

[[nodiscard]] Result<void> validate_finding_rows(std::span<const FindingRow> rows);
[[nodiscard]] Result<void> validate_finding_query(const FindingQuery& query);

/// The opaque cursor of a finding page: encodes the sort key of the last finding.
[[nodiscard]] std::string finding_cursor(const StoredFinding& last);
struct FindingCursor {
  std::int64_t risk_milli{0};
  std::string host_id, advisory_id, package, arch;
};
/// invalid_input (where "cursor") for text finding_cursor did not make.
[[nodiscard]] Result<FindingCursor> parse_finding_cursor(std::string_view text);

}  // namespace pf::store
