// SPDX-License-Identifier: Apache-2.0
// The agent's transport: HTTPS requests with JSON bodies over libcurl. The server is verified
// against one CA file (the system trust store is not used), the agent shows its client
// certificate when it has one, answers are bounded, and proxies come from the environment
// (https_proxy / HTTPS_PROXY / no_proxy / NO_PROXY, as libcurl reads them).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::agent_client {

/// Why a request failed, for callers that act differently on each (retry, stop, report).
enum class Failure {
  unreachable,      ///< no connection (refused, unresolvable, reset, proxy failed)
  timeout,          ///< the connect or total timeout passed
  tls,              ///< the TLS handshake failed: the server's certificate did not verify, or
                    ///< the server refused ours
  interrupted,      ///< the caller's cancel callback asked to stop
  too_large,        ///< the answer is larger than ClientOptions::max_response_bytes
  bad_response,     ///< a 2xx answer that is not the JSON document expected
  unauthenticated,  ///< HTTP 401: the server does not accept these credentials
  forbidden,        ///< HTTP 403: the host is revoked (agent routes) or not allowed
  client_error,     ///< another HTTP 4xx: the server refused the request itself
  server_error,     ///< HTTP 5xx
  local,            ///< a local problem (a certificate file that cannot be read, ...)
};

/// Stable lower-case name ("unreachable", "forbidden", ...).
[[nodiscard]] std::string_view failure_name(Failure failure) noexcept;

/// A failed request. `error.where` is the URL; `error.code` is Errc::io for unreachable,
/// timeout and tls, Errc::conflict for 401 and 403, Errc::invalid_input for other 4xx, too
/// large and bad answers, Errc::backend_failed for 5xx, Errc::interrupted when cancelled.
/// For HTTP errors the message is the server's {"error":{"message"}} (with its "field").
struct CallError {
  Failure failure{Failure::unreachable};
  int http_status{0};       ///< 0 when no HTTP answer arrived
  std::string server_code;  ///< the server's {"error":{"code"}}, when it sent one
  Error error;
};

template <class T>
using CallResult = tl::expected<T, CallError>;

/// "<where>: <message>" as pf::to_string prints it.
[[nodiscard]] std::string to_string(const CallError& error);

struct ClientOptions {
  /// "https://host:port" (a trailing '/' is ignored). Only https is accepted.
  std::string base_url;
  /// The CA certificate(s) the server's certificate must chain to. Required: the system trust
  /// store is never used, and verification is never turned off (see fetch_ca_unverified).
  std::filesystem::path ca_file;
  /// The agent's certificate and key (PEM). Both or neither.
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds total_timeout{120};
  std::size_t max_response_bytes{std::size_t{32} << 20};
  /// Polled while a request is in flight; returning true aborts it (Failure::interrupted).
  std::function<bool()> cancelled;
};

/// An HTTP answer with a 2xx status.
struct Response {
  int status{0};
  std::string body;
  std::string content_type;
};

class HttpsClient {
 public:
  explicit HttpsClient(ClientOptions options);

  /// One request: `method` is GET, POST, PUT or DELETE; `path` starts with '/'; a non-empty
  /// `json_body` is sent as application/json. A non-2xx answer is a CallError carrying the
  /// server's error document.
  [[nodiscard]] CallResult<Response> request(std::string_view method, std::string_view path,
                                             std::string_view json_body = {}) const;

  [[nodiscard]] const ClientOptions& options() const noexcept { return options_; }
  /// base_url + path.
  [[nodiscard]] std::string url(std::string_view path) const;

 private:
  ClientOptions options_;
};

/// The one request made without verifying the server: GET <base_url>/agent/v1/ca, before the
/// agent trusts any CA, sending no certificate, token or other secret. The answer (PEM, or a
/// JSON document {"ca_pem": "..."}) is returned as PEM and means nothing until the caller has
/// checked it against a pinned fingerprint (pki::check_ca_fingerprint).
[[nodiscard]] CallResult<std::string> fetch_ca_unverified(
    const std::string& base_url, std::chrono::seconds timeout,
    const std::function<bool()>& cancelled = {});

/// Checks a server URL: https://host[:port] with nothing after the authority but an optional
/// '/'. Returns it without the trailing '/'. Errc::invalid_input naming `url` otherwise.
[[nodiscard]] Result<std::string> normalize_server_url(std::string_view url);

}  // namespace pf::agent_client
