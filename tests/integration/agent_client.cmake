# SPDX-License-Identifier: Apache-2.0
# The patchflow-agent binary against the real server: the server started in-process (the server
# tests' harness), the agent run as a process on a lab dpkg root: enroll with CA pinning,
# check-ins and inventory uploads, a server restart, an HTTPS proxy, revocation, certificate
# rotation (included from tests/CMakeLists.txt; paths relative to tests/).
if(TARGET patchflow-agent)
  find_package(OpenSSL 3.0 REQUIRED)
  target_sources(pf_integration_tests PRIVATE integration/agent_client/agent_client_test.cpp)
  target_link_libraries(pf_integration_tests PRIVATE patchflow::server patchflow::pki
    patchflow::lab patchflow::pkg OpenSSL::SSL OpenSSL::Crypto)
  target_compile_definitions(pf_integration_tests PRIVATE
    PF_AGENT_BIN="$<TARGET_FILE:patchflow-agent>")
  add_dependencies(pf_integration_tests patchflow-agent)
endif()
