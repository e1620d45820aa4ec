// SPDX-License-Identifier: Apache-2.0
// The apt backend when things go wrong, on real roots: another dpkg run holding the lock, a
// failing postinst, a dependency no repository satisfies, an unreachable repository, a full
// disk, and a dpkg run killed half-way. Each asserts a clear error and a truthful report.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "apt_fixture.hpp"
#include "patchflow/pkg/backend_support.hpp"

namespace pf::pkg::apt::testing {
namespace {

// Installed: pf-app 1.0-1; offered: pf-app 2.0-1 and whatever the test adds.
class AptFailure : public AptWorld {
 protected:
  void SetUp() override {
    AptWorld::SetUp();
    if (HasFailure()) return;
    app1_ = deb("pf-app", "1.0-1");
    app2_ = deb("pf-app", "2.0-1");
    install({app1_});
  }

  /// dpkg on the root, from libs/lab, with the dpkg found in PATH.
  std::vector<std::string> dpkg(std::vector<std::string> args) {
    auto argv = lab::dpkg_args(root_);
    argv[0] = require("dpkg", "dpkg");
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  fs::path app1_, app2_;
};

TEST_F(AptFailure, LockHeldByARealDpkgRunIsWaitedForAndNeverBroken) {
  // A package whose preinst takes a few seconds: dpkg holds its locks meanwhile.
  const auto slow = deb("pf-slow", "1.0-1", [](auto& s) { s.preinst = "sleep 3\n"; });
  sources({repo({app1_, app2_})});
  auto b = refreshed();

  process::Outcome background;
  std::thread holder([&] { background = run(dpkg({"-i", slow.string()})); });
  const fs::path lock = root_ / "var/lib/dpkg/lock-frontend";
  std::optional<LockHolder> who;
  for (int i = 0; i < 100 && !who; ++i) {
    auto h = lock_holder(lock);
    ASSERT_TRUE(h) << to_string(h.error());
    who = *h;
    if (!who) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(who) << "dpkg never took its lock";

  auto quick = options();
  quick.lock_timeout = std::chrono::seconds(1);
  const auto started = std::chrono::steady_clock::now();
  auto refused = backend(quick)->apply(packages({"pf-app"}));
  ASSERT_FALSE(refused) << explain(*refused);
  EXPECT_EQ(refused.error().code, Errc::lock_held);
  EXPECT_NE(refused.error().message.find("process " + std::to_string(who->pid)), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("dpkg"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().where.find("lock"), std::string::npos) << refused.error().where;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(version_of("pf-app"), "1.0-1");

  auto patient = options();
  patient.lock_timeout = std::chrono::seconds(30);
  auto report = backend(patient)->apply(packages({"pf-app"}));
  holder.join();
  ASSERT_TRUE(background.ok()) << describe(background);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << explain(*report);
  EXPECT_EQ(version_of("pf-app"), "2.0-1");
  EXPECT_EQ(version_of("pf-slow"), "1.0-1") << "the other run finished first";
  EXPECT_TRUE(fs::exists(lock)) << "a lock file is never removed";
  EXPECT_TRUE(fs::exists(root_ / "var/lib/dpkg/lock"));
}

TEST_F(AptFailure, FailingPostinstIsReportedFailedAndInconsistent) {
  const auto bad = deb("pf-app", "2.0-1", [](auto& s) {
    s.postinst = "echo 'pf-app: cannot start its service' >&2\nexit 1\n";
  });
  sources({repo({app1_, bad})});
  auto b = refreshed();
  auto report = b->apply(packages({"pf-app"}));
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::install_failed) << explain(*report);
  EXPECT_NE(report->exit_code, 0);
  ASSERT_TRUE(report->error);
  EXPECT_NE(report->error->message.find("returned an error code"), std::string::npos)
      << report->error->message;
  const auto* app = find(*report, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, PackageResult::Status::failed);
  EXPECT_EQ(app->state, "half-configured");
  EXPECT_EQ(app->after, "2.0-1");
  EXPECT_EQ(app->reason, Reason::script_failed) << explain(*report);
  EXPECT_NE(app->detail.find("post-installation script"), std::string::npos) << app->detail;
  EXPECT_FALSE(report->consistent);
  EXPECT_NE(report->audit.find("pf-app"), std::string::npos) << report->audit;
  EXPECT_NE(report->audit.find("dpkg --configure"), std::string::npos) << report->audit;
  EXPECT_NE(report->output_tail.find("cannot start its service"), std::string::npos)
      << report->output_tail;
  EXPECT_EQ(status_of("pf-app"), "install ok half-configured");
  // The database is not left for the next run to trip over silently.
  auto next = b->apply(packages({"pf-app"}));
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, Errc::interrupted);
  EXPECT_NE(next.error().message.find("could not repair"), std::string::npos)
      << next.error().message;
}

TEST_F(AptFailure, BrokenDependencyChangesNothing) {
  sources({repo(
      {app1_, deb("pf-app", "2.0-1", [](auto& s) { s.depends = {"pf-missing (>= 1.0)"}; })})});
  auto b = refreshed();
  const std::string before = status_text();
  auto report = b->apply(packages({"pf-app"}));
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::resolve_failed) << explain(*report);
  ASSERT_TRUE(report->error);
  EXPECT_NE(report->error->message.find("Unable to correct problems"), std::string::npos)
      << report->error->message;
  const auto* app = find(*report, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, PackageResult::Status::not_applied);
  EXPECT_EQ(app->reason, Reason::dependency);
  EXPECT_EQ(app->detail, "Depends: pf-missing (>= 1.0) but it is not installable");
  EXPECT_TRUE(report->consistent) << report->audit;
  EXPECT_EQ(status_text(), before);

