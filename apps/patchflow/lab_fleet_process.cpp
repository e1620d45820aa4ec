// SPDX-License-Identifier: Apache-2.0
// The lab's background processes: started detached (own session, own log), recognised later by
// their exact command line in /proc, stopped with SIGTERM and then SIGKILL.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include "lab_fleet_internal.hpp"

extern char** environ;

namespace pf::cli::labfleet {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The environment for the lab's processes: ours without PATCHFLOW_* (a PATCHFLOW_LISTEN or
// PATCHFLOW_DATABASE of the caller's shell must not redirect the lab's server).
std::vector<std::string> lab_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.starts_with("PATCHFLOW_")) continue;
    env.emplace_back(v);
  }
  return env;
}

std::vector<char*> c_array(std::vector<std::string>& items) {
  std::vector<char*> out;
  for (auto& s : items) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// /proc/PID/stat's state letter; 0 when the process does not exist.
char proc_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return 0;
  // "pid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return 0;
  return text[close + 2];
}

std::vector<std::string> proc_cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nul = text.find('\0', start);
    out.push_back(text.substr(start, nul == std::string::npos ? std::string::npos : nul - start));
    if (nul == std::string::npos) break;
    start = nul + 1;
  }
  return out;
}

}  // namespace

Result<pid_t> spawn_detached(const std::vector<std::string>& argv, const fs::path& log) {
  if (argv.empty() || argv[0].empty() || argv[0].front() != '/') {
    return make_error(Errc::invalid_input, "the program must be an absolute path", "spawn");
  }
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return make_error(Errc::io, std::string("cannot open the log: ") + std::strerror(errno),
                      log.string());
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2];
  if (null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return make_error(Errc::io, std::string("cannot prepare the process: ") + std::strerror(err),
                      argv[0]);
  }
  // Everything the child needs is allocated before fork(): after it only async-signal-safe
  // calls are made.
  std::vector<std::string> args = argv;
  std::vector<std::string> env = lab_environment();
  std::vector<char*> c_args = c_array(args);
  std::vector<char*> c_env = c_array(env);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // No other descriptor of ours (sockets, a caller's capture pipes) may live on in a process
    // that outlives us: a pipe held open would keep our caller waiting for its end.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::execve(c_args[0], c_args.data(), c_env.data());
    const int err = errno;
    [[maybe_unused]] auto n = ::write(report[1], &err, sizeof err);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(report[1]);
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) {
    ::close(report[0]);
    return make_error(Errc::io, std::string("fork failed: ") + std::strerror(fork_errno), argv[0]);
  }
  int err = 0;
  ssize_t n = 0;
  do {
    n = ::read(report[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof err)) {
    ::waitpid(pid, nullptr, 0);
    return make_error(Errc::io, std::string("cannot run it: ") + std::strerror(err), argv[0]);
  }
  return pid;
}

bool is_ours(pid_t pid, const std::vector<std::string>& argv) {
  if (pid <= 0) return false;
  const char state = proc_state(pid);
  if (state == 0 || state == 'Z' || state == 'X') return false;
  return proc_cmdline(pid) == argv;
}

bool reap_if_exited(pid_t pid) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return true;
  // ECHILD: not our child (started by an earlier `lab up`): ask /proc instead.
  if (r < 0 && errno == ECHILD) {
    const char state = proc_state(pid);
    return state == 0 || state == 'Z' || state == 'X';
  }
  return false;
}

std::string stop_process(pid_t pid, const std::vector<std::string>& argv,
                         std::chrono::milliseconds grace) {
  if (!is_ours(pid, argv)) {
    reap_if_exited(pid);
    return "not running";
  }
  ::kill(pid, SIGTERM);
  const auto wait_gone = [&](std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      reap_if_exited(pid);
      if (!is_ours(pid, argv)) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  if (wait_gone(grace)) return "stopped";
  // Its whole group (it leads its own session): a package manager it started goes too.
  if (::getpgid(pid) == pid) {
    ::kill(-pid, SIGKILL);
  } else {
    ::kill(pid, SIGKILL);
  }
  wait_gone(3s);
  return "killed";
}

Result<void> check_port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io, std::string("socket: ") + std::strerror(errno), "--port");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return make_error(err == EADDRINUSE ? Errc::conflict : Errc::io,
                      "port " + std::to_string(port) +
                          " on 127.0.0.1 cannot be used: " + std::strerror(err) +
                          (err == EADDRINUSE ? " (another process listens on it; choose another "
                                               "--port or leave it out for a free one)"
                                             : ""),
                      "--port");
  }
  return {};
}

Result<int> pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io, std::string("socket: ") + std::strerror(errno), "port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(Errc::io, std::string("no free loopback port: ") + std::strerror(err),
                      "port");
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

std::string tail_of(const fs::path& file, std::size_t max_lines) {
  std::ifstream in(file);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line.size() > 400 ? line.substr(0, 400) + "..." : line);
    if (lines.size() > max_lines) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "    " + l + "\n";
  return out;
}

}  // namespace pf::cli::labfleet
