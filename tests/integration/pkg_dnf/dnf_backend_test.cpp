// SPDX-License-Identifier: Apache-2.0
// The dnf backend against the real dnf, rpm, rpmbuild and createrepo_c: rpm roots built by the
// lab library, packages with scriptlets, advisories in updateinfo.xml, a full file system, an
// unreachable repository and a real rpm run holding the transaction lock. Every result is
// checked against the rpm database read independently (pf::pkg::read_rpm_database).
#include "patchflow/pkg_dnf/dnf_backend.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../lab/lab_fixture.hpp"
#include "patchflow/lab/rpm.hpp"
#include "patchflow/pkg/backend.hpp"
#include "patchflow/pkg/backend_support.hpp"
#include "patchflow/pkg/rpm_db.hpp"

namespace pf::pkg::dnf {
namespace {

namespace fs = std::filesystem;

// Every package of the tests' repository: NAME-VERSION-1.noarch, with what makes it interesting.
struct Def {
  std::string name;
  std::string version;
  std::vector<std::string> requires_{};
  std::optional<std::string> pre{};
  std::optional<std::string> post{};
  std::size_t data_size{0};  // a file /usr/share/NAME/data of that many bytes
};
const std::vector<Def> kDefs{
    {"pf-app", "1.0"},
    {"pf-app", "2.0", {"pf-lib"}},
    {"pf-lib", "1.0"},
    {"pf-tool", "1.0"},
    {"pf-sec", "1.0"},
    {"pf-sec", "1.1"},
    {"pf-sec", "1.2"},
    {"pf-bug", "1.0"},
    {"pf-bug", "2.0"},
    {"pf-crit", "1.0"},
    {"pf-crit", "2.0"},
    {"pf-post",
     "1.0",
     {},
     {},
     "mkdir -p /var/lib/pf-post\necho \"1.0 $1\" > /var/lib/pf-post/ran\n"},
    {"pf-post", "2.0", {}, {}, "echo \"2.0 $1\" > /var/lib/pf-post/ran\n"},
    {"pf-badpre", "1.0"},
    {"pf-badpre", "2.0", {}, "echo refusing to upgrade >&2\nexit 3\n"},
    {"pf-badpost", "1.0"},
    {"pf-badpost", "2.0", {}, {}, "echo post failed >&2\nexit 4\n"},
    {"pf-broken", "1.0"},
    {"pf-broken", "2.0", {"pf-missing >= 2"}},
    {"pf-big", "1.0", {}, {}, {}, 1000},
    {"pf-big", "2.0", {}, {}, {}, 3000000},
};

lab::AdvisoryPackage adv_pkg(const std::string& name, const std::string& version) {
  return {name, 0, version, "1", "noarch", name + "-" + version + "-1.noarch.rpm"};
}

std::vector<lab::Advisory> advisories() {
  lab::Advisory sec;
  sec.id = "PFSA-2026:0001";
  sec.title = "pf-sec security update";
  sec.severity = "Important";
  sec.issued = "2026-01-02 00:00:00";
  sec.cves = {"CVE-2026-0001"};
  sec.packages = {adv_pkg("pf-sec", "1.1")};
  lab::Advisory fix = sec;
  fix.id = "PFBA-2026:0002";
  fix.type = "bugfix";
  fix.severity = "";
  fix.cves = {};
  fix.packages = {adv_pkg("pf-sec", "1.2")};
  lab::Advisory bug = fix;
  bug.id = "PFBA-2026:0003";
  bug.packages = {adv_pkg("pf-bug", "2.0")};
  lab::Advisory crit = sec;
  crit.id = "PFSA-2026:0004";
  crit.severity = "Urgent";  // not one of the four that `dnf updateinfo list` knows
  crit.packages = {adv_pkg("pf-crit", "2.0")};
  return {sec, fix, bug, crit};
}

class DnfBackendTest : public lab::testing::LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    require("dnf", "dnf");
    require("rpm", "rpm");
    require("rpmbuild", "rpm");
    require("createrepo_c", "createrepo-c");
    root_ = dir_ / "root";
  }

