# SPDX-License-Identifier: Apache-2.0
# pkg_apt integration tests: the apt backend on dpkg roots built by libs/lab, with the real
# apt-get, dpkg, apt-mark, mount and timeout (included from tests/CMakeLists.txt; paths relative
# to tests/).
target_sources(pf_integration_tests PRIVATE
  integration/pkg_apt/apt_backend_test.cpp
  integration/pkg_apt/apt_failures_test.cpp)
target_link_libraries(pf_integration_tests PRIVATE patchflow::pkg_apt patchflow::lab)
