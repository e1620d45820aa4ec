# SPDX-License-Identifier: Apache-2.0
# auth unit tests (included from tests/CMakeLists.txt; paths relative to tests/). libargon2 is
# linked directly too: its own encoder and verifier are the oracle for our PHC strings.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PF_TEST_ARGON2 REQUIRED IMPORTED_TARGET libargon2)
target_sources(pf_unit_tests PRIVATE
  unit/auth/password_test.cpp
  unit/auth/token_test.cpp
  unit/auth/role_test.cpp
  unit/auth/duration_labels_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::auth PkgConfig::PF_TEST_ARGON2)
