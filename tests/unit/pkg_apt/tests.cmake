# SPDX-License-Identifier: Apache-2.0
# pkg_apt unit tests: the apt-get/dpkg output readers on text captured from real runs, the argv
# for package roots, and the dpkg database reader with states and journal (libs/pkg) that the
# backend verifies with (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/pkg_apt/apt_output_test.cpp
  unit/pkg_apt/root_args_test.cpp
  unit/pkg_apt/dpkg_database_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::pkg_apt)
