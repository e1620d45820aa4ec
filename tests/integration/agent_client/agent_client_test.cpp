// SPDX-License-Identifier: Apache-2.0
// patchflow-agent against the real patchflow server: the server runs in-process on 127.0.0.1
// (the server tests' harness: real TLS, real SQLite, real certificates), the agent runs as a
// process on a lab dpkg root with its own database and apt repository. Enrollment with a pinned
// CA (and refusal of a wrong pin before any secret leaves), check-ins that upload the inventory
// only when it changed, a server restart under a looping agent, an HTTPS proxy, revocation and
// certificate rotation.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "../server/server_harness.hpp"
#include "patchflow/common/process.hpp"
#include "patchflow/lab/deb.hpp"
#include "patchflow/core/advisory.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "patchflow/pki/signing.hpp"

namespace {

using namespace pf::testing::server;
using namespace std::chrono_literals;
namespace pki = pf::pki;
namespace process = pf::process;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

void write_file(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// A port that was free a moment ago (for a server that must come back on the same one).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The environment every agent process gets: nothing of the test runner's (no proxy settings)
// but a PATH for dpkg and apt, and the sanitizers' options.
std::vector<std::string> base_env(const fs::path& home) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home.string(),
      "LC_ALL=C"};
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
  }
  return env;
}

/// A `patchflow-agent run` in the background, its stderr in a file.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::vector<std::string>& env,
             const fs::path& log)
      : log_(log) {
    std::vector<std::string> argv = {PF_AGENT_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<std::string> envs = env;
    for (auto& e : envs) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    const std::string log_path = log.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execve(cargv[0], cargv.data(), cenv.data());
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  std::string log() const { return read_file(log_); }
  void signal(int sig) const { ::kill(pid_, sig); }
  /// The exit code once it ended within `limit` (-1 for a signal), nullopt while it runs.
  std::optional<int> wait_for(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (true) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(50ms);
    }
  }

 private:
  fs::path log_;
  pid_t pid_{-1};
  bool exited_{false};
};

/// An HTTP proxy that only knows CONNECT (what a client does for https:// through a proxy):
/// it connects to 127.0.0.1:PORT and pipes bytes both ways, counting the tunnels.
class ConnectProxy {
 public:
  ConnectProxy() {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_, 16) != 0) {
      throw std::runtime_error("proxy: cannot listen");
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ConnectProxy() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : workers_) t.join();
    ::close(listen_);
  }
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  int port() const { return port_; }
  int tunnels() const { return tunnels_.load(); }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int client = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      workers_.emplace_back([this, client] { serve(client); });
    }
  }

  void serve(int client) {
    std::string head;
    char buf[16384];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      const ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0) break;
      head.append(buf, static_cast<std::size_t>(n));
    }
    std::smatch m;
    const std::regex connect(R"(^CONNECT (127\.0\.0\.1|localhost):(\d+) HTTP/1\.[01]\r\n)");
    if (!std::regex_search(head, m, connect)) {
      const std::string no = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n";
      [[maybe_unused]] auto w = ::write(client, no.data(), no.size());
      ::close(client);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(m[1].str() + ":" + m[2].str());
    }
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(m[2].str())));
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      const std::string bad = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
      [[maybe_unused]] auto w = ::write(client, bad.data(), bad.size());
      ::close(upstream);
      ::close(client);
      return;
    }
    ++tunnels_;
    const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    [[maybe_unused]] auto w = ::write(client, ok.data(), ok.size());
    // Bytes the client sent after the CONNECT head belong to the tunnel.
    const std::string rest = head.substr(head.find("\r\n\r\n") + 4);
    if (!rest.empty()) {
      [[maybe_unused]] auto w2 = ::write(upstream, rest.data(), rest.size());
    }
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    while (!stop_) {
      if (::poll(fds, 2, 200) <= 0) continue;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          done = true;
          break;
        }
        const int to = fds[1 - i].fd;
        ssize_t off = 0;
        while (off < n) {
          const ssize_t k = ::write(to, buf + off, static_cast<std::size_t>(n - off));
          if (k <= 0) {
            done = true;
            break;
          }
          off += k;
        }
      }
      if (done) break;
    }
    ::close(upstream);
    ::close(client);
  }

  int listen_{-1};
  int port_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> tunnels_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

