# SPDX-License-Identifier: Apache-2.0
# schedule fuzz target (included from tests/fuzz/CMakeLists.txt): the window schedule grammar
# and the duration parser.
pf_add_fuzzer(schedule_fuzz SOURCES schedule_fuzz.cpp DEPS patchflow::schedule CORPUS schedule)
