// SPDX-License-Identifier: Apache-2.0
// `patchflow-agent job run` as the agent runs it: signed jobs on dpkg and rpm roots built by the
// lab library, patched by the real apt-get/dpkg and dnf/rpm. Side-effect commands append their
// step id to a log file, so "ran exactly once" is counted, not assumed.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "patchflow/common/process.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/lab/deb.hpp"
#include "patchflow/lab/rpm.hpp"
#include "patchflow/lab/tools.hpp"
#include "patchflow/pki/signing.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg/rpm_db.hpp"

namespace fs = std::filesystem;
namespace process = pf::process;
using nlohmann::json;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string now_plus(int seconds) {
  return pf::jobs::format_time(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) +
                               std::chrono::seconds(seconds));
}

class JobRunner : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pf-runner-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    state_ = dir_ / "state";
    log_ = dir_ / "log";
    boot_id_ = dir_ / "boot_id";
    auto key = pf::pki::generate_signing_key();
    ASSERT_TRUE(key);
    key_ = *key;
    reset_state();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A fresh agent state: the server's key, a policy allowing commands, a boot id.
  void reset_state(const std::string& policy = R"({"commands":"allow"})") {
    fs::remove_all(state_);
    fs::create_directories(state_);
    write(state_ / "signing.pub", key_.public_pem);
    if (!policy.empty()) write(state_ / "policy.json", policy);
    write(boot_id_, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n");
    fs::remove(log_);
  }

  static void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }

  process::Outcome agent(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), PF_AGENT_BIN);
    env.push_back("HOME=" + dir_.string());
    env.push_back("LC_ALL=C");
    auto r = process::run({.argv = args, .env = env, .timeout = std::chrono::seconds(300)});
    EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
    return r.value_or(process::Outcome{});
  }

  // Signs the job's bytes as the server does and writes the envelope.
  fs::path sign(const json& job, const std::string& name = "work.json") {
    const std::string work = job.dump();
    auto sig = pf::pki::sign(key_.private_pem, work);
    EXPECT_TRUE(sig);
    const auto file = dir_ / name;
    write(file, pf::jobs::envelope_json(work, sig.value_or("")));
    return file;
  }

  json logged(const std::string& id, const std::string& extra = "") const {
    return {{"id", id}, {"type", "command"}, {"shell", "echo " + id + " >> " + log_.string() + extra}};
  }

  json base_job(const std::string& run_id) const {
    return {{"format", 1},           {"run_id", run_id},        {"job", "weekly-web"},
            {"host_id", "h-lab-1"}, {"issued_at", now_plus(-60)}, {"expires_at", now_plus(3600)}};
  }

  // The JetPatch workflow: check disk, stop app, back up, install, start app, validate.
  json jetpatch(const std::string& run_id, const fs::path& root, const std::string& validate_version) {
    json job = base_job(run_id);
    job["preconditions"] = json::array(
        {{{"id", "disk"}, {"type", "check"}, {"check", "disk_free"}, {"path", "/"}, {"min_free_mb", 1}},
         {{"id", "no-recovery"}, {"type", "check"}, {"check", "file_absent"},
          {"path", "/var/lib/app/recovery.flag"}}});
    job["pre"] = json::array(
        {logged("stop-app", "; rm -f " + (root / "run/app.running").string()),
         logged("backup", "; mkdir -p " + (dir_ / "backup").string() + " && cp " +
                              (root / "usr/share/pf-app/VERSION").string() + " " + (dir_ / "backup").string())});
    job["install"] = {{"select", "packages:pf-app"}};
    job["post"] = json::array(
        {logged("start-app", "; mkdir -p " + (root / "run").string() + " && touch " + (root / "run/app.running").string()),
         {{"id", "validate"}, {"type", "check"}, {"check", "command"},
          {"argv", {"grep", "-qx", validate_version, (root / "usr/share/pf-app/VERSION").string()}}}});
    job["baseline"] = {{"probes", json::array({{{"name", "app-files"}, {"kind", "command"},
                                                 {"argv", {"test", "-d", (root / "usr/share").string()}}}})},
                       {"rollback_on_regression", true}};
    job["rollback"] = {{"when", "on_failure"}, {"mode", "packages"}};
    return job;
  }

  // A dpkg root with pf-app 1.0-1; the repository also offers 1.1-1.
  fs::path deb_world() {
    std::vector<fs::path> debs;
    for (const std::string v : {"1.0-1", "1.1-1"}) {
      pf::lab::DebSpec spec;
      spec.name = "pf-app";
      spec.version = v;
      spec.files = {{"/usr/share/pf-app/VERSION", v + "\n"}};
      auto deb = pf::lab::build_deb(spec, dir_ / "debs");
      EXPECT_TRUE(deb) << (deb ? "" : pf::to_string(deb.error()));
      debs.push_back(deb.value_or(fs::path{}));
    }
    auto repo = pf::lab::build_apt_repo(debs, dir_ / "repo");
    EXPECT_TRUE(repo);
    auto root = dir_ / "deb-root";
    EXPECT_TRUE(pf::lab::make_dpkg_root(root));
    EXPECT_TRUE(pf::lab::install_debs(root, {debs[0]}));
    EXPECT_TRUE(pf::lab::set_apt_sources(root, {repo->source_line}));
    write(root / "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
    return root;
  }

  fs::path rpm_world() {
    std::vector<fs::path> rpms;
    for (const std::string v : {"1.0", "1.1"}) {
      pf::lab::RpmSpec spec;
      spec.name = "pf-app";
      spec.version = v;
      spec.files = {{"/usr/share/pf-app/VERSION", v + "-1\n"}};
      auto rpm = pf::lab::build_rpm(spec, dir_ / "rpms");
      EXPECT_TRUE(rpm) << (rpm ? "" : pf::to_string(rpm.error()));
      rpms.push_back(rpm.value_or(fs::path{}));
    }
    auto repo = pf::lab::build_rpm_repo(rpms, dir_ / "rpm-repo");
    EXPECT_TRUE(repo);
    auto root = dir_ / "rpm-root";
    EXPECT_TRUE(pf::lab::make_rpm_root(root));
    EXPECT_TRUE(pf::lab::install_rpms(root, {rpms[0]}));
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

  static std::string rpm_version(const fs::path& root, const std::string& name) {
    auto pkgs = pf::pkg::read_rpm_database(root);
    EXPECT_TRUE(pkgs);
    for (const auto& p : pkgs.value_or(std::vector<pf::inventory::Package>{}))
      if (p.name == name) return p.version;
    return {};
  }

  std::vector<std::string> run_args(const fs::path& work, const fs::path& root) const {
    return {"job", "run", "--work", work.string(), "--state-dir", state_.string(), "--root", root.string(), "--json"};
  }

  static json report(const process::Outcome& r) {
    json doc = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
    return doc;
  }

  static std::vector<std::string> steps_of(const json& rep) {
    std::vector<std::string> out;
    for (const auto& s : rep["results"]) {
      out.push_back(s["phase"].get<std::string>() + "/" + s["step_id"].get<std::string>() + "#" +
                    std::to_string(s["attempt"].get<int>()) + ":" + s["status"].get<std::string>());
    }
    return out;
  }

  std::vector<json> events(const std::string& run_id) {
    auto r = agent({"job", "events", "--state-dir", state_.string(), "--run", run_id});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<json> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }

  fs::path dir_, state_, log_, boot_id_;
  pf::pki::SigningKey key_;
};

TEST_F(JobRunner, JetPatchWorkflowOnAnAptRoot) {
  auto root = deb_world();
  auto work = sign(jetpatch("r-apt", root, "1.1-1"));
  auto args = run_args(work, root);
  args.insert(args.end(), {"--report-file", (dir_ / "report.json").string()});
  auto r = agent(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto rep = report(r);
  EXPECT_EQ(json::parse(read(dir_ / "report.json")), rep);
  EXPECT_EQ(rep["outcome"], "succeeded") << r.out;
  EXPECT_EQ(steps_of(rep), (std::vector<std::string>{
                               "precondition/disk#1:passed", "precondition/no-recovery#1:passed",
                               "baseline/baseline#1:passed", "pre/stop-app#1:passed", "pre/backup#1:passed",
                               "install/install#1:passed", "post/start-app#1:passed",
                               "post/validate#1:passed", "health/health#1:passed"}));
  EXPECT_EQ(deb_version(root, "pf-app"), "1.1-1");
  EXPECT_EQ(read(dir_ / "backup/VERSION"), "1.0-1\n");  // backed up before the install
  EXPECT_EQ(read(log_), "stop-app\nbackup\nstart-app\n");
  EXPECT_TRUE(fs::exists(root / "run/app.running"));
  // The install event carries the versions before and after, from the package database.
  bool found = false;
  for (const auto& e : events("r-apt")) {
    if (e["type"] == "result" && e["step_id"] == "install") {
      found = true;
      EXPECT_EQ(e["changes"], json::array({json::array({"pf-app", "all", "1.0-1", "1.1-1"})})) << e.dump();
    }
  }
  EXPECT_TRUE(found);
  // Run again: the journal says it is done; nothing runs twice.
  auto again = agent(run_args(work, root));
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(read(log_), "stop-app\nbackup\nstart-app\n");
  auto status = agent({"job", "status", "--state-dir", state_.string(), "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(json::parse(status.out)[0]["outcome"], "succeeded");
}

TEST_F(JobRunner, JetPatchWorkflowOnADnfRoot) {
  auto root = rpm_world();
  auto work = sign(jetpatch("r-dnf", root, "1.1-1"));
  auto args = run_args(work, root);
  args.insert(args.end(), {"--releasever", "lab"});
  auto r = agent(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(report(r)["outcome"], "succeeded") << r.out;
  EXPECT_EQ(rpm_version(root, "pf-app"), "1.1-1");
  EXPECT_EQ(read(dir_ / "backup/VERSION"), "1.0-1\n");
  EXPECT_EQ(read(log_), "stop-app\nbackup\nstart-app\n");
}

TEST_F(JobRunner, PostStepFailureRollsBackToTheRecordedVersions) {
  auto root = deb_world();
  json job = jetpatch("r-rb", root, "9.9-9");  // validate fails after the install
  job["post"].push_back(logged("notify"));     // ...so this one never runs
  auto work = sign(job);
  auto r = agent(run_args(work, root));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto rep = report(r);
  EXPECT_EQ(rep["outcome"], "rolled_back") << r.out;
  EXPECT_NE(rep["reason"].get<std::string>().find("post step \"validate\" failed"), std::string::npos) << r.out;
  EXPECT_EQ(rep["not_undone"], json::array());
  // The post step after the failed one reports skipped, recorded just before the outcome.
  EXPECT_EQ(steps_of(rep), (std::vector<std::string>{
                               "precondition/disk#1:passed", "precondition/no-recovery#1:passed",
                               "baseline/baseline#1:passed", "pre/stop-app#1:passed", "pre/backup#1:passed",
                               "install/install#1:passed", "post/start-app#1:passed",
                               "post/validate#1:failed", "rollback/rollback#1:passed",
                               "post/notify#1:skipped"}));
  EXPECT_EQ(rep["results"].back()["output_tail"].get<std::string>().rfind("not run: post step \"validate\" failed", 0), 0u)
      << rep["results"].back().dump();
  EXPECT_EQ(rep["results"].back()["duration_ms"], 0);
  EXPECT_EQ(read(log_), "stop-app\nbackup\nstart-app\n");  // notify did not run
  EXPECT_EQ(deb_version(root, "pf-app"), "1.0-1");  // from the package database
  EXPECT_EQ(read(root / "usr/share/pf-app/VERSION"), "1.0-1\n");
}

TEST_F(JobRunner, PostStepFailureRollsBackOnADnfRoot) {
  auto root = rpm_world();
  auto work = sign(jetpatch("r-rb-dnf", root, "9.9-9"));
  auto args = run_args(work, root);
  args.insert(args.end(), {"--releasever", "lab"});
  auto r = agent(args);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(report(r)["outcome"], "rolled_back") << r.out;
  EXPECT_EQ(rpm_version(root, "pf-app"), "1.0-1");
}

TEST_F(JobRunner, AHealthRegressionRollsBack) {
  auto root = deb_world();
  fs::create_directories(root / "run");
  write(root / "run/app.running", "");
  json job = jetpatch("r-health", root, "1.1-1");  // the validate step passes after the install
  // ...but the app is not started again: its probe passed before and fails after.
  job["post"] = json::array({job["post"][1]});
  job["baseline"]["probes"] = json::array({{{"name", "app-running"}, {"kind", "command"},
                                            {"argv", {"test", "-e", (root / "run/app.running").string()}}}});
  auto r = agent(run_args(sign(job), root));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto rep = report(r);
  EXPECT_EQ(rep["outcome"], "rolled_back") << r.out;
  bool named = false;
  for (const auto& g : rep["regressions"]) {
    named = named || g.get<std::string>().find("app-running") != std::string::npos;
  }
  EXPECT_TRUE(named) << rep.dump();
  EXPECT_EQ(deb_version(root, "pf-app"), "1.0-1");  // from the package database
}

TEST_F(JobRunner, RecoveryFlagPostponesThenSkips) {
  auto root = deb_world();
  write(root / "var/lib/app/recovery.flag", "recovering\n");
  json job = jetpatch("r-recovery", root, "1.1-1");
  job["retry"] = {{"interval_s", 1}, {"until", now_plus(3)}};
  auto r = agent(run_args(sign(job), root));
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  auto rep = report(r);
  EXPECT_EQ(rep["outcome"], "skipped");
  EXPECT_NE(rep["reason"].get<std::string>().find("no-recovery"), std::string::npos) << r.out;
  std::size_t postponed = 0;
  for (const auto& e : events("r-recovery")) postponed += e["type"] == "postponed";
  EXPECT_GE(postponed, 2u);
  EXPECT_FALSE(fs::exists(log_));  // no pre step ran
  // Every step after the preconditions reports skipped, naming why.
  auto steps = steps_of(rep);
  ASSERT_GE(steps.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(steps.end() - 5, steps.end()),
            (std::vector<std::string>{"pre/stop-app#1:skipped", "pre/backup#1:skipped",
                                      "install/install#1:skipped", "post/start-app#1:skipped",
                                      "post/validate#1:skipped"}));
  EXPECT_EQ(rep["results"].back()["output_tail"], "not run: precondition step \"no-recovery\" failed")
      << rep["results"].back().dump();
  bool skipped_event = false;
  for (const auto& e : events("r-recovery")) skipped_event = skipped_event || e.value("status", "") == "skipped";
  EXPECT_TRUE(skipped_event);  // reported to the server like any result
  EXPECT_EQ(deb_version(root, "pf-app"), "1.0-1");
}

TEST_F(JobRunner, BackupWindowPostponesUntilItEnds) {
  auto root = deb_world();
  write(root / "var/run/backup-window", "");
  json job = jetpatch("r-window", root, "1.1-1");
  job["preconditions"].push_back({{"id", "no-backup"}, {"type", "check"}, {"check", "file_absent"},
                                  {"path", "/var/run/backup-window"}});
  job["retry"] = {{"interval_s", 1}, {"until", now_plus(120)}};
  // The window ends once the agent has been postponed by it at least once (waiting for the
  // journal, not a fixed time: a slow start under load must not miss the window).
  std::thread ends([&] {
    const fs::path journal = state_ / "runs" / "r-window.journal";
    for (int i = 0; i < 600; ++i) {
      std::ifstream in(journal);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find("\"postponed\"") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fs::remove(root / "var/run/backup-window");
  });
  auto r = agent(run_args(sign(job), root));
  ends.join();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(report(r)["outcome"], "succeeded");
  std::size_t postponed = 0;
  for (const auto& e : events("r-window")) postponed += e["type"] == "postponed";
  EXPECT_GE(postponed, 1u);
  EXPECT_EQ(deb_version(root, "pf-app"), "1.1-1");
  EXPECT_EQ(read(log_), "stop-app\nbackup\nstart-app\n");
}

TEST_F(JobRunner, CommandsDeniedByPolicyRunNothing) {
  auto root = deb_world();
  reset_state("");  // no policy.json: commands are denied
  auto r = agent(run_args(sign(jetpatch("r-deny", root, "1.1-1")), root));
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  auto rep = report(r);
  EXPECT_EQ(rep["outcome"], "refused");
  EXPECT_NE(rep["reason"].get<std::string>().find("denies commands"), std::string::npos) << r.out;
  // Nothing ran: every step of the job reports skipped.
  ASSERT_EQ(rep["results"].size(), 7u) << rep.dump();
  for (const auto& s : rep["results"]) {
    EXPECT_EQ(s["status"], "skipped") << s.dump();
    EXPECT_EQ(s["output_tail"], "not run: refused by this host's policy") << s.dump();
  }
  EXPECT_FALSE(fs::exists(log_));
  EXPECT_EQ(deb_version(root, "pf-app"), "1.0-1");
  // An allow-list without /bin/sh refuses the shell steps the same way.
  reset_state(R"({"commands":"allow_list","allowed":["/usr/bin/grep"]})");
  auto listed = agent(run_args(sign(jetpatch("r-deny2", root, "1.1-1")), root));
  EXPECT_EQ(listed.exit_code, 6) << listed.out;
  EXPECT_FALSE(fs::exists(log_));
}

TEST_F(JobRunner, UnsignedOrAlteredWorkIsRefusedBeforeAnything) {
  json job = base_job("r-forged");
  job["pre"] = json::array({logged("never")});
  const std::string work = job.dump();
  write(dir_ / "unsigned.json", pf::jobs::envelope_json(work, ""));
  auto sig = pf::pki::sign(key_.private_pem, work);
  ASSERT_TRUE(sig);
  std::string altered = work;
  altered.replace(altered.find("weekly-web"), 10, "weekly-wex");
  write(dir_ / "altered.json", pf::jobs::envelope_json(altered, *sig));
  for (const char* name : {"unsigned.json", "altered.json"}) {
    auto r = agent({"job", "run", "--work", (dir_ / name).string(), "--state-dir", state_.string(),
                    "--root", dir_.string()});
    EXPECT_EQ(r.exit_code, 2) << name << r.err;
    EXPECT_NE(r.err.find("envelope.signature"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(log_));
  EXPECT_FALSE(fs::exists(state_ / "runs/r-forged.journal"));
}

// The full job used by the reboot and the kill tests: preconditions, pre steps, install, one
// lab reboot with steps before and after it, post steps.
json full_job(json base, const std::function<json(const std::string&)>& logged) {
  json job = std::move(base);
  job["preconditions"] = json::array({{{"id", "no-recovery"}, {"type", "check"}, {"check", "file_absent"},
                                       {"path", "/var/lib/app/recovery.flag"}}});
  job["pre"] = json::array({logged("stop-app"), logged("backup")});
  job["install"] = {{"select", "packages:pf-app"}};
  job["reboot"] = {{"policy", "always"}, {"max_reboots", 1},
                   {"before", json::array({logged("drain")})},
                   {"after", json::array({logged("after-boot")})}};
  job["post"] = json::array({logged("start-app"), logged("validate")});
  return job;
}

TEST_F(JobRunner, LabRebootResumesAndRunsPostStepsOnce) {
  auto root = deb_world();
  auto job = full_job(base_job("r-reboot"), [&](const std::string& id) { return logged(id); });
  auto args = run_args(sign(job), root);
  args.insert(args.end(), {"--reboot", "lab", "--boot-id-file", boot_id_.string()});
  const std::string boot_before = read(boot_id_);
  auto r = agent(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("lab reboot"), std::string::npos) << r.err;
  auto rep = report(r);
  EXPECT_EQ(rep["outcome"], "succeeded") << r.out;
  EXPECT_TRUE(rep["resumed"].get<bool>());  // the restarted process continued the journal
  EXPECT_NE(read(boot_id_), boot_before);
  EXPECT_EQ(read(log_), "stop-app\nbackup\ndrain\nafter-boot\nstart-app\nvalidate\n");
  bool rebooted = false;
  for (const auto& s : rep["results"]) {
    if (s["step_id"] == "reboot.1") {
      rebooted = true;
      EXPECT_EQ(s["status"], "passed");
      EXPECT_NE(s["output_tail"].get<std::string>().find("boot id"), std::string::npos);
    }
  }
  EXPECT_TRUE(rebooted);
  EXPECT_EQ(deb_version(root, "pf-app"), "1.1-1");
}

TEST_F(JobRunner, IfRequiredRebootsAsOftenAsNeededWithinTheBound) {
  auto root = deb_world();
  const auto flag = root / "run/reboot-required";
  const auto marker = dir_ / "second-stage";
  json job = base_job("r-twice");
  // The install leaves the Debian flag file; the first boot's check finds a second-stage
  // update that asks for one more reboot (the lab reboot empties run/ each time).
  job["pre"] = json::array({logged("stop-app")});
  job["install"] = {{"select", "packages:pf-app"}};
  job["post"] = json::array({logged("validate")});
  job["reboot"] = {{"policy", "if_required"}, {"max_reboots", 3},
                   {"after", json::array({logged("after-boot", "; [ -e " + marker.string() + " ] || { touch " +
                                                                  marker.string() + "; mkdir -p " + flag.parent_path().string() +
                                                                  "; touch " + flag.string() + "; }")})}};
  job["pre"].push_back(logged("flag", "; mkdir -p " + flag.parent_path().string() + " && touch " + flag.string()));
  auto args = run_args(sign(job), root);
  args.insert(args.end(), {"--reboot", "lab", "--boot-id-file", boot_id_.string()});
  auto r = agent(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto rep = report(r);
  EXPECT_EQ(rep["outcome"], "succeeded") << r.out;
  std::vector<std::string> reboots;
  for (const auto& s : rep["results"])
    if (s["phase"] == "reboot") reboots.push_back(s["step_id"].get<std::string>() + ":" + s["status"].get<std::string>());
  EXPECT_EQ(reboots, (std::vector<std::string>{"reboot.1:passed", "reboot.2:passed"})) << r.out;
  EXPECT_EQ(read(log_), "stop-app\nflag\nafter-boot\nafter-boot\nvalidate\n");
  EXPECT_FALSE(fs::exists(flag));
}

TEST_F(JobRunner, KillAtEveryBoundaryResumesToTheSameOutcome) {
  auto root = deb_world();
  const auto pristine = dir_ / "pristine-root";
  ASSERT_TRUE(pf::lab::run_checked({"cp", "-a", root.string(), pristine.string()}));
  auto restore_root = [&] {
    fs::remove_all(root);
    ASSERT_TRUE(pf::lab::run_checked({"cp", "-a", pristine.string(), root.string()}));
  };
  auto job = full_job(base_job("r-kill"), [&](const std::string& id) { return logged(id); });
  const auto work = sign(job);
  auto args = run_args(work, root);
  args.insert(args.end(), {"--reboot", "lab", "--boot-id-file", boot_id_.string()});

  // The uninterrupted run: what every interrupted one must end as.
  auto clean = agent(args);
  ASSERT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  const auto expected_steps = steps_of(report(clean));
  const auto expected_log = read(log_);
  const auto expected_events = events("r-kill").size();
  std::size_t boundaries = 0;
  {
    std::ifstream in(state_ / "runs/r-kill.journal");
    for (std::string line; std::getline(in, line);) ++boundaries;
  }
  ASSERT_GE(boundaries, 12u);

  std::size_t kills = 0;
  for (std::size_t n = 1; n <= boundaries + 1; ++n) {
    SCOPED_TRACE("killed at boundary " + std::to_string(n));
    restore_root();
    reset_state();
    auto killed = agent(args, {"PF_RUNNER_CRASH_AT=" + std::to_string(n)});
    if (n > boundaries) {
      EXPECT_EQ(killed.exit_code, 0) << killed.err;  // no such boundary: it just completes
      break;
    }
    ASSERT_EQ(killed.term_signal, SIGKILL) << killed.out << killed.err;
    ++kills;
    // Resume: `job run` again, or `job resume` with the flags kept in the journal.
    auto resumed = n % 2 ? agent(args)
                         : agent({"job", "resume", "--state-dir", state_.string(), "--json"});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
    auto st = agent({"job", "status", "--state-dir", state_.string(), "--json"});
    ASSERT_EQ(json::parse(st.out)[0]["outcome"], "succeeded") << st.out;
    // The same results, the side effects once per step, every event once.
    auto final_run = agent(args);
    ASSERT_EQ(final_run.exit_code, 0);
    EXPECT_EQ(steps_of(report(final_run)), expected_steps);
    EXPECT_EQ(read(log_), expected_log);
    auto ev = events("r-kill");
    EXPECT_EQ(ev.size(), expected_events);
    std::set<std::string> ids;
    for (const auto& e : ev) ids.insert(e["event_id"].get<std::string>());
    EXPECT_EQ(ids.size(), ev.size());
    EXPECT_EQ(deb_version(root, "pf-app"), "1.1-1");
  }
  EXPECT_EQ(kills, boundaries);  // every record of the journal was a kill point
}

// A run that ends early records the steps it did not run before its outcome: a kill among
// those records resumes without any of them twice and without running anything again.
TEST_F(JobRunner, KillAtEveryBoundaryOfAnEarlyEndResumesToTheSameOutcome) {
  auto root = deb_world();
  auto job = full_job(base_job("r-kill-early"), [&](const std::string& id) {
    return logged(id, id == "backup" ? "; exit 5" : "");
  });
  auto args = run_args(sign(job), root);
  args.insert(args.end(), {"--reboot", "lab", "--boot-id-file", boot_id_.string()});
  auto clean = agent(args);
  ASSERT_EQ(clean.exit_code, 1) << clean.out << clean.err;
  const auto expected_steps = steps_of(report(clean));
  EXPECT_EQ(expected_steps, (std::vector<std::string>{
                                "precondition/no-recovery#1:passed", "pre/stop-app#1:passed",
                                "pre/backup#1:failed", "install/install#1:skipped",
                                "reboot_before/drain#1:skipped", "reboot_after/after-boot#1:skipped",
                                "post/start-app#1:skipped", "post/validate#1:skipped"}));
  const auto expected_log = read(log_);
  const auto expected_events = events("r-kill-early").size();
  std::size_t boundaries = 0;
  {
    std::ifstream in(state_ / "runs/r-kill-early.journal");
    for (std::string line; std::getline(in, line);) ++boundaries;
  }
  ASSERT_EQ(boundaries, 10u);  // start, 8 results, outcome
  for (std::size_t n = 1; n <= boundaries; ++n) {
    SCOPED_TRACE("killed at boundary " + std::to_string(n));
    reset_state();
    auto killed = agent(args, {"PF_RUNNER_CRASH_AT=" + std::to_string(n)});
    ASSERT_EQ(killed.term_signal, SIGKILL) << killed.out << killed.err;
    auto resumed = n % 2 ? agent(args)
                         : agent({"job", "resume", "--state-dir", state_.string(), "--json"});
    // (killed after the outcome, `job resume` finds no unfinished run: exit 0)
    ASSERT_EQ(resumed.exit_code, n == boundaries && n % 2 == 0 ? 0 : 1) << resumed.out << resumed.err;
    auto final_run = agent(args);
    ASSERT_EQ(final_run.exit_code, 1);
    auto rep = report(final_run);
    EXPECT_EQ(rep["outcome"], "failed");
    EXPECT_EQ(steps_of(rep), expected_steps);
    EXPECT_EQ(read(log_), expected_log);
    auto ev = events("r-kill-early");
    EXPECT_EQ(ev.size(), expected_events);
    std::set<std::string> ids;
    for (const auto& e : ev) ids.insert(e["event_id"].get<std::string>());
    EXPECT_EQ(ids.size(), ev.size());
  }
  EXPECT_EQ(deb_version(root, "pf-app"), "1.0-1");
}

}  // namespace
