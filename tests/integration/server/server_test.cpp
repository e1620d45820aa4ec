// SPDX-License-Identifier: Apache-2.0
// patchflow server end to end, in-process on 127.0.0.1 with real TLS, a real SQLite store and
// real certificates: first start and restart, enrollment, check-ins and inventories, mTLS
// refusals, revocation, renewal, errors, users and API tokens, audit, metrics.
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "patchflow/auth/token.hpp"
#include "server_harness.hpp"

namespace {

using namespace pf::testing::server;
namespace pki = pf::pki;
using namespace std::chrono_literals;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json inventory_doc(const std::string& hash) {
  return {{"hash", hash},
          {"packages",
           {{{"name", "openssl"},
             {"arch", "amd64"},
             {"version", "3.0.11-1~deb12u1"},
             {"source", "openssl"},
             {"source_version", "3.0.11-1~deb12u1"}},
            {{"name", "bash"}, {"arch", "amd64"}, {"version", "5.2.15-2+b2"}}}},
          {"updates",
           {{{"name", "openssl"},
             {"arch", "amd64"},
             {"installed", "3.0.11-1~deb12u1"},
             {"candidate", "3.0.11-1~deb12u2"},
             {"origin", "Debian-Security"},
             {"security", true},
             {"advisories", {"DSA-5532-1"}},
             {"held_back", false},
             {"held_reason", ""}}}}};
}

class ServerTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(ServerTest, FirstStartCreatesKeysAndPrintsTheAdminTokenOnce) {
  Harness h(tmp_.path());
  const fs::path state = h.config().state_dir;
  for (const char* key : {"ca.key", "server.key", "signing.key"}) {
    EXPECT_EQ(mode_of(state / key), 0600u) << key;
  }
  for (const char* cert : {"ca.crt", "server.crt"}) {
    EXPECT_TRUE(fs::is_regular_file(state / cert)) << cert;
  }
  EXPECT_EQ(mode_of(state), 0700u);
  const auto& report = h.server().bootstrap();
  EXPECT_TRUE(report.ca_created && report.server_cert_created && report.signing_key_created);
  ASSERT_TRUE(report.admin_created);
  ASSERT_EQ(pf::auth::parse_token(h.admin_token()).value(), pf::auth::TokenKind::api);
  // Printed once, in a banner, and only its hash stored.
  const std::string banner = h.banner();
  EXPECT_NE(banner.find(h.admin_token()), std::string::npos) << banner;
  EXPECT_NE(banner.find("ONCE"), std::string::npos) << banner;
  EXPECT_EQ(h.log().find(h.admin_token()), std::string::npos) << "the log never holds the token";
  EXPECT_EQ(read_file(h.database()).find(h.admin_token()), std::string::npos);
  auto me = h.api("GET", "/api/v1/whoami");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.doc["user"], "admin");
  EXPECT_EQ(me.doc["role"], "admin");
  // The bootstrap is audited.
  auto audit = h.api("GET", "/api/v1/audit");
  ASSERT_EQ(audit.status, 200);
  ASSERT_GE(audit.doc["entries"].size(), 2u);
  EXPECT_EQ(audit.doc["entries"][0]["action"], "user.create");
  EXPECT_EQ(audit.doc["entries"][0]["actor"], "system");
  EXPECT_EQ(audit.doc["entries"][1]["action"], "api_token.create");

  const std::string ca_before = read_file(state / "ca.crt");
  const std::string server_before = read_file(state / "server.crt");
  const std::string signing_before = read_file(state / "signing.key");
  const std::string fingerprint = h.server().ca_fingerprint();
  h.restart();
  EXPECT_FALSE(h.server().bootstrap().admin_created);
  EXPECT_FALSE(h.server().bootstrap().ca_created);
  EXPECT_FALSE(h.server().bootstrap().server_cert_created);
  EXPECT_FALSE(h.server().bootstrap().signing_key_created);
  EXPECT_EQ(h.banner(), "") << "no second token on a restart";
  EXPECT_EQ(read_file(state / "ca.crt"), ca_before);
  EXPECT_EQ(read_file(state / "server.crt"), server_before);
  EXPECT_EQ(read_file(state / "signing.key"), signing_before);
  EXPECT_EQ(h.server().ca_fingerprint(), fingerprint);
  EXPECT_EQ(h.api("GET", "/api/v1/whoami").status, 200) << "the first token still works";
}

