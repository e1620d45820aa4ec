# SPDX-License-Identifier: Apache-2.0
# `patchflow lab up / status / down` as a user runs them: a real server process and real
# patchflow-agent processes on real dpkg and rpm roots (included from tests/CMakeLists.txt).
if(TARGET patchflow-agent)
  target_sources(pf_integration_tests PRIVATE integration/lab_fleet/lab_fleet_test.cpp)
  add_dependencies(pf_integration_tests patchflow-agent)
endif()
