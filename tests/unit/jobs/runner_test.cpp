// SPDX-License-Identifier: Apache-2.0
// The runner without a package root: the commands policy, the reboot command, each built-in
// check on temporary roots and real sockets, commands (env, cwd, user, timeout, bounded output),
// and whole runs of command-only jobs: postponed then skipped, a failed pre step, the journal
// replayed without running anything twice, the outbox.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "steps.hpp"  // the runner's private step runner (libs/runner/src)
#include "patchflow/jobs/job.hpp"
#include "patchflow/runner/runner.hpp"
#include "patchflow/testing/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using pf::jobs::Job;
using pf::runner::Outcome;
using pf::runner::StepStatus;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t lines(const fs::path& p) {
  const auto text = read(p);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

pf::jobs::Step command_step(std::string id, std::string shell) {
  pf::jobs::Step s;
  s.id = std::move(id);
  s.type = pf::jobs::StepType::command;
  s.command.shell = std::move(shell);
  s.timeout = 30s;
  return s;
}

pf::jobs::Step check_step(std::string id, pf::jobs::Check c) {
  pf::jobs::Step s;
  s.id = std::move(id);
  s.type = pf::jobs::StepType::check;
  s.check = std::move(c);
  s.timeout = 10s;
  return s;
}

Job base_job(std::string run_id = "r-unit") {
  Job job;
  job.run_id = std::move(run_id);
  job.job = "unit";
  job.host_id = "h-1";
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  job.issued_at = now - 60s;
  job.expires_at = now + 3600s;
  return job;
}

TEST(RunnerPolicy, DefaultDeniesCommandsAndAllowListChecksPrograms) {
  pf::testing::TempDir dir;
  auto missing = pf::runner::load_policy(dir.path() / "policy.json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->commands, pf::runner::Policy::Commands::deny);

  Job job = base_job();
  job.pre.push_back(command_step("stop", "echo stop"));
  auto denied = pf::runner::check_policy(job, *missing);
  ASSERT_FALSE(denied);
  EXPECT_NE(denied.error().message.find("denies commands"), std::string::npos);
  EXPECT_EQ(denied.error().where, "pre step \"stop\"");

  auto list = pf::runner::parse_policy(R"({"commands":"allow_list","allowed":["/usr/bin/systemctl"]})");
  ASSERT_TRUE(list);
  EXPECT_FALSE(pf::runner::check_policy(job, *list));  // a shell command needs /bin/sh
  job.pre[0].command.shell.clear();
  job.pre[0].command.argv = {"/usr/bin/systemctl", "stop", "app"};
  EXPECT_TRUE(pf::runner::check_policy(job, *list));
  job.pre[0].command.argv = {"systemctl", "stop", "app"};  // not the absolute path
  EXPECT_FALSE(pf::runner::check_policy(job, *list));
  // Built-in checks need no permission; a command check does.
  Job checks = base_job();
  pf::jobs::Check c;
  c.kind = pf::jobs::CheckKind::file_absent;
  c.path = "/x";
  checks.preconditions.push_back(check_step("flag", c));
  EXPECT_TRUE(pf::runner::check_policy(checks, *missing));
  c.kind = pf::jobs::CheckKind::command;
  c.command.argv = {"/bin/true"};
  checks.post.push_back(check_step("cmd", c));
  EXPECT_FALSE(pf::runner::check_policy(checks, *missing));

  EXPECT_FALSE(pf::runner::parse_policy(R"({"commands":"maybe"})"));
  EXPECT_FALSE(pf::runner::parse_policy(R"({"commands":"allow_list"})"));
  EXPECT_FALSE(pf::runner::parse_policy(R"({"commands":"allow","extra":1})"));
  EXPECT_FALSE(pf::runner::parse_policy(R"({"commands":"allow_list","allowed":["bin/sh"]})"));
  EXPECT_FALSE(pf::runner::parse_policy("not json"));
}

TEST(RunnerReboot, SystemCommandDependsOnSystemd) {
  EXPECT_EQ(pf::runner::system_reboot_command(true, "job r-1"),
            (std::vector<std::string>{"systemctl", "reboot", "--message=job r-1"}));
  EXPECT_EQ(pf::runner::system_reboot_command(false, "job r-1"),
            (std::vector<std::string>{"shutdown", "-r", "+1", "job r-1"}));
  pf::testing::TempDir dir;
  EXPECT_FALSE(pf::runner::systemd_running(dir.path()));
  dir.mkdir("systemd/system");
  EXPECT_TRUE(pf::runner::systemd_running(dir.path()));
}

class Checks : public ::testing::Test {
 protected:
  pf::runner::detail::CheckOutcome check(pf::jobs::Check c) {
    return pf::runner::detail::evaluate_check(c, 5s, opts_);
  }
  void SetUp() override {
    opts_.root = dir_.mkdir("root");
    opts_.proc_dir = dir_.mkdir("proc");
    opts_.power_supply_dir = dir_.path() / "power";
  }
  pf::testing::TempDir dir_;
  pf::runner::RunOptions opts_;
};

TEST_F(Checks, FilesAreLookedUpInsideTheRoot) {
  pf::jobs::Check c;
  c.kind = pf::jobs::CheckKind::file_absent;
  c.path = "/var/lib/app/recovery.flag";
  EXPECT_TRUE(check(c).ok);
  dir_.write("root/var/lib/app/recovery.flag", "");
  auto present = check(c);
  EXPECT_FALSE(present.ok);
  EXPECT_NE(present.detail.find("is present"), std::string::npos);
  c.kind = pf::jobs::CheckKind::file_present;
  EXPECT_TRUE(check(c).ok);
  // A link pointing out of the root stays inside it.
  fs::create_symlink("/etc/passwd", dir_.path() / "root/link");
  c.path = "/link";
  EXPECT_FALSE(check(c).ok);
}

TEST_F(Checks, DiskFreeUptimePowerProcesses) {
  pf::jobs::Check c;
  c.kind = pf::jobs::CheckKind::disk_free;
  c.path = "/";
  c.min_free_mb = 1;
  EXPECT_TRUE(check(c).ok) << check(c).detail;
  c.min_free_mb = std::uint64_t{1} << 40;
  EXPECT_FALSE(check(c).ok);

  c = {};
  c.kind = pf::jobs::CheckKind::uptime_min;
  c.seconds = 600;
  dir_.write("proc/uptime", "3600.5 100.0\n");
  EXPECT_TRUE(check(c).ok) << check(c).detail;
  dir_.write("proc/uptime", "60.5 100.0\n");
  EXPECT_FALSE(check(c).ok);

  c = {};
  c.kind = pf::jobs::CheckKind::on_ac_power;
  EXPECT_TRUE(check(c).ok);  // no information: a server, assumed on AC
  dir_.write("power/AC/type", "Mains\n");
  dir_.write("power/AC/online", "0\n");
  dir_.write("power/BAT0/type", "Battery\n");
  EXPECT_FALSE(check(c).ok);
  dir_.write("power/AC/online", "1\n");
  EXPECT_TRUE(check(c).ok);

  c = {};
  c.kind = pf::jobs::CheckKind::process_absent;
  opts_.proc_dir = "/proc";
  c.name = "pf-no-such-proc";
  EXPECT_TRUE(check(c).ok);
  auto self = pf::runner::detail::tail(read("/proc/self/comm"));
  c.name = self.substr(0, self.find('\n'));
  EXPECT_FALSE(check(c).ok) << c.name;
}

TEST_F(Checks, PortOpenSeesARealListeningSocket) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  pf::jobs::Check c;
  c.kind = pf::jobs::CheckKind::port_open;
  c.host = "127.0.0.1";
  c.port = ntohs(addr.sin_port);
  EXPECT_TRUE(check(c).ok) << check(c).detail;
  ::close(fd);
  auto closed = check(c);
  EXPECT_FALSE(closed.ok);
  EXPECT_NE(closed.detail.find("not open"), std::string::npos) << closed.detail;
}

// A one-connection-at-a-time HTTP server on loopback answering each request with the next
// status of `statuses`.
class TinyHttp {
 public:
  explicit TinyHttp(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 4);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (int status : statuses_) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[4096];
        (void)!::read(c, buf, sizeof buf);
        const std::string answer = "HTTP/1.1 " + std::to_string(status) +
                                   " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)!::write(c, answer.data(), answer.size());
        ::close(c);
      }
    });
  }
  ~TinyHttp() {
    thread_.join();
    ::close(fd_);
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/health"; }

 private:
  std::vector<int> statuses_;
  int fd_{-1};
  int port_{0};
  std::thread thread_;
};

