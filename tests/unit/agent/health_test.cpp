// SPDX-License-Identifier: Apache-2.0
// Health baseline: proc/net and systemctl parsers on text and on a fake proc tree, snapshots of
// the real /proc with real sockets opened and closed by the test, command probes with real
// processes, HTTP probes against a real server on loopback, compare() and the JSON form.
#include "patchflow/agent/health.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "agent_temp.hpp"

namespace health = pf::agent::health;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> subjects(const std::vector<health::Regression>& rs,
                                  const std::string& kind) {
  std::vector<std::string> out;
  for (const auto& r : rs) {
    if (r.kind == kind) out.push_back(r.subject);
  }
  return out;
}

// ---- proc/net parsing ------------------------------------------------------------------------

// Lines as an x86_64 (little-endian) kernel prints them: each 32-bit address word in host order.
constexpr const char* kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "1145 1 000000001bb865c3 100 0 0 10 0\n"
    "   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 "
    "2001 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0100007F:0CEA 0100007F:D431 01 00000000:00000000 00:00000000 00000000   105        0 "
    "2002 1 0000000000000000 20 4 30 10 -1\n"
    "   3: 0A00020F:0016 0A000202:C350 06 00000000:00000000 03:00000A2D 00000000     0        0 "
    "0 3 0000000000000000\n";

constexpr const char* kTcp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 3001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 3002 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:E0E0 01 "
    "00000000:00000000 00:00000000 00000000     0        0 3003 1 0000000000000000 20 4 30 10 -1\n"
    "   3: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 3004 1 0000000000000000 100 0 0 10 0\n";

constexpr const char* kUdp =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode ref pointer drops\n"
    "  100: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 "
    "4001 2 0000000000000000 0\n"
    "  101: 0F02000A:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 "
    "4002 2 0000000000000000 0\n"
    "  102: 0F02000A:A1B2 08080808:0035 01 00000000:00000000 00:00000000 00000000  1000        0 "
    "4003 2 0000000000000000 0\n";

constexpr const char* kUdp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    "  200: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 "
    "00000000:00000000 00:00000000 00000000     0        0 5001 2 0000000000000000 0\n";

TEST(HealthProcNet, DecodesListeningTcpSockets) {
  auto v4 = health::parse_proc_net(kTcp, "tcp", "tcp");
  ASSERT_TRUE(v4) << pf::to_string(v4.error());
  EXPECT_EQ(*v4, (std::vector<std::string>{"tcp:0.0.0.0:22", "tcp:127.0.0.1:3306"}));
  auto v6 = health::parse_proc_net(kTcp6, "tcp6", "tcp6");
  ASSERT_TRUE(v6) << pf::to_string(v6.error());
  EXPECT_EQ(*v6, (std::vector<std::string>{"tcp6:[2001:db8::1]:443", "tcp6:[::1]:8080",
                                           "tcp6:[::]:80"}));
}

TEST(HealthProcNet, UdpIsBoundWithoutARemote) {
  auto v4 = health::parse_proc_net(kUdp, "udp", "udp");
  ASSERT_TRUE(v4) << pf::to_string(v4.error());
  EXPECT_EQ(*v4, (std::vector<std::string>{"udp:10.0.2.15:68", "udp:127.0.0.53:53"}));
  auto v6 = health::parse_proc_net(kUdp6, "udp6", "udp6");
  ASSERT_TRUE(v6) << pf::to_string(v6.error());
  EXPECT_EQ(*v6, (std::vector<std::string>{"udp6:[::1]:53"}));
}

TEST(HealthProcNet, EmptyAndHeaderOnlyAreEmpty) {
  for (const char* text : {"", "\n\n", "  sl  local_address rem_address   st tx_queue\n"}) {
    auto r = health::parse_proc_net(text, "tcp", "tcp");
    ASSERT_TRUE(r) << pf::to_string(r.error());
    EXPECT_TRUE(r->empty()) << text;
  }
}

