# SPDX-License-Identifier: Apache-2.0
# pki over real TLS on loopback: cpp-httplib's SSLServer with the server certificate, requiring
# client certificates from the CA; agents with and without signed certificates; the client's
# check of the server; CA pinning by fingerprint; a raw OpenSSL client to see the handshake
# itself fail (included from tests/CMakeLists.txt; paths relative to tests/).
find_package(OpenSSL 3.0 REQUIRED)
target_sources(pf_integration_tests PRIVATE integration/pki/tls_test.cpp)
target_link_libraries(pf_integration_tests PRIVATE patchflow::pki OpenSSL::SSL OpenSSL::Crypto)
