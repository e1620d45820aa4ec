// SPDX-License-Identifier: Apache-2.0
#include "patchflow/auth/role.hpp"

#include <string>

#include "text.hpp"

namespace pf::auth {

std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::viewer: return "viewer";
    case Role::approver: return "approver";
    case Role::operator_: return "operator";
    case Role::admin: return "admin";
  }
  return "unknown";
}

Result<Role> parse_role(std::string_view text) {
  for (Role r : {Role::viewer, Role::approver, Role::operator_, Role::admin}) {
    if (text == to_string(r)) return r;
  }
  return make_error(Errc::invalid_input,
                    "unknown role " + detail::quote(text) +
                        " (expected viewer, approver, operator or admin)",
                    "role");
}

}  // namespace pf::auth
