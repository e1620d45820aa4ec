// SPDX-License-Identifier: Apache-2.0
// The role matrix: every route of the route table, called with no token and with a token of
// each role, against the running server. 401 without credentials, 403 when the role does not
// allow, neither when it does. Checked against the table's own declarations AND against the
// literal table below, so that a route declared with the wrong role is caught.
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "patchflow/auth/role.hpp"
#include "patchflow/server/routes.hpp"
#include "server_harness.hpp"

namespace {

using namespace pf::testing::server;
using pf::server::Access;

// method, pattern, who may call it: what the API promises (docs/api.md).
const std::set<std::tuple<std::string, std::string, std::string>> kExpected = {
    {"GET", "/healthz", "public"},
    {"GET", "/readyz", "public"},
    {"GET", "/metrics", "public"},
    {"GET", "/agent/v1/ca", "public"},
    {"POST", "/agent/v1/enroll", "public"},
    {"POST", "/agent/v1/checkin", "agent"},
    {"PUT", "/agent/v1/inventory", "agent"},
    {"POST", "/agent/v1/renew", "agent"},
    {"GET", "/agent/v1/wait", "agent"},
    {"POST", "/agent/v1/runs/{id}/events", "agent"},
    {"POST", "/api/v1/login", "public"},
    {"GET", "/api/v1/findings", "viewer"},
    {"GET", "/api/v1/runs", "viewer"},
    {"GET", "/api/v1/runs/{id}", "viewer"},
    {"POST", "/api/v1/logout", "viewer"},
    {"POST", "/api/v1/hosts/{id}/runs", "operator"},
    {"DELETE", "/api/v1/runs/{id}", "operator"},
    {"GET", "/api/v1/whoami", "viewer"},
    {"GET", "/api/v1/hosts", "viewer"},
    {"GET", "/api/v1/hosts/{id}", "viewer"},
    {"GET", "/api/v1/hosts/{id}/findings", "viewer"},
    {"GET", "/api/v1/advisories", "viewer"},
    {"DELETE", "/api/v1/hosts/{id}", "operator"},
    {"PUT", "/api/v1/hosts/{id}/labels", "operator"},
    {"POST", "/api/v1/enrollment-tokens", "operator"},
    {"GET", "/api/v1/enrollment-tokens", "operator"},
    {"POST", "/api/v1/api-tokens", "admin"},
    {"GET", "/api/v1/api-tokens", "admin"},
    {"DELETE", "/api/v1/api-tokens/{token_id}", "admin"},
    {"GET", "/api/v1/users", "admin"},
    {"POST", "/api/v1/users", "admin"},
    {"PUT", "/api/v1/users/{name}", "admin"},
    {"GET", "/api/v1/audit", "viewer"},
    {"POST", "/api/v1/audit/verify", "admin"},
    {"POST", "/api/v1/policies", "operator"},
    {"GET", "/api/v1/policies", "viewer"},
    {"GET", "/api/v1/policies/{kind}/{name}", "viewer"},
    {"DELETE", "/api/v1/policies/{kind}/{name}", "operator"},
    {"GET", "/api/v1/chains/{name}/plan", "viewer"},
    {"POST", "/api/v1/chains/{name}/runs", "operator"},
    {"GET", "/api/v1/chain-runs", "viewer"},
    {"GET", "/api/v1/chain-runs/{id}", "viewer"},
    {"POST", "/api/v1/chain-runs/{id}/approve", "approver"},
    {"POST", "/api/v1/chain-runs/{id}/pause", "operator"},
    {"POST", "/api/v1/chain-runs/{id}/resume", "operator"},
    {"POST", "/api/v1/chain-runs/{id}/cancel", "operator"},
};

// What each role may do, written out (not derived from pf::auth::allows).
const std::map<std::string, std::set<std::string>> kRoleAllows = {
    {"admin", {"viewer", "approver", "operator", "admin"}},
    {"operator", {"viewer", "operator"}},
    {"approver", {"viewer", "approver"}},
    {"viewer", {"viewer"}},
};

std::string fill(std::string pattern) {
  // Path parameters that name nothing: an allowed call gets 404, never 401/403.
  for (const auto& [param, value] : {std::pair{"{id}", "h_0000000000000000"},
                                     std::pair{"{token_id}", "pfa_AAAAAAAA"},
                                     std::pair{"{kind}", "chain"},
                                     std::pair{"{name}", "nobody"}}) {
    const auto at = pattern.find(param);
    if (at != std::string::npos) pattern.replace(at, std::string(param).size(), value);
  }
  return pattern;
}

TEST(ServerRoleMatrix, TheTableIsTheDocumentedOne) {
  std::set<std::tuple<std::string, std::string, std::string>> declared;
  for (const auto& r : pf::server::route_table()) {
    declared.emplace(std::string(r.method), std::string(r.pattern),
                     std::string(pf::server::access_name(r)));
    if (r.access == Access::api) {
      EXPECT_TRUE(pf::auth::parse_role(r.role).has_value()) << r.pattern;
      EXPECT_TRUE(std::string(r.pattern).starts_with("/api/v1/")) << r.pattern;
    } else if (r.access == Access::agent) {
      EXPECT_TRUE(std::string(r.pattern).starts_with("/agent/v1/")) << r.pattern;
    }
    EXPECT_FALSE(r.summary.empty()) << r.pattern;
  }
  EXPECT_EQ(declared, kExpected);
}

TEST(ServerRoleMatrix, DocsListEveryRouteAsDeclared) {
  std::ifstream in(std::string(PF_SOURCE_DIR) + "/docs/api.md");
  ASSERT_TRUE(in) << "docs/api.md";
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& r : pf::server::route_table()) {
    const std::string row = "| " + std::string(r.method) + " | `" + std::string(r.pattern) +
                            "` | " + std::string(pf::server::access_name(r)) + " |";
    EXPECT_NE(text.str().find(row), std::string::npos) << "docs/api.md lacks: " << row;
  }
}

