# SPDX-License-Identifier: Apache-2.0
# The agent's inventory benchmark: runs the real patchflow-agent binary.
if(TARGET patchflow-agent)
  pf_add_executable(agent_bench SOURCES agent_bench.cpp)
  target_compile_definitions(agent_bench PRIVATE PF_AGENT_BIN="$<TARGET_FILE:patchflow-agent>")
  add_dependencies(agent_bench patchflow-agent)
endif()