  void TearDown() override {
    backend_.reset();
    for (const auto& m : mounts_) {
      auto r = run({"umount", m.string()});
      EXPECT_TRUE(r.ok()) << describe(r);
    }
    LabTest::TearDown();
  }

  /// The .rpm of "NAME-VERSION" from kDefs, built on first use (each test builds only what it
  /// uses: ctest runs every test in its own process).
  Result<fs::path> rpm(const std::string& key) {
    if (auto it = rpms_.find(key); it != rpms_.end()) return it->second;
    for (const auto& d : kDefs) {
      if (d.name + "-" + d.version != key) continue;
      lab::RpmSpec spec;
      spec.name = d.name;
      spec.version = d.version;
      spec.requires_ = d.requires_;
      spec.pre = d.pre;
      spec.post = d.post;
      spec.files = {{"/usr/share/" + d.name + "/version", d.version + "\n", 0644}};
      if (d.data_size > 0)
        spec.files.push_back(
            {"/usr/share/" + d.name + "/data", std::string(d.data_size, 'x'), 0644});
      auto built = lab::build_rpm(spec, dir_ / "rpms");
      if (built) rpms_[key] = *built;
      return built;
    }
    return make_error(Errc::not_found, "no test package " + key);
  }

  /// A root with `installed` ("pf-app-1.0", ...), a repository with every version of `names`
  /// and the advisories, and a refreshed backend.
  void make_world(const std::vector<std::string>& installed,
                  const std::vector<std::string>& names) {
    std::vector<fs::path> in_repo;
    for (const auto& d : kDefs) {
      if (std::find(names.begin(), names.end(), d.name) == names.end()) continue;
      auto r = rpm(d.name + "-" + d.version);
      ASSERT_TRUE(r) << to_string(r.error());
      in_repo.push_back(*r);
    }
    auto repo = lab::build_rpm_repo(in_repo, dir_ / "repo", advisories());
    ASSERT_TRUE(repo) << to_string(repo.error());
    auto made = lab::make_rpm_root(root_);
    ASSERT_TRUE(made) << to_string(made.error());
    std::vector<fs::path> initial;
    for (const auto& i : installed) {
      auto r = rpm(i);
      ASSERT_TRUE(r) << to_string(r.error());
      initial.push_back(*r);
    }
    if (!initial.empty()) {
      auto r = lab::install_rpms(root_, initial);
      ASSERT_TRUE(r) << to_string(r.error());
    }
    ASSERT_TRUE(lab::write_file(root_ / "etc/yum.repos.d/pf-lab.repo", repo->repo_file));
    backend_ = make_dnf_backend(options());
    auto refreshed = backend_->refresh();
    ASSERT_TRUE(refreshed) << to_string(refreshed.error());
  }

  BackendOptions options(std::chrono::milliseconds lock_timeout = std::chrono::seconds(30)) {
    BackendOptions o;
    o.root = root_;
    o.releasever = "lab";
    o.lock_timeout = lock_timeout;
    o.tool_timeout = std::chrono::seconds(120);
    return o;
  }

  /// name -> version, read from the rpm database without the backend.
  std::map<std::string, std::string> db() {
    auto r = read_rpm_database(root_);
    EXPECT_TRUE(r) << (r ? "" : to_string(r.error()));
    std::map<std::string, std::string> m;
    if (r)
      for (const auto& p : *r) m[p.name] = p.version;
    return m;
  }
  std::string version_of(const std::string& name) {
    auto m = db();
    return m.count(name) ? m[name] : "";
  }

  static const PackageResult* find(const ApplyReport& report, const std::string& name) {
    for (const auto& p : report.packages)
      if (p.name == name) return &p;
    return nullptr;
  }
  static std::string show(const ApplyReport& r) {
    std::string s = std::string(outcome_name(r.outcome)) + "\n";
    for (const auto& p : r.packages)
      s += "  " + p.name + " " + p.before + " -> " + p.after + " " +
           std::string(status_name(p.status)) + " " + std::string(reason_name(p.reason)) + " " +
           p.detail + "\n";
    for (const auto& c : r.commands) s += "  $ " + c + "\n";
    return s + r.output_tail;
  }