TEST_F(ServerTest, EnrollCheckInInventoryEndToEnd) {
  Harness h(tmp_.path());
  const std::string token = h.enrollment_token({{"tier", "web"}, {"env", "prod"}});
  Answer enrolled;
  const Agent agent = h.enroll(token, "web-1.example.org", &enrolled);
  // The server chose the host id and put it into the certificate.
  const auto info = must(pki::certificate_info(agent.cert_pem));
  EXPECT_EQ(info.subject_cn, agent.host_id);
  EXPECT_TRUE(info.client_auth);
  EXPECT_TRUE(agent.host_id.starts_with("h_"));
  EXPECT_EQ(enrolled.doc["ca_pem"], read_file(h.ca_file()));
  EXPECT_EQ(enrolled.doc["checkin_interval_s"], 60);
  EXPECT_NE(enrolled.doc["signing_public_key_pem"].get<std::string>().find("BEGIN PUBLIC KEY"),
            std::string::npos);
  ASSERT_TRUE(pki::verify_chain(agent.cert_pem, read_file(h.ca_file()),
                                std::chrono::time_point_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now()),
                                pki::Purpose::client));

  auto cli = h.client(&agent);
  const json checkin = {{"facts", Harness::facts()}, {"inventory_hash", "sha256:aaa"}};
  auto first = send(*cli, "POST", "/agent/v1/checkin", checkin.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.doc["inventory_needed"], true);
  EXPECT_TRUE(first.doc["work"].is_array() && first.doc["work"].empty());
  const auto next = first.doc["next_checkin_s"].get<int>();
  EXPECT_GE(next, 54);
  EXPECT_LE(next, 66);

  auto put = send(*cli, "PUT", "/agent/v1/inventory", inventory_doc("sha256:aaa").dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.doc["stored"], true);
  auto again = send(*cli, "PUT", "/agent/v1/inventory", inventory_doc("sha256:aaa").dump());
  EXPECT_EQ(again.doc["stored"], false) << "an unchanged inventory writes nothing";

  auto second = send(*cli, "POST", "/agent/v1/checkin", checkin.dump());
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.doc["inventory_needed"], false);
  json changed = checkin;
  changed["inventory_hash"] = "sha256:bbb";
  changed["facts"]["reboot"] = {{"required", true}, {"reasons", {"linux-image-6.1.0-19"}}};
  auto third = send(*cli, "POST", "/agent/v1/checkin", changed.dump());
  EXPECT_EQ(third.doc["inventory_needed"], true);

  auto host = h.api("GET", "/api/v1/hosts/" + agent.host_id);
  ASSERT_EQ(host.status, 200) << host.body;
  EXPECT_EQ(host.doc["id"], agent.host_id);
  EXPECT_EQ(host.doc["name"], "web-1.example.org");
  EXPECT_EQ(host.doc["labels"], (json{{"env", "prod"}, {"tier", "web"}}));
  EXPECT_EQ(host.doc["ecosystem"], "Debian:12");
  EXPECT_EQ(host.doc["kernel_release"], "6.1.0-18-amd64");
  EXPECT_EQ(host.doc["reboot"]["required"], true);
  EXPECT_EQ(host.doc["reboot"]["reasons"], json::array({"linux-image-6.1.0-19"}));
  EXPECT_TRUE(std::regex_match(host.doc["last_seen"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << host.doc["last_seen"];
  ASSERT_EQ(host.doc["packages"].size(), 2u);
  EXPECT_EQ(host.doc["packages"][0]["name"], "openssl");
  EXPECT_EQ(host.doc["packages"][0]["source_version"], "3.0.11-1~deb12u1");
  ASSERT_EQ(host.doc["updates"].size(), 1u);
  EXPECT_EQ(host.doc["updates"][0]["candidate_version"], "3.0.11-1~deb12u2");
  EXPECT_EQ(host.doc["updates"][0]["security"], true);
  EXPECT_EQ(host.doc["updates"][0]["advisories"], json::array({"DSA-5532-1"}));
  EXPECT_EQ(host.doc["certificate"]["fingerprint"], info.fingerprint);

  // Listing: by label, ecosystem, name prefix; label values may hold '=' once %-encoded.
  auto list = h.api("GET", "/api/v1/hosts?label=tier=web&ecosystem=Debian:12&name_prefix=web");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.doc["hosts"].size(), 1u);
  EXPECT_EQ(list.doc["hosts"][0]["id"], agent.host_id);
  EXPECT_EQ(h.api("GET", "/api/v1/hosts?label=tier%3Ddb").doc["hosts"].size(), 0u);
  EXPECT_EQ(h.api("GET", "/api/v1/hosts?name_prefix=db").doc["hosts"].size(), 0u);

  // The token was consumed: a second enrollment with it is refused, and says why.
  const auto kc = must(pki::make_key_and_csr("x"));
  auto reuse = send(*h.client(), "POST", "/agent/v1/enroll",
                    json{{"token", token}, {"csr_pem", kc.csr_pem}, {"hostname", "web-2"}}.dump());
  EXPECT_EQ(reuse.status, 401);
  EXPECT_EQ(reuse.doc["error"]["code"], "unauthenticated");
  EXPECT_NE(reuse.doc["error"]["message"].get<std::string>().find("already used"),
            std::string::npos);
  auto tokens = h.api("GET", "/api/v1/enrollment-tokens");
  ASSERT_EQ(tokens.doc["enrollment_tokens"].size(), 1u);
  EXPECT_EQ(tokens.doc["enrollment_tokens"][0]["state"], "used");
  EXPECT_EQ(tokens.doc["enrollment_tokens"][0]["used_by_host"], agent.host_id);
  EXPECT_EQ(tokens.body.find(token), std::string::npos) << "listings never show secrets";
}

TEST_F(ServerTest, EnrollmentRefusesExpiredTokensAndBadCsrsWithoutConsumingTheToken) {
  Harness h(tmp_.path());
  const std::string short_lived = h.enrollment_token({}, "1s");
  const std::string good = h.enrollment_token();
  std::this_thread::sleep_for(2100ms);
  const auto kc = must(pki::make_key_and_csr("x"));
  auto cli = h.client();
  auto expired = send(*cli, "POST", "/agent/v1/enroll",
                      json{{"token", short_lived}, {"csr_pem", kc.csr_pem}, {"hostname", "a"}}.dump());
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.doc["error"]["message"].get<std::string>().find("expired"), std::string::npos);

  auto bad_csr = send(*cli, "POST", "/agent/v1/enroll",
                      json{{"token", good}, {"csr_pem", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                                        "-----END CERTIFICATE REQUEST-----\n"},
                           {"hostname", "a"}}
                          .dump());
  EXPECT_EQ(bad_csr.status, 400);
  EXPECT_EQ(bad_csr.doc["error"]["field"], "csr_pem");
  auto unknown = send(*cli, "POST", "/agent/v1/enroll",
                      json{{"token", must(pf::auth::generate_token(pf::auth::TokenKind::enrollment))},
                           {"csr_pem", kc.csr_pem},
                           {"hostname", "a"}}
                          .dump());
  EXPECT_EQ(unknown.status, 401);
  auto api_token_instead = send(*cli, "POST", "/agent/v1/enroll",
                                json{{"token", h.admin_token()}, {"csr_pem", kc.csr_pem},
                                     {"hostname", "a"}}
                                    .dump());
  EXPECT_EQ(api_token_instead.status, 401);
  // The bad CSR did not cost the token.
  EXPECT_NO_THROW(h.enroll(good, "after-bad-csr"));
  EXPECT_EQ(h.api("GET", "/api/v1/hosts").doc["hosts"].size(), 1u);
}

