# SPDX-License-Identifier: Apache-2.0
# orchestrator unit tests: decide() over stages, waves, gates, thresholds, budgets, windows,
# soaks, approvals, pause/resume/cancel, timeouts and ignored events; JSON round trips,
# determinism and chunked replay; the plan projection (included from tests/CMakeLists.txt).
target_sources(pf_unit_tests PRIVATE
  unit/orchestrator/decide_test.cpp
  unit/orchestrator/json_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::orchestrator)
