// SPDX-License-Identifier: Apache-2.0
// The CLI's client of the server's REST API: https only, the server verified against --ca, a
// CA pinned by --ca-fingerprint, or the system's trust store; the API token as a bearer token.
#pragma once

#include <memory>
#include <string>

#include "patchflow/common/error.hpp"

namespace CLI {
class App;
}

namespace pf::cli {

struct ClientOptions {
  std::string server;          ///< https://host[:port]; else $PATCHFLOW_SERVER
  std::string token;           ///< else $PATCHFLOW_TOKEN
  std::string ca;              ///< CA file to verify the server with; else $PATCHFLOW_CA
  std::string ca_fingerprint;  ///< pin: fetch the server's CA and check it against this
};

/// Adds --server, --token, --ca and --ca-fingerprint to a command.
void add_client_options(CLI::App& cmd, ClientOptions& options);

struct HttpAnswer {
  int status{0};
  std::string body;
};

class ApiClient {
 public:
  /// Checks the options (falling back to the environment) and sets up TLS trust; with
  /// --ca-fingerprint this already talks to the server. Errors: invalid_input (bad options),
  /// io (unreachable, TLS failure, a pinned fingerprint that does not match).
  [[nodiscard]] static Result<ApiClient> connect(ClientOptions options);

  ApiClient(ApiClient&&) noexcept;
  ApiClient& operator=(ApiClient&&) noexcept;
  ~ApiClient();

  /// One request; an Error (Errc::io) only when no HTTP answer came back.
  [[nodiscard]] Result<HttpAnswer> request(const std::string& method, const std::string& path,
                                           const std::string& json_body = {});

  [[nodiscard]] const std::string& server() const;

  struct Impl;

 private:
  explicit ApiClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// %-encodes a query value or path segment (everything but A-Z a-z 0-9 - _ . ~).
[[nodiscard]] std::string url_encode(const std::string& s);

/// Prints "patchflow: error: ..." for an answer that is not 2xx (the server's error document's
/// message and field when it has one) and returns the exit code: 3 for 401/403, 2 for other
/// 4xx, 4 for the rest.
[[nodiscard]] int report_http_error(const HttpAnswer& answer);

/// Prints an Error of connect/request and returns its exit code (3 for io: unreachable).
[[nodiscard]] int report_client_error(const Error& error);

}  // namespace pf::cli
