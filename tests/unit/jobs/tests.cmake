# SPDX-License-Identifier: Apache-2.0
# jobs unit tests: the job document parsed, validated, written canonically and opened from its
# signed envelope (unsigned, altered, wrong key); runner unit tests that need no package root:
# the commands policy, the reboot commands, steps and checks on temporary roots, the journal
# (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/jobs/job_test.cpp
  unit/jobs/runner_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::jobs patchflow::runner patchflow::pki)
# The checks are tested one by one through the runner's private step header.
target_include_directories(pf_unit_tests PRIVATE ${PROJECT_SOURCE_DIR}/libs/runner/src)
