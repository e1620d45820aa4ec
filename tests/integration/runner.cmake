# SPDX-License-Identifier: Apache-2.0
# Job runner integration tests: `patchflow-agent job run` with signed jobs on dpkg and rpm roots
# built by the lab library, with the real apt-get/dpkg and dnf/rpm: the JetPatch workflow,
# postponed and skipped preconditions, rollback verified from the package database, a lab
# reboot with resume, and a kill at every journal boundary (included from tests/CMakeLists.txt;
# paths relative to tests/).
if(TARGET patchflow-agent)
  target_sources(pf_integration_tests PRIVATE integration/runner/runner_test.cpp)
  target_link_libraries(pf_integration_tests PRIVATE patchflow::lab patchflow::pkg patchflow::jobs
                        patchflow::pki)
  target_compile_definitions(pf_integration_tests PRIVATE
    PF_AGENT_BIN="$<TARGET_FILE:patchflow-agent>")
  add_dependencies(pf_integration_tests patchflow-agent)
endif()