TEST(HealthProcNet, MalformedLinesAreClearErrors) {
  struct Case {
    const char* proto;
    std::string text;
    const char* message_part;
  };
  const std::string hdr = "  sl  local_address rem_address   st\n";
  const std::vector<Case> cases = {
      {"tcp", hdr + "   0: 00000000:0016 00000000:0000\n", "expected"},
      {"tcp", hdr + "   0 00000000:0016 00000000:0000 0A\n", "expected"},
      {"tcp", hdr + "   0: 0000000G:0016 00000000:0000 0A\n", "bad local address"},
      {"tcp", hdr + "   0: 000000000:0016 00000000:0000 0A\n", "bad local address"},
      {"tcp", hdr + "   0: 00000000:016 00000000:0000 0A\n", "bad local address"},
      {"tcp", hdr + "   0: 00000000 00000000:0000 0A\n", "bad local address"},
      {"tcp", hdr + "   0: 00000000:0016 00000000:00000 0A\n", "bad remote address"},
      {"tcp", hdr + "   0: 00000000:0016 00000000:0000 ZZ\n", "bad state"},
      {"tcp", hdr + "   0: 00000000:0016 00000000:0000 0A0\n", "bad state"},
      {"tcp6", hdr + "   0: 00000000:0016 00000000:0000 0A\n", "bad local address"},
      {"udp", hdr + "   0: 00000000000000000000000000000000:0035 "
                    "00000000000000000000000000000000:0000 07\n",
       "bad local address"},
      {"tcp", hdr + "   0: " + std::string(5000, 'A') + "\n", "longer than 4096"},
      {"sctp", hdr, "unknown protocol"},
  };
  for (const auto& c : cases) {
    auto r = health::parse_proc_net(c.text, c.proto, "/proc/net/x");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos)
        << r.error().message << " for " << c.text;
    if (std::string(c.proto) != "sctp") {
      EXPECT_EQ(r.error().where, "/proc/net/x:2");
    }
  }
}

TEST(HealthProcNet, GarbageNeverCrashes) {
  std::string noise;
  for (int i = 0; i < 4000; ++i) noise += static_cast<char>((i * 7919) % 256);
  for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) {
    auto r = health::parse_proc_net(noise, proto, "noise");
    EXPECT_FALSE(r) << proto;  // no line of it is a socket line
  }
}

// ---- systemctl output ------------------------------------------------------------------------

TEST(HealthUnits, NamesFromListUnitsOutput) {
  const std::string running =
      "cron.service    loaded active running Regular background program processing daemon\n"
      "ssh.service     loaded active running OpenBSD Secure Shell server\n"
      "dbus.service    loaded active running D-Bus System Message Bus\n";
  auto r = health::parse_unit_names(running, "running");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(*r, (std::vector<std::string>{"cron.service", "dbus.service", "ssh.service"}));
  const std::string failed =
      "\xe2\x97\x8f nginx.service loaded failed failed A high performance web server\n"
      "\xe2\x97\x8f mnt-data.mount loaded failed failed /mnt/data\n";
  auto f = health::parse_unit_names(failed, "failed");
  ASSERT_TRUE(f) << pf::to_string(f.error());
  EXPECT_EQ(*f, (std::vector<std::string>{"mnt-data.mount", "nginx.service"}));
  auto bad = health::parse_unit_names("nginx.service loaded\n", "failed");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "failed:1");
}

// ---- fake proc trees -------------------------------------------------------------------------

struct FakeProc {
  pf::agent::testing::TempRoot tmp;
  fs::path proc() const { return tmp.path() / "proc"; }
  health::Options options() const {
    health::Options o;
    o.proc = proc();
    o.systemd_marker = tmp.path() / "no-such-marker";
    return o;
  }
};