  static Selection packages(std::vector<std::string> names) {
    Selection s;
    s.kind = Selection::Kind::packages;
    s.names = std::move(names);
    return s;
  }

  std::map<std::string, fs::path> rpms_;
  fs::path root_;
  std::unique_ptr<PackageBackend> backend_;
  std::vector<fs::path> mounts_;
};

TEST_F(DnfBackendTest, InstallUpgradeVerifyAndRollBack) {
  make_world({"pf-app-1.0", "pf-tool-1.0"}, {"pf-app", "pf-lib", "pf-tool"});
  auto installed = backend_->installed();
  ASSERT_TRUE(installed) << to_string(installed.error());
  EXPECT_EQ(installed->size(), db().size());

  auto report = backend_->apply(Selection{});
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << show(*report);
  const auto* app = find(*report, "pf-app");
  ASSERT_NE(app, nullptr) << show(*report);
  EXPECT_EQ(app->status, PackageResult::Status::applied);
  EXPECT_EQ(app->before, "1.0-1");
  EXPECT_EQ(app->after, "2.0-1");
  const auto* lib = find(*report, "pf-lib");
  ASSERT_NE(lib, nullptr) << show(*report);
  EXPECT_EQ(lib->status, PackageResult::Status::extra);
  EXPECT_EQ(find(*report, "pf-tool"), nullptr) << "no update: not selected";
  EXPECT_EQ(version_of("pf-app"), "2.0-1");
  EXPECT_EQ(version_of("pf-lib"), "1.0-1");
  EXPECT_EQ(slurp(root_ / "usr/share/pf-app/version"), "2.0\n");
  EXPECT_TRUE(report->consistent) << report->audit;

  auto targets = rollback_targets(*report);
  auto back = backend_->restore(targets);
  ASSERT_TRUE(back) << to_string(back.error());
  EXPECT_EQ(back->outcome, ApplyOutcome::applied) << show(*back);
  EXPECT_EQ(back->commands.size(), 2u) << "a downgrade, then a removal";
  EXPECT_EQ(version_of("pf-app"), "1.0-1");
  EXPECT_EQ(version_of("pf-lib"), "");
  EXPECT_EQ(version_of("pf-tool"), "1.0-1");
  EXPECT_EQ(slurp(root_ / "usr/share/pf-app/version"), "1.0\n");
  const auto* removed = find(*back, "pf-lib");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->status, PackageResult::Status::applied);
  EXPECT_EQ(removed->after, "");
}

TEST_F(DnfBackendTest, PlanChangesNothing) {
  make_world({"pf-app-1.0", "pf-tool-1.0", "pf-broken-1.0"},
             {"pf-app", "pf-lib", "pf-tool", "pf-broken"});
  const auto before = db();
  auto plan = backend_->plan(packages({"pf-app", "pf-no-such"}));
  ASSERT_TRUE(plan) << to_string(plan.error());
  ASSERT_EQ(plan->changes.size(), 2u);
  EXPECT_EQ(plan->changes[0].name, "pf-app");
  EXPECT_EQ(plan->changes[0].from, "1.0-1");
  EXPECT_EQ(plan->changes[0].to, "2.0-1");
  EXPECT_EQ(plan->changes[0].action, Action::upgrade);
  EXPECT_TRUE(plan->changes[0].selected);
  EXPECT_EQ(plan->changes[1].name, "pf-lib");
  EXPECT_EQ(plan->changes[1].action, Action::install);
  EXPECT_FALSE(plan->changes[1].selected) << "pulled in as a dependency";
  ASSERT_EQ(plan->skipped.size(), 1u);
  EXPECT_EQ(plan->skipped[0].name, "pf-no-such");
  EXPECT_EQ(plan->skipped[0].reason, Reason::not_in_repository);

  auto lib = backend_->plan(packages({"pf-lib"}));
  ASSERT_TRUE(lib) << to_string(lib.error());
  EXPECT_TRUE(lib->changes.empty());
  ASSERT_EQ(lib->skipped.size(), 1u);
  EXPECT_EQ(lib->skipped[0].reason, Reason::not_installed) << lib->skipped[0].detail;

  auto broken = backend_->plan(packages({"pf-broken"}));
  ASSERT_TRUE(broken) << to_string(broken.error());
  EXPECT_TRUE(broken->changes.empty());
  ASSERT_EQ(broken->skipped.size(), 1u);
  EXPECT_EQ(broken->skipped[0].reason, Reason::dependency) << broken->skipped[0].detail;
  EXPECT_NE(broken->skipped[0].detail.find("pf-missing"), std::string::npos);

  auto down = backend_->plan({Selection::Kind::exact, {}, {{"pf-app", "", "1.0-1"}}});
  ASSERT_TRUE(down) << to_string(down.error());
  EXPECT_TRUE(down->changes.empty());
  ASSERT_EQ(down->skipped.size(), 1u);
  EXPECT_EQ(down->skipped[0].reason, Reason::up_to_date);

  EXPECT_EQ(db(), before);
  EXPECT_FALSE(fs::exists(root_ / "usr/share/pf-lib"));
}

