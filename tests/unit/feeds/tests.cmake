# SPDX-License-Identifier: Apache-2.0
# Unit tests of the feed importers (included by tests/CMakeLists.txt).
find_package(LibArchive REQUIRED)  # the tests build zip archives, including hostile ones
find_package(ZLIB REQUIRED)
target_sources(pf_unit_tests PRIVATE
  unit/feeds/support.cpp
  unit/feeds/osv_test.cpp
  unit/feeds/debian_tracker_test.cpp
  unit/feeds/enrich_test.cpp
  unit/feeds/hostile_test.cpp
  unit/feeds/detect_test.cpp
  unit/feeds/csaf_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::feeds LibArchive::LibArchive ZLIB::ZLIB)
