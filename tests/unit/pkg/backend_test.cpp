// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "patchflow/pkg/backend.hpp"
#include "patchflow/pkg/backend_support.hpp"
#include "patchflow/testing/temp_dir.hpp"

namespace pf::pkg {
namespace {

using Status = PackageResult::Status;

TEST(Selection, ParsesEveryKind) {
  auto all = parse_selection("all");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->kind, Selection::Kind::all);
  auto sec = parse_selection("security");
  ASSERT_TRUE(sec);
  EXPECT_EQ(sec->kind, Selection::Kind::security);

  auto pk = parse_selection("packages:openssl,libc6:amd64");
  ASSERT_TRUE(pk) << pk.error().message;
  EXPECT_EQ(pk->kind, Selection::Kind::packages);
  EXPECT_EQ(pk->names, (std::vector<std::string>{"openssl", "libc6:amd64"}));

  auto adv = parse_selection("advisories:RHSA-2024:1234,ALSA-2023:5453");
  ASSERT_TRUE(adv) << adv.error().message;
  EXPECT_EQ(adv->names, (std::vector<std::string>{"RHSA-2024:1234", "ALSA-2023:5453"}));

  auto ex = parse_selection("exact:bash=5.2.15-2+b2,glibc:x86_64=2.34-60.el9");
  ASSERT_TRUE(ex) << ex.error().message;
  ASSERT_EQ(ex->exact.size(), 2u);
  EXPECT_EQ(ex->exact[0], (PackageRef{"bash", "", "5.2.15-2+b2"}));
  EXPECT_EQ(ex->exact[1], (PackageRef{"glibc", "x86_64", "2.34-60.el9"}));
}

TEST(Selection, RoundTripsThroughText) {
  for (const char* text : {"all", "security", "packages:a,b:amd64", "advisories:X-1",
                           "exact:a=1:2.0-1,b:i386=3"}) {
    auto s = parse_selection(text);
    ASSERT_TRUE(s) << text;
    EXPECT_EQ(to_string(*s), text);
  }
}

TEST(Selection, RejectsWithTheBadItemNamed) {
  struct Case {
    const char* text;
    const char* needle;
  } cases[] = {
      {"everything", "unknown selection"},
      {"packages:", "names nothing"},
      {"packages:a,,b", "empty item"},
      {"packages:a b", "not a package name"},
      {"packages:a:x86 64", "invalid architecture"},
      {"exact:a", "lacks '=VERSION'"},
      {"exact:a=1 2", "not a package version"},
      {"advisories:DSA 1", "not an advisory id"},
      {"bogus:a", "unknown selection kind"},
  };
  for (const auto& c : cases) {
    auto s = parse_selection(c.text);
    ASSERT_FALSE(s) << c.text;
    EXPECT_EQ(s.error().code, Errc::invalid_input);
    EXPECT_NE(s.error().message.find(c.needle), std::string::npos)
        << c.text << ": " << s.error().message;
  }
  auto bad = parse_selection("packages:ok,b@d");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "selection item 2");
}

TEST(VerifyRun, UpgradeAppliedAndExtrasReported) {
  std::vector<DbEntry> before{{"a", "amd64", "1.0", ""}, {"b", "all", "1.0", ""},
                              {"gone", "all", "3", ""}};
  std::vector<DbEntry> after{{"a", "amd64", "2.0", ""}, {"b", "all", "1.0", ""},
                             {"dep", "all", "0.5", ""}};
  auto r = verify_run(before, after, {{"a", "", "", false}, {"b", "", "", false}});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].name, "a");
  EXPECT_EQ(r[0].status, Status::applied);
  EXPECT_EQ(r[0].before, "1.0");
  EXPECT_EQ(r[0].after, "2.0");
  EXPECT_EQ(r[1].name, "b");
  EXPECT_EQ(r[1].status, Status::not_applied);
  EXPECT_EQ(r[1].reason, Reason::up_to_date);
  EXPECT_EQ(r[2].name, "dep");
  EXPECT_EQ(r[2].status, Status::extra);
  EXPECT_EQ(r[2].before, "");
  EXPECT_EQ(r[3].name, "gone");
  EXPECT_EQ(r[3].status, Status::extra);
  EXPECT_EQ(r[3].after, "");
  EXPECT_EQ(summarize(r, false, false), ApplyOutcome::applied);
  EXPECT_EQ(summarize(r, false, true), ApplyOutcome::applied_reboot_required);
}