TEST_F(DnfBackendTest, ExactVersionsUpAndDown) {
  make_world({"pf-sec-1.0"}, {"pf-sec"});
  auto up = backend_->apply({Selection::Kind::exact, {}, {{"pf-sec", "", "0:1.2-1"}}});
  ASSERT_TRUE(up) << to_string(up.error());
  EXPECT_EQ(up->outcome, ApplyOutcome::applied) << show(*up);
  EXPECT_EQ(version_of("pf-sec"), "1.2-1");
  auto down = backend_->apply({Selection::Kind::exact, {}, {{"pf-sec", "noarch", "1.1-1"}}});
  ASSERT_TRUE(down) << to_string(down.error());
  EXPECT_EQ(down->outcome, ApplyOutcome::applied) << show(*down);
  const auto* sec = find(*down, "pf-sec");
  ASSERT_NE(sec, nullptr);
  EXPECT_EQ(sec->before, "1.2-1");
  EXPECT_EQ(sec->after, "1.1-1");
  EXPECT_EQ(version_of("pf-sec"), "1.1-1");

  auto missing = backend_->apply({Selection::Kind::exact, {}, {{"pf-sec", "", "9.9-1"}}});
  ASSERT_TRUE(missing) << to_string(missing.error());
  EXPECT_EQ(missing->outcome, ApplyOutcome::resolve_failed) << show(*missing);
  ASSERT_NE(find(*missing, "pf-sec"), nullptr);
  EXPECT_EQ(find(*missing, "pf-sec")->reason, Reason::not_in_repository) << show(*missing);
  EXPECT_TRUE(missing->error.has_value());
  EXPECT_EQ(version_of("pf-sec"), "1.1-1");

  auto invalid = backend_->apply({Selection::Kind::exact, {}, {{"pf-sec", "", "1.1"}}});
  ASSERT_FALSE(invalid) << "an rpm version needs a release";
  EXPECT_EQ(invalid.error().code, Errc::invalid_input);
  auto option = backend_->apply(packages({"--setopt=tsflags=test"}));
  ASSERT_FALSE(option) << "a name that looks like an option never reaches dnf";
  EXPECT_EQ(option.error().code, Errc::invalid_input);
}