TEST_F(Checks, HttpOkAndServiceActive) {
  TinyHttp server({200, 500, 204});
  pf::jobs::Check c;
  c.kind = pf::jobs::CheckKind::http_ok;
  c.url = server.url();
  auto ok = check(c);
  EXPECT_TRUE(ok.ok) << ok.detail;
  EXPECT_EQ(ok.exit_code, 200);
  auto failed = check(c);
  EXPECT_FALSE(failed.ok);
  EXPECT_NE(failed.detail.find("answered 500"), std::string::npos) << failed.detail;
  c.expect_status = 200;
  auto other = check(c);  // 204 is not the 200 asked for
  EXPECT_FALSE(other.ok);
  EXPECT_NE(other.detail.find("expected 200"), std::string::npos) << other.detail;
  c.url = "http://127.0.0.1:1/";
  EXPECT_FALSE(check(c).ok);

  pf::jobs::Check unit;
  unit.kind = pf::jobs::CheckKind::service_active;
  unit.unit = "pf-no-such-unit.service";
  auto inactive = check(unit);
  EXPECT_FALSE(inactive.ok) << inactive.detail;
  EXPECT_NE(inactive.detail.find("pf-no-such-unit.service"), std::string::npos);
}

TEST_F(Checks, CommandsWithEnvCwdUserTimeoutAndBoundedOutput) {
  auto step = command_step("c", "echo \"$GREETING\" from $(pwd); id -u");
  step.command.env = {{"GREETING", "hello"}};
  step.command.cwd = dir_.path().string();
  auto r = pf::runner::detail::execute_step(step, "pre", 1, opts_);
  EXPECT_EQ(r.status, StepStatus::passed);
  EXPECT_EQ(r.output_tail, "hello from " + dir_.path().string() + "\n" + std::to_string(::getuid()) + "\n");
  EXPECT_EQ(r.phase, "pre");
  EXPECT_FALSE(r.started_at.empty());

  if (::getuid() == 0) {
    step.command.user = "nobody";
    step.command.shell = "id -u";
    step.command.cwd = "/";
    auto as_nobody = pf::runner::detail::execute_step(step, "pre", 1, opts_);
    EXPECT_EQ(as_nobody.status, StepStatus::passed) << as_nobody.output_tail;
    EXPECT_EQ(as_nobody.output_tail, "65534\n");
  }
  step.command.user = "pf-no-such-user";
  auto no_user = pf::runner::detail::execute_step(step, "pre", 1, opts_);
  EXPECT_EQ(no_user.status, StepStatus::failed);
  EXPECT_NE(no_user.output_tail.find("no user"), std::string::npos);

  auto exit3 = command_step("x", "exit 3");
  EXPECT_EQ(pf::runner::detail::execute_step(exit3, "pre", 1, opts_).status, StepStatus::failed);
  exit3.command.ok_exit_codes = {0, 3};
  auto ok3 = pf::runner::detail::execute_step(exit3, "pre", 1, opts_);
  EXPECT_EQ(ok3.status, StepStatus::passed);
  EXPECT_EQ(ok3.exit_code, 3);

  auto slow = command_step("slow", "sleep 30");
  slow.timeout = 1s;
  auto t = pf::runner::detail::execute_step(slow, "pre", 1, opts_);
  EXPECT_EQ(t.status, StepStatus::timed_out);
  EXPECT_LT(t.duration_ms, 10000);

  auto loud = command_step("loud", "head -c 100000 /dev/zero | tr '\\0' a; echo END");
  auto l = pf::runner::detail::execute_step(loud, "pre", 1, opts_);
  EXPECT_EQ(l.output_tail.size(), pf::runner::detail::kOutputTail);
  EXPECT_TRUE(l.output_tail.ends_with("aEND\n"));
}

