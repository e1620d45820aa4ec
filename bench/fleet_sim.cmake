# SPDX-License-Identifier: Apache-2.0
# The fleet simulator: a real in-process patchflow server (SQLite, and PostgreSQL on a
# throwaway cluster from pf_test_support) driven by simulated agents over loopback mTLS.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(OpenSSL 3.0 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(Threads REQUIRED)
pf_add_executable(fleet_sim
  SOURCES fleet_sim.cpp
  DEPS patchflow::server patchflow::pki pf_test_support PkgConfig::HTTPLIB OpenSSL::SSL
       OpenSSL::Crypto nlohmann_json::nlohmann_json Threads::Threads)
