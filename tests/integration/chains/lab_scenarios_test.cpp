// SPDX-License-Identifier: Apache-2.0
// The use cases of examples/chains/ end to end on a lab fleet (docs/lab.md): `patchflow lab up`
// starts a real server and one real agent process per package root (deb and rpm), the example
// policy is applied with `patchflow apply`, each chain runs with `patchflow chain run --follow`,
// and the outcome is read back from the API and from the package databases of the roots
// (dpkg-query / rpm). The orchestrator's clock is moved with `patchflow lab clock` into the
// nightly window and past soaks of business days. Each scenario has a lab of its own (the hosts
// start unpatched), six hosts: lab-01 db/pilot, lab-02 app/executives (rpm), lab-03 web,
// lab-04 db/executives, lab-05 app (rpm), lab-06 web/pilot.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "patchflow/common/process.hpp"
#include "patchflow/schedule/window.hpp"
#include "patchflow/schedule/zone.hpp"
#include "patchflow/testing/temp_dir.hpp"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kPatchflow = PF_PATCHFLOW_BIN;
const fs::path kExamples = fs::path(PF_SOURCE_DIR) / "examples" / "chains";

class Lab {
 public:
  explicit Lab(int hosts) {
    dir_ = tmp_.path() / "lab";
    auto up = run({"lab", "up", "--hosts", std::to_string(hosts), "--dir", dir_.string()},
                  std::chrono::minutes(10));
    up_ok_ = up.ok();
    if (!up_ok_) {
      ADD_FAILURE() << "lab up failed (" << up.exit_code << "):\n" << up.err << up.out;
      return;
    }
    std::ifstream in(dir_ / "lab.json");
    lab_ = json::parse(in, nullptr, false);
    EXPECT_TRUE(lab_.is_object());
    const json& server = lab_["server"];
    env_ = {"PATCHFLOW_SERVER=" + server.value("url", ""), "PATCHFLOW_CA=" + server.value("ca", "")};
    std::ifstream token(server.value("token_file", ""));
    std::string t;
    token >> t;
    env_.push_back("PATCHFLOW_TOKEN=" + t);
  }

  ~Lab() {
    if (fs::exists(dir_ / "lab.json")) {
      auto down = run({"lab", "down", "--dir", dir_.string()}, std::chrono::minutes(2));
      EXPECT_TRUE(down.ok()) << down.err;
    }
  }

  [[nodiscard]] bool up() const { return up_ok_; }

  pf::process::Outcome run(std::vector<std::string> args,
                           std::chrono::milliseconds timeout = std::chrono::minutes(5)) const {
    pf::process::Spec spec;
    spec.argv = {kPatchflow};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = env_;
    spec.timeout = timeout;
    auto out = pf::process::run(spec);
    EXPECT_TRUE(out) << out.error().message;
    return out ? *out : pf::process::Outcome{};
  }

