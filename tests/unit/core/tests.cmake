# SPDX-License-Identifier: Apache-2.0
# core unit tests beyond versions (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/core/advisory_test.cpp
  unit/core/matcher_test.cpp
  unit/core/risk_test.cpp)
