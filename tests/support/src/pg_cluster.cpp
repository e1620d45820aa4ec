// SPDX-License-Identifier: Apache-2.0
#include "patchflow/testing/pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
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

// initdb's arguments after -D DIR: the template is made with exactly these. 1 MB WAL
// segments instead of 16 MB: the first one is most of what each cluster start copies.
const std::vector<std::string>& initdb_options() {
  static const std::vector<std::string> options = {"-A",
                                                   "trust",
                                                   "-U",
                                                   "postgres",
                                                   "--no-sync",
                                                   "-E",
                                                   "UTF8",
                                                   "--locale=C.UTF-8",
                                                   "--locale-provider=icu",
                                                   "--icu-locale=en-US",
                                                   "--wal-segsize=1",
                                                   "--no-instructions"};
  return options;
}

// Where cluster templates are kept: $PF_PG_TEMPLATE_DIR, else beside the test binary (in the
// build tree), else the temporary directory.
fs::path template_parent() {
  if (const char* env = std::getenv("PF_PG_TEMPLATE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.has_parent_path()) return exe.parent_path();
  return fs::temp_directory_path();
}

// An exclusive flock(2) on a file, released when this goes.
class FileLock {
 public:
  explicit FileLock(const fs::path& file)
      : fd_(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0) {
        if (errno != EINTR) {
          ::close(fd_);
          fd_ = -1;
          break;
        }
      }
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the lock
  }
  [[nodiscard]] bool held() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

Result<void> give_to_postgres(const fs::path& dir, const std::string& where) {
  if (!as_root()) return {};
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    return make_error(Errc::not_found,
                      "running as root, and there is no 'postgres' user to run the server as "
                      "(apt-get install postgresql creates it)",
                      where);
  }
  if (::chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return make_error(Errc::io, "cannot give " + dir.string() + " to 'postgres'", where);
  }
  return {};
}

// Where shared() puts its cluster: $PF_PG_CLUSTER_DIR, else /dev/shm when it can take one (a
// memory file system: the copy of the template takes a tenth of the time it takes on a disk,
// and the tests' data never needs to reach one), else the temporary directory.
fs::path cluster_parent() {
  if (const char* env = std::getenv("PF_PG_CLUSTER_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  struct statvfs st {};
  constexpr unsigned long long kNeeded = 1ULL << 30;
  if (::statvfs("/dev/shm", &st) == 0 && ::access("/dev/shm", W_OK | X_OK) == 0 &&
      static_cast<unsigned long long>(st.f_bavail) * st.f_frsize >= kNeeded) {
    return "/dev/shm";
  }
  return fs::temp_directory_path();
}

// cp -a: modes and (when we are root) the owner, 'postgres', are kept.
Result<void> copy_tree(const fs::path& from, const fs::path& to, const std::string& where) {
  auto copied = run_tool({"cp", "-a", from.string(), to.string()}, to.parent_path(), 120s);
  if (!copied) return Unexpected(std::move(copied.error()));
  if (!copied->ok()) {
    return make_error(
        Errc::io,
        "copying " + from.string() + " to " + to.string() + " failed: " + describe(*copied), where);
  }
  return {};
}

// initdb's output, made once per build tree, PostgreSQL installation and initdb options (they
// name it), and copied for every cluster: initdb is most of a cluster's start time. Made under
// a file lock, so that test processes running in parallel make it once. initdb runs in the
// temporary directory (which 'postgres' can reach, whatever the build tree's permissions);
// its output is copied beside the lock and renamed into place when complete, so that a
// template that exists is whole.
Result<fs::path> cluster_template(const std::string& where) {
  std::string key = bin_dir().string();
  for (const auto& o : initdb_options()) key += '\n' + o;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(key));
  const std::string name = std::string("pg-template-") + hex;
  fs::path parent = template_parent();
  auto lock = std::make_unique<FileLock>(parent / (name + ".lock"));
  if (!lock->held() && parent != fs::temp_directory_path()) {
    parent = fs::temp_directory_path();  // a build tree we cannot write to
    lock = std::make_unique<FileLock>(parent / (name + ".lock"));
  }
  if (!lock->held()) {
    return make_error(Errc::io, "cannot lock " + (parent / (name + ".lock")).string(), where);
  }
  const fs::path made = parent / name;
  std::error_code ec;
  if (fs::is_directory(made, ec)) return made;
  const std::string partial = name + ".partial";
  fs::remove_all(parent / partial, ec);  // left by a process that died copying it

  std::string staging = (fs::temp_directory_path() / "pf-pg-template-XXXXXX").string();
  if (::mkdtemp(staging.data()) == nullptr) {
    return make_error(Errc::io, "cannot create a temporary directory", where);
  }
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } cleanup{staging};
  if (auto given = give_to_postgres(staging, where); !given) return Unexpected(given.error());
  auto initdb = server_tool("initdb");
  initdb.insert(initdb.end(), {"-D", (fs::path(staging) / "data").string()});
  initdb.insert(initdb.end(), initdb_options().begin(), initdb_options().end());
  auto init = run_tool(initdb, staging, 120s);
  if (!init) return Unexpected(std::move(init.error()));
  if (!init->ok()) {
    return make_error(Errc::backend_failed, "initdb failed: " + describe(*init), where);
  }
  if (auto copied = copy_tree(fs::path(staging) / "data", parent / partial, where); !copied) {
    return Unexpected(copied.error());
  }
  fs::rename(parent / partial, made, ec);
  if (ec) {
    return make_error(
        Errc::io,
        "cannot rename the new cluster template to " + made.string() + ": " + ec.message(), where);
  }
  return made;
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
  if (auto given = give_to_postgres(d, where); !given) return Unexpected(given.error());
  const fs::path data = d / "data";
  const fs::path log = d / "server.log";

  auto made = cluster_template(where);
  if (!made) return Unexpected(std::move(made.error()));
  if (auto copied = copy_tree(*made, data, where); !copied) return Unexpected(copied.error());

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
    std::string tmpl = (cluster_parent() / "pf-pg-XXXXXX").string();
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

Result<std::string> PgCluster::database_for(const fs::path& dir) {
  const fs::path marker = dir / "postgres.url";
  std::string url;
  if (std::ifstream in(marker); in && std::getline(in, url) && !url.empty()) return url;
  auto cluster = shared();
  if (!cluster) return Unexpected(cluster.error());
  auto made = (*cluster)->create_database();
  if (!made) return Unexpected(std::move(made.error()));
  std::ofstream out(marker, std::ios::trunc);
  out << *made << '\n';
  if (!out.flush()) return make_error(Errc::io, "cannot write " + marker.string(), "pg_cluster");
  return *made;
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