TEST_F(DnfBackendTest, UpgradableJoinsAdvisoriesAndReportsHeldPackages) {
  make_world({"pf-sec-1.0", "pf-bug-1.0", "pf-crit-1.0", "pf-tool-1.0"},
             {"pf-sec", "pf-bug", "pf-crit", "pf-tool"});
  // excludepkgs is how an administrator holds a package with plain dnf.
  auto conf = slurp(root_ / "etc/dnf/dnf.conf") + "excludepkgs=pf-bug\n";
  ASSERT_TRUE(lab::write_file(root_ / "etc/dnf/dnf.conf", conf));
  auto updates = backend_->upgradable();
  ASSERT_TRUE(updates) << to_string(updates.error());
  std::map<std::string, Update> by_name;
  for (const auto& u : *updates) by_name[u.name] = u;
  ASSERT_EQ(by_name.size(), 3u);
  const auto& sec = by_name["pf-sec"];
  EXPECT_EQ(sec.installed, "1.0-1");
  EXPECT_EQ(sec.candidate, "1.2-1");
  EXPECT_EQ(sec.origin, "pf-lab");
  EXPECT_TRUE(sec.security);
  EXPECT_EQ(sec.severity, "Important");
  auto ids = sec.advisories;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"PFBA-2026:0002", "PFSA-2026:0001"}));
  EXPECT_FALSE(sec.held_back);
  const auto& crit = by_name["pf-crit"];
  EXPECT_TRUE(crit.security);
  EXPECT_EQ(crit.severity, "Urgent") << "read from dnf updateinfo info";
  const auto& bug = by_name["pf-bug"];
  EXPECT_TRUE(bug.held_back);
  EXPECT_NE(bug.held_reason.find("exclude"), std::string::npos) << bug.held_reason;
  EXPECT_FALSE(bug.security);
  EXPECT_EQ(bug.advisories, (std::vector<std::string>{"PFBA-2026:0003"}));

  auto held = backend_->apply(packages({"pf-bug"}));
  ASSERT_TRUE(held) << to_string(held.error());
  const auto* b = find(*held, "pf-bug");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->status, PackageResult::Status::not_applied);
  EXPECT_EQ(b->reason, Reason::held) << show(*held);
  EXPECT_EQ(version_of("pf-bug"), "1.0-1");
}

TEST_F(DnfBackendTest, SecurityOnly) {
  make_world({"pf-sec-1.0", "pf-bug-1.0", "pf-crit-1.0", "pf-app-1.0"},
             {"pf-sec", "pf-bug", "pf-crit", "pf-app", "pf-lib"});
  Selection sel;
  sel.kind = Selection::Kind::security;
  auto plan = backend_->plan(sel);
  ASSERT_TRUE(plan) << to_string(plan.error());
  std::vector<std::string> planned;
  for (const auto& c : plan->changes) planned.push_back(c.name + "=" + c.to);
  std::sort(planned.begin(), planned.end());
  EXPECT_EQ(planned, (std::vector<std::string>{"pf-crit=2.0-1", "pf-sec=1.2-1"}));

  auto report = backend_->apply(sel);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << show(*report);
  EXPECT_EQ(version_of("pf-sec"), "1.2-1");
  EXPECT_EQ(version_of("pf-crit"), "2.0-1");
  EXPECT_EQ(version_of("pf-bug"), "1.0-1") << "a bugfix is not a security update";
  EXPECT_EQ(version_of("pf-app"), "1.0-1");
  EXPECT_EQ(find(*report, "pf-bug"), nullptr);

  auto again = backend_->apply(sel);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(again->outcome, ApplyOutcome::nothing_to_do) << show(*again);
}

TEST_F(DnfBackendTest, NamedAdvisories) {
  make_world({"pf-sec-1.0", "pf-bug-1.0", "pf-crit-1.0"}, {"pf-sec", "pf-bug", "pf-crit"});
  Selection sel;
  sel.kind = Selection::Kind::advisories;
  sel.names = {"PFBA-2026:0003", "PFXX-2026:9999"};
  auto plan = backend_->plan(sel);
  ASSERT_TRUE(plan) << to_string(plan.error());
  ASSERT_EQ(plan->changes.size(), 1u);
  EXPECT_EQ(plan->changes[0].name, "pf-bug");
  ASSERT_EQ(plan->skipped.size(), 1u);
  EXPECT_EQ(plan->skipped[0].name, "PFXX-2026:9999");
  EXPECT_EQ(plan->skipped[0].reason, Reason::not_in_repository);

  auto report = backend_->apply(sel);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << show(*report);
  EXPECT_EQ(version_of("pf-bug"), "2.0-1");
  EXPECT_EQ(version_of("pf-sec"), "1.0-1");
  EXPECT_EQ(version_of("pf-crit"), "1.0-1");
  ASSERT_EQ(report->warnings.size(), 1u);
  EXPECT_NE(report->warnings[0].find("PFXX-2026:9999"), std::string::npos);
}

