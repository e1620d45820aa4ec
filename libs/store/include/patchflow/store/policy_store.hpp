// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/store/audit.hpp"

/// Policy documents (Baseline, Group, Window, Chain) as `patchflow apply` stores them: one
/// canonical JSON text per (kind, name), with a revision that moves on every change, so that
/// two operators applying at once cannot silently overwrite each other (DESIGN.md §1, §7).
namespace pf::store {

/// The kinds a policy document may have.
inline constexpr std::string_view kPolicyKinds[] = {"Baseline", "Group", "Window", "Chain"};

struct PolicyDoc {
  std::string kind;            ///< one of kPolicyKinds
  std::string name;            ///< 1..63 of [a-z0-9-]
  std::string json;            ///< canonical JSON (the caller's job), not empty, <= kMaxPolicyJson
  std::int64_t revision{0};    ///< 1 on first apply, +1 on each change (set by the store)
  std::int64_t updated_at{0};  ///< set by the store: the `now` of the apply that changed it
  std::string updated_by;      ///< who applied it; 1..256 bytes
};

struct PolicyPut {
  PolicyDoc doc;  ///< revision and updated_at are ignored
  /// The revision the caller read before computing its change; 0: the document must not exist.
  std::int64_t expected_revision{0};
  /// Recorded when this put changes something; its detail (before/after JSON, the diff) is the
  /// caller's.
  AuditEntry audit;
};

/// What an apply did to one document.
inline constexpr std::string_view kPolicyCreated = "created";
inline constexpr std::string_view kPolicyChanged = "changed";
inline constexpr std::string_view kPolicyUnchanged = "unchanged";

inline constexpr std::size_t kMaxPolicyJson = 1 << 20;
inline constexpr std::size_t kMaxPoliciesPerApply = 1000;

class PolicyStore {
 public:
  PolicyStore() = default;
  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;
  virtual ~PolicyStore() = default;

  /// Applies every put in one transaction, all or nothing. For each put, in order: a document
  /// whose stored JSON equals doc.json is left as it is (not written, not audited, revision
  /// kept): "unchanged", whatever expected_revision says, since nothing can be lost. Otherwise
  /// the stored revision must equal expected_revision (0: none stored), else Errc::conflict
  /// naming "Kind/name" and nothing of the batch is written; an absent document is inserted
  /// with revision 1 ("created"), a present one replaced with revision + 1 ("changed"); each
  /// such put appends its audit entry. Returns one outcome per put, in the puts' order.
  /// invalid_input for a bad document or the same (kind, name) twice.
  [[nodiscard]] virtual Result<std::vector<std::string>> apply_policies(
      std::span<const PolicyPut> puts, std::int64_t now) = 0;

  [[nodiscard]] virtual Result<std::optional<PolicyDoc>> policy(std::string_view kind,
                                                                std::string_view name) = 0;

  /// The documents of `kind` ("": all kinds), ordered by kind, then name.
  [[nodiscard]] virtual Result<std::vector<PolicyDoc>> policies(std::string_view kind) = 0;

  /// Deletes a document whose stored revision is `expected_revision`: not_found when there is
  /// none, conflict when its revision differs. Audited.
  [[nodiscard]] virtual Result<void> delete_policy(std::string_view kind, std::string_view name,
                                                   std::int64_t expected_revision,
                                                   const AuditEntry& audit) = 0;

  /// A number that moves whenever an apply or a delete changes a document, on any connection
  /// (a cache key for compiled policy). Unchanged applies leave it alone.
  [[nodiscard]] virtual Result<std::int64_t> policies_generation() = 0;
};

[[nodiscard]] bool is_policy_kind(std::string_view kind) noexcept;
/// kind, name, json and updated_by of one document (where: `at` + ".kind", ...).
[[nodiscard]] Result<void> validate_policy_doc(const PolicyDoc& doc, const std::string& at = "");
/// Every put (documents, audit entries, expected_revision >= 0), the batch's size, no
/// (kind, name) twice.
[[nodiscard]] Result<void> validate_policy_puts(std::span<const PolicyPut> puts);

}  // namespace pf::store
