// SPDX-License-Identifier: Apache-2.0
// `patchflow lab up / status / down` run as programs: a real server process, real
// patchflow-agent processes on real dpkg and rpm roots, checked through the real REST API and
// /proc. Small (4 hosts): CI has 2 cores.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "patchflow/common/process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Pids of every live process whose command line mentions `needle`.
std::set<int> processes_mentioning(const std::string& needle) {
  std::set<int> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = read_all(e.path() / "cmdline");
    const std::string stat = read_all(e.path() / "stat");
    const auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') continue;
    if (cmd.find(needle) != std::string::npos) out.insert(std::stoi(name));
  }
  return out;
}

class LabFleet : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pf-lab-fleet-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
    dir_ = tmp_ / "lab";
  }
  void TearDown() override {
    // Whatever a failed test left running is taken down (the command under test does it).
    if (fs::exists(dir_ / "lab.json")) patchflow({"lab", "down", "--dir", dir_.string()});
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  pf::process::Outcome patchflow(std::vector<std::string> args) {
    args.insert(args.begin(), PF_PATCHFLOW_BIN);
    auto r = pf::process::run({.argv = std::move(args),
                               .env = {"HOME=" + tmp_.string(), "LC_ALL=C"},
                               .timeout = 900s,
                               .max_capture = std::size_t{16} << 20});
    EXPECT_TRUE(r) << (r ? "" : to_string(r.error()));
    return r.value_or(pf::process::Outcome{});
  }

  struct Api {
    httplib::SSLClient cli;
    Api(int port, const std::string& ca, const std::string& token) : cli("127.0.0.1", port) {
      cli.set_ca_cert_path(ca.c_str());
      cli.enable_server_certificate_verification(true);
      cli.set_bearer_token_auth(token);
      cli.set_read_timeout(60, 0);
    }
    json get(const std::string& path) {
      auto res = cli.Get(path);
      EXPECT_TRUE(res) << path;
      if (!res) return json::object();
      EXPECT_EQ(res->status, 200) << path << ": " << res->body;
      return json::parse(res->body, nullptr, false);
    }
  };

  fs::path tmp_;
  fs::path dir_;
};

