// SPDX-License-Identifier: Apache-2.0
// Mutual TLS on loopback with the certificates libs/pki makes: cpp-httplib's SSLServer with the
// server certificate, requiring client certificates issued by the CA; agents with a signed
// certificate, without one, with one from another CA or expired; the agent's check of the
// server; pinning the CA by fingerprint before trusting it; and a raw OpenSSL client to see
// the handshake itself fail.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "patchflow/pki/certs.hpp"
#include "patchflow/pki/files.hpp"
#include "patchflow/testing/temp_dir.hpp"

namespace pki = pf::pki;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

class TempDir : public pf::testing::TempDir {
 public:
  TempDir() : pf::testing::TempDir("pf-tls") {}
};

template <class T>
T must(pf::Result<T> r) {
  if (!r) throw std::runtime_error(pf::to_string(r.error()));
  return std::move(*r);
}

void must(pf::Result<void> r) {
  if (!r) throw std::runtime_error(pf::to_string(r.error()));
}

// One HTTPS server on 127.0.0.1, on its own thread, stopped and joined at the end.
class TlsServer {
 public:
  /// `client_ca_file` empty: no client certificate asked for (the enrollment listener).
  TlsServer(const fs::path& cert_file, const fs::path& key_file, const fs::path& client_ca_file)
      : server_(cert_file.c_str(), key_file.c_str(),
                client_ca_file.empty() ? nullptr : client_ca_file.c_str()) {
    if (!server_.is_valid()) throw std::runtime_error("SSLServer could not load its files");
    server_.Get("/agent/v1/whoami", [this](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      // The server identifies the agent by its certificate: CN (host id) and fingerprint.
      X509* peer = req.ssl != nullptr ? SSL_get1_peer_certificate(req.ssl) : nullptr;
      if (peer == nullptr) {
        res.set_content("anonymous", "text/plain");
        return;
      }
      unsigned char* der = nullptr;
      const int n = i2d_X509(peer, &der);
      X509_free(peer);
      const std::string bytes(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
      OPENSSL_free(der);
      auto info = pki::certificate_info(pki::certificate_pem_from_der(bytes).value());
      res.set_content(info->subject_cn + " " + pki::fingerprint_sha256_der(bytes), "text/plain");
    });
    server_.Get("/agent/v1/ca", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_content(ca_pem_, "application/x-pem-file");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~TlsServer() {
    server_.stop();
    thread_.join();
  }
  void serve_ca(std::string pem) { ca_pem_ = std::move(pem); }
  int port() const { return port_; }
  int hits() const { return hits_; }

 private:
  httplib::SSLServer server_;
  std::thread thread_;
  int port_{0};
  std::atomic<int> hits_{0};
  std::string ca_pem_;
};

// The server's first start and one enrolled agent, all in files as the programs would keep
// them.
class PkiTls : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto server_dir = tmp_.path() / "server";
    ca_ = must(pki::load_or_create_ca(server_dir, {.common_name = "patchflow TLS test CA"}));
    server_cert_ = must(pki::load_or_create_server_cert(
        server_dir, ca_.pem,
        {.common_name = "localhost", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}}));
    agent_ = enroll(ca_.pem, "host-1", tmp_.path() / "agent");
    server_ = std::make_unique<TlsServer>(server_cert_.cert_file, server_cert_.key_file,
                                          ca_.cert_file);
  }

  struct Agent {
    fs::path cert_file;
    fs::path key_file;
    std::string cert_pem;
  };

  // Agent side makes the key and CSR; server side signs; the agent stores both.
  static Agent enroll(const pki::CertAndKey& ca, const std::string& host_id, const fs::path& dir,
                      std::optional<std::chrono::sys_seconds> now = std::nullopt,
                      int validity_days = 90) {
    fs::create_directories(dir);
    const auto kc = must(pki::make_key_and_csr("agent-asks-for-this"));
    const std::string cert = must(pki::sign_client_csr(
        ca, kc.csr_pem, {.host_id = host_id, .validity_days = validity_days, .now = now}));
    Agent a{dir / "agent.crt", dir / "agent.key", cert};
    must(pki::save_pem(a.key_file, kc.key_pem, pki::kKeyFileMode));
    must(pki::save_pem(a.cert_file, cert, pki::kCertFileMode));
    return a;
  }

  static void short_timeouts(httplib::ClientImpl& cli) {
    cli.set_connection_timeout(5);
    cli.set_read_timeout(5);
    cli.set_write_timeout(5);
  }