TEST_F(ServerTest, RevokedHostIsRefusedAtOnceAndForeignOrMissingCertificatesToo) {
  Harness h(tmp_.path());
  const Agent agent = h.enroll(h.enrollment_token());
  auto cli = h.client(&agent);
  const std::string body = json{{"facts", Harness::facts()}, {"inventory_hash", "x"}}.dump();
  ASSERT_EQ(send(*cli, "POST", "/agent/v1/checkin", body).status, 200);

  auto revoke = h.api("DELETE", "/api/v1/hosts/" + agent.host_id);
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  // The same client (a kept-alive connection): refused at the next request.
  auto refused = send(*cli, "POST", "/agent/v1/checkin", body);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.doc["error"]["code"], "forbidden");
  EXPECT_EQ(send(*h.client(&agent), "PUT", "/agent/v1/inventory", inventory_doc("y").dump()).status,
            403);
  EXPECT_EQ(h.api("DELETE", "/api/v1/hosts/" + agent.host_id).status, 409);
  EXPECT_EQ(h.api("GET", "/api/v1/hosts").doc["hosts"].size(), 0u);
  EXPECT_EQ(h.api("GET", "/api/v1/hosts?include_revoked=true").doc["hosts"].size(), 1u);

  // A certificate of another CA (same host id): the handshake fails, nothing is answered.
  const auto other_ca = must(pki::create_ca({.common_name = "patchflow CA"}));
  const auto kc = must(pki::make_key_and_csr("x"));
  Agent stranger{agent.host_id, tmp_.path() / "stranger.crt", tmp_.path() / "stranger.key",
                 must(pki::sign_client_csr(other_ca, kc.csr_pem, {.host_id = agent.host_id}))};
  must(pki::save_pem(stranger.key_file, kc.key_pem, pki::kKeyFileMode));
  must(pki::save_pem(stranger.cert_file, stranger.cert_pem, pki::kCertFileMode));
  auto foreign = send(*h.client(&stranger), "POST", "/agent/v1/checkin", body);
  EXPECT_FALSE(foreign.responded);
  EXPECT_NE(foreign.error, httplib::Error::SSLServerVerification)
      << "the client trusted the server; the server refused the client";

  // No certificate: the TLS connection is fine, the agent route says 401.
  auto anonymous = send(*h.client(), "POST", "/agent/v1/checkin", body);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.doc["error"]["code"], "unauthenticated");
  // An API token is no substitute for a client certificate.
  EXPECT_EQ(send(*h.client(), "POST", "/agent/v1/checkin", body, h.admin_token()).status, 401);
}