TEST_F(Checks, WaitForPollsUntilTrueOrTimesOut) {
  pf::jobs::Step s;
  s.id = "up";
  s.type = pf::jobs::StepType::wait_for;
  s.check.kind = pf::jobs::CheckKind::file_present;
  s.check.path = "/ready";
  s.interval = 1s;
  s.timeout = 3s;
  auto timed_out = pf::runner::detail::execute_step(s, "post", 1, opts_);
  EXPECT_EQ(timed_out.status, StepStatus::timed_out);
  int polls = 0;
  opts_.sleep = [&](std::chrono::milliseconds) {
    if (++polls == 2) dir_.write("root/ready", "");
  };
  s.timeout = 60s;
  auto ready = pf::runner::detail::execute_step(s, "post", 1, opts_);
  EXPECT_EQ(ready.status, StepStatus::passed);
  EXPECT_NE(ready.output_tail.find("poll 3"), std::string::npos) << ready.output_tail;
}

class Runs : public ::testing::Test {
 protected:
  void SetUp() override {
    opts_.state_dir = dir_.mkdir("state");
    opts_.root = dir_.mkdir("root");
    opts_.boot_id_file = dir_.write("boot_id", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n");
    opts_.policy.commands = pf::runner::Policy::Commands::allow;
    opts_.now = [this] { return clock_; };
    opts_.sleep = [this](std::chrono::milliseconds d) { clock_ += d; };
    log_ = dir_.path() / "log";
  }
  // A command that appends its name to the log: the side effect counted below.
  pf::jobs::Step logged(const std::string& id, const std::string& extra = "") {
    return command_step(id, "echo " + id + " >> " + log_.string() + extra);
  }
  pf::testing::TempDir dir_;
  pf::runner::RunOptions opts_;
  std::chrono::system_clock::time_point clock_{std::chrono::system_clock::now()};
  fs::path log_;
};

TEST_F(Runs, FailedPreconditionPostponesThenSkipsNeverFails) {
  Job job = base_job("r-skip");
  pf::jobs::Check c;
  c.kind = pf::jobs::CheckKind::file_absent;
  c.path = "/var/lib/app/recovery.flag";
  dir_.write("root/var/lib/app/recovery.flag", "");
  job.preconditions.push_back(check_step("no-recovery", c));
  job.pre.push_back(logged("stop"));
  job.retry = pf::jobs::Retry{60s, std::chrono::floor<std::chrono::seconds>(clock_) + 200s};
  auto r = pf::runner::run_job(job, opts_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->outcome, Outcome::skipped);
  EXPECT_NE(r->reason.find("no-recovery"), std::string::npos) << r->reason;
  ASSERT_EQ(r->results.size(), 5u);  // tries at 0, 60, 120, 180 s, then the pre step not run
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r->results[i].attempt, i + 1);
    EXPECT_EQ(r->results[i].status, StepStatus::failed);
  }
  EXPECT_EQ(r->results[4].step_id, "stop");
  EXPECT_EQ(r->results[4].phase, "pre");
  EXPECT_EQ(r->results[4].status, StepStatus::skipped);
  EXPECT_EQ(r->results[4].duration_ms, 0);
  EXPECT_EQ(r->results[4].output_tail, "not run: precondition step \"no-recovery\" failed");
  EXPECT_FALSE(fs::exists(log_));  // no pre step ran
  auto events = pf::runner::pending_events(opts_.state_dir, "r-skip");
  ASSERT_TRUE(events);
  std::size_t postponed = 0;
  for (const auto& e : *events) postponed += e.json.find("\"postponed\"") != std::string::npos;
  EXPECT_EQ(postponed, 3u);
  EXPECT_NE(events->back().json.find("\"skipped\""), std::string::npos);
}