TEST(HealthProcesses, NamesFromAFakeProc) {
  FakeProc f;
  f.tmp.write("proc/1/comm", "init\n");
  f.tmp.write("proc/20/comm", "sshd\n");
  f.tmp.write("proc/21/comm", "sshd\n");
  f.tmp.write("proc/300/comm", "bad\x01name\n");
  f.tmp.mkdir("proc/301");  // ended while being read: no comm
  f.tmp.write("proc/self/comm", "not-a-pid\n");
  f.tmp.write("proc/12ab/comm", "not-a-pid-either\n");
  auto names = health::process_names(f.proc());
  ASSERT_TRUE(names) << pf::to_string(names.error());
  EXPECT_EQ(*names, (std::vector<std::string>{"bad?name", "init", "sshd"}));

  auto missing = health::process_names(f.tmp.path() / "nothing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::not_found);
}

TEST(HealthProcesses, RealProcHasThisProcess) {
  auto names = health::process_names();
  ASSERT_TRUE(names) << pf::to_string(names.error());
  std::ifstream in("/proc/self/comm");
  std::string self;
  std::getline(in, self);
  ASSERT_FALSE(self.empty());
  EXPECT_TRUE(contains(*names, self)) << self;
  EXPECT_TRUE(std::is_sorted(names->begin(), names->end()));
  EXPECT_EQ(std::adjacent_find(names->begin(), names->end()), names->end());
}

TEST(HealthSnapshot, FromAFakeProcWithoutSystemd) {
  FakeProc f;
  f.tmp.write("proc/net/tcp", kTcp);
  f.tmp.write("proc/net/udp", kUdp);  // no tcp6, udp6: a kernel without IPv6
  f.tmp.write("proc/1/comm", "tini\n");
  f.tmp.write("proc/77/comm", "nginx\n");
  auto s = health::take_snapshot({}, f.options());
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_EQ(s->listening, (std::vector<std::string>{"tcp:0.0.0.0:22", "tcp:127.0.0.1:3306",
                                                    "udp:10.0.2.15:68", "udp:127.0.0.53:53"}));
  EXPECT_FALSE(s->systemd);
  EXPECT_TRUE(s->services_running.empty());
  EXPECT_TRUE(s->failed_units.empty());
  EXPECT_EQ(s->processes, (std::vector<std::string>{"nginx", "tini"}));
  EXPECT_EQ(s->taken_at.size(), 20u);
  EXPECT_EQ(s->taken_at.back(), 'Z');
}

TEST(HealthSnapshot, MissingOrMalformedProcNetIsAnError) {
  FakeProc f;
  f.tmp.write("proc/net/udp", kUdp);
  f.tmp.write("proc/1/comm", "init\n");
  auto missing = health::take_snapshot({}, f.options());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::not_found);

  f.tmp.write("proc/net/tcp", std::string(kTcp) + "   9: 0100007F:XXXX 00000000:0000 0A\n");
  auto bad = health::take_snapshot({}, f.options());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(bad.error().where, (f.proc() / "net" / "tcp").string() + ":6");

  f.tmp.write("proc/net/tcp", kTcp);
  auto small = f.options();
  small.max_net_file = 100;
  auto big = health::take_snapshot({}, small);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("larger than the limit of 100 bytes"), std::string::npos);
}

// A stand-in systemctl (a shell script) that prints captured list-units output, so that the
// systemd path runs its real process and parser on a machine where systemd does not run.
TEST(HealthSnapshot, SystemdPathWithCapturedSystemctlOutput) {
  FakeProc f;
  f.tmp.write("proc/net/tcp", kTcp);
  f.tmp.write("proc/net/udp", kUdp);
  f.tmp.write("proc/1/comm", "systemd\n");
  const auto script = f.tmp.write(
      "bin/systemctl",
      "#!/bin/sh\n"
      "echo \"$@\" >> \"$(dirname \"$0\")/calls\"\n"
      "case \"$*\" in\n"
      "  *--state=running*) printf 'ssh.service loaded active running OpenBSD Secure Shell "
      "server\\ncron.service loaded active running Regular background program\\n' ;;\n"
      "  *--state=failed*) printf '* nginx.service loaded failed failed nginx\\n' ;;\n"
      "  *) exit 9 ;;\n"
      "esac\n");
  fs::permissions(script, fs::perms::owner_all);
  auto opt = f.options();
  opt.systemctl = script.string();
  auto s = health::take_snapshot({}, opt);
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_TRUE(s->systemd);
  EXPECT_EQ(s->services_running, (std::vector<std::string>{"cron.service", "ssh.service"}));
  EXPECT_EQ(s->failed_units, (std::vector<std::string>{"nginx.service"}));
  std::ifstream calls(f.tmp.path() / "bin" / "calls");
  std::string first;
  std::string second;
  std::getline(calls, first);
  std::getline(calls, second);
  EXPECT_EQ(first, "list-units --type=service --state=running --no-legend --plain --no-pager");
  EXPECT_EQ(second, "list-units --state=failed --no-legend --plain --no-pager");

  f.tmp.write("bin/systemctl", "#!/bin/sh\necho 'Failed to connect to bus' >&2\nexit 1\n");
  auto failing = health::take_snapshot({}, opt);
  ASSERT_FALSE(failing);
  EXPECT_EQ(failing.error().code, pf::Errc::backend_failed);
  EXPECT_NE(failing.error().message.find("Failed to connect to bus"), std::string::npos);
}

// ---- real sockets in the real /proc ----------------------------------------------------------

class Socket {
 public:
  // A socket bound to loopback on a free port; TCP ones listen.
  Socket(int family, int type) {
    fd_ = ::socket(family, type | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    int rc = -1;
    if (family == AF_INET) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      if (rc == 0) rc = ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    } else {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      if (rc == 0) rc = ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin6_port);
    }
    if (rc == 0 && type == SOCK_STREAM) rc = ::listen(fd_, 8);
    if (rc != 0) close();
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] int port() const { return port_; }

 private:
  int fd_{-1};
  int port_{0};
};

