// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <memory>

#include "patchflow/store/advisory_store.hpp"
#include "patchflow/store/chain_store.hpp"
#include "patchflow/store/finding_store.hpp"
#include "patchflow/store/fleet_store.hpp"
#include "patchflow/store/policy_store.hpp"
#include "patchflow/store/run_store.hpp"

namespace pf::store {

/// The embedded store: one SQLite file in WAL mode with synchronous=FULL, foreign keys on,
/// its schema brought up to date by numbered migrations when it is opened. One object is
/// one connection, used by one thread at a time; several objects (threads, processes) may
/// share one file: writes are serialised by SQLite's write lock (waiting up to 5 s for it).
class SqliteStore final : public AdvisoryStore,
                          public FleetStore,
                          public FindingStore,
                          public RunStore,
                          public PolicyStore,
                          public ChainStore {
 public:
  /// Opens (creating when absent) the database at `path` and applies pending migrations, each
  /// in its own transaction. ":memory:" opens a private in-memory database.
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path);

  /// The highest migration applied, and the highest this build knows.
  [[nodiscard]] Result<int> schema_version();
  [[nodiscard]] static int latest_schema_version() noexcept;

  /// The orchestrator's leadership for the database file at `path`: an exclusive flock(2) on
  /// "<path>.leader" (created when absent), held from the first successful try_lead until the
  /// object is destroyed or the process ends, so one server (or one object) per file leads.
  /// For ":memory:" (a private database) try_lead is always true.
  [[nodiscard]] static Result<std::unique_ptr<Leadership>> open_leadership(
      const std::filesystem::path& path);

  ~SqliteStore() override;

  // AdvisoryStore
  Result<void> put_advisories(std::span<const advisories::Advisory> batch) override;
  Result<void> put_cves(std::span<const advisories::CveInfo> batch, unsigned fields) override;
  Result<std::vector<advisories::Advisory>> advisories(std::string_view ecosystem) override;
  Result<std::vector<advisories::CveInfo>> cves(std::span<const std::string> ids) override;
  Result<void> put_cursor(const FeedCursor& cursor) override;
  Result<std::optional<FeedCursor>> cursor(std::string_view source) override;
  Result<StoreCounts> counts() override;
  /// Both interfaces' atomically(): one transaction for advisory and fleet changes alike.
  Result<void> atomically(const std::function<Result<void>()>& work) override;

  // FleetStore
  Result<void> create_host(const Host& host) override;
  Result<std::optional<Host>> host(std::string_view id) override;
  Result<std::optional<Host>> host_by_fingerprint(std::string_view fingerprint) override;
  Result<HostPage> list_hosts(const HostQuery& query) override;
  Result<void> record_checkin(std::string_view host_id, const CheckinFacts& facts) override;
  Result<std::size_t> record_checkins(std::span<const Checkin> batch) override;
  Result<void> set_certificate(std::string_view host_id, std::string_view fingerprint,
                               std::int64_t not_after) override;
  Result<void> revoke_host(std::string_view host_id, std::int64_t at,
                           const AuditEntry& audit) override;
  Result<void> set_labels(std::string_view host_id, const Labels& labels,
                          const AuditEntry& audit) override;
  Result<bool> put_inventory(std::string_view host_id, std::string_view hash,
                             std::span<const inventory::Package> packages,
                             std::span<const AvailableUpdate> updates) override;
  Result<std::vector<InventoryOutcome>> put_inventories(
      std::span<const InventoryPut> batch) override;
  Result<std::vector<inventory::Package>> packages(std::string_view host_id) override;
  Result<std::vector<AvailableUpdate>> updates(std::string_view host_id) override;
  Result<void> create_enrollment_token(const EnrollmentToken& token,
                                       const AuditEntry& audit) override;
  Result<EnrollmentToken> consume_enrollment_token(std::string_view token_hash, std::int64_t now,
                                                   std::string_view host_id) override;
  Result<std::vector<EnrollmentToken>> list_enrollment_tokens() override;
  Result<void> create_user(const User& user, const AuditEntry& audit) override;
  Result<std::optional<User>> user(std::string_view name) override;
  Result<std::vector<User>> list_users() override;
  Result<void> set_password_hash(std::string_view name, std::string_view phc,
                                 const AuditEntry& audit) override;
  Result<void> set_role(std::string_view name, std::string_view role,
                        const AuditEntry& audit) override;
  Result<void> set_disabled(std::string_view name, bool disabled,
                            const AuditEntry& audit) override;
  Result<void> create_api_token(const ApiToken& token, const AuditEntry& audit) override;
  Result<std::optional<ApiToken>> api_token(std::string_view token_hash) override;
  Result<void> revoke_api_token(std::string_view token_id, std::int64_t at,
                                const AuditEntry& audit) override;
  Result<void> record_api_token_use(std::string_view token_id, std::int64_t at) override;
  Result<std::vector<ApiToken>> list_api_tokens(std::optional<std::string_view> user) override;
  Result<AuditHead> append_audit(const AuditEntry& entry) override;
  Result<std::vector<AuditRecord>> audit_entries(std::int64_t from_seq, int limit) override;
  Result<AuditHead> audit_head() override;
  Result<AuditVerification> verify_audit() override;