TEST_F(ServerTest, RenewalReplacesTheCertificate) {
  Harness h(tmp_.path());
  Agent agent = h.enroll(h.enrollment_token());
  const auto kc = must(pki::make_key_and_csr("renew"));
  auto renewed = send(*h.client(&agent), "POST", "/agent/v1/renew",
                      json{{"csr_pem", kc.csr_pem}}.dump());
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  const std::string cert = renewed.doc["cert_pem"];
  EXPECT_EQ(must(pki::certificate_info(cert)).subject_cn, agent.host_id);
  const std::string body = json{{"facts", Harness::facts()}}.dump();
  // The old certificate no longer names the host.
  EXPECT_EQ(send(*h.client(&agent), "POST", "/agent/v1/checkin", body).status, 401);
  Agent next{agent.host_id, tmp_.path() / "next.crt", tmp_.path() / "next.key", cert};
  must(pki::save_pem(next.key_file, kc.key_pem, pki::kKeyFileMode));
  must(pki::save_pem(next.cert_file, cert, pki::kCertFileMode));
  EXPECT_EQ(send(*h.client(&next), "POST", "/agent/v1/checkin", body).status, 200);
  EXPECT_EQ(h.api("GET", "/api/v1/hosts/" + agent.host_id).doc["certificate"]["fingerprint"],
            must(pki::fingerprint_sha256(cert)));
}

