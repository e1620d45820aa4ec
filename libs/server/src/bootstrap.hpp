// SPDX-License-Identifier: Apache-2.0
// The server's first start: state directory, CA, server certificate, signing key, and the
// first administrator. Private to libs/server.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "patchflow/pki/certs.hpp"
#include "patchflow/server/config.hpp"
#include "patchflow/store/fleet_store.hpp"

namespace pf::server {

struct PkiState {
  pki::CertAndKey ca;
  std::filesystem::path ca_file;
  std::filesystem::path server_cert_file;
  std::filesystem::path server_key_file;
  std::filesystem::path client_ca_file;  ///< what clients trust for the server certificate
  std::string client_ca_pem;
  std::string signing_key_pem;
  std::string signing_public_pem;
  bool ca_created{false};
  bool server_cert_created{false};
  bool signing_key_created{false};
  std::string server_cert_reason;
};

/// Creates state_dir (0700) when absent, then loads or creates ca.crt/ca.key,
/// server.crt/server.key (unless tls_cert/tls_key are given) and signing.key (Ed25519, 0600,
/// written atomically).
[[nodiscard]] Result<PkiState> prepare_pki(const Config& config);

/// When the store has no user and no API token: user "admin" (role admin, no password) and an
/// admin API token, in one transaction, audited as "system". Returns the token then, nullopt
/// when there was a user or token already (or another server made them first).
[[nodiscard]] Result<std::optional<std::string>> ensure_admin(store::FleetStore& store,
                                                              std::int64_t now);

}  // namespace pf::server
