// SPDX-License-Identifier: Apache-2.0
// The route table: every route the server answers, who may call it, what body it takes and
// its handler. Dispatch, role checks, the docs and the role-matrix test all read this table.
#include "service.hpp"

namespace pf::server {

const std::vector<Route>& routes() {
  using A = Access;
  static const std::vector<Route> kRoutes = {
      // Public: probes and metrics (no secrets), the CA for pinning, enrollment (the one-time
      // token is in the body).
      {{"GET", "/healthz", A::public_, "", "the process is alive"}, Body::none, healthz},
      {{"GET", "/readyz", A::public_, "", "the store answers and its schema is current"},
       Body::none, readyz},
      {{"GET", "/metrics", A::public_, "", "Prometheus metrics"}, Body::none, metrics},
      {{"GET", "/agent/v1/ca", A::public_, "", "the CA certificate to verify the server with"},
       Body::none, agent_ca},
      {{"POST", "/agent/v1/enroll", A::public_, "",
        "enrollment token + CSR → client certificate and host id"},
       Body::json_object, agent_enroll},
      // Agents: a client certificate of an enrolled, non-revoked host.
      {{"POST", "/agent/v1/checkin", A::agent, "", "facts + inventory hash → next check-in"},
       Body::json_object, agent_checkin},
      {{"PUT", "/agent/v1/inventory", A::agent, "", "the host's packages and updates"},
       Body::raw, agent_inventory},
      {{"POST", "/agent/v1/renew", A::agent, "", "CSR → a new client certificate (rotation)"},
       Body::json_object, agent_renew},
      {{"GET", "/agent/v1/wait", A::agent, "",
        "long-poll: the host's next run at once when one is queued, else 204 after ?timeout="},
       Body::none, agent_wait},
      {{"POST", "/agent/v1/runs/{id}/events", A::agent, "",
        "a run's step results and states, each stored once by its event id"},
       Body::json_object, agent_run_events},
      // Password login: the user name and password are in the body.
      {{"POST", "/api/v1/login", A::public_, "", "user + password → a session token (shown once)"},
       Body::json_object, login},
      // Operator API: an API token whose role allows the route's role.
      {{"GET", "/api/v1/whoami", A::api, "viewer", "the caller's user, role and token"},
       Body::none, whoami},
      {{"GET", "/api/v1/hosts", A::api, "viewer", "hosts, filtered and paged"}, Body::none,
       list_hosts},
      {{"GET", "/api/v1/hosts/{id}", A::api, "viewer", "one host with packages and updates"},
       Body::none, get_host},
      {{"GET", "/api/v1/hosts/{id}/findings", A::api, "viewer",
        "the host's packages matched against advisories, ranked by risk"},
       Body::none, host_findings},
      {{"GET", "/api/v1/findings", A::api, "viewer",
        "findings across the fleet, filtered, sorted by risk, paged"},
       Body::none, list_findings},
      {{"GET", "/api/v1/runs", A::api, "viewer", "runs, newest first, filtered and paged"},
       Body::none, list_runs},
      {{"GET", "/api/v1/runs/{id}", A::api, "viewer", "one run with its events"}, Body::none,
       get_run},
      {{"POST", "/api/v1/logout", A::api, "viewer", "end the calling token (a session)"},
       Body::none, logout},
      {{"GET", "/api/v1/advisories", A::api, "viewer",
        "advisories, filtered by ecosystem, severity and KEV, paged"},
       Body::none, list_advisories},
      {{"DELETE", "/api/v1/hosts/{id}", A::api, "operator", "revoke a host"}, Body::none,
       revoke_host},
      {{"PUT", "/api/v1/hosts/{id}/labels", A::api, "operator", "replace a host's labels"},
       Body::json_object, put_host_labels},
      {{"POST", "/api/v1/hosts/{id}/runs", A::api, "operator",
        "queue a job for the host: validated, signed, handed to its agent"},
       Body::json_object, create_run},
      {{"DELETE", "/api/v1/runs/{id}", A::api, "operator", "cancel a run that is not final"},
       Body::none, cancel_run},
      {{"POST", "/api/v1/enrollment-tokens", A::api, "operator",
        "a one-time enrollment token (shown once)"},
       Body::json_object, create_enrollment_token},
      {{"GET", "/api/v1/enrollment-tokens", A::api, "operator", "enrollment tokens (no secrets)"},
       Body::none, list_enrollment_tokens},
      {{"POST", "/api/v1/api-tokens", A::api, "admin", "an API token for a user (shown once)"},
       Body::json_object, create_api_token},
      {{"GET", "/api/v1/api-tokens", A::api, "admin", "API tokens (no secrets)"}, Body::none,
       list_api_tokens},
      {{"DELETE", "/api/v1/api-tokens/{token_id}", A::api, "admin", "revoke an API token"},
       Body::none, revoke_api_token},
      // Policy as code and chains (docs/policy.md, docs/chains.md).
      {{"POST", "/api/v1/policies", A::api, "operator",
        "apply policy documents (YAML files): validated together, stored all or none, audited"},
       Body::json_object, apply_policies},
      {{"GET", "/api/v1/policies", A::api, "viewer", "stored policy documents, by kind and name"},
       Body::none, list_policies},
      {{"GET", "/api/v1/policies/{kind}/{name}", A::api, "viewer", "one policy document"},
       Body::none, get_policy},
      {{"DELETE", "/api/v1/policies/{kind}/{name}", A::api, "operator",
        "delete a policy document no other document uses"},
       Body::none, delete_policy},
      {{"GET", "/api/v1/chains/{name}/plan", A::api, "viewer",
        "what a run of the chain would do now: stages, waves, windows, updates, exclusions"},
       Body::none, chain_plan},
      {{"POST", "/api/v1/chains/{name}/runs", A::api, "operator",
        "start a run of the chain (emergency runs skip soak, with a justification)"},
       Body::json_object, start_chain_run},
      {{"GET", "/api/v1/chain-runs", A::api, "viewer", "chain runs, newest first"}, Body::none,
       list_chain_runs},
      {{"GET", "/api/v1/chain-runs/{id}", A::api, "viewer",
        "one chain run: stages, hosts, gates, and its log after ?log_after="},
       Body::none, get_chain_run},
      {{"POST", "/api/v1/chain-runs/{id}/approve", A::api, "approver",
        "approve a stage that waits for approval"},
       Body::json_object, approve_chain_stage},
      {{"POST", "/api/v1/chain-runs/{id}/pause", A::api, "operator",
        "start no more hosts until resumed"},
       Body::json_object, pause_chain_run},
      {{"POST", "/api/v1/chain-runs/{id}/resume", A::api, "operator", "continue a paused run"},
       Body::json_object, resume_chain_run},
      {{"POST", "/api/v1/chain-runs/{id}/cancel", A::api, "operator",
        "cancel a run: hosts in work are canceled, nothing more starts"},
       Body::json_object, cancel_chain_run},
      {{"GET", "/api/v1/users", A::api, "admin", "users"}, Body::none, list_users},
      {{"POST", "/api/v1/users", A::api, "admin", "create a user"}, Body::json_object, create_user},
      {{"PUT", "/api/v1/users/{name}", A::api, "admin", "change role, disabled, password"},
       Body::json_object, update_user},
      {{"GET", "/api/v1/audit", A::api, "viewer", "the audit log, paged"}, Body::none,
       list_audit},
      {{"POST", "/api/v1/audit/verify", A::api, "admin", "recompute the audit hash chain"},
       Body::none, verify_audit},
  };
  return kRoutes;
}

std::vector<RouteInfo> route_table() {
  std::vector<RouteInfo> out;
  for (const auto& r : routes()) out.push_back(r.info);
  return out;
}

std::string_view access_name(const RouteInfo& route) noexcept {
  switch (route.access) {
    case Access::public_: return "public";
    case Access::agent: return "agent";
    case Access::api: return route.role;
  }
  return "public";
}

}  // namespace pf::server
