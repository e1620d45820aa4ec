// SPDX-License-Identifier: Apache-2.0
// `patchflow scan` and `patchflow feeds`, run as a user runs them, on a package root and feed
// files the test owns, and `feeds sync` against an HTTP server on loopback.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "patchflow/common/process.hpp"

namespace fs = std::filesystem;
namespace process = pf::process;

namespace {

const fs::path kFixtures = fs::path(PF_SOURCE_DIR) / "tests" / "fixtures" / "scan";

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pf-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  process::Outcome patchflow(std::vector<std::string> args) {
    args.insert(args.begin(), PF_PATCHFLOW_BIN);
    // A private HOME: the default database must never be the developer's own.
    auto r = process::run({.argv = args,
                           .env = {"HOME=" + dir_.string(), "PATCHFLOW_DB="},
                           .timeout = std::chrono::seconds(120)});
    EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
    return r.value_or(process::Outcome{});
  }
  std::string fixture(const std::string& name) const { return (kFixtures / name).string(); }

  fs::path dir_;
};

TEST_F(Cli, ScanFindsWhatTheFeedsSayRankedAndExplained) {
  auto r = patchflow({"scan", "--root", fixture("debian12-root"), "--feed",
                      fixture("osv-debian.json"), "--feed", fixture("osv-zlib.json"), "--feed",
                      fixture("kev.json"), "--format", "json", "--host", "web-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto findings = nlohmann::json::parse(r.out);
  // openssl 3.0.11-1~deb12u1 < 3.0.13-1~deb12u1: both binaries of the openssl source;
  // zlib 1:1.2.13 is past its fix; curl (config-files only) is not installed.
  ASSERT_EQ(findings.size(), 2u) << r.out;
  std::set<std::string> packages;
  for (const auto& f : findings) {
    EXPECT_EQ(f["advisory"], "DSA-5678-1");
    EXPECT_EQ(f["source_package"], "openssl");
    EXPECT_EQ(f["installed"], "3.0.11-1~deb12u1");
    EXPECT_EQ(f["fixed"], "3.0.13-1~deb12u1");
    EXPECT_EQ(f["severity"], "high");
    EXPECT_EQ(f["host"], "web-1");
    EXPECT_EQ(f["ecosystem"], "Debian:12");
    EXPECT_TRUE(f["kev"].get<bool>()) << "CVE-2023-6129 is in the KEV file";
    EXPECT_EQ(f["cves"], nlohmann::json({"CVE-2023-5678", "CVE-2023-6129"}));
    EXPECT_GT(f["risk"].get<double>(), 50.0);
    double sum = 0;
    for (const auto& p : f["risk_parts"]) sum += p["contribution"].get<double>();
    EXPECT_NEAR(sum, f["risk"].get<double>(), 0.01) << "the parts explain the whole score";
    packages.insert(f["package"].get<std::string>());
  }
  EXPECT_EQ(packages, (std::set<std::string>{"libssl3", "openssl"}));
  EXPECT_NE(r.err.find("2 findings on web-1 (Debian:12, 3 dpkg packages)"), std::string::npos)
      << r.err;
}

TEST_F(Cli, ScanFiltersFormatsAndExitCode) {
  const std::vector<std::string> base = {"scan", "--root", fixture("debian12-root"), "--feed",
                                         fixture("osv-debian.json")};
  auto table = patchflow(base);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(table.out.starts_with("RISK")) << table.out;
  EXPECT_NE(table.out.find("DSA-5678-1"), std::string::npos);
  EXPECT_NE(table.out.find("3.0.13-1~deb12u1"), std::string::npos);

  auto args = base;
  args.insert(args.end(), {"--format", "csv"});
  auto csv = patchflow(args);
  EXPECT_TRUE(csv.out.starts_with("risk,severity,advisory,cves,package")) << csv.out;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 3) << csv.out;

  args = base;
  args.insert(args.end(), {"--kev-only", "--exit-code", "7"});
  auto kev_only = patchflow(args);  // no KEV feed given: nothing is known exploited
  EXPECT_EQ(kev_only.exit_code, 0);
  EXPECT_NE(kev_only.err.find("0 findings"), std::string::npos) << kev_only.err;

  args = base;
  args.insert(args.end(), {"--min-severity", "high", "--exit-code", "7"});
  EXPECT_EQ(patchflow(args).exit_code, 7) << "findings remain: the chosen exit code";

  args = base;
  args.insert(args.end(), {"--min-severity", "critical", "--exit-code", "7"});
  EXPECT_EQ(patchflow(args).exit_code, 0);

  args = base;
  args.insert(args.end(), {"--min-severity", "severe"});
  auto bad = patchflow(args);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("severity"), std::string::npos) << bad.err;
}

