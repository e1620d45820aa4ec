# SPDX-License-Identifier: Apache-2.0
# Server unit tests: configuration loading and precedence, --print-config (included from
# tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE unit/server/config_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::server)
# The streaming inventory reader (a private part of libs/server) and its document-based
# reference (inventory_reference.hpp, shared with the fuzz target inventory_parse_fuzz).
find_package(nlohmann_json REQUIRED)
target_sources(pf_unit_tests PRIVATE unit/server/inventory_parse_test.cpp)
target_include_directories(pf_unit_tests PRIVATE ${PROJECT_SOURCE_DIR}/libs/server/src)
target_link_libraries(pf_unit_tests PRIVATE nlohmann_json::nlohmann_json)
