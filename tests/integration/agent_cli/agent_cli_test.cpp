// SPDX-License-Identifier: Apache-2.0
// `patchflow-agent`, run as an administrator runs it, on dpkg and rpm roots built by the lab
// library: inventory, updates, plan, apply with a saved report, rollback from that report, and
// the exit codes of the failures.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "patchflow/common/process.hpp"
#include "patchflow/lab/deb.hpp"
#include "patchflow/lab/rpm.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg/rpm_db.hpp"

namespace fs = std::filesystem;
namespace process = pf::process;
using nlohmann::json;

namespace {

class AgentCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pf-agent-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  process::Outcome agent(std::vector<std::string> args) {
    args.insert(args.begin(), PF_AGENT_BIN);
    auto r = process::run({.argv = args,
                           .env = {"HOME=" + dir_.string(), "LC_ALL=C"},
                           .timeout = std::chrono::seconds(300)});
    EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
    return r.value_or(process::Outcome{});
  }

  static void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }

  // A dpkg root with pf-web 1.0-1 (and pf-base) installed; the repository also offers
  // pf-web 1.1-1, which needs pf-base (>= 2).
  fs::path deb_world() {
    auto build = [&](const std::string& name, const std::string& version,
                     std::vector<std::string> depends) {
      pf::lab::DebSpec spec;
      spec.name = name;
      spec.version = version;
      spec.depends = std::move(depends);
      spec.source_name = name == "pf-base" ? "pf-base-src" : "";
      spec.files = {{"/usr/share/" + name + "/VERSION", version + "\n"}};
      auto deb = pf::lab::build_deb(spec, dir_ / "debs");
      EXPECT_TRUE(deb) << (deb ? "" : pf::to_string(deb.error()));
      return deb.value_or(fs::path{});
    };
    auto web1 = build("pf-web", "1.0-1", {"pf-base"});
    auto base1 = build("pf-base", "1.0-1", {});
    auto web2 = build("pf-web", "1.1-1", {"pf-base (>= 2)"});
    auto base2 = build("pf-base", "2.0-1", {});
    auto repo = pf::lab::build_apt_repo({web1, base1, web2, base2}, dir_ / "repo");
    EXPECT_TRUE(repo);
    auto root = dir_ / "deb-root";
    EXPECT_TRUE(pf::lab::make_dpkg_root(root));
    EXPECT_TRUE(pf::lab::install_debs(root, {base1, web1}));
    EXPECT_TRUE(pf::lab::set_apt_sources(root, {repo->source_line}));
    write(root / "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n");
    return root;
  }

  fs::path rpm_world() {
    auto build = [&](const std::string& name, const std::string& version) {
      pf::lab::RpmSpec spec;
      spec.name = name;
      spec.version = version;
      spec.files = {{"/usr/share/" + name + "/VERSION", version + "\n"}};
      auto rpm = pf::lab::build_rpm(spec, dir_ / "rpms");
      EXPECT_TRUE(rpm) << (rpm ? "" : pf::to_string(rpm.error()));
      return rpm.value_or(fs::path{});
    };
    auto v1 = build("pf-db", "1.0");
    auto v2 = build("pf-db", "1.1");
    pf::lab::Advisory adv;
    adv.id = "PFSA-2026:0001";
    adv.title = "pf-db security update";
    adv.severity = "Important";
    adv.issued = "2026-11-01 00:00:00";
    adv.cves = {"CVE-2026-0001"};
    adv.packages = {{"pf-db", 0, "1.1", "1", "noarch", v2.filename().string()}};
    auto repo = pf::lab::build_rpm_repo({v1, v2}, dir_ / "rpm-repo", {adv});
    EXPECT_TRUE(repo);
    auto root = dir_ / "rpm-root";
    EXPECT_TRUE(pf::lab::make_rpm_root(root));
    EXPECT_TRUE(pf::lab::install_rpms(root, {v1}));
    write(root / "etc/yum.repos.d/pf-lab.repo", repo->repo_file);
    write(root / "etc/os-release", "ID=almalinux\nVERSION_ID=\"9.4\"\n");
    return root;
  }

  static std::string deb_version(const fs::path& root, const std::string& name) {
    auto pkgs = pf::pkg::read_dpkg_status(pf::pkg::dpkg_status_path(root));
    EXPECT_TRUE(pkgs);
    for (const auto& p : pkgs.value_or(std::vector<pf::inventory::Package>{}))
      if (p.name == name) return p.version;
    return {};
  }

  fs::path dir_;
};

