# SPDX-License-Identifier: Apache-2.0
# schedule unit tests: the schedule grammar and its errors, durations, zones, occurrences in
# real time zones over DST changes (the system tz database), blackouts, next openings and
# business days (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_unit_tests PRIVATE
  unit/schedule/parse_test.cpp
  unit/schedule/window_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::schedule)
