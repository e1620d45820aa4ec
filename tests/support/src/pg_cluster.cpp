// SPDX-License-Identifier: Apache-2.0
#include "patchflow/testing/pg_cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "patchflow/common/process.hpp"

namespace pf::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

fs::path bin_dir() {
  const char* env = std::getenv("PF_PG_BINDIR");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/usr/lib/postgresql/15/bin");
}

bool as_root() {
  return ::geteuid() == 0;
}

// initdb, pg_ctl and postgres refuse to run as root: run them as `postgres` then.
std::vector<std::string> server_tool(const std::string& tool) {
  std::vector<std::string> argv;
  if (as_root()) {
    const char* runuser = fs::exists("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "runuser";
    argv = {runuser, "-u", "postgres", "--"};
  }
  argv.push_back((bin_dir() / tool).string());
  return argv;
}

// A port nobody listens on right now: bind port 0 on 127.0.0.1 and ask which one it got.
Result<std::uint16_t> free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io, "socket() failed", "pg_cluster");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) return make_error(Errc::io, "cannot bind a port on 127.0.0.1", "pg_cluster");
  return ntohs(addr.sin_port);
}

std::string describe(const process::Outcome& o) {
  std::string s = o.timed_out        ? "timed out"
                  : o.exit_code >= 0 ? "exit " + std::to_string(o.exit_code)
                                     : "signal " + std::to_string(o.term_signal);
  std::string err = o.err.empty() ? o.out : o.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  if (!err.empty()) s += ": " + err;
  return s;
}

Result<process::Outcome> run_tool(std::vector<std::string> argv, const fs::path& cwd,
                                  std::chrono::milliseconds timeout) {
  process::Spec spec;
  spec.argv = std::move(argv);
  spec.cwd = cwd.string();
  spec.timeout = timeout;
  spec.env = {"LC_ALL=C.UTF-8", "PGCONNECT_TIMEOUT=10"};
  return process::run(spec);
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::start(const fs::path& dir) {
  const auto began = std::chrono::steady_clock::now();
  const fs::path d = fs::absolute(dir);
  const std::string where = "pg_cluster " + d.string();
  std::error_code ec;
  fs::create_directories(d, ec);
  if (ec || !fs::is_empty(d, ec)) {
    return make_error(Errc::io, "the cluster directory cannot be created or is not empty", where);
  }
  // From here on the directory is the cluster's: a failure stops and removes it.
  std::unique_ptr<PgCluster> cluster(new PgCluster());
  cluster->dir_ = d;
  cluster->owner_pid_ = ::getpid();
  if (as_root()) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return make_error(Errc::not_found,
                        "running as root, and there is no 'postgres' user to run the server as "
                        "(apt-get install postgresql creates it)",
                        where);
    }
    if (::chown(d.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return make_error(Errc::io, "cannot give the cluster directory to 'postgres'", where);
    }
  }
  const fs::path data = d / "data";
  const fs::path log = d / "server.log";

  auto initdb = server_tool("initdb");
  initdb.insert(initdb.end(), {"-D", data.string(), "-A", "trust", "-U", "postgres", "--no-sync",
                               "-E", "UTF8", "--locale=C.UTF-8", "--locale-provider=icu",
                               "--icu-locale=en-US", "--no-instructions"});
  auto init = run_tool(initdb, d, 120s);
  if (!init) return Unexpected(std::move(init.error()));
  if (!init->ok()) {
    return make_error(Errc::backend_failed, "initdb failed: " + describe(*init), where);
  }

  {
    std::ofstream conf(data / "postgresql.conf", std::ios::app);
    conf << "\n# pf::testing::PgCluster\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "unix_socket_directories = '" << d.string() << "'\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "shared_buffers = 16MB\nmax_connections = 60\n";
    std::ofstream hba(data / "pg_hba.conf", std::ios::trunc);
    hba << "local all all trust\n"
        << "host all +" << kPasswordRole << " 127.0.0.1/32 scram-sha-256\n"
        << "host all all 127.0.0.1/32 trust\n";
    if (!conf || !hba) return make_error(Errc::io, "cannot write the server configuration", where);
  }

  // The port is free when chosen, not necessarily when the server binds it: try again then.
  std::string failure;
  for (int attempt = 0; attempt < 3 && !cluster->running_; ++attempt) {
    auto port = free_port();
    if (!port) return Unexpected(std::move(port.error()));
    auto pg_ctl = server_tool("pg_ctl");
    pg_ctl.insert(pg_ctl.end(), {"-D", data.string(), "-l", log.string(), "-w", "-t", "60", "-o",
                                 "-p " + std::to_string(*port), "start"});
    auto started = run_tool(pg_ctl, d, 90s);
    if (!started) return Unexpected(std::move(started.error()));
    if (started->ok()) {
      cluster->port_ = *port;
      cluster->running_ = true;
      break;
    }
    failure = "pg_ctl start failed: " + describe(*started);
    if (cluster->log_tail().find("could not bind") == std::string::npos) break;
  }
  if (!cluster->running_) {
    return make_error(Errc::backend_failed,
                      failure + "\n--- server log ---\n" + cluster->log_tail(), where);
  }

  // pg_ctl -w has seen the server ready; wait until it also answers on TCP (bounded).
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto ready =
        run_tool({(bin_dir() / "pg_isready").string(), "-q", "-h", "127.0.0.1", "-p",
                  std::to_string(cluster->port_), "-U", "postgres", "-d", "postgres", "-t", "2"},
                 d, 10s);
    if (!ready) return Unexpected(std::move(ready.error()));
    if (ready->ok()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return make_error(
          Errc::timeout,
          "the server does not accept connections on 127.0.0.1:" + std::to_string(cluster->port_) +
              " after 30 s\n--- server log ---\n" + cluster->log_tail(),
          where);
    }
    std::this_thread::sleep_for(50ms);
  }
  auto role = cluster->psql("CREATE ROLE " + std::string(kPasswordRole) + " NOLOGIN");
  if (!role) return Unexpected(std::move(role.error()));
  cluster->startup_ = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
  return cluster;
}

