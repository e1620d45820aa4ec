# SPDX-License-Identifier: Apache-2.0
# pkg_apt fuzz targets (included from tests/fuzz/CMakeLists.txt): the apt-get/dpkg output readers.
pf_add_fuzzer(pkg_apt_output_fuzz SOURCES pkg_apt_output_fuzz.cpp DEPS patchflow::pkg_apt
  CORPUS apt_output)
