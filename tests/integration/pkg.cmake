# SPDX-License-Identifier: Apache-2.0
# pkg integration tests: real rpm roots, this machine's dpkg database and os-release
# (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_integration_tests PRIVATE
  integration/pkg/tools.cpp
  integration/pkg/rpm_root_test.cpp
  integration/pkg/dpkg_machine_test.cpp
  integration/pkg/dpkg_root_test.cpp)
target_link_libraries(pf_integration_tests PRIVATE patchflow::pkg patchflow::lab)