TEST_F(Runs, PreconditionThatClearsLetsTheJobRun) {
  Job job = base_job("r-window");
  pf::jobs::Check c;
  c.kind = pf::jobs::CheckKind::file_absent;
  c.path = "/backup-window";
  dir_.write("root/backup-window", "");
  job.preconditions.push_back(check_step("no-backup", c));
  job.pre.push_back(logged("stop"));
  job.retry = pf::jobs::Retry{30s, std::chrono::floor<std::chrono::seconds>(clock_) + 3600s};
  opts_.sleep = [this](std::chrono::milliseconds d) {
    clock_ += d;
    fs::remove(dir_.path() / "root/backup-window");
  };
  auto r = pf::runner::run_job(job, opts_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->outcome, Outcome::succeeded) << r->reason;
  EXPECT_EQ(read(log_), "stop\n");
}

TEST_F(Runs, FailedPreStepInstallsNothingAndAReplayRunsNothingAgain) {
  Job job = base_job("r-pre");
  job.pre.push_back(logged("one"));
  job.pre.push_back(logged("two", "; exit 4"));
  job.pre.push_back(logged("three"));
  job.post.push_back(logged("post"));
  job.install = pf::jobs::Install{"all"};
  auto r = pf::runner::run_job(job, opts_);  // no backend: it must never be needed
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->outcome, Outcome::failed);
  EXPECT_NE(r->reason.find("pre step \"two\" failed (exit 4)"), std::string::npos) << r->reason;
  EXPECT_NE(r->reason.find("nothing was installed"), std::string::npos) << r->reason;
  EXPECT_EQ(read(log_), "one\ntwo\n");
  // The steps after the failure report skipped: the third pre step, the install, the post step.
  std::vector<std::string> steps;
  for (const auto& res : r->results) {
    steps.push_back(res.phase + "/" + res.step_id + ":" + std::string(pf::runner::status_name(res.status)));
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"pre/one:passed", "pre/two:failed", "pre/three:skipped",
                                             "install/install:skipped", "post/post:skipped"}));
  EXPECT_EQ(r->results[3].output_tail, "not run: pre step \"two\" failed (exit 4)");
  const auto journal_lines = lines(pf::runner::journal_path(opts_.state_dir, "r-pre"));
  auto again = pf::runner::run_job(job, opts_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, Outcome::failed);
  EXPECT_TRUE(again->resumed);
  EXPECT_EQ(read(log_), "one\ntwo\n");
  EXPECT_EQ(lines(pf::runner::journal_path(opts_.state_dir, "r-pre")), journal_lines);
}