Result<PgCluster*> PgCluster::shared() {
  static Result<std::unique_ptr<PgCluster>> cluster = []() -> Result<std::unique_ptr<PgCluster>> {
    std::string tmpl = (fs::temp_directory_path() / "pf-pg-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return make_error(Errc::io, "cannot create a temporary directory", tmpl);
    }
    auto started = start(tmpl);
    if (started) {
      std::fprintf(stderr, "[pg_cluster] PostgreSQL on 127.0.0.1:%u started in %lld ms (%s)\n",
                   static_cast<unsigned>((*started)->port()),
                   static_cast<long long>((*started)->startup_time().count()), tmpl.c_str());
    } else {
      std::error_code ec;
      fs::remove_all(tmpl, ec);
    }
    return started;
  }();
  if (!cluster) return Unexpected(cluster.error());
  return cluster->get();
}

PgCluster::~PgCluster() {
  if (::getpid() != owner_pid_) return;
  if (running_) {
    for (const char* mode : {"fast", "immediate"}) {
      auto stop = server_tool("pg_ctl");
      stop.insert(stop.end(),
                  {"-D", (dir_ / "data").string(), "-m", mode, "-w", "-t", "30", "stop"});
      auto r = run_tool(stop, dir_, 60s);
      if (r && r->ok()) break;
    }
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

Result<std::string> PgCluster::create_database() {
  static std::atomic<unsigned> counter{0};
  const std::string name =
      "pf_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  // FILE_COPY: with fsync off its checkpoint is cheap, and it copies less than WAL_LOG.
  auto r = psql("CREATE DATABASE " + name + " STRATEGY FILE_COPY");
  if (!r) return Unexpected(std::move(r.error()));
  return url(name);
}

std::string PgCluster::url(std::string_view database, std::string_view user,
                           std::string_view password) const {
  std::string u = "postgresql://" + percent_encode(user);
  if (!password.empty()) u += ":" + percent_encode(password);
  return u + "@127.0.0.1:" + std::to_string(port_) + "/" + percent_encode(database);
}

Result<std::string> PgCluster::psql(std::string_view sql, std::string_view database) const {
  auto r = run_tool({(bin_dir() / "psql").string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                     "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", "-d",
                     std::string(database), "-c", std::string(sql)},
                    dir_, 60s);
  if (!r) return Unexpected(std::move(r.error()));
  if (!r->ok()) {
    return make_error(Errc::backend_failed, "psql failed: " + describe(*r),
                      "psql " + std::string(database) + ": " + std::string(sql));
  }
  std::string out = std::move(r->out);
  if (out.ends_with('\n')) out.pop_back();
  return out;
}

std::string PgCluster::log_tail(std::size_t bytes) const {
  std::ifstream in(dir_ / "server.log", std::ios::binary);
  if (!in) return "(no server log)";
  std::stringstream all;
  all << in.rdbuf();
  std::string s = all.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace pf::testing

// libpqxx 6.4 (Debian 12) leaks the PGresult of the query during which a connection breaks
// (its make_result asks the dead connection for its encoding before taking ownership). Tests
// that cut connections on purpose would fail LeakSanitizer for it; every binary that starts a
// cluster links this. PGresults are only ever allocated by libpq for libpqxx here.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:PQmakeEmptyPGresult\n";
}
