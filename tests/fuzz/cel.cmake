# SPDX-License-Identifier: Apache-2.0
# cel fuzz target (included from tests/fuzz/CMakeLists.txt): the condition language's parser,
# checker, evaluator and explanations.
pf_add_fuzzer(cel_fuzz SOURCES cel_fuzz.cpp DEPS patchflow::cel CORPUS cel)