TEST_F(Runs, OutboxDeliversEachEventOnce) {
  Job job = base_job("r-out");
  job.pre.push_back(logged("a"));
  job.post.push_back(logged("b"));
  auto r = pf::runner::run_job(job, opts_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::succeeded);
  auto events = pf::runner::pending_events(opts_.state_dir, "r-out");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);  // two results and the outcome
  std::set<std::string> ids;
  for (const auto& e : *events) {
    ids.insert(e.id);
    EXPECT_EQ(e.id, "r-out:" + std::to_string(e.seq));
  }
  EXPECT_EQ(ids.size(), 3u);
  ASSERT_TRUE(pf::runner::mark_reported(opts_.state_dir, "r-out", (*events)[1].seq));
  auto rest = pf::runner::pending_events(opts_.state_dir, "r-out");
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(rest->front().id, events->back().id);
  ASSERT_TRUE(pf::runner::mark_reported(opts_.state_dir, "r-out", rest->front().seq));
  EXPECT_TRUE(pf::runner::pending_events(opts_.state_dir, "r-out")->empty());
  auto runs = pf::runner::list_runs(opts_.state_dir);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_TRUE((*runs)[0].finished);
  EXPECT_EQ((*runs)[0].pending_events, 0u);
}

TEST_F(Runs, RefusedExpiredAndForeignJobsRunNothing) {
  Job job = base_job("r-deny");
  job.pre.push_back(logged("a"));
  opts_.policy = {};
  auto denied = pf::runner::run_job(job, opts_);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->outcome, Outcome::refused);
  EXPECT_NE(denied->reason.find("denies commands"), std::string::npos) << denied->reason;
  opts_.policy.commands = pf::runner::Policy::Commands::allow;
  Job late = base_job("r-late");
  late.pre.push_back(logged("a"));
  late.expires_at = std::chrono::floor<std::chrono::seconds>(clock_) - 1s;
  late.issued_at = late.expires_at - 60s;
  auto expired = pf::runner::run_job(late, opts_);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->outcome, Outcome::expired);
  Job other = base_job("r-other");
  other.pre.push_back(logged("a"));
  opts_.expected_host_id = "h-2";
  auto foreign = pf::runner::run_job(other, opts_);
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->outcome, Outcome::refused);
  // Nothing ran, and every step says so.
  for (const auto* rep : {&*denied, &*expired, &*foreign}) {
    ASSERT_EQ(rep->results.size(), 1u) << rep->reason;
    EXPECT_EQ(rep->results[0].step_id, "a");
    EXPECT_EQ(rep->results[0].status, StepStatus::skipped);
    EXPECT_EQ(rep->results[0].output_tail.rfind("not run: ", 0), 0u);
  }
  EXPECT_EQ(foreign->results[0].output_tail, "not run: the job is for host h-1, this is h-2");
  EXPECT_FALSE(fs::exists(log_));
}

// Keeps the first `keep` lines of a journal: a run killed after its keep-th record.
void cut_journal(const fs::path& path, std::size_t keep) {
  std::istringstream in(read(path));
  std::string out;
  std::size_t n = 0;
  for (std::string line; n < keep && std::getline(in, line); ++n) out += line + "\n";
  std::ofstream(path, std::ios::trunc) << out;
}

