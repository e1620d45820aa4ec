// SPDX-License-Identifier: Apache-2.0
// patchflow server: one TLS listener serving the operator REST API (/api/v1) and the agent
// gateway (/agent/v1) over a FleetStore (SQLite by default, PostgreSQL by URL).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"
#include "patchflow/server/config.hpp"

namespace pf::server {

/// Receives whole lines (without '\n'); called from several threads, one call at a time.
using LineSink = std::function<void(std::string_view line)>;

struct StartOptions {
  /// Log lines (access log and server events), text or JSON per Config::log_format. Default:
  /// stderr.
  LineSink log;
  /// The first-start banner with the administrator token (shown once). Default: stderr.
  LineSink banner;
};

/// What the first start created, or found.
struct BootstrapReport {
  bool ca_created{false};
  bool server_cert_created{false};
  bool signing_key_created{false};
  bool admin_created{false};  ///< the admin user and token were created now (banner shown)
  std::string admin_token;    ///< only when admin_created
};

class Server {
 public:
  /// Prepares the state directory (CA, server certificate, Ed25519 signing key: created on the
  /// first start, reused later), opens the store (config.database), creates the "admin" user
  /// and an admin API token when there is neither a user nor a token yet (printed once to
  /// options.banner; only its hash is kept; audited), binds the listener and starts serving.
  /// Returns once the server accepts connections.
  [[nodiscard]] static Result<std::unique_ptr<Server>> start(const Config& config,
                                                             StartOptions options = {});

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  /// Stops (see stop()).
  ~Server();

  /// The bound port (the one chosen when listen's port is 0).
  [[nodiscard]] int port() const noexcept;
  [[nodiscard]] const BootstrapReport& bootstrap() const noexcept;
  /// The CA file clients use to verify the server, and its fingerprint (pinning).
  [[nodiscard]] std::filesystem::path ca_file() const;
  [[nodiscard]] std::string ca_fingerprint() const;

  /// Stops accepting connections, lets the requests in flight finish, commits the queued
  /// check-ins and closes the store. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// `patchflow server reset-admin-token`: with direct access to the database (no server
/// needed), makes sure user "admin" exists, is enabled and has role admin, revokes every
/// unrevoked API token with role admin (of any user), and returns a new admin token for
/// "admin". Everything in one transaction, audited (actor "system:reset-admin-token").
struct ResetAdminResult {
  std::string token;
  std::string token_id;
  int revoked{0};
};
[[nodiscard]] Result<ResetAdminResult> reset_admin_token(const Config& config);

/// The banner shown on the first start (and by reset-admin-token) around a new admin token.
[[nodiscard]] std::string admin_token_banner(std::string_view token, std::string_view headline);

}  // namespace pf::server
