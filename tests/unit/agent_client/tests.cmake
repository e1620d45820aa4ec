# SPDX-License-Identifier: Apache-2.0
# agent_client unit tests: the inventory hash (order-free, sensitive to every field), the
# backoff bounds, state.json round trips and refusals, the rotation journal, server URLs
# (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/agent_client/inventory_hash_test.cpp
  unit/agent_client/backoff_test.cpp
  unit/agent_client/state_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::agent_client)
