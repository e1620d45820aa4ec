// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

/// The audit log's records and its hash chain, shared by every store backend (pure: no I/O).
namespace pf::store {

/// One change made by a person (or by the server on a person's behalf), as the caller
/// describes it. The store records it verbatim and adds seq, prev_hash and hash.
struct AuditEntry {
  std::string actor;        ///< who: a user name, "token:<token_id>", "system"; not empty
  std::string action;       ///< what: "user.create", "host.revoke", ...; not empty
  std::string target;       ///< the object changed: a user name, host id, token id
  /// The caller's JSON rendering of the object before and after the change ("" when there is
  /// none, e.g. before a create). Never a secret: no password hash, no token. The store does
  /// not parse them; each is at most kMaxAuditJson bytes.
  std::string before_json;
  std::string after_json;
  std::int64_t at{0};       ///< Unix seconds, UTC
};

inline constexpr std::size_t kMaxAuditField = 1024;         ///< actor, action, target
inline constexpr std::size_t kMaxAuditJson = 1024 * 1024;   ///< before_json, after_json

/// An entry as stored: seq counts from 1 without gaps.
struct AuditRecord {
  std::int64_t seq{0};
  AuditEntry entry;
  std::string prev_hash;  ///< hash of entry seq-1; kAuditGenesisHash for seq 1
  std::string hash;       ///< audit_hash(prev_hash, seq, entry)
};

/// The newest entry: seq 0 and kAuditGenesisHash when the log is empty. Copying it somewhere
/// else from time to time (a log line, another system) is what makes a truncated or rewritten
/// tail detectable: the chain by itself cannot tell that its last entries were removed.
struct AuditHead {
  std::int64_t seq{0};
  std::string hash;
};

struct AuditVerification {
  bool ok{true};
  std::int64_t entries_checked{0};
  std::int64_t first_bad_seq{0};  ///< 0 when ok
  std::string problem;            ///< for a person; empty when ok
};

/// prev_hash of the first entry: 64 zeros.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain hash, as lower-case hex of SHA-256 over the canonical serialisation
///
///   field(prev_hash) field(seq) field(actor) field(action) field(target)
///   field(before_json) field(after_json) field(at)
///
/// where field(x) is the byte length of x as 8 bytes big-endian followed by the bytes of x,
/// prev_hash is its 64 hex characters, and seq and at are in decimal ASCII ("-" for a
/// negative number). Every field is length-prefixed, so no two different entries serialise
/// alike.
[[nodiscard]] std::string audit_hash(std::string_view prev_hash, std::int64_t seq,
                                     const AuditEntry& entry);

/// Checks an entry before it is appended: actor and action not empty, sizes within bounds.
[[nodiscard]] Result<void> validate_audit_entry(const AuditEntry& entry);

/// Walks a stored chain in ascending seq order and reports its first problem: a missing
/// entry (seq gap), an entry whose prev_hash is not its predecessor's hash, or an entry whose
/// stored hash does not match its content (changed after it was written). Every backend's
/// verify_audit feeds its rows through one of these, so all of them judge alike.
class AuditChainVerifier {
 public:
  /// Feeds the next record; returns false once a problem has been found (stop feeding).
  bool add(const AuditRecord& record);
  [[nodiscard]] const AuditVerification& result() const noexcept { return result_; }

 private:
  std::int64_t expected_seq_{1};
  std::string prev_hash_{kAuditGenesisHash};
  AuditVerification result_;
};

}  // namespace pf::store