TEST_F(DnfBackendTest, ScriptletsRunAndFailuresAreReported) {
  make_world({"pf-badpre-1.0", "pf-badpost-1.0"}, {"pf-post", "pf-badpre", "pf-badpost"});
  auto first = backend_->apply({Selection::Kind::exact, {}, {{"pf-post", "", "1.0-1"}}});
  ASSERT_TRUE(first) << to_string(first.error());
  EXPECT_EQ(first->outcome, ApplyOutcome::applied) << show(*first);
  EXPECT_EQ(slurp(root_ / "var/lib/pf-post/ran"), "1.0 1\n") << "%post ran in the root";
  auto second = backend_->apply(packages({"pf-post"}));
  ASSERT_TRUE(second) << to_string(second.error());
  EXPECT_EQ(second->outcome, ApplyOutcome::applied) << show(*second);
  EXPECT_EQ(slurp(root_ / "var/lib/pf-post/ran"), "2.0 2\n") << "%post of the upgrade";

  auto pre = backend_->apply(packages({"pf-badpre"}));
  ASSERT_TRUE(pre) << to_string(pre.error());
  const auto* bp = find(*pre, "pf-badpre");
  ASSERT_NE(bp, nullptr);
  EXPECT_EQ(bp->status, PackageResult::Status::not_applied) << show(*pre);
  EXPECT_EQ(bp->reason, Reason::script_failed) << show(*pre);
  EXPECT_NE(bp->detail.find("exit status 3"), std::string::npos) << bp->detail;
  EXPECT_NE(pre->outcome, ApplyOutcome::applied);
  ASSERT_TRUE(pre->error.has_value());
  EXPECT_NE(pre->exit_code, 0);
  EXPECT_NE(pre->output_tail.find("refusing to upgrade"), std::string::npos) << pre->output_tail;
  EXPECT_EQ(version_of("pf-badpre"), "1.0-1");
  EXPECT_TRUE(pre->consistent) << pre->audit;

  auto post = backend_->apply(packages({"pf-badpost"}));
  ASSERT_TRUE(post) << to_string(post.error());
  EXPECT_EQ(post->outcome, ApplyOutcome::applied) << show(*post);
  EXPECT_EQ(version_of("pf-badpost"), "2.0-1");
  ASSERT_EQ(post->warnings.size(), 1u) << show(*post);
  EXPECT_NE(post->warnings[0].find("pf-badpost"), std::string::npos) << post->warnings[0];
  EXPECT_NE(post->warnings[0].find("exit status 4"), std::string::npos) << post->warnings[0];
}

TEST_F(DnfBackendTest, BrokenDependencyChangesNothing) {
  make_world({"pf-broken-1.0", "pf-app-1.0"}, {"pf-broken", "pf-app", "pf-lib"});
  const auto before = db();
  auto report = backend_->apply(packages({"pf-broken", "pf-app"}));
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::resolve_failed) << show(*report);
  const auto* broken = find(*report, "pf-broken");
  ASSERT_NE(broken, nullptr);
  EXPECT_EQ(broken->status, PackageResult::Status::not_applied);
  EXPECT_EQ(broken->reason, Reason::dependency) << show(*report);
  EXPECT_NE(broken->detail.find("nothing provides pf-missing"), std::string::npos)
      << broken->detail;
  const auto* app = find(*report, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, PackageResult::Status::not_applied);
  EXPECT_EQ(app->reason, Reason::tool_failed) << "refused with the transaction";
  ASSERT_TRUE(report->error.has_value());
  EXPECT_NE(report->error->message.find("pf-missing"), std::string::npos) << report->error->message;
  EXPECT_EQ(db(), before);
}

