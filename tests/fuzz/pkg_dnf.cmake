# SPDX-License-Identifier: Apache-2.0
# pkg_dnf fuzz targets (included from tests/fuzz/CMakeLists.txt): the dnf 4 output readers.
pf_add_fuzzer(pkg_dnf_output_fuzz SOURCES pkg_dnf_output_fuzz.cpp DEPS patchflow::pkg_dnf
  CORPUS dnf_output)
