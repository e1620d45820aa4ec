// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/inventory.hpp"
#include "patchflow/store/audit.hpp"

/// The fleet's truth on the server: hosts and their inventories, enrollment tokens, users,
/// API tokens and the append-only, hash-chained audit log. One interface, one implementation
/// per database (SQLite now; PostgreSQL next), both held to tests/contract/fleet_store_test.cpp.
///
/// Conventions of every method:
/// - times are Unix seconds (UTC) in std::int64_t; RFC 3339 on the wire is the server's job;
/// - a change made by a person takes an AuditEntry and commits the change and that entry in
///   one transaction: no change without its entry, no entry without its change. A call that
///   fails writes neither;
/// - failures: Errc::invalid_input (a record or argument breaks the rules below),
///   Errc::not_found (the object named does not exist), Errc::conflict (a unique id, hash or
///   fingerprint is taken, or the object's state forbids the change), Errc::lock_held (the
///   database stayed busy), Errc::io (anything else from the database).
namespace pf::store {

using Labels = std::map<std::string, std::string>;

/// Label rules (the same for hosts, queries and enrollment tokens): at most kMaxLabels; a key
/// is 1..128 characters of [A-Za-z0-9._/-] starting with a letter or digit; a value is 0..256
/// printable ASCII characters (space included) other than ','.
inline constexpr std::size_t kMaxLabels = 64;
[[nodiscard]] Result<void> validate_labels(const Labels& labels);

/// "sha256:" followed by 64 lower-case hex digits: how enrollment and API token secrets are
/// kept (the secret itself is never stored).
[[nodiscard]] bool is_token_hash(std::string_view text) noexcept;

struct Host {
  std::string id;    ///< server-assigned ("h_" + 16 random hex); 1..64 of [A-Za-z0-9_-]
  std::string name;  ///< hostname; 1..253 characters
  Labels labels;
  std::string os_id;          ///< os-release ID ("debian", "almalinux")
  std::string os_version_id;  ///< os-release VERSION_ID ("12", "9.4")
  std::string ecosystem;      ///< "Debian:12", "AlmaLinux:9", ...
  std::string arch;
  std::string kernel_release;
  std::string boot_id;
  int criticality{0};
  std::string cert_fingerprint;  ///< of the agent's current client certificate; unique, not empty
  std::int64_t cert_not_after{0};
  std::int64_t enrolled_at{0};
  std::int64_t last_seen{0};
  bool reboot_required{false};
  std::vector<std::string> reboot_reasons;
  std::string inventory_hash;  ///< of the stored inventory; "" until put_inventory stores one
  std::optional<std::int64_t> revoked_at;
  // Kept by the FindingStore and RunStore sides (create_host ignores them):
  int max_severity{-1};            ///< highest severity of its open findings; -1: none
  std::int64_t open_findings{0};   ///< how many findings are open
  std::int64_t pending_runs{0};    ///< runs of the host that are not final
};

/// Text fields of a host, a check-in and an inventory row are at most kMaxFactField bytes and
/// hold no NUL; at most kMaxRebootReasons reasons.
inline constexpr std::size_t kMaxFactField = 1024;
inline constexpr std::size_t kMaxRebootReasons = 64;

/// The facts a check-in reports; each replaces the stored value.
struct CheckinFacts {
  std::int64_t at{0};  ///< becomes last_seen
  std::string boot_id;
  std::string kernel_release;
  bool reboot_required{false};
  std::vector<std::string> reboot_reasons;
  /// The OS as the agent sees it now (an in-place upgrade moves a host to a new ecosystem).
  std::string os_id;
  std::string os_version_id;
  std::string ecosystem;
};

/// One check-in of a batch (record_checkins).
struct Checkin {
  std::string host_id;
  CheckinFacts facts;
};

/// Which hosts list_hosts returns: all conditions must hold.
struct HostQuery {
  Labels labels;             ///< each key=value must be a label of the host
  std::string ecosystem;     ///< exact; empty: any
  std::string name_prefix;   ///< empty: any
  bool include_revoked{false};
  /// Only hosts with an open finding of at least this severity (advisories::Severity as int).
  std::optional<int> min_severity;
  int limit{100};            ///< 1..kMaxPageSize
  std::string cursor;        ///< "" for the first page, else a next_cursor returned before
};

inline constexpr int kMaxPageSize = 1000;

struct HostPage {
  std::vector<Host> hosts;  ///< ordered by id
  std::string next_cursor;  ///< "" when this is the last page
};

/// An update the host's package manager could install now.
struct AvailableUpdate {
  std::string name;
  std::string arch;
  std::string installed_version;
  std::string candidate_version;
  std::string origin;  ///< repository / archive it comes from
  bool security{false};
  std::vector<std::string> advisories;  ///< ids the package manager links (DSA-..., ALSA-...)
  std::string held_reason;              ///< why it will not be installed ("" when it would)
};

/// At most this many packages and this many updates per inventory.
inline constexpr std::size_t kMaxInventoryRows = 200000;

/// One inventory of a batch (put_inventories).
struct InventoryPut {
  std::string host_id;
  std::string hash;
  std::vector<inventory::Package> packages;
  std::vector<AvailableUpdate> updates;
};

/// What put_inventories did with one inventory of its batch.
enum class InventoryOutcome {
  stored,        ///< the rows and the hash were written (put_inventory's true)
  unchanged,     ///< the stored hash was this one already: nothing written (false)
  unknown_host,  ///< no such host (put_inventory's not_found)
  revoked,       ///< the host is revoked (put_inventory's conflict)
};

struct EnrollmentToken {
  std::string token_hash;  ///< is_token_hash(); the secret is never stored
  std::string token_id;    ///< short, not secret, unique; 1..64 of [A-Za-z0-9_-]
  Labels labels;           ///< given to the host that enrolls with it
  std::string created_by;  ///< not empty
  std::int64_t created_at{0};
  std::int64_t expires_at{0};  ///< > created_at
  std::optional<std::int64_t> used_at;
  std::optional<std::string> used_by_host;
};

/// The roles, from most to least powerful.
inline constexpr std::array<std::string_view, 4> kRoles = {"admin", "operator", "approver",
                                                           "viewer"};
[[nodiscard]] bool is_valid_role(std::string_view role) noexcept;

struct User {
  std::string name;           ///< 1..64 of [A-Za-z0-9._@-]
  std::string password_hash;  ///< PHC string ("$argon2id$..."); "" when password login is off
  std::string role;           ///< one of kRoles
  bool disabled{false};
  std::int64_t created_at{0};
};

struct ApiToken {
  std::string token_hash;  ///< is_token_hash(); unique
  std::string token_id;    ///< short, not secret, unique; 1..64 of [A-Za-z0-9_-]
  std::string user;        ///< an existing user
  /// One of kRoles. The server grants the lesser of this and the user's current role (the
  /// store does not couple them: a user's role may change after the token was made).
  std::string role;
  std::int64_t created_at{0};
  std::optional<std::int64_t> expires_at;
  std::optional<std::int64_t> revoked_at;
  std::optional<std::int64_t> last_used_at;
};

/// How often record_api_token_use writes: at most once per token in this many seconds.
inline constexpr std::int64_t kTokenUseResolution = 60;

class FleetStore {
 public:
  FleetStore() = default;
  FleetStore(const FleetStore&) = delete;
  FleetStore& operator=(const FleetStore&) = delete;
  virtual ~FleetStore() = default;

