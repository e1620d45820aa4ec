// SPDX-License-Identifier: Apache-2.0
// A real patchflow server started in-process on 127.0.0.1 (a free port) with its state in a
// temporary directory, and TLS clients (cpp-httplib) to talk to it as operators and agents do.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "patchflow/pki/certs.hpp"
#include "patchflow/pki/files.hpp"
#include "patchflow/server/config.hpp"
#include "patchflow/server/server.hpp"

namespace pf::testing::server {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pf-server-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

template <class T>
T must(pf::Result<T> r) {
  if (!r) throw std::runtime_error(pf::to_string(r.error()));
  return std::move(*r);
}

inline void must(pf::Result<void> r) {
  if (!r) throw std::runtime_error(pf::to_string(r.error()));
}

/// Lines a sink received, kept for the test to read.
class Lines {
 public:
  pf::server::LineSink sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    };
  }
  std::string text() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

/// What a request got back: no response at all (a refused handshake), or a status and body.
struct Answer {
  bool responded{false};
  httplib::Error error{httplib::Error::Success};
  int status{0};
  std::string body;
  json doc;  ///< the body parsed, or null
  std::string content_type;
};

inline Answer send(httplib::SSLClient& cli, const std::string& method, const std::string& path,
                   const std::string& body = {}, const std::string& token = {}) {
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result r = [&] {
    if (method == "GET") return cli.Get(path, headers);
    if (method == "DELETE") return cli.Delete(path, headers, body, "application/json");
    if (method == "PUT") return cli.Put(path, headers, body, "application/json");
    if (method == "PATCH") return cli.Patch(path, headers, body, "application/json");
    return cli.Post(path, headers, body, "application/json");
  }();
  Answer a;
  a.error = r.error();
  if (!r) return a;
  a.responded = true;
  a.status = r->status;
  a.body = r->body;
  a.content_type = r->get_header_value("Content-Type");
  a.doc = json::parse(r->body, nullptr, false);
  if (a.doc.is_discarded()) a.doc = nullptr;
  return a;
}

/// An agent's key and certificate files after enrollment.
struct Agent {
  std::string host_id;
  fs::path cert_file;
  fs::path key_file;
  std::string cert_pem;
};

class Harness {
 public:
  /// `edit` may change the config before the start (state_dir and listen are set).
  explicit Harness(const fs::path& dir,
                   const std::function<void(pf::server::Config&)>& edit = {}) : dir_(dir) {
    config_.state_dir = dir / "state";
    config_.listen_host = "127.0.0.1";
    config_.listen_port = 0;
    config_.database = (config_.state_dir / "patchflow.db").string();
    config_.threads = 16;
    if (edit) edit(config_);
    start();
  }

  void start() {
    log_ = std::make_unique<Lines>();
    banner_ = std::make_unique<Lines>();
    server_ = must(pf::server::Server::start(config_, {log_->sink(), banner_->sink()}));
    if (server_->bootstrap().admin_created) admin_token_ = server_->bootstrap().admin_token;
  }
  void stop() { server_.reset(); }
  void restart() {
    stop();
    start();
  }

  pf::server::Server& server() { return *server_; }
  const pf::server::Config& config() const { return config_; }
  int port() const { return server_->port(); }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port()); }
  fs::path ca_file() const { return server_->ca_file(); }
  const std::string& admin_token() const { return admin_token_; }
  std::string log() const { return log_->text(); }
  std::string banner() const { return banner_->text(); }
  fs::path database() const { return config_.database; }

  /// A client that verifies the server against its CA; with an agent's certificate when given.
  std::unique_ptr<httplib::SSLClient> client(const Agent* agent = nullptr) const {
    auto cli = agent == nullptr
                   ? std::make_unique<httplib::SSLClient>("127.0.0.1", port())
                   : std::make_unique<httplib::SSLClient>("127.0.0.1", port(),
                                                          agent->cert_file.string(),
                                                          agent->key_file.string());
    cli->set_ca_cert_path(ca_file().c_str());
    cli->enable_server_certificate_verification(true);
    cli->set_tcp_nodelay(true);
    cli->set_connection_timeout(10);
    cli->set_read_timeout(30);
    cli->set_write_timeout(30);
    return cli;
  }

  /// One API call with a token (the admin's unless given).
  Answer api(const std::string& method, const std::string& path, const json& body = nullptr,
             std::string token = "") const {
    auto cli = client();
    if (token.empty()) token = admin_token_;
    return send(*cli, method, path, body.is_null() ? std::string() : body.dump(), token);
  }

  /// A new enrollment token from the API.
  std::string enrollment_token(const json& labels = json::object(),
                               const std::string& expires_in = "1h") const {
    auto a = api("POST", "/api/v1/enrollment-tokens",
                 {{"expires_in", expires_in}, {"labels", labels}});
    if (a.status != 201) throw std::runtime_error("enrollment token: " + a.body);
    return a.doc["token"].get<std::string>();
  }

  static json facts(const std::string& hostname = "web-1.example.org") {
    return {{"os", {{"id", "debian"}, {"version_id", "12"}, {"ecosystem", "Debian:12"}}},
            {"kernel", {{"release", "6.1.0-18-amd64"}, {"version", "#1 SMP"}}},
            {"arch", "x86_64"},
            {"hostname", hostname},
            {"boot_id", "0b3c1f0e-1d2a-4c55-9a77-1e2f3a4b5c6d"},
            {"reboot", {{"required", false}, {"reasons", json::array()}}}};
  }

  /// Enrolls as an agent does: key and CSR made here, the CSR and token sent; the answer's
  /// certificate stored beside the key. Fails the test on anything but 201.
  Agent enroll(const std::string& token, const std::string& hostname = "web-1.example.org",
               Answer* answer = nullptr) const {
    const auto kc = must(pf::pki::make_key_and_csr("agent-wants-this-cn"));
    auto cli = client();
    Answer a = send(*cli, "POST", "/agent/v1/enroll",
                    json{{"token", token},
                         {"csr_pem", kc.csr_pem},
                         {"hostname", hostname},
                         {"facts", facts(hostname)}}
                        .dump());
    if (answer != nullptr) *answer = a;
    if (a.status != 201) throw std::runtime_error("enroll: HTTP " + std::to_string(a.status) +
                                                  " " + a.body);
    Agent agent;
    agent.host_id = a.doc["host_id"].get<std::string>();
    agent.cert_pem = a.doc["cert_pem"].get<std::string>();
    const fs::path d = dir_ / ("agent-" + agent.host_id);
    fs::create_directories(d);
    agent.cert_file = d / "agent.crt";
    agent.key_file = d / "agent.key";
    must(pf::pki::save_pem(agent.key_file, kc.key_pem, pf::pki::kKeyFileMode));
    must(pf::pki::save_pem(agent.cert_file, agent.cert_pem, pf::pki::kCertFileMode));
    return agent;
  }

 private:
  fs::path dir_;
  pf::server::Config config_;
  std::unique_ptr<Lines> log_;
  std::unique_ptr<Lines> banner_;
  std::unique_ptr<pf::server::Server> server_;
  std::string admin_token_;
};

}  // namespace pf::testing::server