TEST_F(AgentCli, InventoryJsonIsWhatDpkgRecords) {
  auto root = deb_world();
  auto r = agent({"inventory", "--root", root.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = json::parse(r.out);
  EXPECT_EQ(doc["os"]["ecosystem"], "Debian:12");
  EXPECT_EQ(doc["package_manager"], "dpkg");
  std::map<std::string, json> by_name;
  for (const auto& p : doc["packages"]) by_name[p["name"]] = p;
  ASSERT_EQ(by_name.size(), 2u) << r.out;
  EXPECT_EQ(by_name["pf-web"]["version"], "1.0-1");
  EXPECT_EQ(by_name["pf-web"]["arch"], "all");
  EXPECT_EQ(by_name["pf-web"]["source"], "pf-web");
  EXPECT_EQ(by_name["pf-base"]["source"], "pf-base-src");
}

TEST_F(AgentCli, InventoryReportsTheHostsFactsAndTheRebootFlag) {
  auto root = deb_world();
  write(root / "etc/hostname", "web1\n");
  write(root / "run/reboot-required", "*** System restart required ***\n");
  write(root / "run/reboot-required.pkgs", "pf-base\n");
  write(dir_ / "proc/uptime", "93784.25 1000.00\n");
  write(dir_ / "proc/stat", "cpu  1 2 3\nbtime 1764590000\n");
  write(dir_ / "boot_id", "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\n");
  auto r = agent({"inventory", "--root", root.string(), "--proc-dir", (dir_ / "proc").string(),
                  "--boot-id-file", (dir_ / "boot_id").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = json::parse(r.out);
  EXPECT_EQ(doc["hostname"], "web1");
  EXPECT_EQ(doc["boot_id"], "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
  EXPECT_EQ(doc["uptime_s"], 93784);
  EXPECT_EQ(doc["boot_time"], "2025-12-01T11:53:20Z");
  EXPECT_FALSE(doc["kernel"]["release"].get<std::string>().empty());
  EXPECT_EQ(doc["reboot"]["required"], true) << r.out;
  EXPECT_EQ(doc["reboot"]["packages"], json::array({"pf-base"}));
  EXPECT_EQ(doc["reboot"]["reasons"], json::array({"*** System restart required ***"}));
  // The root's own file system is reported with its free space.
  ASSERT_FALSE(doc["mounts"].empty()) << r.out;
  EXPECT_EQ(doc["mounts"][0]["mount_point"], "/");
  EXPECT_GT(doc["mounts"][0]["total_bytes"].get<std::uint64_t>(), 0u);
  // Not this machine's /: systemd is not asked about another root's services.
  EXPECT_EQ(doc["services"]["systemd_running"], false);

  // The text form says the same for a person.
  auto text = agent({"inventory", "--root", root.string(), "--proc-dir",
                     (dir_ / "proc").string(), "--boot-id-file", (dir_ / "boot_id").string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("reboot:    required"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("up 1d 2h"), std::string::npos) << text.out;

  // Once the flag file is gone, the reboot is no longer required.
  fs::remove(root / "run/reboot-required");
  auto after = agent({"inventory", "--root", root.string(), "--proc-dir",
                      (dir_ / "proc").string(), "--boot-id-file", (dir_ / "boot_id").string(),
                      "--json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(json::parse(after.out)["reboot"]["required"], false) << after.out;
}

TEST_F(AgentCli, InventoryOfAnRpmRoot) {
  auto root = rpm_world();
  auto r = agent({"inventory", "--root", root.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = json::parse(r.out);
  EXPECT_EQ(doc["os"]["ecosystem"], "AlmaLinux:9");
  EXPECT_EQ(doc["package_manager"], "rpm");
  bool found = false;
  for (const auto& p : doc["packages"])
    if (p["name"] == "pf-db") {
      found = true;
      EXPECT_EQ(p["version"], "1.0-1");
    }
  EXPECT_TRUE(found) << r.out;
}

TEST_F(AgentCli, RootWithoutADatabaseIsAUsageError) {
  fs::create_directories(dir_ / "empty/etc");
  auto r = agent({"inventory", "--root", (dir_ / "empty").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no package database"), std::string::npos) << r.err;
  auto bad = agent({"plan", "--root", (dir_ / "empty").string(), "--select", "packages:a b"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("not a package name"), std::string::npos) << bad.err;
}

TEST_F(AgentCli, UpdatesPlanApplyAndRollbackOnDeb) {
  auto root = deb_world();
  auto u = agent({"updates", "--root", root.string(), "--json"});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  const json updates = json::parse(u.out)["updates"];
  std::map<std::string, json> by_name;
  for (const auto& x : updates) by_name[x["name"]] = x;
  ASSERT_TRUE(by_name.count("pf-web")) << u.out;
  EXPECT_EQ(by_name["pf-web"]["candidate"], "1.1-1");
  EXPECT_EQ(by_name["pf-base"]["candidate"], "2.0-1");

  auto p = agent({"plan", "--root", root.string(), "--select", "packages:pf-web", "--json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::set<std::string> planned;
  const auto plan = json::parse(p.out);
  for (const auto& c : plan["changes"]) planned.insert(c["name"]);
  EXPECT_EQ(planned, (std::set<std::string>{"pf-web", "pf-base"})) << p.out;
  EXPECT_EQ(deb_version(root, "pf-web"), "1.0-1") << "plan changed the root";

  auto report_file = dir_ / "report.json";
  auto a = agent({"apply", "--root", root.string(), "--select", "packages:pf-web",
                  "--report-file", report_file.string()});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("outcome: applied"), std::string::npos) << a.out;
  EXPECT_EQ(deb_version(root, "pf-web"), "1.1-1");
  EXPECT_EQ(deb_version(root, "pf-base"), "2.0-1");
  std::ifstream in(report_file);
  auto saved = json::parse(in);
  EXPECT_EQ(saved["outcome"], "applied");
  EXPECT_EQ(saved["selection"], "packages:pf-web");

  auto rb = agent({"rollback", "--root", root.string(), "--report-file", report_file.string(),
                   "--json"});
  ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
  auto rolled = json::parse(rb.out);
  EXPECT_EQ(rolled["outcome"], "applied");
  EXPECT_EQ(deb_version(root, "pf-web"), "1.0-1");
  EXPECT_EQ(deb_version(root, "pf-base"), "1.0-1");
}

TEST_F(AgentCli, SecurityAdvisoryOnRpmIsListedAndApplied) {
  auto root = rpm_world();
  auto u = agent({"updates", "--root", root.string(), "--releasever", "lab", "--json"});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  const json updates = json::parse(u.out)["updates"];
  ASSERT_EQ(updates.size(), 1u) << u.out;
  EXPECT_EQ(updates[0]["name"], "pf-db");
  EXPECT_EQ(updates[0]["security"], true);
  EXPECT_EQ(updates[0]["advisories"], json::array({"PFSA-2026:0001"}));

  auto a = agent({"apply", "--root", root.string(), "--releasever", "lab", "--select",
                  "advisories:PFSA-2026:0001", "--json"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  auto report = json::parse(a.out);
  EXPECT_EQ(report["outcome"], "applied");
  auto pkgs = pf::pkg::read_rpm_database(root);
  ASSERT_TRUE(pkgs);
  bool upgraded = false;
  for (const auto& p : *pkgs) upgraded |= p.name == "pf-db" && p.version == "1.1-1";
  EXPECT_TRUE(upgraded);
}

TEST_F(AgentCli, NotAppliedExitsOneAndLockHeldExitsThree) {
  auto root = deb_world();
  auto missing = agent({"apply", "--root", root.string(), "--select", "exact:pf-web=7.0-1"});
  EXPECT_EQ(missing.exit_code, 1) << missing.out << missing.err;
  EXPECT_NE(missing.out.find("not_in_repository"), std::string::npos) << missing.out;

  // Another process holds dpkg's frontend lock (an fcntl lock, as apt takes it).
  auto lock = root / "var/lib/dpkg/lock-frontend";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0640);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    if (fd < 0 || ::fcntl(fd, F_SETLK, &fl) != 0) ::_exit(1);
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  auto held = agent({"apply", "--root", root.string(), "--select", "all", "--lock-timeout", "1"});
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  EXPECT_EQ(held.exit_code, 3) << held.out << held.err;
  EXPECT_NE(held.err.find("held by process " + std::to_string(holder)), std::string::npos)
      << held.err;
  EXPECT_EQ(deb_version(root, "pf-web"), "1.0-1");
}

}  // namespace