TEST(VerifyRun, ExactVersionMissedTakesTheHint) {
  std::vector<DbEntry> before{{"a", "all", "1.0", ""}};
  std::vector<DbEntry> after{{"a", "all", "1.5", ""}};
  auto r = verify_run(before, after, {{"a", "", "2.0", false}},
                      {{"a", {Reason::held, "held by apt-mark"}}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, Status::not_applied);
  EXPECT_EQ(r[0].reason, Reason::held);
  EXPECT_EQ(r[0].detail, "held by apt-mark");
  EXPECT_EQ(r[0].wanted, "2.0");
  EXPECT_EQ(summarize(r, false, false), ApplyOutcome::not_applied);
}

TEST(VerifyRun, BrokenStateIsFailedWhateverTheVersion) {
  std::vector<DbEntry> before{{"a", "all", "1.0", ""}};
  std::vector<DbEntry> after{{"a", "all", "2.0", "half-configured"}};
  auto r = verify_run(before, after, {{"a", "", "2.0", false}},
                      {{"a:all", {Reason::script_failed, "post-installation script failed"}}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, Status::failed);
  EXPECT_EQ(r[0].state, "half-configured");
  EXPECT_EQ(r[0].reason, Reason::script_failed);
  EXPECT_EQ(summarize(r, true, false), ApplyOutcome::install_failed);
}

TEST(VerifyRun, RemovalAndRollbackTargets) {
  std::vector<DbEntry> before{{"a", "all", "2.0", ""}, {"dep", "all", "1", ""}};
  std::vector<DbEntry> after{{"a", "all", "1.0", ""}};
  auto r = verify_run(before, after, {{"a", "", "1.0", false}, {"dep", "", "", true}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, Status::applied);
  EXPECT_EQ(r[1].status, Status::applied);
  EXPECT_EQ(r[1].after, "");

  ApplyReport report;
  report.packages = r;
  auto targets = rollback_targets(report);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0], (PackageRef{"a", "all", "2.0"}));
  EXPECT_EQ(targets[1], (PackageRef{"dep", "all", "1"}));
}

TEST(VerifyRun, NothingChangedWhenToolFailedIsResolveFailed) {
  std::vector<DbEntry> db{{"a", "all", "1.0", ""}};
  auto r = verify_run(db, db, {{"a", "", "", false}},
                      {{"a", {Reason::dependency, "depends on missing-lib"}}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reason, Reason::dependency);
  EXPECT_EQ(summarize(r, true, false), ApplyOutcome::resolve_failed);
  EXPECT_EQ(summarize({}, false, false), ApplyOutcome::nothing_to_do);
}

TEST(VerifyRun, MultiArchNameCoversEveryArchitecture) {
  std::vector<DbEntry> before{{"libz", "amd64", "1", ""}, {"libz", "i386", "1", ""}};
  std::vector<DbEntry> after{{"libz", "amd64", "2", ""}, {"libz", "i386", "1", ""}};
  auto r = verify_run(before, after, {{"libz", "", "", false}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].arch, "amd64");
  EXPECT_EQ(r[0].status, Status::applied);
  EXPECT_EQ(r[1].arch, "i386");
  EXPECT_EQ(r[1].status, Status::not_applied);
}

TEST(Text, QuoteAndTail) {
  EXPECT_EQ(quote_command({"apt-get", "-o", "Dir=/a b/", "it's"}),
            "apt-get -o 'Dir=/a b/' 'it'\\''s'");
  EXPECT_EQ(tail_lines("1\n2\n3\n4\n", 2), "3\n4");
  EXPECT_EQ(tail_lines("only", 5), "only");
  EXPECT_EQ(tail_lines("abcdef", 5, 3), "def");
}

// A child process holds an fcntl write lock (locks are per process: our own would not show).
class LockTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
  }
  void hold(const std::filesystem::path& file) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    child_ = ::fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      int fd = ::open(file.c_str(), O_RDWR | O_CREAT, 0644);
      struct flock fl {};
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      if (fd < 0 || ::fcntl(fd, F_SETLK, &fl) != 0) ::_exit(1);
      char c = 'x';
      (void)!::write(ready[1], &c, 1);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[1]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1) << "child could not take the lock";
    ::close(ready[0]);
  }
  pid_t child_{-1};
};

TEST_F(LockTest, MissingOrFreeLockFileIsFree) {
  testing::TempDir dir;
  auto missing = lock_holder(dir.path() / "lock");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "lock")) << "a lock file was created";
  std::ofstream(dir.path() / "lock") << "";
  auto free = lock_holder(dir.path() / "lock");
  ASSERT_TRUE(free);
  EXPECT_FALSE(*free);
}

TEST_F(LockTest, HeldLockNamesTheHolderAndTimesOut) {
  testing::TempDir dir;
  auto file = dir.path() / "lock-frontend";
  hold(file);
  auto h = lock_holder(file);
  ASSERT_TRUE(h) << h.error().message;
  ASSERT_TRUE(*h);
  EXPECT_EQ((*h)->pid, child_);

  auto start = std::chrono::steady_clock::now();
  auto w = wait_for_locks({dir.path() / "other", file}, std::chrono::milliseconds(300),
                          std::chrono::milliseconds(50));
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::lock_held);
  EXPECT_EQ(w.error().where, file.string());
  EXPECT_NE(w.error().message.find("process " + std::to_string(child_)), std::string::npos)
      << w.error().message;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_TRUE(std::filesystem::exists(file)) << "the lock file must never be removed";
}

TEST_F(LockTest, WaitEndsWhenTheHolderLetsGo) {
  testing::TempDir dir;
  auto file = dir.path() / "lock";
  hold(file);
  pid_t holder = child_;
  // Release after ~200 ms from a second child, while we wait.
  pid_t killer = ::fork();
  ASSERT_GE(killer, 0);
  if (killer == 0) {
    ::usleep(200 * 1000);
    ::kill(holder, SIGKILL);
    ::_exit(0);
  }
  auto w = wait_for_locks({file}, std::chrono::seconds(10), std::chrono::milliseconds(20));
  ::waitpid(killer, nullptr, 0);
  EXPECT_TRUE(w) << (w ? "" : w.error().message);
}

}  // namespace
}  // namespace pf::pkg
