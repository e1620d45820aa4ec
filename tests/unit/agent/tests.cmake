# SPDX-License-Identifier: Apache-2.0
# agent collector unit tests: parsers on text, facts and reboot flags on temporary roots
# (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/agent/facts_parse_test.cpp
  unit/agent/facts_test.cpp
  unit/agent/reboot_test.cpp
  unit/agent/services_test.cpp
  unit/agent/health_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::agent)
