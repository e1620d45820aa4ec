# SPDX-License-Identifier: Apache-2.0
# patchflow-agent run as a program on lab roots (included from tests/CMakeLists.txt).
if(TARGET patchflow-agent)
  target_sources(pf_integration_tests PRIVATE integration/agent_cli/agent_cli_test.cpp)
  target_link_libraries(pf_integration_tests PRIVATE patchflow::lab patchflow::pkg)
  target_compile_definitions(pf_integration_tests PRIVATE
    PF_AGENT_BIN="$<TARGET_FILE:patchflow-agent>")
  add_dependencies(pf_integration_tests patchflow-agent)
endif()

# The README's agent demo, as a user runs it: it fails on any step that does not apply.
add_test(NAME ReadmeDemoAgent COMMAND ${PROJECT_SOURCE_DIR}/scripts/demo-agent)
set_tests_properties(ReadmeDemoAgent PROPERTIES LABELS integration TIMEOUT 300
  ENVIRONMENT "PF_BUILD_DIR=${PROJECT_BINARY_DIR}")
