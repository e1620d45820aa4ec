// SPDX-License-Identifier: Apache-2.0
// What the route handlers share: the server's state (Service), one request as the handlers
// see it (Call), their answer (Reply) or error (ApiError). Private to libs/server; the only
// header that brings nlohmann/json to the handlers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "chain_loop.hpp"
#include "checkin_writer.hpp"
#include "findings_updater.hpp"
#include "inventory_writer.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "patchflow/auth/role.hpp"
#include "patchflow/pki/certs.hpp"
#include "patchflow/server/config.hpp"
#include "patchflow/server/routes.hpp"
#include "patchflow/core/ranked.hpp"
#include "patchflow/store/fleet_store.hpp"
#include "store_pool.hpp"
#include "work_signal.hpp"

namespace pf::server {

using json = nlohmann::json;

/// The server's state, shared by all requests.
struct Service {
  // Log and metrics first: destroyed last, after everything that may still report.
  std::unique_ptr<Log> log;
  Metrics metrics;
  Config config;
  std::unique_ptr<StorePool> pool;
  std::unique_ptr<CheckinWriter> writer;
  std::unique_ptr<InventoryWriter> inventory_writer;  ///< group-commits agent inventories
  pki::CertAndKey ca;             ///< signs the agents' client certificates
  std::string client_ca_pem;      ///< what agents and clients trust for the server certificate
  std::string ca_fingerprint;     ///< of client_ca_pem
  std::string signing_key_pem;    ///< Ed25519, signs work items
  std::string signing_public_pem;
  WorkSignal work;                ///< wakes long-polls when a run is queued
  std::unique_ptr<FindingsUpdater> findings;  ///< keeps the findings table current
  std::unique_ptr<ChainLoop> chains;          ///< runs the chains while this server leads
};

/// Who called an API route.
struct Principal {
  std::string user;
  auth::Role role{auth::Role::viewer};  ///< the lesser of the token's and the user's role
  std::string token_id;
};

/// One request as handlers see it.
struct Call {
  std::string method;
  std::string path;
  std::string request_id;
  std::map<std::string, std::string> params;  ///< path parameters ({id} → value)
  std::vector<std::pair<std::string, std::string>> query;
  json body;  ///< the parsed body for routes that take one
  std::string_view raw;  ///< the body as sent, for Body::raw routes (valid during the call)
  std::optional<Principal> principal;
  std::optional<store::Host> host;  ///< the calling agent's host
  std::int64_t now{0};