  std::unique_ptr<httplib::SSLClient> agent_client(const Agent& a,
                                                   const fs::path& trusted_ca) const {
    auto cli = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port(),
                                                    a.cert_file.string(), a.key_file.string());
    cli->set_ca_cert_path(trusted_ca.c_str());
    cli->enable_server_certificate_verification(true);
    short_timeouts(*cli);
    return cli;
  }

  TempDir tmp_;
  pki::StoredCertificate ca_;
  pki::StoredCertificate server_cert_;
  Agent agent_;
  std::unique_ptr<TlsServer> server_;
};

TEST_F(PkiTls, AgentWithSignedCertificateGets200) {
  auto cli = agent_client(agent_, ca_.cert_file);
  auto res = cli->Get("/agent/v1/whoami");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  // The server sees the host id it chose, not the CN the agent asked for, and the fingerprint
  // it can store for the host.
  EXPECT_EQ(res->body, "host-1 " + pki::fingerprint_sha256(agent_.cert_pem).value());
  EXPECT_EQ(server_->hits(), 1);
}

TEST_F(PkiTls, ClientWithoutCertificateIsRefused) {
  httplib::SSLClient cli("127.0.0.1", server_->port());
  cli.set_ca_cert_path(ca_.cert_file.c_str());
  cli.enable_server_certificate_verification(true);
  short_timeouts(cli);
  auto res = cli.Get("/agent/v1/whoami");
  ASSERT_FALSE(res);
  // The client accepted the server; the refusal came from the server's side.
  EXPECT_NE(res.error(), httplib::Error::SSLServerVerification) << httplib::to_string(res.error());
  EXPECT_EQ(cli.get_openssl_verify_result(), X509_V_OK);
  EXPECT_EQ(server_->hits(), 0);
}

TEST_F(PkiTls, ClientWithCertificateFromAnotherCaIsRefused) {
  const auto other_ca = must(pki::create_ca({.common_name = "patchflow TLS test CA"}));
  const auto stranger = enroll(other_ca, "host-1", tmp_.path() / "stranger");
  auto cli = agent_client(stranger, ca_.cert_file);
  auto res = cli->Get("/agent/v1/whoami");
  ASSERT_FALSE(res);
  EXPECT_NE(res.error(), httplib::Error::SSLServerVerification) << httplib::to_string(res.error());
  EXPECT_EQ(server_->hits(), 0);

  // The same client with a certificate of the right CA gets through (the refusal was the
  // certificate, not the client set-up).
  auto good = agent_client(agent_, ca_.cert_file);
  EXPECT_TRUE(good->Get("/agent/v1/whoami"));
  EXPECT_EQ(server_->hits(), 1);
}

TEST_F(PkiTls, ExpiredClientCertificateIsRefused) {
  const auto past = std::chrono::time_point_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now()) - 48h;
  const auto expired = enroll(ca_.pem, "host-old", tmp_.path() / "old", past, 1);
  auto cli = agent_client(expired, ca_.cert_file);
  EXPECT_FALSE(cli->Get("/agent/v1/whoami"));
  EXPECT_EQ(server_->hits(), 0);
}

TEST_F(PkiTls, AgentVerifiesTheServerAgainstTheCa) {
  // Against another CA the agent refuses the server before sending anything.
  const auto other_ca = must(pki::create_ca({.common_name = "other"}));
  const auto other_ca_file = tmp_.path() / "other-ca.crt";
  must(pki::save_pem(other_ca_file, other_ca.cert_pem, pki::kCertFileMode));
  auto cli = agent_client(agent_, other_ca_file);
  auto res = cli->Get("/agent/v1/whoami");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::SSLServerVerification);
  EXPECT_NE(cli->get_openssl_verify_result(), X509_V_OK);
  EXPECT_EQ(server_->hits(), 0);

  // The right CA but a name the certificate does not carry: refused as well.
  httplib::SSLClient by_name("127.0.0.2", server_->port(), agent_.cert_file.string(),
                             agent_.key_file.string());
  by_name.set_ca_cert_path(ca_.cert_file.c_str());
  by_name.enable_server_certificate_verification(true);
  short_timeouts(by_name);
  auto wrong_name = by_name.Get("/agent/v1/whoami");
  EXPECT_FALSE(wrong_name);
  EXPECT_EQ(server_->hits(), 0);
}

