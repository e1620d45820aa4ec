# SPDX-License-Identifier: Apache-2.0
# The matcher at fleet scale (included from bench/CMakeLists.txt).
pf_add_executable(matcher_bench
  SOURCES matcher_bench.cpp
  DEPS patchflow::core pf_test_support)