TEST_F(DnfBackendTest, UnreachableRepositoryIsARefreshError) {
  make_world({"pf-app-1.0"}, {"pf-app", "pf-lib"});
  // A port nothing listens on: bound, then closed.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/repo/";
  ASSERT_TRUE(lab::write_file(root_ / "etc/yum.repos.d/dead.repo",
                              "[pf-dead]\nname=dead\nbaseurl=" + url +
                                  "\ngpgcheck=0\nskip_if_unavailable=True\n"
                                  "[pf-gone]\nname=gone\nbaseurl=file://" +
                                  (dir_ / "missing").string() + "\ngpgcheck=0\n"));
  auto refreshed = backend_->refresh();
  ASSERT_FALSE(refreshed) << "dnf only warns about such repositories";
  EXPECT_EQ(refreshed.error().code, Errc::backend_failed);
  EXPECT_EQ(refreshed.error().where, "repository pf-dead");
  EXPECT_NE(refreshed.error().message.find("'pf-dead' (" + url + ")"), std::string::npos)
      << refreshed.error().message;
  EXPECT_NE(refreshed.error().message.find("'pf-gone'"), std::string::npos)
      << refreshed.error().message;
}

TEST_F(DnfBackendTest, FullDiskIsNoSpaceAndTheOldVersionStays) {
  make_world({"pf-big-1.0"}, {"pf-big"});
  const fs::path target = root_ / "usr/share/pf-big";
  auto mounted = run({"mount", "-t", "tmpfs", "-o", "size=1m", "pf-dnf-test", target.string()});
  ASSERT_TRUE(mounted.ok()) << describe(mounted);
  mounts_.push_back(target);
  auto report = backend_->apply(packages({"pf-big"}));
  ASSERT_TRUE(report) << to_string(report.error());
  const auto* big = find(*report, "pf-big");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->status, PackageResult::Status::not_applied) << show(*report);
  EXPECT_EQ(big->reason, Reason::no_space) << show(*report);
  EXPECT_NE(big->detail.find("more space"), std::string::npos) << big->detail;
  EXPECT_NE(report->outcome, ApplyOutcome::applied);
  EXPECT_EQ(version_of("pf-big"), "1.0-1");
}

TEST_F(DnfBackendTest, WaitsForARealRpmRunHoldingTheLock) {
  const std::string rpm = require("rpm", "rpm");
  lab::RpmSpec slow;
  slow.name = "pf-slow";
  slow.version = "1.0";
  slow.pre = "sleep 3\n";
  auto slow_rpm = lab::build_rpm(slow, dir_ / "rpms");
  ASSERT_TRUE(slow_rpm) << to_string(slow_rpm.error());
  make_world({"pf-app-1.0"}, {"pf-app", "pf-lib"});

  auto argv = lab::rpm_args(root_);
  argv[0] = rpm;
  argv.insert(argv.end(), {"-U", "--nodeps", slow_rpm->string()});
  process::Outcome background;
  std::thread holder([&] { background = run(argv); });
  const fs::path lock = root_ / "var/lib/rpm/.rpm.lock";
  bool held = false;
  for (int i = 0; i < 100 && !held; ++i) {
    auto h = lock_holder(lock);
    held = h && h->has_value();
    if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(held) << "rpm -U did not take its transaction lock";

  auto impatient = make_dnf_backend(options(std::chrono::milliseconds(300)));
  auto refused = impatient->apply(packages({"pf-app"}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::lock_held);
  EXPECT_EQ(refused.error().where, lock.string());
  EXPECT_NE(refused.error().message.find("(rpm)"), std::string::npos) << refused.error().message;
  EXPECT_EQ(version_of("pf-app"), "1.0-1");

  auto patient = make_dnf_backend(options(std::chrono::seconds(30)));
  auto report = patient->apply(packages({"pf-app"}));
  holder.join();
  ASSERT_TRUE(background.ok()) << describe(background);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << show(*report);
  EXPECT_EQ(version_of("pf-app"), "2.0-1");
  EXPECT_EQ(version_of("pf-slow"), "1.0-1");
}

}  // namespace
}  // namespace pf::pkg::dnf
