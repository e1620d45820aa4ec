# SPDX-License-Identifier: Apache-2.0
# The FleetStore contract suite (hosts, inventories, tokens, users, audit log), on SQLite and
# PostgreSQL.
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
target_sources(pf_contract_tests PRIVATE contract/fleet_store_test.cpp contract/work_store_test.cpp
  contract/chain_store_test.cpp)
# OpenSSL: the test recomputes the documented audit hash independently.
# PostgreSQL: the suite also runs on PostgresStore, on a server of the test's own
# (pf::testing::PgCluster in pf_test_support).
target_link_libraries(pf_contract_tests PRIVATE patchflow::store_sqlite SQLite::SQLite3
  patchflow::store_postgres pf_test_support OpenSSL::Crypto)