  // Seen as an update, it is held back with the resolver's words.
  auto updates = b->upgradable();
  ASSERT_TRUE(updates) << to_string(updates.error());
  ASSERT_EQ(updates->size(), 1u);
  EXPECT_TRUE((*updates)[0].held_back);
  EXPECT_EQ((*updates)[0].held_reason,
            "cannot be installed: Depends: pf-missing (>= 1.0) but it is not installable");
}

TEST_F(AptFailure, UnreachableRepositoryIsNamed) {
  // A loopback port nobody listens on: bound, read and closed again.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  const std::string uri = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/debian";
  sources({repo({app1_, app2_}), "deb [trusted=yes] " + uri + " stable main"});
  auto r = backend()->refresh();
  ASSERT_FALSE(r) << "apt-get update exits 0 here; the failure is in its warnings";
  EXPECT_EQ(r.error().code, Errc::backend_failed);
  EXPECT_NE(r.error().message.find(uri + " stable"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("Connection refused"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().where, uri + " stable");
}

// A tmpfs too small for the new version's file, mounted where the package puts it.
class FullDisk : public AptFailure {
 protected:
  void TearDown() override {
    if (!mounted_.empty()) {
      auto r = run({require("umount", "mount"), mounted_.string()});
      EXPECT_TRUE(r.ok()) << describe(r);
    }
    AptFailure::TearDown();
  }
  fs::path mounted_;
};

TEST_F(FullDisk, NoSpaceLeavesTheOldVersion) {
  const fs::path dir = root_ / "usr/share/pf-big";
  fs::create_directories(dir);
  auto m = run({require("mount", "mount"), "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir.string()});
  ASSERT_TRUE(m.ok()) << describe(m);
  mounted_ = dir;
  const auto small = deb("pf-big", "1.0-1");
  install({small});
  const auto big = deb("pf-big", "2.0-1", [](auto& s) {
    s.files.push_back({"/usr/share/pf-big/blob", std::string(300000, 'x'), 0644});
  });
  sources({repo({small, big})});
  auto b = refreshed();
  auto report = b->apply(packages({"pf-big"}));
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::install_failed) << explain(*report);
  const auto* p = find(*report, "pf-big");
  ASSERT_NE(p, nullptr) << explain(*report);
  EXPECT_EQ(p->status, PackageResult::Status::not_applied);
  EXPECT_EQ(p->reason, Reason::no_space) << explain(*report);
  EXPECT_NE(p->detail.find("No space left on device"), std::string::npos) << p->detail;
  EXPECT_EQ(p->after, "1.0-1");
  EXPECT_EQ(version_of("pf-big"), "1.0-1");
  EXPECT_EQ(status_of("pf-big"), "install ok installed");
  EXPECT_EQ(slurp(dir / "version"), "1.0-1\n");
  EXPECT_TRUE(report->consistent) << report->audit;
}

// dpkg killed (SIGKILL) while running a postinst: the package is left half-configured in
// dpkg's journal, and apt-get refuses to run until `dpkg --configure -a`.
class Interrupted : public AptFailure {
 protected:
  void SetUp() override {
    AptFailure::SetUp();
    if (HasFailure()) return;
    // The postinst is slow only while the marker exists, so that the repair is quick.
    const auto slow = deb("pf-slow", "1.0-1", [](auto& s) {
      s.postinst = "if [ -e \"$DPKG_ROOT/slow-marker\" ]; then sleep 30; fi\n";
    });
    auto marker = lab::write_file(root_ / "slow-marker", "");
    ASSERT_TRUE(marker) << to_string(marker.error());
    auto argv = dpkg({"-i", slow.string()});
    // timeout(1) kills its whole process group: dpkg, the postinst and its sleep.
    argv.insert(argv.begin(), {require("timeout", "coreutils"), "-s", "KILL", "1.5"});
    auto killed = run(argv);
    // timeout(1) is killed with its group: the signal, or 137 when it reports it.
    ASSERT_TRUE(killed.term_signal == SIGKILL || killed.exit_code == 137) << describe(killed);
    fs::remove(root_ / "slow-marker");
    auto db = read_dpkg_database(dpkg_admin_dir(root_));
    ASSERT_TRUE(db) << to_string(db.error());
    ASSERT_GT(db->journal_files, 0u) << "dpkg was killed before merging its journal";
    auto entry = std::find_if(db->packages.begin(), db->packages.end(),
                              [](const DbEntry& e) { return e.name == "pf-slow"; });
    ASSERT_NE(entry, db->packages.end());
    ASSERT_EQ(entry->state, "half-configured");
    sources({repo({app1_, app2_})});
  }
};

TEST_F(Interrupted, ApplyRepairsFirstAndSaysSo) {
  auto b = refreshed();
  auto report = b->apply(packages({"pf-app"}));
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << explain(*report);
  ASSERT_EQ(report->warnings.size(), 1u);
  EXPECT_NE(report->warnings[0].find("dpkg --root="), std::string::npos) << report->warnings[0];
  EXPECT_NE(report->warnings[0].find("--configure -a"), std::string::npos) << report->warnings[0];
  EXPECT_NE(report->warnings[0].find("interrupted"), std::string::npos) << report->warnings[0];
  EXPECT_TRUE(report->consistent) << report->audit;
  EXPECT_EQ(version_of("pf-slow"), "1.0-1");
  EXPECT_EQ(status_of("pf-slow"), "install ok installed");
  EXPECT_EQ(version_of("pf-app"), "2.0-1");
}

TEST_F(Interrupted, WithoutRepairItIsRefused) {
  auto o = options();
  o.repair_interrupted = false;
  auto b = refreshed(o);
  auto report = b->apply(packages({"pf-app"}));
  ASSERT_FALSE(report) << explain(*report);
  EXPECT_EQ(report.error().code, Errc::interrupted);
  EXPECT_NE(report.error().message.find("--configure -a"), std::string::npos)
      << report.error().message;
  EXPECT_NE(report.error().message.find("pf-slow"), std::string::npos) << report.error().message;
  EXPECT_EQ(version_of("pf-app"), "1.0-1");
  auto db = read_dpkg_database(dpkg_admin_dir(root_));
  ASSERT_TRUE(db) << to_string(db.error());
  EXPECT_GT(db->journal_files, 0u) << "nothing was touched";
}

}  // namespace
}  // namespace pf::pkg::apt::testing