  // Hosts.

  /// Stores a new host (enrollment: not audited here; an agent, not a person, makes it).
  /// Its inventory_hash must be "" and revoked_at empty. conflict when the id or the
  /// certificate fingerprint is taken.
  [[nodiscard]] virtual Result<void> create_host(const Host& host) = 0;

  /// The host with this id, revoked or not; nullopt when there is none.
  [[nodiscard]] virtual Result<std::optional<Host>> host(std::string_view id) = 0;

  /// The host whose current certificate has this fingerprint (an indexed lookup: it runs on
  /// every mTLS call). Revoked hosts are returned too: the caller refuses them by revoked_at.
  [[nodiscard]] virtual Result<std::optional<Host>> host_by_fingerprint(
      std::string_view fingerprint) = 0;

  /// One page of the hosts matching `query`, ordered by id. Walking next_cursor until it is ""
  /// visits every matching host exactly once (hosts created meanwhile with a smaller id than
  /// the cursor are not seen). invalid_input for a bad limit, labels or cursor.
  [[nodiscard]] virtual Result<HostPage> list_hosts(const HostQuery& query) = 0;

  /// Records a check-in: last_seen and the facts, in one UPDATE (the hot path). not_found for
  /// an unknown host, conflict for a revoked one. Each call is one durable commit, so its rate
  /// is bounded by the disk's fsync rate; record_checkins groups many into one commit.
  [[nodiscard]] virtual Result<void> record_checkin(std::string_view host_id,
                                                    const CheckinFacts& facts) = 0;

