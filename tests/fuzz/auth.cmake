# SPDX-License-Identifier: Apache-2.0
# auth fuzz target (included from tests/fuzz/CMakeLists.txt): token, duration, label, role and
# PHC-string parsers.
pf_add_fuzzer(auth_fuzz SOURCES auth_fuzz.cpp DEPS patchflow::auth CORPUS auth)
