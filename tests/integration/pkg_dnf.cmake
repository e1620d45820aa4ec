# SPDX-License-Identifier: Apache-2.0
# pkg_dnf integration tests: the dnf backend on rpm roots built by the lab library, with the real
# dnf, rpm, rpmbuild and createrepo_c (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_integration_tests PRIVATE integration/pkg_dnf/dnf_backend_test.cpp)
target_link_libraries(pf_integration_tests PRIVATE patchflow::pkg_dnf patchflow::lab)
