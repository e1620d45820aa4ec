# SPDX-License-Identifier: Apache-2.0
# policy unit tests: documents parsed with FILE:LINE:COL errors, JSON round trips and diffs,
# selectors, baseline verdicts, set validation and the examples/chains files (included from
# tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/policy/selector_test.cpp
  unit/policy/baseline_test.cpp
  unit/policy/parse_test.cpp
  unit/policy/json_test.cpp
  unit/policy/validate_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::policy)
target_compile_definitions(pf_unit_tests PRIVATE PF_POLICY_EXAMPLES_DIR="${PROJECT_SOURCE_DIR}/examples/chains")