TEST(HealthRealProc, ClosedPortsAreReportedExactly) {
  Socket tcp4(AF_INET, SOCK_STREAM);
  Socket tcp6(AF_INET6, SOCK_STREAM);
  Socket udp4(AF_INET, SOCK_DGRAM);
  Socket kept(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(tcp4.ok() && tcp6.ok() && udp4.ok() && kept.ok());
  const std::string s_tcp4 = "tcp:127.0.0.1:" + std::to_string(tcp4.port());
  const std::string s_tcp6 = "tcp6:[::1]:" + std::to_string(tcp6.port());
  const std::string s_udp4 = "udp:127.0.0.1:" + std::to_string(udp4.port());
  const std::string s_kept = "tcp:127.0.0.1:" + std::to_string(kept.port());

  auto before = health::take_snapshot({});
  ASSERT_TRUE(before) << pf::to_string(before.error());
  for (const auto& s : {s_tcp4, s_tcp6, s_udp4, s_kept}) {
    EXPECT_TRUE(contains(before->listening, s)) << s;
  }
  EXPECT_TRUE(std::is_sorted(before->listening.begin(), before->listening.end()));
  // systemd does not run on the test machine, unless its marker or PID 1 says otherwise.
  std::ifstream pid1("/proc/1/comm");
  std::string init;
  std::getline(pid1, init);
  const bool systemd = fs::is_directory("/run/systemd/system") || init == "systemd";
  EXPECT_EQ(before->systemd, systemd);
  if (!systemd) {
    EXPECT_TRUE(before->services_running.empty() && before->failed_units.empty());
  }

  tcp4.close();
  tcp6.close();
  udp4.close();
  auto after = health::take_snapshot({});
  ASSERT_TRUE(after) << pf::to_string(after.error());
  EXPECT_TRUE(contains(after->listening, s_kept));

  // Other processes on the machine may open and close ports meanwhile: look at ours only.
  const std::set<std::string> ours = {s_tcp4, s_tcp6, s_udp4, s_kept};
  std::set<std::string> closed;
  for (const auto& r : health::compare(*before, *after)) {
    if (r.kind == "port_closed" && ours.contains(r.subject)) {
      closed.insert(r.subject);
      EXPECT_EQ(r.detail, "was listening before the install");
    }
  }
  EXPECT_EQ(closed, (std::set<std::string>{s_tcp4, s_tcp6, s_udp4}));

  for (const auto& r : health::compare(*before, *before)) {
    EXPECT_NE(r.kind, "port_closed") << r.subject;
  }
}

// ---- command probes --------------------------------------------------------------------------

health::Probe command(std::string name, std::vector<std::string> argv,
                      std::vector<int> ok = {0}) {
  health::Probe p;
  p.name = std::move(name);
  p.kind = health::Probe::Kind::command;
  p.argv = std::move(argv);
  p.ok_exit_codes = std::move(ok);
  return p;
}

const health::ProbeResult& result(const health::Snapshot& s, const std::string& name) {
  for (const auto& p : s.probes) {
    if (p.name == name) return p;
  }
  throw std::runtime_error("no probe " + name);
}

TEST(HealthProbes, CommandExitCodes) {
  FakeProc f;
  f.tmp.write("proc/net/tcp", "");
  f.tmp.write("proc/net/udp", "");
  f.tmp.write("proc/1/comm", "init\n");
  auto slow = command("slow", {"sleep", "5"});
  slow.timeout = 200ms;
  const std::vector<health::Probe> probes = {
      command("true", {"true"}),
      command("false", {"false"}),
      command("three-ok", {"sh", "-c", "exit 3"}, {0, 3}),
      command("three-bad", {"sh", "-c", "echo broken >&2; exit 3"}),
      command("missing", {"/nonexistent/probe-program"}),
      slow,
      command("loud", {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; exit 1"}),
  };
  auto s = health::take_snapshot(probes, f.options());
  ASSERT_TRUE(s) << pf::to_string(s.error());
  ASSERT_EQ(s->probes.size(), probes.size());
  EXPECT_EQ(s->probes[0].name, "true");  // in the order given

  EXPECT_TRUE(result(*s, "true").ok);
  EXPECT_EQ(result(*s, "true").code, 0);
  EXPECT_FALSE(result(*s, "false").ok);
  EXPECT_EQ(result(*s, "false").code, 1);
  EXPECT_TRUE(result(*s, "three-ok").ok);
  EXPECT_EQ(result(*s, "three-ok").code, 3);
  const auto& bad = result(*s, "three-bad");
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.code, 3);
  EXPECT_NE(bad.detail.find("exit status 3 (ok: 0)"), std::string::npos) << bad.detail;
  EXPECT_NE(bad.detail.find("broken"), std::string::npos) << bad.detail;
  EXPECT_FALSE(result(*s, "missing").ok);
  EXPECT_EQ(result(*s, "missing").code, -1);
  EXPECT_NE(result(*s, "missing").detail.find("cannot run"), std::string::npos);
  const auto& timed_out = result(*s, "slow");
  EXPECT_FALSE(timed_out.ok);
  EXPECT_EQ(timed_out.code, -1);
  EXPECT_NE(timed_out.detail.find("did not finish within 200 ms"), std::string::npos);
  EXPECT_GE(timed_out.latency, 200ms);
  EXPECT_LT(timed_out.latency, 4000ms);
  const auto& loud = result(*s, "loud");
  EXPECT_FALSE(loud.ok);
  EXPECT_LE(loud.detail.size(), health::kMaxDetail);
  EXPECT_NE(loud.detail.find("xxxx"), std::string::npos);
}

TEST(HealthProbes, InvalidProbesAreRejected) {
  FakeProc f;
  f.tmp.write("proc/net/tcp", "");
  f.tmp.write("proc/net/udp", "");
  health::Probe no_url;
  no_url.name = "web";
  no_url.kind = health::Probe::Kind::http;
  no_url.url = "ftp://example.org/";
  auto zero_timeout = command("z", {"true"});
  zero_timeout.timeout = 0ms;
  const std::vector<std::vector<health::Probe>> cases = {
      {command("", {"true"})},
      {command("a", {})},
      {command("a", {"true"}), command("a", {"false"})},
      {command("a", {"true"}, {})},
      {no_url},
      {zero_timeout},
  };
  for (const auto& probes : cases) {
    auto s = health::take_snapshot(probes, f.options());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, pf::Errc::invalid_input);
    EXPECT_TRUE(s.error().where.starts_with("probe")) << s.error().where;
  }
}

// ---- HTTP probes against a real server on loopback -------------------------------------------

// A small HTTP/1.1 server on 127.0.0.1: answers every request with `status` after `delay`.
class TinyHttp {
 public:
  TinyHttp() : socket_(AF_INET, SOCK_STREAM) {
    thread_ = std::thread([this] { loop(); });
  }
  TinyHttp(const TinyHttp&) = delete;
  TinyHttp& operator=(const TinyHttp&) = delete;
  ~TinyHttp() {
    stop_ = true;
    thread_.join();
  }
  void set(int status, std::chrono::milliseconds delay) {
    status_ = status;
    delay_ms_ = static_cast<int>(delay.count());
  }
  [[nodiscard]] bool ok() const { return socket_.ok(); }
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(socket_.port()) + "/health";
  }
  [[nodiscard]] int requests() const { return requests_; }

 private:
  void loop() {
    while (!stop_ && socket_.ok()) {
      pollfd p{socket_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }
  void serve(int c) {
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return;
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      request.append(buf, static_cast<std::size_t>(n));
    }
    ++requests_;
    for (int waited = 0; waited < delay_ms_ && !stop_; waited += 10) {
      std::this_thread::sleep_for(10ms);
    }
    const int status = status_;
    const std::string body = status == 200 ? "ok" : "database unreachable";
    const std::string response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
                                 std::to_string(body.size()) +
                                 "\r\nConnection: close\r\n\r\n" + body;
    (void)::send(c, response.data(), response.size(), MSG_NOSIGNAL);
  }

  Socket socket_;
  std::atomic<bool> stop_{false};
  std::atomic<int> status_{200};
  std::atomic<int> delay_ms_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

health::Probe http(std::string name, std::string url, int expect = 0) {
  health::Probe p;
  p.name = std::move(name);
  p.kind = health::Probe::Kind::http;
  p.url = std::move(url);
  p.expect_status = expect;
  p.timeout = 3000ms;
  return p;
}

TEST(HealthProbes, HttpFastThenSlowThenFailing) {
  FakeProc f;
  f.tmp.write("proc/net/tcp", "");
  f.tmp.write("proc/net/udp", "");
  TinyHttp server;
  ASSERT_TRUE(server.ok());
  const std::vector<health::Probe> probes = {http("web", server.url()),
                                             http("web-500", server.url(), 500)};

  server.set(200, 0ms);
  auto fast = health::take_snapshot(probes, f.options());
  ASSERT_TRUE(fast) << pf::to_string(fast.error());
  const auto& web = result(*fast, "web");
  EXPECT_TRUE(web.ok) << web.detail;
  EXPECT_EQ(web.code, 200);
  EXPECT_EQ(web.detail, "HTTP 200");
  EXPECT_LT(web.latency, 150ms);
  EXPECT_FALSE(result(*fast, "web-500").ok);  // expects exactly 500

  server.set(200, 400ms);
  auto slow = health::take_snapshot(probes, f.options());
  ASSERT_TRUE(slow) << pf::to_string(slow.error());
  EXPECT_TRUE(result(*slow, "web").ok);
  EXPECT_GE(result(*slow, "web").latency, 400ms);
  auto regressions = health::compare(*fast, *slow);
  EXPECT_EQ(subjects(regressions, "probe_slower"), std::vector<std::string>{"web"});
  EXPECT_TRUE(subjects(regressions, "probe_failed").empty());
  for (const auto& r : regressions) {
    if (r.kind == "probe_slower") {
      EXPECT_NE(r.detail.find(" ms vs "), std::string::npos);
    }
  }

  server.set(500, 0ms);
  auto failing = health::take_snapshot(probes, f.options());
  ASSERT_TRUE(failing) << pf::to_string(failing.error());
  const auto& broken = result(*failing, "web");
  EXPECT_FALSE(broken.ok);
  EXPECT_EQ(broken.code, 500);
  EXPECT_NE(broken.detail.find("HTTP 500 (expected 2xx or 3xx)"), std::string::npos);
  EXPECT_NE(broken.detail.find("database unreachable"), std::string::npos);
  EXPECT_TRUE(result(*failing, "web-500").ok);
  regressions = health::compare(*fast, *failing);
  EXPECT_EQ(subjects(regressions, "probe_failed"), std::vector<std::string>{"web"});
  EXPECT_TRUE(subjects(regressions, "probe_slower").empty());
  // web-500 failed before (it got 200) and passes now: no regression either way.
  regressions = health::compare(*failing, *fast);
  EXPECT_EQ(subjects(regressions, "probe_failed"), std::vector<std::string>{"web-500"});
  EXPECT_EQ(server.requests(), 6);
}

TEST(HealthProbes, HttpTimeoutAndRefused) {
  FakeProc f;
  f.tmp.write("proc/net/tcp", "");
  f.tmp.write("proc/net/udp", "");
  TinyHttp server;
  ASSERT_TRUE(server.ok());
  server.set(200, 3000ms);
  auto hang = http("hang", server.url());
  hang.timeout = 300ms;
  Socket closed(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(closed.ok());
  const std::string refused_url = "http://127.0.0.1:" + std::to_string(closed.port()) + "/";
  closed.close();
  const std::vector<health::Probe> probes = {hang, http("refused", refused_url)};
  auto s = health::take_snapshot(probes, f.options());
  ASSERT_TRUE(s) << pf::to_string(s.error());
  const auto& h = result(*s, "hang");
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.detail.find("timed out"), std::string::npos) << h.detail;
  EXPECT_GE(h.latency, 250ms);
  EXPECT_LT(h.latency, 2500ms);
  const auto& r = result(*s, "refused");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.detail.find("request failed"), std::string::npos) << r.detail;
}

// ---- compare on built snapshots --------------------------------------------------------------

health::ProbeResult pr(std::string name, bool ok, int ms) {
  health::ProbeResult r;
  r.name = std::move(name);
  r.ok = ok;
  r.code = ok ? 0 : 1;
  r.latency = std::chrono::milliseconds(ms);
  r.detail = ok ? "exit status 0" : "exit status 1";
  return r;
}

TEST(HealthCompare, RulesOfEachKind) {
  health::Snapshot before;
  before.listening = {"tcp:0.0.0.0:22", "tcp6:[::]:80", "udp:127.0.0.1:53"};
  before.systemd = true;
  before.services_running = {"cron.service", "nginx.service", "ssh.service"};
  before.failed_units = {"old.mount"};
  before.processes = {"cron", "nginx", "sshd"};
  before.probes = {pr("slower", true, 150), pr("same", true, 100), pr("broke", true, 5),
                   pr("was-broken", false, 5), pr("gone", true, 5), pr("fast", true, 1),
                   pr("mild", true, 20)};
  health::Snapshot after = before;
  after.listening = {"tcp:0.0.0.0:22", "tcp:0.0.0.0:8080", "udp:127.0.0.1:53"};
  after.services_running = {"cron.service", "ssh.service"};
  after.failed_units = {"nginx.service", "old.mount"};
  after.processes = {"cron"};
  after.probes = {pr("slower", true, 412), pr("same", true, 110), pr("broke", false, 5),
                  pr("was-broken", false, 5), pr("fast", true, 19), pr("mild", true, 39),
                  pr("new", false, 1)};
  const auto rs = health::compare(before, after);
  ASSERT_EQ(rs.size(), 6u) << health::to_json(rs);
  EXPECT_EQ(rs[0].kind, "port_closed");
  EXPECT_EQ(rs[0].subject, "tcp6:[::]:80");
  EXPECT_EQ(rs[1].kind, "service_stopped");
  EXPECT_EQ(rs[1].subject, "nginx.service");
  EXPECT_EQ(rs[2].kind, "unit_failed");
  EXPECT_EQ(rs[2].subject, "nginx.service");
  EXPECT_EQ(rs[3].kind, "probe_slower");
  EXPECT_EQ(rs[3].subject, "slower");
  EXPECT_EQ(rs[3].detail, "412 ms vs 150 ms (2.7x)");
  EXPECT_EQ(rs[4].kind, "probe_failed");
  EXPECT_EQ(rs[4].subject, "broke");
  EXPECT_EQ(rs[4].detail, "passed before the install, fails after it: exit status 1");
  EXPECT_EQ(rs[5].kind, "probe_failed");
  EXPECT_EQ(rs[5].subject, "gone");

  // The floor and the factor are the caller's.
  health::CompareOptions loose;
  loose.slower_factor = 1.05;
  loose.latency_floor = 0ms;
  const auto more = health::compare(before, after, loose);
  EXPECT_EQ(subjects(more, "probe_slower"),
            (std::vector<std::string>{"slower", "same", "fast", "mild"}));
  EXPECT_TRUE(health::compare(after, after).empty());
}

// ---- JSON ------------------------------------------------------------------------------------

health::Snapshot sample() {
  health::Snapshot s;
  s.taken_at = "2026-03-04T05:06:07Z";
  s.listening = {"tcp6:[::]:80", "tcp:0.0.0.0:22", "udp:127.0.0.1:53"};
  std::sort(s.listening.begin(), s.listening.end());
  s.systemd = true;
  s.services_running = {"cron.service", "ssh.service"};
  s.failed_units = {"nginx.service"};
  s.processes = {"cron", "kworker/0:1", "sshd"};
  health::ProbeResult a = pr("web", false, 412);
  a.code = 500;
  a.detail = "HTTP 500 (expected 2xx or 3xx); body: \"quoted\"\n\ttabbed \xc3\xa9";
  s.probes = {a, pr("disk", true, 3)};
  return s;
}

bool same(const health::Snapshot& a, const health::Snapshot& b) {
  if (a.probes.size() != b.probes.size()) return false;
  for (std::size_t i = 0; i < a.probes.size(); ++i) {
    const auto& x = a.probes[i];
    const auto& y = b.probes[i];
    if (x.name != y.name || x.ok != y.ok || x.code != y.code || x.latency != y.latency ||
        x.detail != y.detail) {
      return false;
    }
  }
  return a.taken_at == b.taken_at && a.listening == b.listening && a.systemd == b.systemd &&
         a.services_running == b.services_running && a.failed_units == b.failed_units &&
         a.processes == b.processes;
}

TEST(HealthJson, RoundTrip) {
  const auto s = sample();
  const std::string text = health::to_json(s);
  auto back = health::snapshot_from_json(text);
  ASSERT_TRUE(back) << pf::to_string(back.error());
  EXPECT_TRUE(same(s, *back)) << text;
  EXPECT_EQ(health::to_json(*back), text);

  health::Snapshot empty;
  auto e = health::snapshot_from_json(health::to_json(empty));
  ASSERT_TRUE(e) << pf::to_string(e.error());
  EXPECT_TRUE(same(empty, *e));
}

TEST(HealthJson, InvalidUtf8IsWrittenReplaced) {
  health::Snapshot s;
  s.processes = {"bad\xff"};
  const std::string text = health::to_json(s);
  auto back = health::snapshot_from_json(text);
  ASSERT_TRUE(back) << pf::to_string(back.error());
  EXPECT_EQ(back->processes, std::vector<std::string>{"bad\xef\xbf\xbd"});
}

TEST(HealthJson, UnknownMembersIgnoredListsNormalised) {
  std::string text = health::to_json(sample());
  text.insert(1, "\"future\":{\"x\":[1,2]},");
  const auto pos = text.find("\"processes\":[");
  ASSERT_NE(pos, std::string::npos);
  text.insert(pos + 13, "\"sshd\",\"zsh\",\"cron\",");
  auto s = health::snapshot_from_json(text);
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_EQ(s->processes, (std::vector<std::string>{"cron", "kworker/0:1", "sshd", "zsh"}));
}

TEST(HealthJson, HostileInputIsAClearError) {
  const std::string good = health::to_json(sample());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    const auto pos = t.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) t.replace(pos, from.size(), to);
    return t;
  };
  struct Case {
    std::string text;
    std::string where;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"", "byte 1", "parse error"},
      {"{", "byte 2", "parse error"},
      {"null", "snapshot", "must be an object"},
      {"[]", "snapshot", "must be an object"},
      {std::string(100000, '['), "byte 17", "nested deeper than 16"},
      {"{\"a\":\"" + std::string(10, '[') + "\"}", "taken_at", "missing"},
      {replace("\"systemd\":true", "\"systemd\":\"yes\""), "systemd", "true or false"},
      {replace("\"taken_at\":\"2026-03-04T05:06:07Z\"", "\"taken_at\":1"), "taken_at",
       "must be a string"},
      {replace("\"listening\":[", "\"listening\":[7,"), "listening[0]", "must be a string"},
      {replace("\"listening\":[", "\"listening\":[\"\","), "listening[0]", "is empty"},
      {replace("\"processes\":[", "\"processes\":{\"a\":1},\"x\":["), "processes",
       "must be an array"},
      {replace("\"latency_ms\":412", "\"latency_ms\":-1"), "probes[0].latency_ms",
       "between 0 and"},
      {replace("\"latency_ms\":412", "\"latency_ms\":1e300"), "probes[0].latency_ms",
       "must be an integer"},
      {replace("\"latency_ms\":412", "\"latency_ms\":18446744073709551615"),
       "probes[0].latency_ms", "between 0 and"},
      {replace("\"code\":500", "\"code\":4294967296"), "probes[0].code", "between"},
      {replace("\"code\":500", "\"code\":5.5"), "probes[0].code", "must be an integer"},
      {replace("\"name\":\"disk\"", "\"name\":\"web\""), "probes[1].name", "already listed"},
      {replace("\"name\":\"disk\"", "\"name\":\"\""), "probes[1].name", "is empty"},
      {replace(",\"ok\":true", ""), "probes[1].ok", "missing"},
      {replace("\"probes\":[", "\"probes\":[3,"), "probes[0]", "must be an object"},
      {replace("\"detail\":\"exit status 0\"",
               "\"detail\":\"" + std::string(health::kMaxDetail + 1, 'd') + "\""),
       "probes[1].detail", "longer than 4096"},
      {replace("\"cron\"", "\"cr\xff\""), "byte", "parse error"},
      {good + "x", "byte", "parse error"},
  };
  for (const auto& c : cases) {
    auto r = health::snapshot_from_json(c.text);
    ASSERT_FALSE(r) << c.text.substr(0, 300);
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_TRUE(r.error().where.starts_with(c.where))
        << r.error().where << " vs " << c.where << " for " << c.text.substr(0, 300);
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos)
        << r.error().message << " for " << c.text.substr(0, 300);
  }
}