TEST_F(Cli, MalformedFeedIsRefusedWithWhereAndNothingIsKept) {
  const std::string db = (dir_ / "p.db").string();
  auto r = patchflow({"feeds", "import", "--db", db, fixture("osv-debian.json"),
                      fixture("truncated.json"), fixture("kev.json")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("truncated.json"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("osv-debian.json: osv"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kev.json: kev"), std::string::npos) << "the other files still import";
  auto status = patchflow({"feeds", "status", "--db", db});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("1 advisories"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("1 CVE records"), std::string::npos) << status.out;

  // scan reads the database when no --feed is given
  auto scan = patchflow({"scan", "--root", fixture("debian12-root"), "--db", db, "--format",
                         "json"});
  ASSERT_EQ(scan.exit_code, 0) << scan.err;
  EXPECT_EQ(nlohmann::json::parse(scan.out).size(), 2u);
}

TEST_F(Cli, ScanWithoutAdvisoriesSaysWhatToDo) {
  auto r = patchflow({"scan", "--root", fixture("debian12-root")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("give --feed"), std::string::npos) << r.err;
  auto missing_root = patchflow({"scan", "--root", (dir_ / "nothing").string(), "--feed",
                                 fixture("osv-debian.json")});
  EXPECT_EQ(missing_root.exit_code, 2) << missing_root.err;
  EXPECT_NE(missing_root.err.find("os-release"), std::string::npos) << missing_root.err;
  // A Debian root without its dpkg database says which file is missing.
  fs::create_directories(dir_ / "bare" / "etc");
  std::ofstream(dir_ / "bare" / "etc" / "os-release") << "ID=debian\nVERSION_ID=\"12\"\n";
  auto bare = patchflow({"scan", "--root", (dir_ / "bare").string(), "--feed",
                         fixture("osv-debian.json")});
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_NE(bare.err.find("var/lib/dpkg/status"), std::string::npos) << bare.err;
}

TEST_F(Cli, SyncDownloadsImportsAndThenAsksConditionally) {
  httplib::Server server;
  int hits = 0;
  auto serve = [&](const std::string& file, const std::string& etag) {
    return [&hits, file, etag](const httplib::Request& req, httplib::Response& res) {
      ++hits;
      if (req.get_header_value("If-None-Match") == etag) {
        res.status = 304;
        return;
      }
      std::ifstream in(file, std::ios::binary);
      res.set_header("ETag", etag);
      res.set_content(std::string(std::istreambuf_iterator<char>(in), {}), "application/json");
    };
  };
  server.Get("/osv.json", serve(fixture("osv-debian.json"), "\"o1\""));
  server.Get("/kev.json", serve(fixture("kev.json"), "\"k1\""));
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  const fs::path config = dir_ / "feeds.yaml";
  std::ofstream(config) << "feeds:\n"
                        << "  - name: osv-debian\n    url: http://127.0.0.1:" << port
                        << "/osv.json\n"
                        << "  - name: kev\n    url: http://127.0.0.1:" << port << "/kev.json\n";
  const std::string db = (dir_ / "p.db").string();
  auto first = patchflow({"feeds", "sync", "--config", config.string(), "--db", db});
  auto second = patchflow({"feeds", "sync", "--config", config.string(), "--db", db});
  std::ofstream(config, std::ios::app) << "  - name: kev\n    url: http://127.0.0.1:1/x\n";
  auto duplicate = patchflow({"feeds", "sync", "--config", config.string(), "--db", db});
  server.stop();
  thread.join();

  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("osv-debian: osv, 1 advisories"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("kev: kev, 0 advisories, 1 CVE records"), std::string::npos)
      << first.out;
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("osv-debian: not modified"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("kev: not modified"), std::string::npos) << second.out;
  EXPECT_EQ(hits, 4);
  EXPECT_EQ(duplicate.exit_code, 2);
  EXPECT_NE(duplicate.err.find("feeds.yaml:6"), std::string::npos) << duplicate.err;
  EXPECT_NE(duplicate.err.find("twice"), std::string::npos) << duplicate.err;
}

}  // namespace