TEST_F(ServerTest, ErrorsAreJsonDocumentsWithTheRightStatus) {
  Harness h(tmp_.path(), [](pf::server::Config& c) { c.max_body_bytes = 64 * 1024; });
  auto cli = h.client();
  const auto expect_error = [](const Answer& a, int status, const std::string& code,
                               const std::string& field) {
    EXPECT_EQ(a.status, status) << a.body;
    ASSERT_TRUE(a.doc.is_object()) << a.body;
    EXPECT_EQ(a.doc["error"]["code"], code) << a.body;
    EXPECT_TRUE(a.doc["error"]["message"].is_string() && !a.doc["error"]["message"].empty());
    EXPECT_EQ(a.doc["error"]["field"], field) << a.body;
    EXPECT_EQ(a.content_type, "application/json");
  };
  const std::string token = h.admin_token();
  auto malformed = send(*cli, "POST", "/api/v1/enrollment-tokens", "{\"expires_in\": ", token);
  expect_error(malformed, 400, "invalid_request", "body");
  EXPECT_NE(malformed.doc["error"]["message"].get<std::string>().find("malformed JSON"),
            std::string::npos);
  expect_error(send(*cli, "POST", "/api/v1/enrollment-tokens", "[1,2]", token), 400,
               "invalid_request", "body");
  expect_error(send(*cli, "POST", "/api/v1/enrollment-tokens", std::string(100, '[') +
                                                                   std::string(100, ']'),
                    token),
               400, "invalid_request", "body");
  expect_error(send(*cli, "POST", "/api/v1/enrollment-tokens", R"({"expires":"1h"})", token),
               400, "invalid_request", "expires");
  expect_error(send(*cli, "POST", "/api/v1/enrollment-tokens", R"({"expires_in":"1 hour"})", token),
               400, "invalid_request", "expires_in");
  expect_error(send(*cli, "POST", "/api/v1/enrollment-tokens",
                    R"({"labels":{"Tier!":"web"}})", token),
               400, "invalid_request", "labels.Tier!");
  expect_error(send(*cli, "GET", "/api/v1/hosts?limit=0", "", token), 400, "invalid_request",
               "limit");
  const std::string big = json{{"labels", {{"k", std::string(100 * 1024, 'a')}}}}.dump();
  expect_error(send(*cli, "POST", "/api/v1/enrollment-tokens", big, token), 413,
               "payload_too_large", "body");
  expect_error(send(*h.client(), "GET", "/api/v1/nothing-here", "", token), 404, "not_found", "");
  expect_error(send(*h.client(), "GET", "/no/such/route"), 404, "not_found", "");
  auto wrong_method = send(*h.client(), "PATCH", "/api/v1/hosts", "{}", token);
  expect_error(wrong_method, 405, "method_not_allowed", "");
  expect_error(send(*h.client(), "GET", "/api/v1/hosts/h_missing", "", token), 404, "not_found",
               "id");
  auto unauth = send(*h.client(), "GET", "/api/v1/hosts");
  expect_error(unauth, 401, "unauthenticated", "");
  // Every answer carries a request id, and the access log names it.
  auto r = h.client()->Get("/healthz");
  ASSERT_TRUE(r);
  const std::string id = r->get_header_value("X-Request-Id");
  EXPECT_EQ(id.size(), 16u);
  std::this_thread::sleep_for(50ms);
  EXPECT_NE(h.log().find("request_id=" + id), std::string::npos) << h.log();
}

