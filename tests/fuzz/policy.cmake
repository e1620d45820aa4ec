# SPDX-License-Identifier: Apache-2.0
# policy fuzz target (included from tests/fuzz/CMakeLists.txt): YAML policy documents, their
# JSON round trip and set checks, label selectors.
pf_add_fuzzer(policy_fuzz SOURCES policy_fuzz.cpp DEPS patchflow::policy CORPUS policy)
