// SPDX-License-Identifier: Apache-2.0
// The patchflow binary against a running server: `tokens create`, `hosts list|show`,
// `audit verify` (remote and --database), `server reset-admin-token`, `server --print-config`,
// and `patchflow server` itself started as a process and stopped with SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <thread>

#include "patchflow/common/process.hpp"
#include "patchflow/core/advisory.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "server_harness.hpp"

namespace {

using namespace pf::testing::server;
namespace process = pf::process;
using namespace std::chrono_literals;

process::Outcome patchflow(std::vector<std::string> args, std::vector<std::string> env = {},
                           std::chrono::milliseconds timeout = 60s) {
  args.insert(args.begin(), PF_PATCHFLOW_BIN);
  auto r = process::run({.argv = args, .env = std::move(env), .timeout = timeout});
  EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
  return r.value_or(process::Outcome{});
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
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

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class ServerCli : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(ServerCli, TokensCreateThenHostsListAndShow) {
  Harness h(tmp_.path());
  const std::string ca = h.ca_file().string();
  auto created = patchflow({"tokens", "create", "--server", h.url(), "--token", h.admin_token(),
                            "--ca", ca, "--expires", "2h", "--labels", "tier=web,env=prod"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(created.out, m, std::regex(R"((pfe_[A-Za-z0-9_-]{43}))")))
      << created.out;
  const std::string token = m[1];
  EXPECT_NE(created.out.find(h.server().ca_fingerprint()), std::string::npos) << created.out;
  EXPECT_NE(created.out.find("env=prod,tier=web"), std::string::npos) << created.out;

  const Agent agent = h.enroll(token, "web-7.example.org");
  // Token from the environment, server pinned by the CA fingerprint.
  const std::vector<std::string> env = {"PATCHFLOW_TOKEN=" + h.admin_token(),
                                        "PATCHFLOW_SERVER=" + h.url()};
  auto listed = patchflow({"hosts", "list", "--label", "tier=web", "--output", "json",
                           "--ca-fingerprint", h.server().ca_fingerprint()},
                          env);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json doc = json::parse(listed.out);
  ASSERT_EQ(doc["hosts"].size(), 1u) << listed.out;
  EXPECT_EQ(doc["hosts"][0]["id"], agent.host_id);
  EXPECT_EQ(doc["hosts"][0]["labels"]["env"], "prod");

  auto table = patchflow({"hosts", "list", "--ca", ca}, env);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("ID", 0), 0u) << table.out;
  EXPECT_NE(table.out.find(agent.host_id), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("web-7.example.org"), std::string::npos) << table.out;
  auto none = patchflow({"hosts", "list", "--ca", ca, "--label", "tier=db", "--output", "json"},
                        env);
  EXPECT_EQ(json::parse(none.out)["hosts"].size(), 0u);

  auto show = patchflow({"hosts", "show", agent.host_id, "--ca", ca}, env);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("Debian:12"), std::string::npos) << show.out;
  auto missing = patchflow({"hosts", "show", "h_0000000000000000", "--ca", ca}, env);
  EXPECT_EQ(missing.exit_code, 2) << missing.err;

  // Not authorised, not trusted, not reachable: 3. Bad input: 2.
  auto bad_token = patchflow({"hosts", "list", "--ca", ca, "--token",
                              "pfa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
                             env);
  EXPECT_EQ(bad_token.exit_code, 3);
  EXPECT_NE(bad_token.err.find("unauthenticated"), std::string::npos) << bad_token.err;
  auto wrong_pin = patchflow({"hosts", "list", "--ca-fingerprint", "sha256:" + std::string(64, 'a')},
                             env);
  EXPECT_EQ(wrong_pin.exit_code, 3) << wrong_pin.err;
  auto untrusted = patchflow({"hosts", "list"}, env);
  EXPECT_EQ(untrusted.exit_code, 3) << "the system store does not know our CA: " << untrusted.err;
  auto unreachable = patchflow({"hosts", "list", "--ca", ca, "--server",
                                "https://127.0.0.1:" + std::to_string(free_port())},
                               env);
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.err;
  auto bad_labels = patchflow({"tokens", "create", "--ca", ca, "--labels", "Tier=web"}, env);
  EXPECT_EQ(bad_labels.exit_code, 2) << bad_labels.err;
  auto viewer_user = h.api("POST", "/api/v1/users", {{"name", "v"}, {"role", "viewer"}});
  ASSERT_EQ(viewer_user.status, 201);
  const std::string viewer = h.api("POST", "/api/v1/api-tokens", {{"user", "v"}}).doc["token"];
  auto forbidden = patchflow({"tokens", "create", "--ca", ca, "--token", viewer}, env);
  EXPECT_EQ(forbidden.exit_code, 3) << forbidden.err;
  EXPECT_NE(forbidden.err.find("forbidden"), std::string::npos) << forbidden.err;
}

TEST_F(ServerCli, FindingsListAndHostsBySeverity) {
  Harness h(tmp_.path(), [](pf::server::Config& c) { c.findings_interval = 1s; });
  namespace adv = pf::advisories;
  adv::Advisory a;
  a.id = "DSA-4242-1";
  a.severity = adv::Severity::high;
  a.cves = {"CVE-2026-4242"};
  a.source = "osv";
  adv::Affected e;
  e.ecosystem = "Debian:12";
  e.package = "openssl";
  e.package_kind = adv::PackageKind::source;
  e.events = {{adv::EventType::introduced, "0"}, {adv::EventType::fixed, "3.0.13-1"}};
  a.affected.push_back(e);
  auto store = must(pf::store::SqliteStore::open(h.database()));
  must(store->put_advisories(std::vector<adv::Advisory>{a}));
  const Agent agent = h.enroll(h.enrollment_token(), "db-3.example.org");
  auto cli = h.client(&agent);
  const json inv = {{"hash", "sha256:cli"},
                    {"packages", {{{"name", "openssl"}, {"arch", "amd64"}, {"version", "3.0.11-1"},
                                   {"source", "openssl"}, {"source_version", "3.0.11-1"}}}},
                    {"updates", json::array()}};
  ASSERT_EQ(send(*cli, "PUT", "/agent/v1/inventory", inv.dump()).status, 200);

  const std::vector<std::string> env = {"PATCHFLOW_TOKEN=" + h.admin_token(),
                                        "PATCHFLOW_SERVER=" + h.url()};
  const std::string ca = h.ca_file().string();
  json doc;
  for (int i = 0; i < 100; ++i) {  // the server's findings updater runs every second
    auto listed = patchflow({"findings", "list", "--ca", ca, "--output", "json"}, env);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    doc = json::parse(listed.out);
    if (!doc["findings"].empty()) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(doc["findings"].size(), 1u) << doc.dump();
  EXPECT_EQ(doc["findings"][0]["advisory_id"], "DSA-4242-1");
  EXPECT_EQ(doc["findings"][0]["host_id"], agent.host_id);
  auto table = patchflow({"findings", "list", "--ca", ca, "--severity", "high"}, env);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("RISK", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("DSA-4242-1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("3.0.13-1"), std::string::npos) << table.out;
  auto critical = patchflow({"findings", "list", "--ca", ca, "--severity", "critical",
                             "--output", "json"}, env);
  EXPECT_EQ(json::parse(critical.out)["findings"].size(), 0u);
  auto bad = patchflow({"findings", "list", "--ca", ca, "--severity", "dire"}, env);
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("severity"), std::string::npos) << bad.err;

  auto hosts = patchflow({"hosts", "list", "--ca", ca, "--severity", "high", "--output", "json"},
                         env);
  ASSERT_EQ(hosts.exit_code, 0) << hosts.err;
  ASSERT_EQ(json::parse(hosts.out)["hosts"].size(), 1u) << hosts.out;
  auto host_table = patchflow({"hosts", "list", "--ca", ca}, env);
  EXPECT_NE(host_table.out.find("1 (max high)"), std::string::npos) << host_table.out;
  auto none = patchflow({"hosts", "list", "--ca", ca, "--severity", "critical", "--output",
                         "json"}, env);
  EXPECT_EQ(json::parse(none.out)["hosts"].size(), 0u);
}

TEST_F(ServerCli, AuditVerifyRemoteAndLocalFindsTampering) {
  Harness h(tmp_.path());
  ASSERT_EQ(h.api("POST", "/api/v1/users", {{"name", "u1"}, {"role", "viewer"}}).status, 201);
  ASSERT_EQ(h.api("POST", "/api/v1/users", {{"name", "u2"}, {"role", "viewer"}}).status, 201);
  auto remote = patchflow({"audit", "verify", "--server", h.url(), "--token", h.admin_token(),
                           "--ca", h.ca_file().string()});
  EXPECT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_NE(remote.out.find("4 entries verified"), std::string::npos) << remote.out;
  const std::string db = h.database().string();
  auto local = patchflow({"audit", "verify", "--database", db});
  EXPECT_EQ(local.exit_code, 0) << local.err;
  EXPECT_NE(local.out.find("4 entries verified"), std::string::npos) << local.out;

  ASSERT_EQ(exec_raw(db, "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
                         " DROP TRIGGER audit_log_append_at_head;"),
            "");
  ASSERT_EQ(exec_raw(db, R"(UPDATE audit_log SET actor = 'mallory' WHERE seq = 3)"), "");
  auto broken = patchflow({"audit", "verify", "--database", db});
  EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
  EXPECT_NE(broken.out.find("BROKEN at entry 3"), std::string::npos) << broken.out;
  auto remote_broken = patchflow({"audit", "verify", "--server", h.url(), "--token",
                                  h.admin_token(), "--ca", h.ca_file().string()});
  EXPECT_EQ(remote_broken.exit_code, 1);
  EXPECT_NE(remote_broken.out.find("entry 3"), std::string::npos) << remote_broken.out;
  EXPECT_EQ(patchflow({"audit", "verify", "--database", (tmp_.path() / "none.db").string()})
                .exit_code == 0,
            false);
}

TEST_F(ServerCli, ResetAdminTokenRevokesAdminTokensAndPrintsANewOne) {
  Harness h(tmp_.path());
  const fs::path config = tmp_.path() / "server.yaml";
  write_file(config, "state_dir: " + h.config().state_dir.string() + "\n");
  const std::string old_token = h.admin_token();
  auto reset = patchflow({"server", "reset-admin-token", "--config", config.string()});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(reset.err, m, std::regex(R"((pfa_[A-Za-z0-9_-]{43}))"))) << reset.err;
  const std::string fresh = m[1];
  EXPECT_NE(fresh, old_token);
  EXPECT_NE(reset.err.find("1 admin token(s) revoked"), std::string::npos) << reset.err;
  // The running server sees the change at once (no cache).
  EXPECT_EQ(h.api("GET", "/api/v1/whoami", nullptr, old_token).status, 401);
  auto me = h.api("GET", "/api/v1/whoami", nullptr, fresh);
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(me.doc["role"], "admin");
  auto audit = h.api("GET", "/api/v1/audit", nullptr, fresh);
  const auto& entries = audit.doc["entries"];
  ASSERT_GE(entries.size(), 2u);
  EXPECT_EQ(entries[entries.size() - 1]["actor"], "system:reset-admin-token");
  EXPECT_EQ(entries[entries.size() - 1]["action"], "api_token.create");
  EXPECT_EQ(entries[entries.size() - 2]["action"], "api_token.revoke");
  // Without a database there is nothing to reset.
  write_file(config, "state_dir: " + (tmp_.path() / "empty").string() + "\n");
  EXPECT_EQ(patchflow({"server", "reset-admin-token", "--config", config.string()}).exit_code, 2);
}

TEST_F(ServerCli, PrintConfigShowsEachValueAndItsSource) {
  const fs::path config = tmp_.path() / "server.yaml";
  write_file(config,
             "# server\nlisten: 127.0.0.1:9443\nthreads: 4\nlog_format: json\nstate_dir: /srv/pf\n");
  auto r = patchflow({"server", "--config", config.string(), "--threads", "12", "--print-config"},
                     {"PATCHFLOW_THREADS=8", "PATCHFLOW_LOG_FORMAT=text",
                      "PATCHFLOW_CHECKIN_INTERVAL=2m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto has = [&](const std::string& re) {
    return std::regex_search(r.out, std::regex(re, std::regex::multiline));
  };
  EXPECT_TRUE(has(R"(^threads: 12 +# flag \(--threads\)$)")) << r.out;
  EXPECT_TRUE(has(R"(^log_format: text +# env \(PATCHFLOW_LOG_FORMAT\)$)")) << r.out;
  EXPECT_TRUE(has(R"(^checkin_interval: 2m +# env \(PATCHFLOW_CHECKIN_INTERVAL\)$)")) << r.out;
  EXPECT_TRUE(has(R"(^listen: 127\.0\.0\.1:9443 +# file \(.*server\.yaml:2:9\)$)")) << r.out;
  EXPECT_TRUE(has(R"(^database: /srv/pf/patchflow\.db +# default)")) << r.out;
  EXPECT_TRUE(has(R"(^max_body_bytes: 16MiB +# default$)")) << r.out;

  write_file(config, "listen: 127.0.0.1:9443\nthreads: 4\n  # x\nlisten_addr: 1\n");
  auto bad = patchflow({"server", "--config", config.string(), "--print-config"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("server.yaml:4:1"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("unknown key 'listen_addr'"), std::string::npos) << bad.err;
  auto bad_flag = patchflow({"server", "--threads", "0", "--print-config"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.err.find("--threads"), std::string::npos) << bad_flag.err;
}

TEST_F(ServerCli, TheServerBinaryStartsServesAndStopsOnSigterm) {
  const int port = free_port();
  const fs::path config = tmp_.path() / "server.yaml";
  const fs::path state = tmp_.path() / "state";
  write_file(config, "listen: 127.0.0.1:" + std::to_string(port) + "\nstate_dir: " +
                         state.string() + "\nthreads: 4\n");
  const auto run_once = [&](bool& served) {
    served = false;
    process::Outcome outcome;
    std::thread runner([&] {
      // Ended by SIGTERM when the timeout expires: the clean-stop path.
      outcome = patchflow({"server", "--config", config.string()}, {}, 8s);
    });
    const auto deadline = std::chrono::steady_clock::now() + 7s;
    while (std::chrono::steady_clock::now() < deadline && !served) {
      if (fs::exists(state / "ca.crt")) {
        httplib::SSLClient cli("127.0.0.1", port);
        cli.set_ca_cert_path((state / "ca.crt").c_str());
        cli.enable_server_certificate_verification(true);
        cli.set_connection_timeout(1);
        auto res = cli.Get("/healthz");
        served = res && res->status == 200 && res->body == R"({"status":"ok"})";
      }
      if (!served) std::this_thread::sleep_for(100ms);
    }
    runner.join();
    return outcome;
  };
  bool served = false;
  auto first = run_once(served);
  EXPECT_TRUE(served) << first.err;
  EXPECT_TRUE(first.timed_out);
  EXPECT_EQ(first.exit_code, 0) << "a clean stop on SIGTERM: " << first.err;
  EXPECT_NE(first.err.find("ONCE"), std::string::npos) << first.err;
  EXPECT_TRUE(std::regex_search(first.err, std::regex(R"(pfa_[A-Za-z0-9_-]{43})"))) << first.err;
  EXPECT_NE(first.err.find("SIGTERM: stopping"), std::string::npos) << first.err;
  auto second = run_once(served);
  EXPECT_TRUE(served) << second.err;
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_FALSE(std::regex_search(second.err, std::regex(R"(pfa_[A-Za-z0-9_-]{43})")))
      << "no token on the second start: " << second.err;
}

}  // namespace