TEST_F(ServerTest, JsonLogLinesAreJsonObjects) {
  Harness h(tmp_.path(), [](pf::server::Config& c) { c.log_format = pf::server::LogFormat::json; });
  ASSERT_EQ(h.api("GET", "/api/v1/hosts").status, 200);
  ASSERT_EQ(send(*h.client(), "GET", "/api/v1/hosts").status, 401);
  std::this_thread::sleep_for(50ms);
  std::istringstream lines(h.log());
  std::string line;
  int requests = 0;
  while (std::getline(lines, line)) {
    const json doc = json::parse(line, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << line;
    EXPECT_TRUE(doc["ts"].is_string() && doc["level"].is_string() && doc["msg"].is_string())
        << line;
    if (doc["msg"] == "request") {
      ++requests;
      EXPECT_EQ(doc["route"], "/api/v1/hosts") << line;
      EXPECT_TRUE(doc["status"] == 200 || doc["status"] == 401) << line;
      EXPECT_TRUE(doc["duration_ms"].is_number()) << line;
      EXPECT_EQ(doc["request_id"].get<std::string>().size(), 16u) << line;
    }
  }
  EXPECT_EQ(requests, 2) << h.log();
}

TEST_F(ServerTest, UsersAndApiTokensFollowTheirRoles) {
  Harness h(tmp_.path());
  auto created = h.api("POST", "/api/v1/users", {{"name", "olga"}, {"role", "operator"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.doc["has_password"], false);
  EXPECT_EQ(h.api("POST", "/api/v1/users", {{"name", "olga"}, {"role", "viewer"}}).status, 409);
  EXPECT_EQ(h.api("POST", "/api/v1/users", {{"name", "x"}, {"role", "root"}}).doc["error"]["field"],
            "role");
  // A token may not exceed its user's role.
  auto too_much = h.api("POST", "/api/v1/api-tokens", {{"user", "olga"}, {"role", "admin"}});
  EXPECT_EQ(too_much.status, 400);
  EXPECT_EQ(too_much.doc["error"]["field"], "role");
  EXPECT_EQ(h.api("POST", "/api/v1/api-tokens", {{"user", "olga"}, {"role", "approver"}}).status,
            400);
  auto tok = h.api("POST", "/api/v1/api-tokens", {{"user", "olga"}, {"expires_in", "1d"}});
  ASSERT_EQ(tok.status, 201) << tok.body;
  EXPECT_EQ(tok.doc["role"], "operator");
  const std::string olga = tok.doc["token"];
  EXPECT_EQ(h.api("GET", "/api/v1/whoami", nullptr, olga).doc["role"], "operator");
  EXPECT_EQ(h.api("POST", "/api/v1/enrollment-tokens", json::object(), olga).status, 201);
  EXPECT_EQ(h.api("GET", "/api/v1/users", nullptr, olga).status, 403);

  // Demoting the user demotes the token (the lesser of the two roles counts).
  ASSERT_EQ(h.api("PUT", "/api/v1/users/olga", {{"role", "viewer"}}).status, 200);
  EXPECT_EQ(h.api("GET", "/api/v1/whoami", nullptr, olga).doc["role"], "viewer");
  EXPECT_EQ(h.api("POST", "/api/v1/enrollment-tokens", json::object(), olga).status, 403);
  // Disabling the user disables the token.
  ASSERT_EQ(h.api("PUT", "/api/v1/users/olga", {{"disabled", true}}).status, 200);
  EXPECT_EQ(h.api("GET", "/api/v1/whoami", nullptr, olga).status, 401);
  ASSERT_EQ(h.api("PUT", "/api/v1/users/olga", {{"disabled", false}}).status, 200);
  EXPECT_EQ(h.api("GET", "/api/v1/whoami", nullptr, olga).status, 200);
  // Revoking the token.
  const std::string id = tok.doc["token_id"];
  ASSERT_EQ(h.api("DELETE", "/api/v1/api-tokens/" + id).status, 200);
  EXPECT_EQ(h.api("GET", "/api/v1/whoami", nullptr, olga).status, 401);
  EXPECT_EQ(h.api("DELETE", "/api/v1/api-tokens/" + id).status, 409);
  auto listed = h.api("GET", "/api/v1/api-tokens?user=olga");
  ASSERT_EQ(listed.doc["api_tokens"].size(), 1u);
  EXPECT_EQ(listed.doc["api_tokens"][0]["state"], "revoked");
  EXPECT_EQ(listed.body.find(olga), std::string::npos);

  // The last enabled admin cannot be demoted or disabled.
  auto demote = h.api("PUT", "/api/v1/users/admin", {{"role", "operator"}});
  EXPECT_EQ(demote.status, 409) << demote.body;
  EXPECT_EQ(h.api("PUT", "/api/v1/users/admin", {{"disabled", true}}).status, 409);
  EXPECT_EQ(h.api("GET", "/api/v1/whoami").doc["role"], "admin");
  // A password follows the policy, and only whether there is one is shown.
  EXPECT_EQ(h.api("PUT", "/api/v1/users/olga", {{"password", "short"}}).doc["error"]["field"],
            "password");
  auto pw = h.api("PUT", "/api/v1/users/olga", {{"password", "a long enough passphrase"}});
  ASSERT_EQ(pw.status, 200) << pw.body;
  EXPECT_EQ(pw.doc["has_password"], true);
  auto users = h.api("GET", "/api/v1/users");
  EXPECT_EQ(users.body.find("argon2"), std::string::npos);
  EXPECT_EQ(h.api("PUT", "/api/v1/users/nobody", {{"disabled", true}}).status, 404);
}

TEST_F(ServerTest, EveryChangeIsAuditedAndTheChainVerifies) {
  Harness h(tmp_.path());
  const Agent agent = h.enroll(h.enrollment_token({{"tier", "web"}}));
  ASSERT_EQ(h.api("PUT", "/api/v1/hosts/" + agent.host_id + "/labels",
                  {{"labels", {{"tier", "db"}}}})
                .status,
            200);
  ASSERT_EQ(h.api("POST", "/api/v1/users", {{"name", "vera"}, {"role", "viewer"}}).status, 201);
  ASSERT_EQ(h.api("DELETE", "/api/v1/hosts/" + agent.host_id).status, 200);

  auto page1 = h.api("GET", "/api/v1/audit?limit=3");
  ASSERT_EQ(page1.status, 200);
  ASSERT_EQ(page1.doc["entries"].size(), 3u);
  const std::string cursor = page1.doc["next_cursor"];
  ASSERT_FALSE(cursor.empty());
  auto page2 = h.api("GET", "/api/v1/audit?limit=100&cursor=" + cursor);
  ASSERT_EQ(page2.status, 200);
  EXPECT_EQ(page2.doc["next_cursor"], "");
  std::vector<std::string> actions;
  for (const auto* page : {&page1, &page2}) {
    for (const auto& e : page->doc["entries"]) actions.push_back(e["action"]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"user.create", "api_token.create",
                                                "enrollment_token.create", "host.enroll",
                                                "host.set_labels", "user.create", "host.revoke"}));
  const json labels = page2.doc["entries"][1];
  EXPECT_EQ(labels["actor"], "admin");
  EXPECT_EQ(labels["target"], agent.host_id);
  EXPECT_EQ(labels["before"], (json{{"labels", {{"tier", "web"}}}}));
  EXPECT_EQ(labels["after"], (json{{"labels", {{"tier", "db"}}}}));
  EXPECT_TRUE(labels["seq"].is_string()) << "ids are strings";

  auto verify = h.api("POST", "/api/v1/audit/verify");
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_EQ(verify.doc["ok"], true);
  EXPECT_EQ(verify.doc["entries_checked"], 7);
  EXPECT_EQ(verify.doc["head"]["seq"], "7");
  EXPECT_NE(h.log().find("head_hash="), std::string::npos) << "the head is copied to the log";
}

TEST_F(ServerTest, MetricsCountCheckInsAndParseAsPrometheusText) {
  Harness h(tmp_.path());
  const Agent agent = h.enroll(h.enrollment_token());
  auto cli = h.client(&agent);
  const std::string body = json{{"facts", Harness::facts()}}.dump();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(send(*cli, "POST", "/agent/v1/checkin", body).status, 200);
  auto ready = send(*h.client(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.doc["status"], "ready");
  auto m = send(*h.client(), "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u) << m.content_type;
  // Every line: a comment (# HELP / # TYPE) or "name{labels} value".
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+(Inf)?$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::istringstream lines(m.body);
  std::string line;
  std::map<std::string, std::string> values;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(std::regex_match(line, sample) || std::regex_match(line, comment)) << line;
    if (line[0] != '#') values[line.substr(0, line.rfind(' '))] = line.substr(line.rfind(' ') + 1);
  }
  EXPECT_EQ(values["patchflow_checkins_total"], "5");
  EXPECT_EQ(values["patchflow_enrollments_total"], "1");
  EXPECT_EQ(values["patchflow_store_errors_total"], "0");
  EXPECT_EQ(values["patchflow_api_requests_total{route=\"/agent/v1/checkin\",code=\"200\"}"], "5");
  EXPECT_EQ(values["patchflow_api_request_duration_seconds_count{route=\"/agent/v1/checkin\"}"],
            "5");
  EXPECT_EQ(values["patchflow_api_request_duration_seconds_bucket{route=\"/agent/v1/checkin\","
                   "le=\"+Inf\"}"],
            "5");
}

TEST_F(ServerTest, ConcurrentCheckInsAreGroupCommitted) {
  Harness h(tmp_.path(), [](pf::server::Config& c) { c.threads = 32; });
  constexpr int kAgents = 16;
  constexpr int kEach = 40;
  std::vector<Agent> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.push_back(h.enroll(h.enrollment_token(), "host-" + std::to_string(i)));
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kAgents; ++i) {
    threads.emplace_back([&, i] {
      auto cli = h.client(&agents[static_cast<std::size_t>(i)]);
      cli->set_keep_alive(true);
      json body = {{"facts", Harness::facts("host-" + std::to_string(i))}};
      for (int n = 0; n < kEach; ++n) {
        body["facts"]["boot_id"] = "boot-" + std::to_string(n);
        if (send(*cli, "POST", "/agent/v1/checkin", body.dump()).status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(ok, kAgents * kEach);
  auto m = send(*h.client(), "GET", "/metrics").body;
  std::smatch checkins;
  std::smatch batches;
  ASSERT_TRUE(std::regex_search(m, checkins, std::regex(R"(\npatchflow_checkins_total (\d+))")));
  ASSERT_TRUE(
      std::regex_search(m, batches, std::regex(R"(\npatchflow_checkin_batches_total (\d+))")));
  EXPECT_EQ(std::stoi(checkins[1]), kAgents * kEach);
  // Grouped: far fewer commits than check-ins.
  EXPECT_LT(std::stoi(batches[1]), kAgents * kEach / 2) << "batches " << batches[1];
  std::printf("[ figures ] %d check-ins from %d agents in %.2f s (%.0f/s), %s commits\n",
              kAgents * kEach, kAgents, seconds, kAgents * kEach / seconds,
              batches[1].str().c_str());
  // Each host's last check-in is the stored state.
  for (int i = 0; i < kAgents; ++i) {
    auto host = h.api("GET", "/api/v1/hosts/" + agents[static_cast<std::size_t>(i)].host_id);
    EXPECT_EQ(host.doc["boot_id"], "boot-" + std::to_string(kEach - 1));
  }
}

std::string exec_raw(const fs::path& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_file.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  std::string out = rc == SQLITE_OK ? "" : (message != nullptr ? message : "error");
  sqlite3_free(message);
  sqlite3_close(db);
  return out;
}

TEST_F(ServerTest, AuditVerifyFindsATamperedEntry) {
  Harness h(tmp_.path());
  ASSERT_EQ(h.api("POST", "/api/v1/users", {{"name", "u1"}, {"role", "viewer"}}).status, 201);
  ASSERT_EQ(h.api("POST", "/api/v1/users", {{"name", "u2"}, {"role", "viewer"}}).status, 201);
  EXPECT_EQ(h.api("POST", "/api/v1/audit/verify").doc["ok"], true);
  // Someone with the file drops the guards and rewrites entry 3.
  ASSERT_EQ(exec_raw(h.database(), "DROP TRIGGER audit_log_no_update; DROP TRIGGER "
                                   "audit_log_no_delete; DROP TRIGGER audit_log_append_at_head;"),
            "");
  ASSERT_EQ(exec_raw(h.database(),
                     R"(UPDATE audit_log SET after_json = '{"name":"u1","role":"admin"}' WHERE seq = 3)"),
            "");
  auto v = h.api("POST", "/api/v1/audit/verify");
  ASSERT_EQ(v.status, 200);
  EXPECT_EQ(v.doc["ok"], false);
  EXPECT_EQ(v.doc["first_bad_seq"], "3");
  EXPECT_EQ(v.doc["entries_checked"], 2);
  EXPECT_FALSE(v.doc["problem"].get<std::string>().empty());
}

}  // namespace
