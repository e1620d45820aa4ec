# SPDX-License-Identifier: Apache-2.0
# lab integration tests: real dpkg-deb, apt-ftparchive, dpkg, apt-get, rpmbuild and rpm on
# temporary directories (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_integration_tests PRIVATE
  integration/lab/deb_build_test.cpp
  integration/lab/dpkg_root_test.cpp
  integration/lab/rpm_lab_test.cpp)
target_link_libraries(pf_integration_tests PRIVATE patchflow::lab)