class AgentClient : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = tmp_.path() / "agent-state";
    root_ = lab_root();
  }

  // A dpkg root with pf-web 1.0-1 and pf-base 1.0-1 installed; its apt repository also offers
  // pf-web 1.1-1 and pf-base 2.0-1.
  fs::path lab_root() {
    auto build = [&](const std::string& name, const std::string& version,
                     std::vector<std::string> depends) {
      pf::lab::DebSpec spec;
      spec.name = name;
      spec.version = version;
      spec.depends = std::move(depends);
      spec.source_name = name == "pf-base" ? "pf-base-src" : "";
      spec.files = {{"/usr/share/" + name + "/VERSION", version + "\n"}};
      return must(pf::lab::build_deb(spec, tmp_.path() / "debs"));
    };
    const auto web1 = build("pf-web", "1.0-1", {"pf-base"});
    const auto base1 = build("pf-base", "1.0-1", {});
    web2_ = build("pf-web", "1.1-1", {"pf-base (>= 2)"});
    base2_ = build("pf-base", "2.0-1", {});
    const auto repo =
        must(pf::lab::build_apt_repo({web1, base1, web2_, base2_}, tmp_.path() / "repo"));
    const fs::path root = tmp_.path() / "root";
    must_ok(pf::lab::make_dpkg_root(root));
    must_ok(pf::lab::install_debs(root, {base1, web1}));
    must_ok(pf::lab::set_apt_sources(root, {repo.source_line}));
    write_file(root / "etc/os-release",
               "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n");
    write_file(root / "etc/hostname", "web1\n");
    return root;
  }

  static void must_ok(pf::Result<void> r) {
    if (!r) throw std::runtime_error(pf::to_string(r.error()));
  }

  process::Outcome agent(std::vector<std::string> args, std::vector<std::string> extra_env = {}) {
    args.insert(args.begin(), PF_AGENT_BIN);
    auto env = base_env(tmp_.path());
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    auto r = process::run(
        {.argv = args, .env = env, .clear_env = true, .timeout = std::chrono::seconds(300)});
    EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
    return r.value_or(process::Outcome{});
  }

  std::vector<std::string> root_flags() const {
    return {"--root", root_.string(), "--no-services"};
  }

  std::vector<std::string> run_args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"run", "--state-dir", state_.string()};
    for (const auto& f : root_flags()) args.push_back(f);
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  /// Enrolls with a new token and the server's pinned fingerprint; the host id.
  std::string enroll(Harness& h, const json& labels = json::object()) {
    std::vector<std::string> args = {"enroll",
                                     "--server",
                                     h.url(),
                                     "--token",
                                     h.enrollment_token(labels),
                                     "--ca-fingerprint",
                                     h.server().ca_fingerprint(),
                                     "--state-dir",
                                     state_.string()};
    for (const auto& f : root_flags()) args.push_back(f);
    auto r = agent(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }

  /// The value of a Prometheus counter (0 when absent).
  static long metric(Harness& h, const std::string& name) {
    auto m = send(*h.client(), "GET", "/metrics");
    std::smatch v;
    const std::string pattern =
        "\n" + std::regex_replace(name, std::regex(R"([{}"\\/.])"), R"(\$&)") + R"( (\d+))";
    if (!std::regex_search(m.body, v, std::regex(pattern))) return 0;
    return std::stol(v[1]);
  }

  /// The counter once it reached `expected` (requests are counted just after their answer is
  /// sent, so a moment after the agent saw it), or its value after 5 s.
  static long settled(Harness& h, const std::string& name, long expected) {
    long v = metric(h, name);
    for (int i = 0; i < 50 && v != expected; ++i) {
      std::this_thread::sleep_for(100ms);
      v = metric(h, name);
    }
    return v;
  }

  /// Polls `pred` every 100 ms for up to `limit`.
  template <class F>
  static bool eventually(F pred, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (pred()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return pred();
  }

  TempDir tmp_;
  fs::path state_;
  fs::path root_;
  fs::path web2_, base2_;
};

TEST_F(AgentClient, EnrollKeepsTheKeyAndTheHostAppearsWithTheRootsFacts) {
  Harness h(tmp_.path());
  const std::string id = enroll(h, {{"tier", "web"}});
  ASSERT_TRUE(std::regex_match(id, std::regex("h_[0-9a-f]+"))) << id;

  // The state directory: a private key only this host has, the certificate, the pinned CA, the
  // server's signing key, state.json.
  const fs::path key = state_ / "agent.key", cert = state_ / "agent.crt";
  EXPECT_EQ(mode_of(key), 0600u);
  EXPECT_EQ(mode_of(state_ / "state.json"), 0600u);
  EXPECT_EQ(mode_of(state_), 0700u);
  EXPECT_EQ(read_file(state_ / "ca.crt"), read_file(h.ca_file()));
  EXPECT_NE(read_file(state_ / "signing.pub").find("BEGIN PUBLIC KEY"), std::string::npos);
  const auto info = must(pki::certificate_info(read_file(cert)));
  EXPECT_EQ(info.subject_cn, id);
  EXPECT_TRUE(info.client_auth);
  const json state = json::parse(read_file(state_ / "state.json"));
  EXPECT_EQ(state["host_id"], id);
  EXPECT_EQ(state["server_url"], h.url());
  EXPECT_EQ(state["version"], 1);

  // The host as the API shows it: the root's facts, the token's labels, this certificate.
  auto host = h.api("GET", "/api/v1/hosts/" + id);
  ASSERT_EQ(host.status, 200) << host.body;
  EXPECT_EQ(host.doc["name"], "web1");
  EXPECT_EQ(host.doc["ecosystem"], "Debian:12");
  EXPECT_EQ(host.doc["os"]["id"], "debian");
  EXPECT_EQ(host.doc["os"]["version_id"], "12");
  EXPECT_FALSE(host.doc["arch"].get<std::string>().empty());
  EXPECT_FALSE(host.doc["kernel_release"].get<std::string>().empty());
  EXPECT_EQ(host.doc["labels"], (json{{"tier", "web"}}));
  EXPECT_EQ(host.doc["certificate"]["fingerprint"], info.fingerprint);

  // The private key never reached the server: its base64 body is nowhere in the database.
  const std::string key_pem = read_file(key);
  const std::string key_body = key_pem.substr(key_pem.find('\n') + 1, 40);
  for (const auto& f : fs::directory_iterator(h.database().parent_path())) {
    if (f.path().filename().string().starts_with("patchflow.db")) {
      EXPECT_EQ(read_file(f.path()).find(key_body), std::string::npos) << f.path();
    }
  }

  // A second enrollment over the same state is refused, and changes nothing.
  auto again = agent({"enroll", "--server", h.url(), "--token", h.enrollment_token(),
                      "--ca-fingerprint", h.server().ca_fingerprint(), "--state-dir",
                      state_.string(), "--root", root_.string(), "--no-services"});
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_NE(again.err.find("already enrolled as " + id), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(read_file(key), key_pem);

  // --force enrolls again; the fingerprint may be typed as openssl prints it (AA:BB:...).
  std::string colons;
  const std::string hex = h.server().ca_fingerprint().substr(7);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (!colons.empty()) colons += ':';
    colons += static_cast<char>(std::toupper(hex[i]));
    colons += static_cast<char>(std::toupper(hex[i + 1]));
  }
  auto forced = agent({"enroll", "--force", "--server", h.url() + "/", "--token",
                       h.enrollment_token(), "--ca-fingerprint", colons, "--state-dir",
                       state_.string(), "--root", root_.string(), "--no-services"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out, id + "\n");
  EXPECT_NE(read_file(key), key_pem) << "a new key for the new identity";
  EXPECT_EQ(mode_of(key), 0600u);

  // `run` on a directory nobody enrolled, or with a corrupt state file: exit 2, saying why.
  auto none = agent({"run", "--once", "--state-dir", (tmp_.path() / "nothing").string()});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("not enrolled"), std::string::npos) << none.err;
  write_file(state_ / "state.json", "{\"version\":1,\"host_id\":");
  auto corrupt = agent(run_args({"--once"}));
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_NE(corrupt.err.find((state_ / "state.json").string()), std::string::npos) << corrupt.err;
  EXPECT_NE(corrupt.err.find("not JSON"), std::string::npos) << corrupt.err;
}

TEST_F(AgentClient, AWrongFingerprintRefusesBeforeTheTokenIsSent) {
  Harness h(tmp_.path());
  const std::string token = h.enrollment_token();
  const std::string wrong = "sha256:" + std::string(64, '0');
  auto r = agent({"enroll", "--server", h.url(), "--token", token, "--ca-fingerprint", wrong,
                  "--state-dir", state_.string(), "--root", root_.string(), "--no-services"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("not the pinned one"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no token was sent"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(wrong), std::string::npos) << "both fingerprints are shown: " << r.err;
  EXPECT_FALSE(fs::exists(state_ / "ca.crt"));
  EXPECT_FALSE(fs::exists(state_ / "agent.key"));
  EXPECT_FALSE(fs::exists(state_ / "state.json"));
  // The server saw the CA fetch and nothing else from the agent.
  EXPECT_EQ(settled(h, R"(patchflow_api_requests_total{route="/agent/v1/ca",code="200"})", 1), 1);
  EXPECT_EQ(metric(h, "patchflow_enrollments_total"), 0);
  EXPECT_EQ(send(*h.client(), "GET", "/metrics").body.find("/agent/v1/enroll"), std::string::npos);
  auto tokens = h.api("GET", "/api/v1/enrollment-tokens");
  ASSERT_EQ(tokens.doc["enrollment_tokens"].size(), 1u);
  EXPECT_NE(tokens.doc["enrollment_tokens"][0]["state"], "used");

  // A fingerprint that is not one is a usage error, before any connection.
  auto garbage = agent({"enroll", "--server", h.url(), "--token", token, "--ca-fingerprint",
                        "sha256:xyz", "--state-dir", state_.string(), "--root", root_.string()});
  EXPECT_EQ(garbage.exit_code, 2) << garbage.err;
  EXPECT_EQ(settled(h, R"(patchflow_api_requests_total{route="/agent/v1/ca",code="200"})", 1), 1);

  // The token still works, here with the CA given as a file.
  auto ok = agent({"enroll", "--server", h.url(), "--token", token, "--ca", h.ca_file().string(),
                   "--state-dir", state_.string(), "--root", root_.string(), "--no-services"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(metric(h, "patchflow_enrollments_total"), 1);
  // The same token again (now used): the server's refusal is shown, exit 3.
  fs::remove_all(state_);
  auto used = agent({"enroll", "--server", h.url(), "--token", token, "--ca", h.ca_file().string(),
                     "--state-dir", state_.string(), "--root", root_.string(), "--no-services"});
  EXPECT_EQ(used.exit_code, 3) << used.err;
  EXPECT_NE(used.err.find("HTTP 401 unauthenticated: enrollment token already used (field token)"),
            std::string::npos)
      << used.err;
  // An unreachable server: exit 3 naming the URL.
  const std::string nowhere = "https://127.0.0.1:" + std::to_string(free_port());
  auto down = agent({"enroll", "--server", nowhere, "--token", token, "--ca-fingerprint",
                     h.server().ca_fingerprint(), "--state-dir", state_.string(), "--root",
                     root_.string(), "--no-services"});
  EXPECT_EQ(down.exit_code, 3) << down.err;
  EXPECT_NE(down.err.find(nowhere + "/agent/v1/ca"), std::string::npos) << down.err;
  EXPECT_NE(down.err.find("cannot reach the server"), std::string::npos) << down.err;
}

TEST_F(AgentClient, RunOnceUploadsTheInventoryOnlyWhenItChanged) {
  Harness h(tmp_.path());
  const std::string id = enroll(h);

  auto first = agent(run_args({"--once"}));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("uploaded the inventory: 2 packages"), std::string::npos) << first.err;
  EXPECT_EQ(metric(h, "patchflow_inventories_total"), 1);

  // The packages the server has are the root's dpkg database, row for row.
  auto host = h.api("GET", "/api/v1/hosts/" + id);
  ASSERT_EQ(host.status, 200) << host.body;
  std::set<std::string> served, installed;
  for (const auto& p : host.doc["packages"]) {
    served.insert(p["name"].get<std::string>() + " " + p["arch"].get<std::string>() + " " +
                  p["version"].get<std::string>() + " " + p["source"].get<std::string>() + " " +
                  p["source_version"].get<std::string>());
  }
  for (const auto& p : must(pf::pkg::read_dpkg_status(pf::pkg::dpkg_status_path(root_)))) {
    installed.insert(p.name + " " + p.arch + " " + p.version + " " + p.source_name + " " +
                     p.source_version);
  }
  EXPECT_EQ(served, installed);
  EXPECT_TRUE(served.count("pf-base all 1.0-1 pf-base-src 1.0-1")) << host.body;
  // And the updates the root's apt offers.
  std::map<std::string, std::string> candidates;
  for (const auto& u : host.doc["updates"]) {
    candidates[u["name"]] = u["installed_version"].get<std::string>() + " -> " +
                            u["candidate_version"].get<std::string>();
  }
  EXPECT_EQ(candidates["pf-base"], "1.0-1 -> 2.0-1") << host.body;
  EXPECT_EQ(candidates["pf-web"], "1.0-1 -> 1.1-1") << host.body;
  const json state = json::parse(read_file(state_ / "state.json"));
  EXPECT_EQ(host.doc["inventory_hash"], state["inventory_hash"]);
  EXPECT_TRUE(std::regex_match(state["inventory_hash"].get<std::string>(),
                               std::regex("sha256:[0-9a-f]{64}")));

  // Nothing changed: a check-in, no upload.
  auto second = agent(run_args({"--once", "--no-refresh"}));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.err.find("uploaded"), std::string::npos) << second.err;
  EXPECT_EQ(metric(h, "patchflow_inventories_total"), 1);
  EXPECT_EQ(settled(h, R"(patchflow_api_requests_total{route="/agent/v1/checkin",code="200"})", 2),
            2);
  EXPECT_TRUE(eventually([&] { return metric(h, "patchflow_checkins_total") == 2; }, 10s));

  // The root is upgraded: the next check-in uploads the new inventory.
  must_ok(pf::lab::install_debs(root_, {base2_, web2_}));
  auto third = agent(run_args({"--once", "--no-refresh"}));
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_NE(third.err.find("uploaded the inventory: 2 packages, 0 available updates"),
            std::string::npos)
      << third.err;
  EXPECT_EQ(metric(h, "patchflow_inventories_total"), 2);
  EXPECT_EQ(metric(h, "patchflow_inventories_changed_total"), 2);
  host = h.api("GET", "/api/v1/hosts/" + id);
  std::map<std::string, std::string> versions;
  for (const auto& p : host.doc["packages"]) versions[p["name"]] = p["version"];
  EXPECT_EQ(versions,
            (std::map<std::string, std::string>{{"pf-base", "2.0-1"}, {"pf-web", "1.1-1"}}));
  EXPECT_TRUE(host.doc["updates"].empty()) << host.body;
  EXPECT_NE(json::parse(read_file(state_ / "state.json"))["inventory_hash"],
            state["inventory_hash"]);
}

// The job a test queues: pre and post commands that leave a trace, the install, a check.
json job_with_install(const fs::path& trace) {
  return {{"job", "weekly-web"},
          {"preconditions",
           {{{"id", "dpkg-there"}, {"type", "check"}, {"check", "file_present"},
             {"path", "/var/lib/dpkg/status"}}}},
          {"pre", {{{"id", "stop-app"}, {"type", "command"},
                    {"shell", "echo pre >> " + trace.string()}}}},
          {"install", {{"select", "all"}}},
          {"post", {{{"id", "start-app"}, {"type", "command"},
                     {"shell", "echo post >> " + trace.string()}}}},
          {"rollback", {{"when", "on_failure"}, {"mode", "packages"}}}};
}

TEST_F(AgentClient, AJobFromTheServerIsVerifiedRunOnTheRootAndReportedOnce) {
  Harness h(tmp_.path(), [](pf::server::Config& c) { c.findings_interval = 1s; });
  // An advisory for the root's pf-base (source pf-base-src), fixed in 2.0-1.
  {
    namespace adv = pf::advisories;
    adv::Advisory a;
    a.id = "DSA-9000-1";
    a.severity = adv::Severity::high;
    a.cves = {"CVE-2026-9000"};
    a.source = "debian";
    adv::Affected e;
    e.ecosystem = "Debian:12";
    e.package = "pf-base-src";
    e.package_kind = adv::PackageKind::source;
    e.events = {{adv::EventType::introduced, "0"}, {adv::EventType::fixed, "2.0-1"}};
    a.affected.push_back(e);
    auto store = must(pf::store::SqliteStore::open(h.database()));
    must(store->put_advisories(std::vector<adv::Advisory>{a}));
  }
  const std::string id = enroll(h);
  write_file(state_ / "policy.json", R"({"commands":"allow"})");
  // The real agent's inventory makes the finding appear, through the API and the CLI.
  auto inventory = agent(run_args({"--once"}));
  ASSERT_EQ(inventory.exit_code, 0) << inventory.err;
  const std::vector<std::string> cli_env = {"PATCHFLOW_TOKEN=" + h.admin_token(),
                                            "PATCHFLOW_SERVER=" + h.url(),
                                            "PATCHFLOW_CA=" + h.ca_file().string()};
  auto findings_cli = [&](const std::string& status) {
    auto r = process::run({.argv = {PF_PATCHFLOW_BIN, "findings", "list", "--status", status,
                                    "--output", "json"},
                           .env = cli_env});
    EXPECT_TRUE(r && r->exit_code == 0) << (r ? r->err : pf::to_string(r.error()));
    return r && r->exit_code == 0 ? json::parse(r->out)["findings"] : json::array();
  };
  ASSERT_TRUE(eventually([&] { return findings_cli("open").size() == 1; }, 20s));
  const json open = findings_cli("open")[0];
  EXPECT_EQ(open["host_id"], id);
  EXPECT_EQ(open["advisory_id"], "DSA-9000-1");
  EXPECT_EQ(open["package"], "pf-base");
  EXPECT_EQ(open["installed_version"], "1.0-1");
  const fs::path trace = tmp_.path() / "trace";
  auto created = h.api("POST", "/api/v1/hosts/" + id + "/runs", {{"job", job_with_install(trace)}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string run_id = created.doc["id"].get<std::string>();

  // One cycle: check-in (the answer carries the run), verify, run, report.
  auto first = agent(run_args({"--once"}));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("run " + run_id + ": succeeded"), std::string::npos) << first.err;
  auto run = h.api("GET", "/api/v1/runs/" + run_id);
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.doc["state"], "succeeded") << run.body;
  const auto events = run.doc["events"].get<int>();
  EXPECT_GE(events, 4) << run.body;  // precondition, pre, install, post results + the outcome
  std::set<std::string> steps;
  for (const auto& e : run.doc["event_log"]) {
    if (e["kind"] == "step") steps.insert(e["body"]["step_id"].get<std::string>());
  }
  EXPECT_TRUE(steps.count("dpkg-there") && steps.count("stop-app") && steps.count("install") &&
              steps.count("start-app"))
      << run.body;
  // The root really changed, and the commands ran once each.
  std::map<std::string, std::string> versions;
  for (const auto& p : must(pf::pkg::read_dpkg_status(pf::pkg::dpkg_status_path(root_)))) {
    versions[p.name] = p.version;
  }
  EXPECT_EQ(versions["pf-base"], "2.0-1");
  EXPECT_EQ(versions["pf-web"], "1.1-1");
  EXPECT_EQ(read_file(trace), "pre\npost\n");

  // Another cycle: nothing runs again and nothing is reported twice; the patched inventory
  // goes up and the finding is fixed.
  auto second = agent(run_args({"--once", "--no-refresh"}));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(read_file(trace), "pre\npost\n");
  EXPECT_EQ(h.api("GET", "/api/v1/runs/" + run_id).doc["events"].get<int>(), events);
  EXPECT_EQ(h.api("GET", "/api/v1/hosts/" + id).doc["pending_runs"], 0);
  ASSERT_TRUE(eventually([&] { return findings_cli("fixed").size() == 1; }, 20s));
  EXPECT_TRUE(findings_cli("open").empty());
  EXPECT_EQ(findings_cli("fixed")[0]["advisory_id"], "DSA-9000-1");
}

TEST_F(AgentClient, WorkNotSignedByTheServersKeyIsRefusedAndReported) {
  Harness h(tmp_.path());
  const std::string id = enroll(h);
  write_file(state_ / "policy.json", R"({"commands":"allow"})");
  // The agent trusts another key than the one the server signs with.
  const auto other = must(pki::generate_signing_key());
  write_file(state_ / "signing.pub", other.public_pem);
  const fs::path trace = tmp_.path() / "trace";
  auto created = h.api("POST", "/api/v1/hosts/" + id + "/runs", {{"job", job_with_install(trace)}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string run_id = created.doc["id"].get<std::string>();
  auto r = agent(run_args({"--once"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("refused run " + run_id), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(trace)) << "nothing ran";
  auto run = h.api("GET", "/api/v1/runs/" + run_id);
  EXPECT_EQ(run.doc["state"], "failed") << run.body;
  EXPECT_EQ(run.doc["outcome"]["outcome"], "refused") << run.body;
  std::map<std::string, std::string> versions;
  for (const auto& p : must(pf::pkg::read_dpkg_status(pf::pkg::dpkg_status_path(root_)))) {
    versions[p.name] = p.version;
  }
  EXPECT_EQ(versions["pf-base"], "1.0-1") << "nothing installed";
}

TEST_F(AgentClient, ALoopingAgentGetsWorkThroughTheLongPoll) {
  Harness h(tmp_.path());
  const std::string id = enroll(h);
  write_file(state_ / "policy.json", R"({"commands":"allow"})");
  Background bg(run_args({"--no-refresh", "--wait", "20"}), base_env(tmp_.path()),
                tmp_.path() / "agent.log");
  // The first check-in (60 s interval): the agent is then waiting in its long-poll.
  ASSERT_TRUE(eventually([&] { return metric(h, "patchflow_checkins_total") >= 1; }, 30s))
      << bg.log();
  std::this_thread::sleep_for(500ms);
  const fs::path trace = tmp_.path() / "trace";
  json job = {{"job", "quick"},
              {"pre", {{{"id", "mark"}, {"type", "command"},
                        {"shell", "echo ran >> " + trace.string()}}}}};
  auto created = h.api("POST", "/api/v1/hosts/" + id + "/runs", {{"job", job}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string run_id = created.doc["id"].get<std::string>();
  EXPECT_TRUE(eventually(
      [&] { return h.api("GET", "/api/v1/runs/" + run_id).doc["state"] == "succeeded"; }, 20s))
      << bg.log();
  EXPECT_EQ(read_file(trace), "ran\n");
  EXPECT_EQ(metric(h, "patchflow_checkins_total"), 1) << "delivered by the long-poll, not a check-in";
  bg.signal(SIGTERM);
  EXPECT_EQ(bg.wait_for(15s), std::optional<int>(0)) << bg.log();
}

TEST_F(AgentClient, TheLoopBacksOffWhileTheServerIsDownAndComesBackAfterARestart) {
  const int port = free_port();
  Harness h(tmp_.path(), [port](pf::server::Config& c) {
    c.listen_port = port;
    c.checkin_interval = std::chrono::seconds(1);
    c.checkin_jitter = 0;
  });
  const std::string id = enroll(h);
  Background run(run_args({"--no-refresh"}), base_env(tmp_.path()), tmp_.path() / "run.log");
  ASSERT_TRUE(eventually([&] { return metric(h, "patchflow_checkins_total") >= 3; }, 60s))
      << run.log();
  const std::string seen_before = h.api("GET", "/api/v1/hosts/" + id).doc["last_seen"];

  h.stop();
  ASSERT_TRUE(eventually(
      [&] {
        const std::string log = run.log();
        std::size_t n = 0;
        for (auto at = log.find("check-in failed"); at != std::string::npos;
             at = log.find("check-in failed", at + 1)) {
          ++n;
        }
        return n >= 2;
      },
      30s))
      << run.log();
  std::this_thread::sleep_for(1500ms);  // so that last_seen must move on
  const std::string down_log = run.log();
  EXPECT_NE(down_log.find("cannot reach the server"), std::string::npos) << down_log;
  EXPECT_NE(down_log.find("next attempt in"), std::string::npos) << down_log;
  EXPECT_NE(down_log.find("failure 2 in a row"), std::string::npos) << down_log;
  EXPECT_FALSE(run.wait_for(0ms)) << "still running: " << down_log;

  h.start();  // same state directory, same port
  ASSERT_TRUE(eventually([&] { return metric(h, "patchflow_checkins_total") >= 1; }, 60s))
      << run.log();
  ASSERT_TRUE(eventually(
      [&] {
        const auto doc = h.api("GET", "/api/v1/hosts/" + id).doc;
        return doc["last_seen"].is_string() && doc["last_seen"].get<std::string>() > seen_before;
      },
      20s))
      << run.log();
  EXPECT_NE(run.log().find("checked in again after"), std::string::npos) << run.log();

  // SIGTERM ends the loop at once, also in the middle of a sleep.
  const auto t0 = std::chrono::steady_clock::now();
  run.signal(SIGTERM);
  const auto code = run.wait_for(10s);
  ASSERT_TRUE(code) << run.log();
  EXPECT_EQ(*code, 0) << run.log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_NE(run.log().find("stopped"), std::string::npos);
}

TEST_F(AgentClient, CheckInGoesThroughTheHttpsProxyOfTheEnvironment) {
  Harness h(tmp_.path());
  enroll(h);
  ConnectProxy proxy;
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  auto r = agent(run_args({"--once", "--no-refresh"}), {"HTTPS_PROXY=" + proxy_url});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(proxy.tunnels(), 0);
  for (const auto& t : proxy.targets()) EXPECT_EQ(t, "127.0.0.1:" + std::to_string(h.port()));
  EXPECT_EQ(settled(h, R"(patchflow_api_requests_total{route="/agent/v1/checkin",code="200"})", 1),
            1);
  EXPECT_EQ(metric(h, "patchflow_inventories_total"), 1) << "the upload went through it too";

  // The lower-case spelling too, and NO_PROXY is honoured.
  const int before = proxy.tunnels();
  auto lower = agent(run_args({"--once", "--no-refresh"}), {"https_proxy=" + proxy_url});
  ASSERT_EQ(lower.exit_code, 0) << lower.err;
  EXPECT_GT(proxy.tunnels(), before);
  const int after = proxy.tunnels();
  auto bypass = agent(run_args({"--once", "--no-refresh"}),
                      {"HTTPS_PROXY=" + proxy_url, "NO_PROXY=127.0.0.1"});
  ASSERT_EQ(bypass.exit_code, 0) << bypass.err;
  EXPECT_EQ(proxy.tunnels(), after);
  // A proxy that is not there: the check-in fails (exit 3) rather than going around it.
  auto dead = agent(run_args({"--once", "--no-refresh"}),
                    {"HTTPS_PROXY=http://127.0.0.1:" + std::to_string(free_port())});
  EXPECT_EQ(dead.exit_code, 3) << dead.err;
  EXPECT_NE(dead.err.find("check-in failed"), std::string::npos) << dead.err;
}

TEST_F(AgentClient, RevokingTheHostStopsTheLoopWithExit3) {
  Harness h(tmp_.path(), [](pf::server::Config& c) {
    c.checkin_interval = std::chrono::seconds(1);
    c.checkin_jitter = 0;
  });
  const std::string id = enroll(h);
  Background run(run_args({"--no-refresh"}), base_env(tmp_.path()), tmp_.path() / "run.log");
  ASSERT_TRUE(eventually([&] { return metric(h, "patchflow_checkins_total") >= 2; }, 60s))
      << run.log();
  auto revoke = h.api("DELETE", "/api/v1/hosts/" + id);
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  const auto code = run.wait_for(30s);
  ASSERT_TRUE(code) << "still running after the revocation: " << run.log();
  EXPECT_EQ(*code, 3) << run.log();
  EXPECT_NE(run.log().find("revoked"), std::string::npos) << run.log();
  // One refused request, no retry storm.
  EXPECT_EQ(settled(h, R"(patchflow_api_requests_total{route="/agent/v1/checkin",code="403"})", 1),
            1);
  // And a later start stops at once with the same answer.
  auto again = agent(run_args({"--no-refresh"}));
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_NE(again.err.find("revoked"), std::string::npos) << again.err;
}

TEST_F(AgentClient, TheCertificateIsRenewedWhenAThirdOfItsValidityIsLeft) {
  Harness h(tmp_.path());  // agent certificates valid 90 days (the shortest: 1 day)
  const std::string id = enroll(h);
  const fs::path key = state_ / "agent.key", cert = state_ / "agent.crt";
  const std::string key0 = read_file(key), cert0 = read_file(cert);
  const auto info0 = must(pki::certificate_info(cert0));
  const auto at = [&](std::chrono::hours ahead) {
    const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + ahead);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };

  // 50 days on, 40 of 90 are left: no renewal.
  auto early = agent(run_args({"--once", "--no-refresh", "--now", at(50 * 24h)}));
  ASSERT_EQ(early.exit_code, 0) << early.err;
  EXPECT_EQ(read_file(cert), cert0);
  EXPECT_EQ(early.err.find("renewed"), std::string::npos) << early.err;

  // 61 days on, 29 are left: renewed before the check-in, with a new key.
  auto late = agent(run_args({"--once", "--no-refresh", "--now", at(61 * 24h)}));
  ASSERT_EQ(late.exit_code, 0) << late.err;
  EXPECT_NE(late.err.find("renewed the agent certificate"), std::string::npos) << late.err;
  const std::string cert1 = read_file(cert);
  EXPECT_NE(cert1, cert0);
  EXPECT_NE(read_file(key), key0);
  EXPECT_EQ(mode_of(key), 0600u);
  EXPECT_FALSE(fs::exists(state_ / "agent.key.next"));
  EXPECT_FALSE(fs::exists(state_ / "agent.crt.next"));
  const auto info1 = must(pki::certificate_info(cert1));
  EXPECT_EQ(info1.subject_cn, id);
  EXPECT_NE(info1.fingerprint, info0.fingerprint);
  EXPECT_EQ(h.api("GET", "/api/v1/hosts/" + id).doc["certificate"]["fingerprint"],
            info1.fingerprint);
  EXPECT_EQ(settled(h, R"(patchflow_api_requests_total{route="/agent/v1/renew",code="200"})", 1),
            1);
  EXPECT_EQ(settled(h, R"(patchflow_api_requests_total{route="/agent/v1/checkin",code="200"})", 2),
            2)
      << "the check-in after the renewal used the new certificate";

  // Today, with the new certificate: checks in, renews nothing.
  auto now = agent(run_args({"--once", "--no-refresh"}));
  ASSERT_EQ(now.exit_code, 0) << now.err;
  EXPECT_EQ(now.err.find("renewed"), std::string::npos) << now.err;
  EXPECT_EQ(read_file(cert), cert1);
  EXPECT_EQ(settled(h, R"(patchflow_api_requests_total{route="/agent/v1/checkin",code="200"})", 3),
            3);
}

}  // namespace
