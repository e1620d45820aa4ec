# SPDX-License-Identifier: Apache-2.0
# The server's chain loop on real stores (SQLite, PostgreSQL): runs driven to their end, the
# restart-safety kill test, two replicas failing over. Uses the server's private headers.
target_sources(pf_integration_tests PRIVATE integration/chains/chain_loop_test.cpp
  integration/chains/lab_scenarios_test.cpp)
target_include_directories(pf_integration_tests PRIVATE ${PROJECT_SOURCE_DIR}/libs/server/src)
target_link_libraries(pf_integration_tests PRIVATE patchflow::server patchflow::policy
  patchflow::orchestrator patchflow::pki patchflow::jobs)
