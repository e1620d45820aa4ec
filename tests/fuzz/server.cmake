# SPDX-License-Identifier: Apache-2.0
# server fuzz target (included from tests/fuzz/CMakeLists.txt): the streaming reader of
# PUT /agent/v1/inventory against its document-based reference. The reader's one source file
# is built in (not the whole server library, with its HTTP and database clients).
find_package(nlohmann_json REQUIRED)
pf_add_fuzzer(inventory_parse_fuzz
  SOURCES inventory_parse_fuzz.cpp ${PROJECT_SOURCE_DIR}/libs/server/src/inventory_parse.cpp
  DEPS patchflow::store nlohmann_json::nlohmann_json
  CORPUS inventory_parse)
target_include_directories(inventory_parse_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/libs/server/src
  ${PROJECT_SOURCE_DIR}/tests/unit/server)
