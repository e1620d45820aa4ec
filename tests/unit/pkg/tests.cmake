# SPDX-License-Identifier: Apache-2.0
# pkg unit tests (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/pkg/dpkg_status_test.cpp
  unit/pkg/rpm_db_test.cpp
  unit/pkg/os_release_test.cpp
  unit/pkg/backend_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::pkg)
