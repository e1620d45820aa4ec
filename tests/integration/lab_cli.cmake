# SPDX-License-Identifier: Apache-2.0
# `patchflow lab fixture` run as a program on YAML files the tests write, its results checked
# with dpkg-deb, dpkg, apt-get, rpm and dnf (included from tests/CMakeLists.txt).
target_sources(pf_integration_tests PRIVATE
  integration/lab_cli/fixture_build_test.cpp
  integration/lab_cli/fixture_errors_test.cpp)
target_link_libraries(pf_integration_tests PRIVATE patchflow::lab patchflow::pkg)
