// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::auth {

/// The four roles. `operator` is a C++ keyword, hence `operator_`; its name is "operator".
enum class Role { viewer, approver, operator_, admin };

/// "viewer", "approver", "operator", "admin".
[[nodiscard]] std::string_view to_string(Role role) noexcept;

/// The exact lower-case name; anything else is an invalid_input error (where = "role") that
/// names the value (up to 64 bytes of it) and the four roles.
[[nodiscard]] Result<Role> parse_role(std::string_view text);

/// Whether a principal holding `have` may do what needs `need`:
///
///   have \ need   viewer  approver  operator  admin
///   viewer          yes      no        no       no
///   approver        yes      yes       no       no
///   operator        yes      no        yes      no
///   admin           yes      yes       yes      yes
///
/// approver and operator are not ordered one above the other: an approver approves chain gates
/// but cannot change policy; an operator changes policy and runs chains but cannot approve (so
/// the person who starts a change is not the one who approves it). admin allows everything.
[[nodiscard]] constexpr bool allows(Role have, Role need) noexcept {
  if (have == Role::admin || need == Role::viewer) return true;
  return have == need;
}

}  // namespace pf::auth
