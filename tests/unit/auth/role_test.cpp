// SPDX-License-Identifier: Apache-2.0
#include "patchflow/auth/role.hpp"

#include <gtest/gtest.h>

namespace auth = pf::auth;
using auth::Role;

namespace {

constexpr Role kRoles[] = {Role::viewer, Role::approver, Role::operator_, Role::admin};

// The table of role.hpp, written out: kAllows[have][need], in the order of kRoles.
//                                  viewer approver operator admin     (need)
constexpr bool kAllows[4][4] = {/* viewer   */ {true, false, false, false},
                                /* approver */ {true, true, false, false},
                                /* operator */ {true, false, true, false},
                                /* admin    */ {true, true, true, true}};

}  // namespace

TEST(Role, PermissionMatrixMatchesTheTable) {
  int checked = 0;
  for (int have = 0; have < 4; ++have) {
    for (int need = 0; need < 4; ++need) {
      EXPECT_EQ(auth::allows(kRoles[have], kRoles[need]), kAllows[have][need])
          << "have " << auth::to_string(kRoles[have]) << ", need "
          << auth::to_string(kRoles[need]);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16);
  static_assert(auth::allows(Role::admin, Role::approver));
  static_assert(!auth::allows(Role::operator_, Role::approver));
  static_assert(!auth::allows(Role::approver, Role::operator_));
}

TEST(Role, NamesRoundTrip) {
  const char* names[] = {"viewer", "approver", "operator", "admin"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(auth::to_string(kRoles[i]), names[i]);
    auto r = auth::parse_role(names[i]);
    ASSERT_TRUE(r) << pf::to_string(r.error());
    EXPECT_EQ(*r, kRoles[i]);
  }
}

TEST(Role, UnknownNamesAreErrors) {
  for (const char* text : {"", "Admin", "ADMIN", "operator_", "root", " viewer", "viewer ",
                           "approvers"}) {
    auto r = auth::parse_role(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(r.error().where, "role");
    EXPECT_NE(r.error().message.find(std::string("\"") + text + "\""), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("viewer, approver, operator or admin"), std::string::npos);
  }
  auto long_name = auth::parse_role(std::string(10000, 'x'));
  ASSERT_FALSE(long_name);
  EXPECT_LT(long_name.error().message.size(), 200u);
}
