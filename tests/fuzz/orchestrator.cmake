# SPDX-License-Identifier: Apache-2.0
# orchestrator fuzz target (included from tests/fuzz/CMakeLists.txt): state_from_json on
# arbitrary text, then decide() on events built from the input's bytes.
pf_add_fuzzer(orchestrator_fuzz SOURCES orchestrator_fuzz.cpp DEPS patchflow::orchestrator
  CORPUS orchestrator)