TEST_F(PkiTls, AgentPinsTheCaByFingerprintBeforeTrustingIt) {
  // The enrollment listener asks for no client certificate; the agent does not trust it yet,
  // fetches the CA, and checks it against the fingerprint the operator gave it.
  const std::string pinned = must(pki::ca_fingerprint(ca_.pem.cert_pem));
  TlsServer enrollment(server_cert_.cert_file, server_cert_.key_file, {});
  enrollment.serve_ca(ca_.pem.cert_pem);

  const auto fetch_ca = [](int port) {
    httplib::SSLClient bootstrap("127.0.0.1", port);
    bootstrap.enable_server_certificate_verification(false);
    short_timeouts(bootstrap);
    auto res = bootstrap.Get("/agent/v1/ca");
    if (!res || res->status != 200) throw std::runtime_error("cannot fetch the CA");
    return res->body;
  };
  const std::string fetched = fetch_ca(enrollment.port());
  ASSERT_TRUE(pki::check_ca_fingerprint(fetched, pinned));

  // Trusted now: a verified connection with the fetched CA works.
  const auto trusted = tmp_.path() / "agent" / "ca.crt";
  must(pki::save_pem(trusted, fetched, pki::kCertFileMode));
  httplib::SSLClient verified("127.0.0.1", enrollment.port());
  verified.set_ca_cert_path(trusted.c_str());
  verified.enable_server_certificate_verification(true);
  short_timeouts(verified);
  auto ok = verified.Get("/agent/v1/whoami");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->body, "anonymous");

  // An impostor with its own CA (same names everywhere) serves its CA: the pin catches it.
  const auto evil_dir = tmp_.path() / "evil";
  const auto evil_ca = must(pki::load_or_create_ca(evil_dir, {.common_name = "patchflow TLS test CA"}));
  const auto evil_cert = must(pki::load_or_create_server_cert(
      evil_dir, evil_ca.pem,
      {.common_name = "localhost", .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}}));
  TlsServer impostor(evil_cert.cert_file, evil_cert.key_file, {});
  impostor.serve_ca(evil_ca.pem.cert_pem);
  const std::string evil_fetched = fetch_ca(impostor.port());
  auto caught = pki::check_ca_fingerprint(evil_fetched, pinned);
  ASSERT_FALSE(caught);
  EXPECT_NE(caught.error().message.find(pinned), std::string::npos) << caught.error().message;
  EXPECT_NE(caught.error().message.find("refusing"), std::string::npos);

  // And the impostor cannot pass with the real CA either (it has no certificate from it).
  httplib::SSLClient fooled("127.0.0.1", impostor.port());
  fooled.set_ca_cert_path(trusted.c_str());
  fooled.enable_server_certificate_verification(true);
  short_timeouts(fooled);
  auto refused = fooled.Get("/agent/v1/whoami");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), httplib::Error::SSLServerVerification);
}

// A raw OpenSSL client: with TLS 1.2 the server's refusal of a missing or foreign client
// certificate ends SSL_connect itself; with the right certificate the handshake completes.
class RawTlsClient {
 public:
  RawTlsClient() : ctx_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  ~RawTlsClient() { SSL_CTX_free(ctx_); }
  RawTlsClient(const RawTlsClient&) = delete;
  RawTlsClient& operator=(const RawTlsClient&) = delete;

  void trust(const fs::path& ca) { SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr); }
  void present(const fs::path& cert, const fs::path& key) {
    SSL_CTX_use_certificate_file(ctx_, cert.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM);
  }

  /// True when the handshake with 127.0.0.1:port completes.
  bool handshake(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot connect");
    }
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    const bool ok = SSL_connect(ssl) == 1;
    if (ok) SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
    ::close(fd);
    return ok;
  }

 private:
  SSL_CTX* ctx_;
};

TEST_F(PkiTls, HandshakeItselfFailsWithoutAClientCertificateOfTheCa) {
  RawTlsClient anonymous;
  anonymous.trust(ca_.cert_file);
  EXPECT_FALSE(anonymous.handshake(server_->port()));

  const auto other_ca = must(pki::create_ca({.common_name = "other"}));
  const auto stranger = enroll(other_ca, "host-1", tmp_.path() / "stranger");
  RawTlsClient foreign;
  foreign.trust(ca_.cert_file);
  foreign.present(stranger.cert_file, stranger.key_file);
  EXPECT_FALSE(foreign.handshake(server_->port()));

  RawTlsClient enrolled;
  enrolled.trust(ca_.cert_file);
  enrolled.present(agent_.cert_file, agent_.key_file);
  EXPECT_TRUE(enrolled.handshake(server_->port()));
  EXPECT_EQ(server_->hits(), 0);
}

}  // namespace
