# SPDX-License-Identifier: Apache-2.0
# patchflow server end to end: started in-process on 127.0.0.1 (free port, state in a temporary
# directory, the SQLite store), talked to over real TLS with cpp-httplib clients as operators
# and agents; the patchflow binary run as a process against it (included from
# tests/CMakeLists.txt; paths relative to tests/).
find_package(OpenSSL 3.0 REQUIRED)
find_package(yaml-cpp REQUIRED)  # openapi_check.cpp reads docs/openapi.yaml
target_sources(pf_integration_tests PRIVATE
  integration/server/server_test.cpp
  integration/server/role_matrix_test.cpp
  integration/server/server_cli_test.cpp
  integration/server/server_postgres_test.cpp
  integration/server/findings_test.cpp
  integration/server/work_test.cpp
  integration/server/openapi_test.cpp
  integration/server/chains_api_test.cpp
  integration/server/openapi_check.cpp)
target_link_libraries(pf_integration_tests PRIVATE patchflow::server patchflow::pki
  patchflow::auth patchflow::jobs patchflow::store_sqlite SQLite::SQLite3 OpenSSL::SSL OpenSSL::Crypto yaml-cpp)
