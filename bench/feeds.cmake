# SPDX-License-Identifier: Apache-2.0
# Import throughput of the feed importers (included by bench/CMakeLists.txt).
find_package(LibArchive REQUIRED)  # builds the zip and directory inputs from the tar.xz
pf_add_executable(feeds_bench
  SOURCES feeds_bench.cpp
  DEPS patchflow::feeds pf_test_support benchmark::benchmark LibArchive::LibArchive)
