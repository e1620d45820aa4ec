# SPDX-License-Identifier: Apache-2.0
# The FleetStore contract suite (hosts, inventories, tokens, users, audit log).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
target_sources(pf_contract_tests PRIVATE contract/fleet_store_test.cpp)
# OpenSSL: the test recomputes the documented audit hash independently.
target_link_libraries(pf_contract_tests PRIVATE patchflow::store_sqlite SQLite::SQLite3
  OpenSSL::Crypto)