TEST_F(LabFleet, UpBuildsAFleetThatStatusSeesAndDownRemoves) {
  auto up = patchflow({"lab", "up", "--hosts", "4", "--dir", dir_.string(), "--json"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.err.find("enrolled 4/4"), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("inventories 4/4"), std::string::npos) << up.err;
  const json lab = json::parse(up.out);
  ASSERT_EQ(lab["state"], "up");
  EXPECT_EQ(lab, json::parse(read_all(dir_ / "lab.json")));

  // Files: the token only for its owner, pid files that match.
  EXPECT_EQ(fs::status(dir_ / "admin.token").permissions() & fs::perms::all, fs::perms(0600));
  EXPECT_EQ(std::stoi(read_all(dir_ / "server.pid")), lab["server"]["pid"].get<int>());
  const std::string token = [&] {
    std::string t = read_all(dir_ / "admin.token");
    while (!t.empty() && t.back() == '\n') t.pop_back();
    return t;
  }();
  ASSERT_TRUE(token.starts_with("pfa_")) << token;
  EXPECT_EQ(read_all(dir_ / "server.log").find(token), std::string::npos)
      << "the admin token must not be in the server log";

  // Every process recorded runs.
  std::vector<int> pids = {lab["server"]["pid"].get<int>()};
  for (const auto& h : lab["hosts"]) {
    pids.push_back(h["pid"].get<int>());
    EXPECT_EQ(std::stoi(read_all(fs::path(h["state_dir"].get<std::string>()).parent_path() /
                                 "agent.pid")),
              h["pid"].get<int>());
  }
  for (int pid : pids) EXPECT_TRUE(fs::exists("/proc/" + std::to_string(pid))) << pid;

  // The API: 4 hosts with the planned labels, both families, the 1.1 updates stored, findings
  // for the lab's advisories (the KEV one marked).
  Api api(lab["server"]["port"].get<int>(), lab["server"]["ca"].get<std::string>(), token);
  const json hosts = api.get("/api/v1/hosts?limit=100")["hosts"];
  ASSERT_EQ(hosts.size(), 4u) << hosts.dump();
  const std::map<std::string, std::map<std::string, std::string>> expected = {
      {"lab-01", {{"tier", "db"}, {"group", "pilot"}, {"family", "deb"}, {"env", "lab"}}},
      {"lab-02", {{"tier", "app"}, {"group", "executives"}, {"family", "rpm"}, {"env", "lab"}}},
      {"lab-03", {{"tier", "web"}, {"group", "general"}, {"family", "deb"}, {"env", "lab"}}},
      {"lab-04", {{"tier", "db"}, {"group", "executives"}, {"family", "deb"}, {"env", "lab"}}},
  };
  std::map<std::string, std::string> id_of;
  for (const auto& h : hosts) {
    const std::string name = h["name"];
    ASSERT_TRUE(expected.contains(name)) << name;
    EXPECT_EQ((h["labels"].get<std::map<std::string, std::string>>()), expected.at(name)) << name;
    EXPECT_EQ(h["ecosystem"], expected.at(name).at("family") == "deb" ? "Debian:12" : "AlmaLinux:9")
        << name;
    EXPECT_FALSE(h["last_seen"].is_null()) << name;
    id_of[name] = h["id"];
  }
  ASSERT_EQ(id_of.size(), 4u);
  const std::set<std::string> lab_packages = {"pf-web", "pf-app", "pf-db", "pf-libssl-lab"};
  for (const auto& [name, id] : id_of) {
    const json detail = api.get("/api/v1/hosts/" + id);
    std::set<std::string> updated;
    for (const auto& u : detail["updates"]) {
      updated.insert(u["name"].get<std::string>());
      EXPECT_TRUE(u["installed_version"].get<std::string>().starts_with("1.0")) << u.dump();
      EXPECT_TRUE(u["candidate_version"].get<std::string>().starts_with("1.1")) << u.dump();
    }
    EXPECT_EQ(updated, lab_packages) << name << ": " << detail["updates"].dump();

    const bool deb = expected.at(name).at("family") == "deb";
    const std::string kev_id = deb ? "DLA-LAB-1" : "PFLAB-2026:0001";
    const std::string web_id = deb ? "DLA-LAB-2" : "PFLAB-2026:0002";
    json findings;
    std::set<std::string> ids;
    // Findings are computed by the server's findings pass after the inventory is stored.
    for (int i = 0; i < 60; ++i) {
      findings = api.get("/api/v1/hosts/" + id + "/findings")["findings"];
      ids.clear();
      for (const auto& f : findings) ids.insert(f.value("advisory_id", ""));
      if (ids.contains(kev_id) && ids.contains(web_id)) break;
      std::this_thread::sleep_for(1s);
    }
    ASSERT_TRUE(ids.contains(kev_id)) << name << ": " << findings.dump();
    EXPECT_TRUE(ids.contains(web_id)) << name << ": " << findings.dump();
    for (const auto& f : findings) {
      if (f.value("advisory_id", "") == kev_id) {
        EXPECT_EQ(f["kev"], true) << f.dump();
      }
      if (f.value("advisory_id", "") == web_id) {
        EXPECT_EQ(f["kev"], false) << f.dump();
      }
    }
  }

  // status: all alive, every host seen.
  auto status = patchflow({"lab", "status", "--dir", dir_.string(), "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  const json st = json::parse(status.out);
  EXPECT_EQ(st["all_alive"], true);
  EXPECT_EQ(st["server"]["alive"], true);
  ASSERT_EQ(st["hosts"].size(), 4u);
  for (const auto& h : st["hosts"]) {
    EXPECT_EQ(h["alive"], true) << h.dump();
    EXPECT_TRUE(h["last_seen"].is_string()) << h.dump();
  }

  // A second `lab up` on the running lab refuses and touches nothing.
  const std::string before = read_all(dir_ / "lab.json");
  auto again = patchflow({"lab", "up", "--hosts", "2", "--dir", dir_.string()});
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_NE(again.err.find("already running"), std::string::npos) << again.err;
  EXPECT_EQ(read_all(dir_ / "lab.json"), before);
  for (int pid : pids) EXPECT_TRUE(fs::exists("/proc/" + std::to_string(pid))) << pid;

  // down: no process left, no directory; a second down has nothing to do.
  auto down = patchflow({"lab", "down", "--dir", dir_.string()});
  ASSERT_EQ(down.exit_code, 0) << down.out << down.err;
  EXPECT_FALSE(fs::exists(dir_));
  EXPECT_EQ(processes_mentioning(dir_.string()), std::set<int>{});
  for (int pid : pids) {
    const std::string cmd = read_all("/proc/" + std::to_string(pid) + "/cmdline");
    EXPECT_EQ(cmd.find(dir_.string()), std::string::npos) << pid << " still runs: " << cmd;
  }
  auto down_again = patchflow({"lab", "down", "--dir", dir_.string()});
  EXPECT_EQ(down_again.exit_code, 0) << down_again.err;
  EXPECT_NE(down_again.out.find("nothing to do"), std::string::npos) << down_again.out;
  auto status_gone = patchflow({"lab", "status", "--dir", dir_.string()});
  EXPECT_EQ(status_gone.exit_code, 1) << status_gone.err;
}

TEST_F(LabFleet, APortInUseIsAClearErrorAndLeavesNothing) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  auto up = patchflow(
      {"lab", "up", "--hosts", "2", "--dir", dir_.string(), "--port", std::to_string(port)});
  ::close(fd);
  EXPECT_EQ(up.exit_code, 2) << up.err;
  EXPECT_NE(up.err.find("port " + std::to_string(port)), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("in use"), std::string::npos) << up.err;
  EXPECT_FALSE(fs::exists(dir_));
  EXPECT_EQ(processes_mentioning(dir_.string()), std::set<int>{});

  // A directory that holds something else is refused, even with --replace, and kept.
  fs::create_directories(dir_);
  std::ofstream(dir_ / "notes.txt") << "mine\n";
  auto other = patchflow({"lab", "up", "--hosts", "1", "--dir", dir_.string(), "--replace"});
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(other.err.find("holds no lab"), std::string::npos) << other.err;
  auto down = patchflow({"lab", "down", "--dir", dir_.string()});
  EXPECT_EQ(down.exit_code, 2) << down.err;
  EXPECT_EQ(read_all(dir_ / "notes.txt"), "mine\n");
}

TEST_F(LabFleet, AFailureAfterTheServerStartedStopsItAndRemovesTheLab) {
  // An "agent" that cannot enroll: the server is already running by then.
  auto up =
      patchflow({"lab", "up", "--hosts", "1", "--dir", dir_.string(), "--agent", "/bin/false"});
  EXPECT_EQ(up.exit_code, 4) << up.err;
  EXPECT_NE(up.err.find("starting the server"), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("lab-01: patchflow-agent enroll failed"), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("server (pid "), std::string::npos) << up.err;
  EXPECT_FALSE(fs::exists(dir_));
  EXPECT_EQ(processes_mentioning(dir_.string()), std::set<int>{});
}

}  // namespace
