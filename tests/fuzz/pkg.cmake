# SPDX-License-Identifier: Apache-2.0
# pkg fuzz targets (included from tests/fuzz/CMakeLists.txt).
pf_add_fuzzer(pkg_dpkg_status_fuzz SOURCES pkg_dpkg_status_fuzz.cpp DEPS patchflow::pkg
  CORPUS dpkg_status)
pf_add_fuzzer(pkg_os_release_fuzz SOURCES pkg_os_release_fuzz.cpp DEPS patchflow::pkg
  CORPUS os_release)
pf_add_fuzzer(pkg_dpkg_database_fuzz SOURCES pkg_dpkg_database_fuzz.cpp DEPS patchflow::pkg
  CORPUS dpkg_database)
