# SPDX-License-Identifier: Apache-2.0
# Server unit tests: configuration loading and precedence, --print-config (included from
# tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE unit/server/config_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::server)
