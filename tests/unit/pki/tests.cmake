# SPDX-License-Identifier: Apache-2.0
# pki unit tests: certificates read back, CSRs (subject ignored, tampering refused), chains at
# an injected time, rotation, fingerprints and pinning, Ed25519 (RFC 8032 vectors, flipped
# bits), key files and the server's first start. OpenSSL is linked only to build hostile inputs
# and as an oracle (included from tests/CMakeLists.txt; paths relative to tests/).
find_package(OpenSSL 3.0 REQUIRED)
target_sources(pf_unit_tests PRIVATE
  unit/pki/certs_test.cpp
  unit/pki/signing_test.cpp
  unit/pki/files_test.cpp)
target_link_libraries(pf_unit_tests PRIVATE patchflow::pki OpenSSL::Crypto)