TEST_F(Runs, AKillWhileRecordingStepsNotRunResumesToTheSameResults) {
  Job job = base_job("r-cut");
  job.pre.push_back(logged("one", "; exit 3"));
  job.pre.push_back(logged("two"));
  job.post.push_back(logged("post"));
  auto r = pf::runner::run_job(job, opts_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  ASSERT_EQ(r->outcome, Outcome::failed);
  ASSERT_EQ(r->results.size(), 3u);  // one failed; two, post skipped
  const auto path = pf::runner::journal_path(opts_.state_dir, "r-cut");
  const auto full = lines(path);  // start, 3 results, outcome
  ASSERT_EQ(full, 5u);
  for (std::size_t keep = 2; keep < full; ++keep) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " records");
    cut_journal(path, keep);
    fs::remove(log_);
    auto again = pf::runner::run_job(job, opts_);
    ASSERT_TRUE(again) << pf::to_string(again.error());
    EXPECT_EQ(again->outcome, Outcome::failed);
    EXPECT_EQ(again->reason, r->reason);
    ASSERT_EQ(again->results.size(), 3u);  // no result twice
    EXPECT_EQ(again->results[2].step_id, "post");
    EXPECT_EQ(again->results[2].status, StepStatus::skipped);
    EXPECT_EQ(lines(path), full);
    EXPECT_FALSE(fs::exists(log_));  // nothing ran again
  }
  // Refused: killed after the start record, the checks are made again; killed among the steps
  // not run, the recorded outcome stands (even with a policy that would now allow the job).
  Job denied = base_job("r-cut-deny");
  denied.pre.push_back(logged("a"));
  denied.post.push_back(logged("b"));
  opts_.policy = {};
  auto refused = pf::runner::run_job(denied, opts_);
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->outcome, Outcome::refused);
  ASSERT_EQ(refused->results.size(), 2u);
  for (const auto& res : refused->results) {
    EXPECT_EQ(res.status, StepStatus::skipped);
    EXPECT_EQ(res.output_tail, "not run: refused by this host's policy");
  }
  const auto deny_path = pf::runner::journal_path(opts_.state_dir, "r-cut-deny");
  cut_journal(deny_path, 1);
  auto again = pf::runner::run_job(denied, opts_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, Outcome::refused);
  EXPECT_EQ(again->results.size(), 2u);
  cut_journal(deny_path, 2);
  opts_.policy.commands = pf::runner::Policy::Commands::allow;
  auto later = pf::runner::run_job(denied, opts_);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->outcome, Outcome::refused);
  EXPECT_EQ(later->reason, refused->reason);
  EXPECT_EQ(later->results.size(), 2u);
  EXPECT_EQ(lines(deny_path), 4u);  // start, 2 skipped, outcome
  EXPECT_FALSE(fs::exists(log_));
}

TEST_F(Runs, AJournalOfAnotherJobIsNotResumed) {
  Job job = base_job("r-same");
  job.pre.push_back(logged("a"));
  ASSERT_TRUE(pf::runner::run_job(job, opts_));
  job.pre.push_back(logged("b"));
  auto r = pf::runner::run_job(job, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("another job"), std::string::npos);
}

TEST_F(Runs, TornLastRecordIsDropped) {
  Job job = base_job("r-torn");
  job.pre.push_back(logged("a"));
  job.post.push_back(logged("b"));
  // A journal whose last write was cut short: the start record and half a result.
  const auto path = pf::runner::journal_path(opts_.state_dir, "r-torn");
  {
    opts_.policy.commands = pf::runner::Policy::Commands::allow;
    Job first = job;
    ASSERT_TRUE(pf::runner::run_job(first, opts_));
  }
  const auto full = read(path);
  const auto first_nl = full.find('\n');
  {
    std::ofstream out(path, std::ios::trunc);
    out << full.substr(0, first_nl + 1) << R"({"type":"result","step_id":"a")";
  }
  fs::remove(log_);
  auto r = pf::runner::run_job(job, opts_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->outcome, Outcome::succeeded);
  EXPECT_EQ(read(log_), "a\nb\n");
  const auto text = read(path);
  EXPECT_EQ(text.find(R"({"type":"result","step_id":"a"{)"), std::string::npos);
}

}  // namespace