  [[nodiscard]] std::optional<std::string> query_value(std::string_view key) const;
  [[nodiscard]] std::vector<std::string> query_values(std::string_view key) const;
  [[nodiscard]] const std::string& param(const std::string& key) const { return params.at(key); }
};

struct Reply {
  int status{200};
  std::string body;
  std::string content_type{"application/json"};
};

/// {"error":{"code","message","field"}} with its HTTP status.
struct ApiError {
  int status{500};
  std::string code;
  std::string message;
  std::string field;
};

template <class T>
using Expect = tl::expected<T, ApiError>;
using Outcome = Expect<Reply>;
using Handler = Outcome (*)(Service&, Call&);

/// Body a route takes. json_object: parsed into Call::body. raw: a JSON object that the
/// handler reads itself (streaming) from Call::raw; the size limit, the non-empty check and
/// the depth bound apply as for json_object, the body is not parsed up front.
enum class Body { none, json_object, raw };

struct Route {
  RouteInfo info;
  Body body{Body::none};
  Handler handler{nullptr};
};

/// The one route table (routes.cpp).
[[nodiscard]] const std::vector<Route>& routes();

// Errors.
[[nodiscard]] tl::unexpected<ApiError> fail(int status, std::string code, std::string message,
                                            std::string field = {});
[[nodiscard]] tl::unexpected<ApiError> invalid(std::string message, std::string field);
/// The one table from Errc to HTTP status and error code. Store failures (io, backend) are
/// counted and logged with the request id; their details are not sent.
[[nodiscard]] tl::unexpected<ApiError> from_error(Service& svc, const Call& call,
                                                  const Error& error);
[[nodiscard]] std::string error_body(const ApiError& e);
/// "invalid_request" etc. for a status without a more specific code.
[[nodiscard]] std::string_view default_code(int status) noexcept;

// Replies.
[[nodiscard]] Reply json_reply(const json& doc, int status = 200);

// Reading JSON bodies: each names the field ("facts.os.id") in its error.
/// Refuses keys not in `allowed` (operator API bodies are strict: a typo is an error).
[[nodiscard]] Expect<void> only_keys(const json& obj, std::string_view path,
                                     std::initializer_list<std::string_view> allowed);
[[nodiscard]] Expect<const json*> object_field(const json& obj, std::string_view key,
                                               std::string_view path, bool required);
[[nodiscard]] Expect<std::optional<std::string>> string_field(const json& obj, std::string_view key,
                                                              std::string_view path, bool required,
                                                              std::size_t max_bytes = 1024);
[[nodiscard]] Expect<std::optional<bool>> bool_field(const json& obj, std::string_view key,
                                                     std::string_view path);
[[nodiscard]] Expect<std::vector<std::string>> string_list_field(const json& obj,
                                                                 std::string_view key,
                                                                 std::string_view path,
                                                                 std::size_t max_items,
                                                                 std::size_t max_bytes = 1024);
/// A labels object {"k":"v"} checked with auth::check_label.
[[nodiscard]] Expect<store::Labels> labels_field(const json& obj, std::string_view key,
                                                 std::string_view path);
[[nodiscard]] std::string join_path(std::string_view path, std::string_view key);

// Documents.
[[nodiscard]] json time_or_null(const std::optional<std::int64_t>& t);
[[nodiscard]] json host_summary(const store::Host& h);
[[nodiscard]] json host_detail(const store::Host& h,
                               const std::vector<inventory::Package>& packages,
                               const std::vector<store::AvailableUpdate>& updates);
[[nodiscard]] json user_doc(const store::User& u);
/// A ranked finding as the API shows it (also what the findings table keeps as its detail).
[[nodiscard]] json finding_doc(const ranked::Finding& f);
[[nodiscard]] json api_token_doc(const store::ApiToken& t, std::int64_t now);
[[nodiscard]] json enrollment_token_doc(const store::EnrollmentToken& t, std::int64_t now);

/// Random lower-case hex of `bytes` random bytes (OpenSSL RAND_bytes).
[[nodiscard]] Result<std::string> random_hex(std::size_t bytes);

// Handlers (one per route; handlers_*.cpp).
Outcome healthz(Service&, Call&);
Outcome readyz(Service&, Call&);
Outcome metrics(Service&, Call&);
Outcome agent_ca(Service&, Call&);
Outcome agent_enroll(Service&, Call&);
Outcome agent_checkin(Service&, Call&);
Outcome agent_inventory(Service&, Call&);
Outcome agent_renew(Service&, Call&);
Outcome whoami(Service&, Call&);
Outcome list_hosts(Service&, Call&);
Outcome host_findings(Service&, Call&);
Outcome list_advisories(Service&, Call&);
Outcome get_host(Service&, Call&);
Outcome revoke_host(Service&, Call&);
Outcome put_host_labels(Service&, Call&);
Outcome create_enrollment_token(Service&, Call&);
Outcome list_enrollment_tokens(Service&, Call&);
Outcome create_api_token(Service&, Call&);
Outcome list_api_tokens(Service&, Call&);
Outcome revoke_api_token(Service&, Call&);
Outcome list_users(Service&, Call&);
Outcome create_user(Service&, Call&);
Outcome update_user(Service&, Call&);
Outcome list_audit(Service&, Call&);
Outcome verify_audit(Service&, Call&);
Outcome list_findings(Service&, Call&);
Outcome create_run(Service&, Call&);
Outcome list_runs(Service&, Call&);
Outcome get_run(Service&, Call&);
Outcome cancel_run(Service&, Call&);
Outcome agent_wait(Service&, Call&);
Outcome agent_run_events(Service&, Call&);
Outcome login(Service&, Call&);
Outcome logout(Service&, Call&);
Outcome apply_policies(Service&, Call&);
Outcome list_policies(Service&, Call&);
Outcome get_policy(Service&, Call&);
Outcome delete_policy(Service&, Call&);
Outcome chain_plan(Service&, Call&);
Outcome start_chain_run(Service&, Call&);
Outcome list_chain_runs(Service&, Call&);
Outcome get_chain_run(Service&, Call&);
Outcome approve_chain_stage(Service&, Call&);
Outcome pause_chain_run(Service&, Call&);
Outcome resume_chain_run(Service&, Call&);
Outcome cancel_chain_run(Service&, Call&);

/// The work a check-in answer carries: the host's next run (none when nothing is pending).
[[nodiscard]] json pending_work(Service& svc, const Call& call);

}  // namespace pf::server
