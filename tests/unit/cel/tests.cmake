# SPDX-License-Identifier: Apache-2.0
# cel unit tests: the condition language parsed (precedence, operators, macros, errors with
# line:column), checked against the stages environment, evaluated on hand-built stage outcomes
# and explained (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/cel/parse_test.cpp
  unit/cel/check_test.cpp
  unit/cel/eval_test.cpp
  unit/cel/explain_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::cel)