TEST(HealthJson, LimitsAreTheCallers) {
  const std::string text = health::to_json(sample());
  health::JsonLimits small;
  small.max_bytes = text.size() - 1;
  auto big = health::snapshot_from_json(text, small);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("larger than the limit"), std::string::npos);
  small = {};
  small.max_items = 2;
  auto many = health::snapshot_from_json(text, small);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().where, "listening");
  EXPECT_NE(many.error().message.find("more than 2 items"), std::string::npos);
  small = {};
  small.max_depth = 2;
  auto deep = health::snapshot_from_json(text, small);
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("nested deeper than 2"), std::string::npos);
}

TEST(HealthJson, RegressionsAsJson) {
  const std::vector<health::Regression> rs = {
      {"port_closed", "tcp:0.0.0.0:22", "was listening before the install"},
      {"probe_slower", "web", "412 ms vs 150 ms (2.7x)"},
  };
  EXPECT_EQ(health::to_json(rs),
            "[{\"detail\":\"was listening before the install\",\"kind\":\"port_closed\","
            "\"subject\":\"tcp:0.0.0.0:22\"},{\"detail\":\"412 ms vs 150 ms (2.7x)\","
            "\"kind\":\"probe_slower\",\"subject\":\"web\"}]");
  EXPECT_EQ(health::to_json(std::vector<health::Regression>{}), "[]");
}

}  // namespace
