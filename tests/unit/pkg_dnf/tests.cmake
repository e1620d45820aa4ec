# SPDX-License-Identifier: Apache-2.0
# pkg_dnf unit tests: the readers of dnf's output and the dnf command line for a root (included
# from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/pkg_dnf/dnf_output_test.cpp
  unit/pkg_dnf/dnf_args_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::pkg_dnf)