  /// Many check-ins in one transaction (one commit, one fsync), for a server that groups the
  /// check-ins arriving together. Unknown or revoked hosts are skipped, not errors; returns
  /// how many hosts were updated. invalid_input (and nothing written) for bad facts.
  [[nodiscard]] virtual Result<std::size_t> record_checkins(std::span<const Checkin> batch) = 0;

  /// The agent's new certificate after a rotation. not_found for an unknown host, conflict for
  /// a revoked one or a fingerprint already used by any host.
  [[nodiscard]] virtual Result<void> set_certificate(std::string_view host_id,
                                                     std::string_view fingerprint,
                                                     std::int64_t not_after) = 0;

  /// Revokes the host at `at`: it no longer appears in default listings and its check-ins are
  /// refused. not_found for an unknown host, conflict when it is already revoked. Audited.
  [[nodiscard]] virtual Result<void> revoke_host(std::string_view host_id, std::int64_t at,
                                                 const AuditEntry& audit) = 0;

  /// Replaces all labels of the host. not_found for an unknown host. Audited.
  [[nodiscard]] virtual Result<void> set_labels(std::string_view host_id, const Labels& labels,
                                                const AuditEntry& audit) = 0;

  // Inventories: a content hash plus rows, so an unchanged inventory costs one comparison.

  /// When the stored inventory hash of the host equals `hash`, writes nothing and returns
  /// false. Otherwise replaces the host's packages and updates by the given rows (kept in the
  /// given order) and stores `hash`, atomically, and returns true. Only the difference is
  /// written: rows are kept by position, and a position whose row is unchanged is not touched
  /// (a version change rewrites one row; a row inserted or removed in the middle rewrites the
  /// positions after it). `hash` must not be empty;
  /// the rows are checked (validate_inventory) only when they are to be written.
  /// not_found for an unknown host, conflict for a revoked one.
  [[nodiscard]] virtual Result<bool> put_inventory(
      std::string_view host_id, std::string_view hash,
      std::span<const inventory::Package> packages,
      std::span<const AvailableUpdate> updates) = 0;

  /// Many inventories in one transaction (one commit, one fsync), for a server that groups
  /// the inventories arriving together. Each is stored as put_inventory would store it, in
  /// batch order (of two for one host, the later one wins). An unknown or revoked host is an
  /// outcome, not an error, so one such host never fails the others; returns one outcome per
  /// item, in batch order. invalid_input (and nothing written) when any item breaks
  /// validate_inventory; an Error (and nothing written) when the transaction fails.
  [[nodiscard]] virtual Result<std::vector<InventoryOutcome>> put_inventories(
      std::span<const InventoryPut> batch) = 0;

  /// The stored rows, in the order they were put; empty for a host without an inventory.
  /// not_found for an unknown host.
  [[nodiscard]] virtual Result<std::vector<inventory::Package>> packages(
      std::string_view host_id) = 0;
  [[nodiscard]] virtual Result<std::vector<AvailableUpdate>> updates(
      std::string_view host_id) = 0;

  // Enrollment tokens.

  /// Stores a new token (unused: used_at and used_by_host empty). conflict when its hash or
  /// token_id is taken. Audited.
  [[nodiscard]] virtual Result<void> create_enrollment_token(const EnrollmentToken& token,
                                                             const AuditEntry& audit) = 0;

  /// Marks the token used by `host_id` at `now` and returns it, exactly once even when called
  /// concurrently from several servers: not_found when no token has this hash, conflict when
  /// it was used already, invalid_input with message "expired" when now >= expires_at.
  [[nodiscard]] virtual Result<EnrollmentToken> consume_enrollment_token(
      std::string_view token_hash, std::int64_t now, std::string_view host_id) = 0;

  /// Every token, used and expired ones too, ordered by created_at then token_id.
  [[nodiscard]] virtual Result<std::vector<EnrollmentToken>> list_enrollment_tokens() = 0;

  // Users.

