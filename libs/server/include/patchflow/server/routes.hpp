// SPDX-License-Identifier: Apache-2.0
// The route table of the server, as data: what each route needs. The table in routes.cpp is
// the single source of truth (dispatch, role checks, docs/api.md, the role-matrix test).
#pragma once

#include <string_view>
#include <vector>

namespace pf::server {

/// Who may call a route.
enum class Access {
  public_,  ///< anyone (health, metrics, enrollment: the enrollment token is in the body)
  agent,    ///< an enrolled, non-revoked host: a client certificate of the server's CA
  api,      ///< an API token (Authorization: Bearer) whose role allows `role`
};

struct RouteInfo {
  std::string_view method;   ///< "GET", "POST", "PUT", "DELETE"
  std::string_view pattern;  ///< "/api/v1/hosts/{id}": {name} matches one path segment
  Access access{Access::public_};
  std::string_view role;     ///< for Access::api: "viewer", "approver", "operator", "admin"
  std::string_view summary;
};

/// Every route, in the order the docs list them.
[[nodiscard]] std::vector<RouteInfo> route_table();

/// "public", "agent" or the role name of an API route.
[[nodiscard]] std::string_view access_name(const RouteInfo& route) noexcept;

}  // namespace pf::server
