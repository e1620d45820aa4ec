// SPDX-License-Identifier: Apache-2.0
#include "api_client.hpp"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "patchflow/pki/certs.hpp"

namespace pf::cli {
namespace {

std::string from_env(const std::string& given, const char* name) {
  if (!given.empty()) return given;
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

struct Target {
  std::string host;
  int port{8443};
};

Result<Target> parse_server(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.empty()) {
    return make_error(Errc::invalid_input, "no server: give --server https://HOST:PORT or set "
                                           "PATCHFLOW_SERVER", "--server");
  }
  if (url.rfind(kScheme, 0) != 0) {
    return make_error(Errc::invalid_input, "the server URL must start with https://", "--server");
  }
  std::string rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) {
    return make_error(Errc::invalid_input, "give the server as https://HOST[:PORT], no path",
                      "--server");
  }
  Target t;
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) {
      return make_error(Errc::invalid_input, "unclosed '[' in the server URL", "--server");
    }
    t.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') {
        return make_error(Errc::invalid_input, "expected ':PORT' after ']'", "--server");
      }
      port = rest.substr(close + 2);
    }
  } else {
    const auto colon = rest.rfind(':');
    t.host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  if (t.host.empty()) return make_error(Errc::invalid_input, "no host in the URL", "--server");
  if (!port.empty()) {
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) {
      return make_error(Errc::invalid_input, "bad port '" + port + "'", "--server");
    }
    t.port = static_cast<int>(p);
  }
  return t;
}

void timeouts(httplib::SSLClient& cli) {
  cli.set_tcp_nodelay(true);
  cli.set_connection_timeout(10, 0);
  cli.set_read_timeout(120, 0);
  cli.set_write_timeout(60, 0);
}

std::string describe(httplib::Error e, long verify_result) {
  std::string out = httplib::to_string(e);
  if (e == httplib::Error::SSLServerVerification) {
    out += " (" + std::string(X509_verify_cert_error_string(verify_result)) +
           "; check --ca / --ca-fingerprint)";
  }
  return out;
}

// An X509_STORE holding the certificates of `pem`; owned by the SSL context it is given to.
X509_STORE* store_of(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return nullptr;
  X509_STORE* store = X509_STORE_new();
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, cert) == 1) ++added;
    X509_free(cert);
  }
  BIO_free(bio);
  if (added == 0) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

}  // namespace

struct ApiClient::Impl {
  std::string server;
  std::string token;
  std::unique_ptr<httplib::SSLClient> client;
};

ApiClient::ApiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiClient::ApiClient(ApiClient&&) noexcept = default;
ApiClient& ApiClient::operator=(ApiClient&&) noexcept = default;
ApiClient::~ApiClient() = default;

const std::string& ApiClient::server() const { return impl_->server; }

void add_client_options(CLI::App& cmd, ClientOptions& o) {
  cmd.add_option("--server", o.server, "The server, https://HOST:PORT (env PATCHFLOW_SERVER)");
  cmd.add_option("--token", o.token, "API token (env PATCHFLOW_TOKEN)");
  cmd.add_option("--ca", o.ca, "CA certificate file to verify the server with (env PATCHFLOW_CA)");
  cmd.add_option("--ca-fingerprint", o.ca_fingerprint,
                 "Trust the server's CA when its SHA-256 fingerprint is this (pinning)");
}

Result<ApiClient> ApiClient::connect(ClientOptions o) {
  o.server = from_env(o.server, "PATCHFLOW_SERVER");
  o.token = from_env(o.token, "PATCHFLOW_TOKEN");
  o.ca = from_env(o.ca, "PATCHFLOW_CA");
  auto target = parse_server(o.server);
  if (!target) return Unexpected(target.error());
  if (o.token.empty()) {
    return make_error(Errc::invalid_input, "no API token: give --token or set PATCHFLOW_TOKEN",
                      "--token");
  }
  if (!o.ca.empty() && !o.ca_fingerprint.empty()) {
    return make_error(Errc::invalid_input, "give --ca or --ca-fingerprint, not both");
  }
  auto impl = std::make_unique<Impl>();
  impl->server = o.server;
  impl->token = o.token;
  impl->client = std::make_unique<httplib::SSLClient>(target->host, target->port);
  auto& cli = *impl->client;
  timeouts(cli);
  if (!o.ca_fingerprint.empty()) {
    auto pin = pki::normalize_fingerprint(o.ca_fingerprint);
    if (!pin) return make_error(Errc::invalid_input, pin.error().message, "--ca-fingerprint");
    // Not trusted yet: fetch the CA over an unverified connection, trust it only when its
    // fingerprint is the pinned one, then verify the server with it.
    httplib::SSLClient bootstrap(target->host, target->port);
    bootstrap.enable_server_certificate_verification(false);
    timeouts(bootstrap);
    auto res = bootstrap.Get("/agent/v1/ca");
    if (!res) {
      return make_error(Errc::io, "cannot reach the server: " + httplib::to_string(res.error()),
                        o.server);
    }
    if (res->status != 200) {
      return make_error(Errc::io, "the server did not hand out its CA (HTTP " +
                                      std::to_string(res->status) + ")", o.server);
    }
    if (auto ok = pki::check_ca_fingerprint(res->body, *pin); !ok) {
      return make_error(Errc::io, "refusing the server: " + ok.error().message, o.server);
    }
    X509_STORE* store = store_of(res->body);
    if (store == nullptr) return make_error(Errc::io, "unreadable CA from the server", o.server);
    cli.set_ca_cert_store(store);
  } else if (!o.ca.empty()) {
    cli.set_ca_cert_path(o.ca);
  }
  cli.enable_server_certificate_verification(true);
  cli.set_bearer_token_auth(o.token);
  return ApiClient(std::move(impl));
}

Result<HttpAnswer> ApiClient::request(const std::string& method, const std::string& path,
                                      const std::string& json_body) {
  auto& cli = *impl_->client;
  httplib::Result res = [&] {
    if (method == "GET") return cli.Get(path);
    if (method == "DELETE") return cli.Delete(path);
    if (method == "PUT") return cli.Put(path, json_body, "application/json");
    return cli.Post(path, json_body, "application/json");
  }();
  if (!res) {
    return make_error(Errc::io,
                      "cannot reach the server: " +
                          describe(res.error(), cli.get_openssl_verify_result()),
                      impl_->server);
  }
  return HttpAnswer{res->status, res->body};
}

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int report_http_error(const HttpAnswer& answer) {
  std::string message = "HTTP " + std::to_string(answer.status);
  const auto doc = nlohmann::json::parse(answer.body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const auto& e = doc["error"];
    const auto text = [&](const char* k) {
      return e.contains(k) && e[k].is_string() ? e[k].get<std::string>() : std::string();
    };
    message += " " + text("code") + ": " + text("message");
    if (!text("field").empty()) message += " (field " + text("field") + ")";
  }
  std::cerr << "patchflow: error: " << message << "\n";
  if (answer.status == 401 || answer.status == 403) return kExitUnreachable;
  if (answer.status >= 400 && answer.status < 500) return kExitUsage;
  return kExitInternal;
}

int report_client_error(const Error& error) {
  std::cerr << "patchflow: error: " << to_string(error) << "\n";
  return error.code == Errc::io ? kExitUnreachable : kExitUsage;
}

}  // namespace pf::cli