  /// conflict when the name is taken. Audited.
  [[nodiscard]] virtual Result<void> create_user(const User& user, const AuditEntry& audit) = 0;
  [[nodiscard]] virtual Result<std::optional<User>> user(std::string_view name) = 0;
  /// Ordered by name.
  [[nodiscard]] virtual Result<std::vector<User>> list_users() = 0;
  /// Each: not_found for an unknown user, invalid_input for a bad value. Audited.
  [[nodiscard]] virtual Result<void> set_password_hash(std::string_view name,
                                                       std::string_view phc,
                                                       const AuditEntry& audit) = 0;
  [[nodiscard]] virtual Result<void> set_role(std::string_view name, std::string_view role,
                                              const AuditEntry& audit) = 0;
  [[nodiscard]] virtual Result<void> set_disabled(std::string_view name, bool disabled,
                                                  const AuditEntry& audit) = 0;

  // API tokens.

  /// revoked_at and last_used_at must be empty. not_found when the user does not exist,
  /// conflict when the hash or token_id is taken. Audited.
  [[nodiscard]] virtual Result<void> create_api_token(const ApiToken& token,
                                                      const AuditEntry& audit) = 0;

  /// The token with this hash (an indexed lookup: it runs on every API call), revoked and
  /// expired ones too: the caller checks revoked_at and expires_at.
  [[nodiscard]] virtual Result<std::optional<ApiToken>> api_token(
      std::string_view token_hash) = 0;

  /// not_found for an unknown token_id, conflict when it is revoked already. Audited.
  [[nodiscard]] virtual Result<void> revoke_api_token(std::string_view token_id,
                                                      std::int64_t at,
                                                      const AuditEntry& audit) = 0;

  /// Notes that the token was used at `at`; writes only when the stored last_used_at is
  /// absent or older than at - kTokenUseResolution, so calling it on every request is cheap.
  /// An unknown token_id is not an error.
  [[nodiscard]] virtual Result<void> record_api_token_use(std::string_view token_id,
                                                          std::int64_t at) = 0;

  /// The tokens of `user` (all tokens when nullopt), ordered by created_at then token_id.
  [[nodiscard]] virtual Result<std::vector<ApiToken>> list_api_tokens(
      std::optional<std::string_view> user) = 0;

  // Audit log.

  /// Appends one entry for a change made elsewhere (outside this store's methods), and
  /// returns the new head. Appends from several store objects or servers on one database
  /// form one chain.
  [[nodiscard]] virtual Result<AuditHead> append_audit(const AuditEntry& entry) = 0;

  /// Up to `limit` (1..kMaxPageSize) entries with seq >= from_seq, ascending.
  [[nodiscard]] virtual Result<std::vector<AuditRecord>> audit_entries(std::int64_t from_seq,
                                                                       int limit) = 0;

  [[nodiscard]] virtual Result<AuditHead> audit_head() = 0;

  /// Recomputes the whole chain (see AuditChainVerifier). ok is false, with the first bad seq
  /// and the problem, when an entry was changed or removed; a removed tail is not detectable
  /// this way: compare audit_head() with a copy kept elsewhere. An Error only when the
  /// database could not be read.
  [[nodiscard]] virtual Result<AuditVerification> verify_audit() = 0;

  /// Runs `work` in one transaction: everything it changes through this store is committed
  /// together when it succeeds and rolled back when it fails (e.g. consume an enrollment
  /// token and create the host). The calls inside nest in it.
  [[nodiscard]] virtual Result<void> atomically(const std::function<Result<void>()>& work) = 0;
};

// Checks every backend applies before writing (pure; shared so that all backends agree).
/// A host for create_host: the rules above, inventory_hash "" and revoked_at empty.
[[nodiscard]] Result<void> validate_host(const Host& host);
[[nodiscard]] Result<void> validate_checkin(const CheckinFacts& facts);
/// A certificate fingerprint for set_certificate: 1..kMaxFactField bytes without NUL.
[[nodiscard]] Result<void> validate_cert_fingerprint(std::string_view fingerprint);
[[nodiscard]] Result<void> validate_inventory(std::string_view hash,
                                              std::span<const inventory::Package> packages,
                                              std::span<const AvailableUpdate> updates);
[[nodiscard]] Result<void> validate_enrollment_token(const EnrollmentToken& token);
[[nodiscard]] Result<void> validate_user_name(std::string_view name);
[[nodiscard]] Result<void> validate_password_hash(std::string_view phc);
[[nodiscard]] Result<void> validate_user(const User& user);
[[nodiscard]] Result<void> validate_api_token(const ApiToken& token);
[[nodiscard]] Result<void> validate_host_query(const HostQuery& query);

}  // namespace pf::store
