# SPDX-License-Identifier: Apache-2.0
# jobs fuzz target (included from tests/fuzz/CMakeLists.txt): the job document parser and the
# signed envelope reader.
pf_add_fuzzer(jobs_fuzz SOURCES jobs_fuzz.cpp DEPS patchflow::jobs CORPUS jobs)