  // FindingStore (sqlite_work.cpp)
  Result<FindingsDelta> put_findings(std::string_view host_id, std::string_view state,
                                     std::span<const FindingRow> rows, std::int64_t now) override;
  Result<std::vector<std::string>> hosts_with_stale_findings(std::string_view generation,
                                                             std::string_view after_id,
                                                             int limit) override;
  Result<FindingPage> list_findings(const FindingQuery& query) override;
  Result<std::int64_t> advisories_generation() override;

  // RunStore (sqlite_work.cpp)
  Result<void> create_run(const Run& run, const AuditEntry& audit) override;
  Result<std::optional<Run>> run(std::string_view id) override;
  Result<std::optional<Run>> next_run(std::string_view host_id, std::int64_t now) override;
  Result<std::size_t> record_run_events(std::string_view host_id, std::string_view run_id,
                                        std::span<const RunEvent> events) override;
  Result<std::vector<RunEvent>> run_events(std::string_view run_id) override;
  Result<RunPage> list_runs(const RunQuery& query) override;
  Result<void> cancel_run(std::string_view id, std::int64_t at, const AuditEntry& audit) override;
  Result<std::int64_t> pending_runs(std::string_view host_id) override;

  // PolicyStore (sqlite_chain.cpp)
  Result<std::vector<std::string>> apply_policies(std::span<const PolicyPut> puts,
                                                  std::int64_t now) override;
  Result<std::optional<PolicyDoc>> policy(std::string_view kind, std::string_view name) override;
  Result<std::vector<PolicyDoc>> policies(std::string_view kind) override;
  Result<void> delete_policy(std::string_view kind, std::string_view name,
                             std::int64_t expected_revision, const AuditEntry& audit) override;
  Result<std::int64_t> policies_generation() override;

  // ChainStore (sqlite_chain.cpp)
  Result<void> create_chain_run(const ChainRun& run, const AuditEntry& audit) override;
  Result<std::optional<ChainRun>> chain_run(std::string_view id) override;
  Result<std::vector<ChainRun>> chain_runs(bool active_only, int limit) override;
  Result<std::int64_t> commit_decision(std::string_view run_id, std::int64_t expected_revision,
                                       std::string_view state, std::string_view status,
                                       bool active, std::span<const std::string> commands,
                                       std::span<const std::int64_t> consumed_events,
                                       std::int64_t now) override;
  Result<std::vector<ChainCommand>> pending_commands(std::string_view run_id) override;
  Result<void> mark_command_done(std::int64_t seq, std::int64_t now) override;
  Result<std::int64_t> add_chain_event(const ChainEvent& event, const AuditEntry& audit) override;
  Result<std::vector<ChainEvent>> pending_chain_events(std::string_view run_id) override;
  Result<void> append_chain_log(std::string_view run_id, std::int64_t at,
                                std::string_view line) override;
  Result<std::vector<ChainLogLine>> chain_log(std::string_view run_id, std::int64_t after_seq,
                                              int limit) override;

  struct Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pf::store