  // A JSON answer of the CLI (--output json), or null with a failure recorded.
  json run_json(std::vector<std::string> args) const {
    args.push_back("--output");
    args.push_back("json");
    auto out = run(args);
    EXPECT_TRUE(out.ok()) << out.err;
    json doc = json::parse(out.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << out.out;
    return doc;
  }

  [[nodiscard]] const json& host(const std::string& name) const {
    for (const auto& h : lab_["hosts"]) {
      if (h.value("name", "") == name) return h;
    }
    static const json none;
    ADD_FAILURE() << "no lab host " << name;
    return none;
  }

  // The version of a package installed in a host's root, read from its package database.
  [[nodiscard]] std::string installed(const std::string& name, const std::string& package) const {
    const json& h = host(name);
    const std::string root = h.value("root", "");
    pf::process::Spec spec;
    if (h.value("family", "") == "rpm") {
      spec.argv = {"rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-q", "--qf",
                   "%{VERSION}-%{RELEASE}", package};
    } else {
      spec.argv = {"dpkg-query", "--admindir=" + root + "/var/lib/dpkg", "-W",
                   "-f=${Version}", package};
    }
    auto out = pf::process::run(spec);
    EXPECT_TRUE(out && out->ok()) << (out ? out->err : out.error().message);
    return out ? out->out : "";
  }

  // Moves the orchestrator's clock to `at` (RFC 3339).
  void clock_at(const std::string& at) const {
    auto out = run({"lab", "clock", "--dir", dir_.string(), "--at", at});
    ASSERT_TRUE(out.ok()) << out.err;
  }

  [[nodiscard]] const fs::path& dir() const { return dir_; }

  // Applies every example document.
  void apply_examples() const {
    auto out = run({"apply", "-f", kExamples.string()});
    ASSERT_TRUE(out.ok()) << out.err << out.out;
  }

  // Waits until the chain run's status satisfies `done` (polling its JSON), returns the doc.
  json wait_run(const std::string& id, const std::function<bool(const json&)>& done,
                std::chrono::seconds limit = std::chrono::seconds(300)) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    json doc;
    while (std::chrono::steady_clock::now() < end) {
      doc = run_json({"chain", "status", id});
      if (done(doc)) return doc;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    ADD_FAILURE() << "chain run " << id << " did not get there; last status:\n" << doc.dump(2);
    return doc;
  }

 private:
  pf::testing::TempDir tmp_{"pf-lab-scenario"};
  fs::path dir_;
  json lab_;
  std::vector<std::string> env_;
  bool up_ok_{false};
};

// The next 22:30 in Berlin at least `days_ahead` days from now: inside the examples' nightly
// window (22:00-04:00 Europe/Berlin, backups 01:00-02:00), with 2.5 h left before the backup.
std::string berlin_night(int days_ahead) {
  auto zone = pf::schedule::Zone::find("Europe/Berlin");
  EXPECT_TRUE(zone);
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto local = zone->to_local(now + std::chrono::days(days_ahead));
  auto at = zone->to_sys(std::chrono::floor<std::chrono::days>(local) + std::chrono::hours(22) +
                         std::chrono::minutes(30));
  if (at < now + std::chrono::days(days_ahead)) at += std::chrono::days(1);
  return pf::schedule::format_utc(at);
}

const json* stage_of(const json& run, const std::string& name) {
  if (!run.is_object() || !run.contains("stages") || !run["stages"].is_array()) return nullptr;
  for (const auto& s : run["stages"]) {
    if (s.value("name", "") == name) return &s;
  }
  return nullptr;
}

std::string status_of(const json& run, const std::string& stage) {
  const json* s = stage_of(run, stage);
  return s == nullptr ? "" : s->value("status", "");
}

std::string start(const Lab& lab, std::vector<std::string> args) {
  std::vector<std::string> argv = {"chain", "run"};
  argv.insert(argv.end(), args.begin(), args.end());
  json doc = lab.run_json(argv);
  const std::string id = doc.value("id", "");
  EXPECT_TRUE(id.starts_with("c_")) << doc.dump();
  return id;
}

// (a) db → app → web, each tier only when the previous tier's post check passed everywhere; a
// db host in recovery mode is postponed until the flag goes.
TEST(LabScenarios, ThreeTierStackPatchedInOrderWithARecoveringHostPostponed) {
  Lab lab(6);
  ASSERT_TRUE(lab.up());
  lab.apply_examples();
  lab.clock_at(berlin_night(0));
  const fs::path flag = fs::path(lab.host("lab-01").value("root", "")) / "var/lib/app/recovery.flag";
  fs::create_directories(flag.parent_path());
  std::ofstream(flag) << "recovering\n";

  auto plan = lab.run_json({"plan", "three-tier"});
  ASSERT_EQ(plan["stages"].size(), 3u);
  EXPECT_EQ(plan["stages"][0]["hosts"].size(), 2u);  // lab-01, lab-04
  for (const auto& h : plan["stages"][0]["hosts"]) {
    ASSERT_EQ(h["updates"].size(), 1u) << h.dump();  // the critical one only
    EXPECT_EQ(h["updates"][0]["package"], "pf-libssl-lab");
  }

  const std::string id = start(lab, {"three-tier"});
  // lab-01 waits in its precondition while the flag is there.
  auto waiting = lab.wait_run(id, [](const json& r) {
    const json* db = stage_of(r, "db");
    if (db == nullptr) return false;
    for (const auto& h : (*db)["hosts"]) {
      if (h.value("name", "") == "lab-01" && h.value("status", "") == "dispatched") return true;
    }
    return false;
  });
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_EQ(status_of(lab.run_json({"chain", "status", id}), "app"), "pending")
      << "app must wait for every db host";
  EXPECT_EQ(lab.installed("lab-01", "pf-libssl-lab"), "1.0-1") << "patched in recovery mode";
  fs::remove(flag);

  auto done = lab.wait_run(id, [](const json& r) { return !r.value("active", true); },
                           std::chrono::seconds(600));
  EXPECT_EQ(done.value("status", ""), "succeeded") << done.dump(2);
  for (const char* stage : {"db", "app", "web"}) EXPECT_EQ(status_of(done, stage), "succeeded");
  for (const char* h : {"lab-01", "lab-02", "lab-03", "lab-04", "lab-05", "lab-06"}) {
    EXPECT_EQ(lab.installed(h, "pf-libssl-lab"), "1.1-1") << h;
    EXPECT_EQ(lab.installed(h, "pf-web"), "1.0-1") << h << ": medium is below the baseline";
  }
  // Every db job was queued before any app job, every app job before any web job.
  auto all = lab.run({"chain", "status", id, "--output", "json"});
  ASSERT_TRUE(all.ok());
  const json doc = json::parse(all.out);
  std::vector<std::string> order;
  for (const auto& l : doc["log"]) {
    const std::string line = l.value("line", "");
    if (line.find("wave") != std::string::npos && line.find("started") != std::string::npos) {
      order.push_back(line.substr(0, line.find(':')));
    }
  }
  ASSERT_FALSE(order.empty());
  EXPECT_EQ(order.front().find("db") != std::string::npos, true) << order.front();
  EXPECT_EQ(order.back().find("web") != std::string::npos, true) << order.back();
}

// (b) executives only after the pilot succeeded at >= 95% without a health regression, a soak
// of 2 business days and an approval; deb and rpm hosts.
TEST(LabScenarios, ExecutivesAfterThePilotSoakedAndWasApproved) {
  Lab lab(6);
  ASSERT_TRUE(lab.up());
  lab.apply_examples();
  // The baseline approves updates 7 days after their release: go 8 days ahead, at night.
  lab.clock_at(berlin_night(8));
  const std::string id = start(lab, {"executives"});
  auto soaking = lab.wait_run(id, [](const json& r) {
    return status_of(r, "pilot") == "succeeded" && status_of(r, "executives") == "waiting_soak";
  });
  EXPECT_EQ(lab.installed("lab-01", "pf-web"), "1.1-1");
  EXPECT_EQ(lab.installed("lab-02", "pf-web"), "1.0-1") << "an executive patched before the soak";
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(status_of(lab.run_json({"chain", "status", id}), "executives"), "waiting_soak");

  lab.clock_at(berlin_night(15));  // a week later: two business days have passed
  lab.wait_run(id, [](const json& r) { return status_of(r, "executives") == "waiting_approval"; });
  EXPECT_EQ(lab.installed("lab-04", "pf-web"), "1.0-1") << "patched before the approval";
  auto approve = lab.run({"chain", "approve", id, "executives"});
  ASSERT_TRUE(approve.ok()) << approve.err;

  auto done = lab.wait_run(id, [](const json& r) { return !r.value("active", true); },
                           std::chrono::seconds(600));
  EXPECT_EQ(done.value("status", ""), "succeeded") << done.dump(2);
  const json* exec = stage_of(done, "executives");
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(exec->value("approved_by", ""), "admin");
  for (const char* h : {"lab-02", "lab-04"}) {  // rpm and deb
    EXPECT_EQ(lab.installed(h, "pf-web"), "1.1-1") << h;
    EXPECT_EQ(lab.installed(h, "pf-db"), "1.1-1") << h;
  }
}

// (c) a zero-day in CISA KEV: every ring at once, soaks skipped, the justification audited.
TEST(LabScenarios, EmergencyKevRunSkipsSoaksWithTheJustificationAudited) {
  Lab lab(6);
  ASSERT_TRUE(lab.up());
  lab.apply_examples();
  auto refused = lab.run({"chain", "run", "emergency-kev", "--emergency"});
  EXPECT_EQ(refused.exit_code, 2) << "an emergency run without a justification";
  const std::string why = "CVE-2026-90001 exploited in the wild (lab drill)";
  auto out = lab.run({"chain", "run", "emergency-kev", "--emergency", "--justification", why,
                      "--follow"},
                     std::chrono::minutes(10));
  EXPECT_EQ(out.exit_code, 0) << out.err << out.out;
  EXPECT_NE(out.out.find("skipped"), std::string::npos) << out.out;
  for (const char* h : {"lab-01", "lab-02", "lab-03", "lab-04", "lab-05", "lab-06"}) {
    EXPECT_EQ(lab.installed(h, "pf-libssl-lab"), "1.1-1") << h;
    EXPECT_EQ(lab.installed(h, "pf-web"), "1.0-1") << h << ": not a KEV fix";
  }
  auto audit = lab.run_json({"audit", "list", "--action", "chain.run.emergency"});
  ASSERT_EQ(audit["entries"].size(), 1u) << audit.dump(2);
  EXPECT_EQ(audit["entries"][0]["after"]["justification"], why);
}

// (d) a wave whose post check fails: the stage halts after its first wave and the chain stops.
TEST(LabScenarios, AFailingWaveHaltsTheChain) {
  Lab lab(6);
  ASSERT_TRUE(lab.up());
  lab.apply_examples();
  lab.clock_at(berlin_night(8));  // all-approved-7d: 8 days after the lab's releases
  auto out = lab.run({"chain", "run", "failing-wave", "--follow"}, std::chrono::minutes(10));
  EXPECT_EQ(out.exit_code, 1) << out.err << out.out;
  EXPECT_NE(out.out.find("halted"), std::string::npos) << out.out;
  auto list = lab.run_json({"chain", "list"});
  ASSERT_FALSE(list["chain_runs"].empty());
  const std::string id = list["chain_runs"][0].value("id", "");
  auto run = lab.run_json({"chain", "status", id});
  EXPECT_EQ(run.value("status", ""), "halted");
  EXPECT_EQ(status_of(run, "broken"), "halted");
  EXPECT_EQ(status_of(run, "after-broken"), "skipped");
  // The failed hosts were rolled back; the web tier was never touched.
  for (const char* h : {"lab-02", "lab-05"}) EXPECT_EQ(lab.installed(h, "pf-web"), "1.0-1") << h;
  for (const char* h : {"lab-03", "lab-06"}) EXPECT_EQ(lab.installed(h, "pf-web"), "1.0-1") << h;
}

}  // namespace
