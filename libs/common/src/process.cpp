// SPDX-License-Identifier: Apache-2.0
#include "patchflow/common/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

extern char** environ;

namespace pf::process {
namespace {

struct Fd {
  int fd{-1};
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end.fd = fds[0];
  write_end.fd = fds[1];
  return true;
}

// Keeps the last `limit` bytes of a stream.
void append_tail(std::string& buf, bool& truncated, std::string_view chunk, std::size_t limit) {
  buf.append(chunk);
  if (buf.size() > limit) {
    buf.erase(0, buf.size() - limit);
    truncated = true;
  }
}

// A child that closes its stdin early must not kill us with SIGPIPE: block it for this thread
// around the write and swallow the pending signal, leaving the process's disposition alone.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t len) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t w = ::write(fd, data, len);
  if (w < 0 && errno == EPIPE) {
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
    errno = EPIPE;
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return w;
}

std::vector<std::string> build_env(const Spec& spec) {
  std::vector<std::string> env;
  if (!spec.clear_env) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  }
  for (const auto& kv : spec.env) {
    auto eq = kv.find('=');
    std::string_view name(kv.data(), eq == std::string::npos ? kv.size() : eq + 1);
    std::erase_if(env, [&](const std::string& cur) { return cur.starts_with(name); });
    env.push_back(kv);
  }
  return env;
}

}  // namespace

Result<Outcome> run(const Spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return make_error(Errc::invalid_input, "no program to run", "process");
  }
  std::vector<std::string> env_strings = build_env(spec);
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  Fd in_r, in_w, out_r, out_w, err_r, err_w, exec_r, exec_w;
  if (!make_pipe(in_r, in_w) || !make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) ||
      !make_pipe(exec_r, exec_w)) {
    return make_error(Errc::io, std::string("pipe: ") + std::strerror(errno), spec.argv[0]);
  }

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) {
    return make_error(Errc::io, std::string("fork: ") + std::strerror(errno), spec.argv[0]);
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    ::setpgid(0, 0);
    ::dup2(in_r.fd, 0);
    ::dup2(out_w.fd, 1);
    ::dup2(err_w.fd, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (spec.gid >= 0) {
      const gid_t gid = static_cast<gid_t>(spec.gid);
      if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0) {
        int e = errno;
        (void)!::write(exec_w.fd, &e, sizeof e);
        ::_exit(127);
      }
    }
    if (spec.uid >= 0 && ::setuid(static_cast<uid_t>(spec.uid)) != 0) {
      int e = errno;
      (void)!::write(exec_w.fd, &e, sizeof e);
      ::_exit(127);
    }
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(exec_w.fd, &e, sizeof e);
      ::_exit(127);
    }
    ::execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!::write(exec_w.fd, &e, sizeof e);
    ::_exit(127);
  }

  in_r.reset();
  out_w.reset();
  err_w.reset();
  exec_w.reset();

  int exec_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(exec_r.fd, &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    Errc code = exec_errno == ENOENT ? Errc::not_found : Errc::io;
    return make_error(code, std::string("cannot run: ") + std::strerror(exec_errno),
                      spec.argv[0]);
  }

  Outcome result;
  std::size_t stdin_off = 0;
  if (spec.stdin_data.empty()) in_w.reset();
  const int in_fd_flags = in_w.fd >= 0 ? ::fcntl(in_w.fd, F_GETFL) : 0;
  if (in_w.fd >= 0) ::fcntl(in_w.fd, F_SETFL, in_fd_flags | O_NONBLOCK);

  bool term_sent = false;
  std::chrono::steady_clock::time_point kill_at{};
  char buf[65536];
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    pollfd fds[3];
    nfds_t nfds = 0;
    if (out_r.fd >= 0) fds[nfds++] = {out_r.fd, POLLIN, 0};
    if (err_r.fd >= 0) fds[nfds++] = {err_r.fd, POLLIN, 0};
    if (in_w.fd >= 0) fds[nfds++] = {in_w.fd, POLLOUT, 0};
    int wait_ms = -1;
    auto now = std::chrono::steady_clock::now();
    if (spec.timeout.count() > 0) {
      auto deadline = term_sent ? kill_at : start + spec.timeout;
      if (now >= deadline) {
        if (!term_sent) {
          ::kill(-pid, SIGTERM);
          term_sent = true;
          result.timed_out = true;
          kill_at = now + std::chrono::seconds(2);
          continue;
        }
        ::kill(-pid, SIGKILL);
        // Descendants that escaped the group may still hold the pipes: stop reading.
        break;
      }
      wait_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1);
    }
    int rc = ::poll(fds, nfds, wait_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t i = 0; i < nfds; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_w.fd) {
        ssize_t w = write_no_sigpipe(in_w.fd, spec.stdin_data.data() + stdin_off,
                                     spec.stdin_data.size() - stdin_off);
        if (w > 0) stdin_off += static_cast<std::size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) stdin_off = spec.stdin_data.size();
        if (stdin_off >= spec.stdin_data.size()) in_w.reset();
        continue;
      }
      const bool is_out = fds[i].fd == out_r.fd;
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        if (is_out) {
          append_tail(result.out, result.out_truncated,
                      std::string_view(buf, static_cast<std::size_t>(r)), spec.max_capture);
        } else {
          append_tail(result.err, result.err_truncated,
                      std::string_view(buf, static_cast<std::size_t>(r)), spec.max_capture);
        }
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        (is_out ? out_r : err_r).reset();
      }
    }
  }
  in_w.reset();

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return result;
}

}  // namespace pf::process