TEST(ServerRoleMatrix, EveryRouteWithEveryRole) {
  TempDir tmp;
  Harness h(tmp.path());
  // A user and a token of each role (the admin's exists).
  std::map<std::string, std::string> tokens = {{"admin", h.admin_token()}};
  for (const std::string role : {"operator", "approver", "viewer"}) {
    ASSERT_EQ(h.api("POST", "/api/v1/users", {{"name", "u-" + role}, {"role", role}}).status, 201);
    auto t = h.api("POST", "/api/v1/api-tokens", {{"user", "u-" + role}});
    ASSERT_EQ(t.status, 201) << t.body;
    tokens[role] = t.doc["token"];
  }

  int calls = 0;
  for (const auto& r : pf::server::route_table()) {
    const std::string method(r.method);
    const std::string path = fill(std::string(r.pattern));
    const std::string declared(pf::server::access_name(r));
    const auto expected = kExpected.find({method, std::string(r.pattern), declared});
    ASSERT_NE(expected, kExpected.end()) << method << " " << r.pattern << " declared " << declared;
    const std::string body = method == "GET" || method == "DELETE" ? "" : "{}";
    // No credentials at all.
    {
      auto cli = h.client();
      const Answer a = send(*cli, method, path, body);
      ++calls;
      ASSERT_TRUE(a.responded) << method << " " << path;
      if (declared == "public") {
        EXPECT_NE(a.status, 401) << method << " " << path;
        EXPECT_NE(a.status, 403) << method << " " << path;
      } else {
        EXPECT_EQ(a.status, 401) << method << " " << path << ": " << a.body;
        EXPECT_EQ(a.doc["error"]["code"], "unauthenticated") << method << " " << path;
      }
    }
    for (const auto& [role, role_token] : tokens) {
      // Logout ends the token that calls it: it gets a token of its own, of the same role.
      std::string token = role_token;
      if (r.pattern == std::string_view("/api/v1/logout")) {
        auto t = h.api("POST", "/api/v1/api-tokens",
                       {{"user", role == "admin" ? std::string("admin") : "u-" + role}});
        ASSERT_EQ(t.status, 201) << t.body;
        token = t.doc["token"];
      }
      auto cli = h.client();
      const Answer a = send(*cli, method, path, body, token);
      ++calls;
      ASSERT_TRUE(a.responded) << method << " " << path;
      const std::string what = method + " " + path + " as " + role + ": " + a.body;
      if (declared == "public") {
        EXPECT_NE(a.status, 401) << what;
        EXPECT_NE(a.status, 403) << what;
      } else if (declared == "agent") {
        // API tokens never stand in for a host's client certificate.
        EXPECT_EQ(a.status, 401) << what;
      } else {
        const bool may = kRoleAllows.at(role).contains(declared);
        auto have = pf::auth::parse_role(role).value();
        auto need = pf::auth::parse_role(declared).value();
        EXPECT_EQ(may, pf::auth::allows(have, need)) << "the written matrix and auth agree";
        if (may) {
          EXPECT_NE(a.status, 401) << what;
          EXPECT_NE(a.status, 403) << what;
          EXPECT_LT(a.status, 500) << what;
        } else {
          EXPECT_EQ(a.status, 403) << what;
          EXPECT_EQ(a.doc["error"]["code"], "forbidden") << what;
        }
      }
    }
  }
  EXPECT_EQ(calls, static_cast<int>(pf::server::route_table().size()) * 5);
  // A token that is not one, and one that was revoked, are 401 everywhere a token is needed.
  // (u-viewer's token that is not revoked: the one in `tokens`; the logout walk made and ended
  // a second, maybe in the same second, so the listing's order does not tell them apart.)
  nlohmann::json revoke_id;
  const auto listed = h.api("GET", "/api/v1/api-tokens?user=u-viewer");
  for (const auto& t : listed.doc["api_tokens"]) {
    if (t["revoked_at"].is_null()) revoke_id = t["token_id"];
  }
  ASSERT_TRUE(revoke_id.is_string()) << "u-viewer has no live token";
  ASSERT_EQ(h.api("DELETE", "/api/v1/api-tokens/" + revoke_id.get<std::string>()).status, 200);
  for (const auto& r : pf::server::route_table()) {
    if (r.access != Access::api) continue;
    const std::string path = fill(std::string(r.pattern));
    auto cli = h.client();
    EXPECT_EQ(send(*cli, std::string(r.method), path, "{}", tokens["viewer"]).status, 401) << path;
    EXPECT_EQ(send(*cli, std::string(r.method), path, "{}", "not-a-token").status, 401) << path;
  }
}

}  // namespace
