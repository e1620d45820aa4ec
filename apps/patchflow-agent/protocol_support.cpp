// SPDX-License-Identifier: Apache-2.0
#include "protocol_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <iostream>

#include "agent_command.hpp"

namespace pf::agent_cli {
namespace {

std::atomic<bool> g_stop{false};
int g_wake[2] = {-1, -1};  // self-pipe: the handler writes, stop_aware_sleep polls

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
  if (g_wake[1] >= 0) {
    const int saved = errno;
    const char b = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_wake[1], &b, 1);
    errno = saved;
  }
}

}  // namespace

int exit_code_for(const agent_client::CallError& error) noexcept {
  using agent_client::Failure;
  switch (error.failure) {
    case Failure::unreachable:
    case Failure::timeout:
    case Failure::tls:
    case Failure::unauthenticated:
    case Failure::forbidden:
    case Failure::server_error:
    case Failure::too_large:
    case Failure::bad_response:
      return kExitPackageManager;  // 3: not reachable / not authorised
    case Failure::client_error:
      return kExitUsage;
    case Failure::interrupted:
      return kExitOk;
    case Failure::local:
      return error.error.code == Errc::io ? kExitInternal : kExitUsage;
  }
  return kExitInternal;
}

int fail(std::string_view what, const agent_client::CallError& error) {
  std::cerr << "patchflow-agent: " << what << ": " << agent_client::to_string(error) << "\n";
  return exit_code_for(error);
}

void log_line(std::string_view line) {
  std::string text = "patchflow-agent: ";
  text += line;
  text += '\n';
  std::cerr << text << std::flush;
}

void install_stop_handlers() {
  if (g_wake[0] < 0 && ::pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_wake[0] = g_wake[1] = -1;  // sleeps then only end early at the next poll timeout
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking call returns EINTR
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() noexcept {
  return g_stop.load();
}

bool stop_aware_sleep(std::chrono::milliseconds duration) {
  using clock = std::chrono::steady_clock;
  const auto until = clock::now() + duration;
  while (!g_stop.load()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    if (left.count() <= 0) return true;
    // Bounded slices: a signal that arrived before the pipe existed is still seen soon.
    const int slice = static_cast<int>(std::min<std::int64_t>(left.count(), 1000));
    if (g_wake[0] >= 0) {
      pollfd p{g_wake[0], POLLIN, 0};
      if (::poll(&p, 1, slice) > 0) {
        char buf[16];
        while (::read(g_wake[0], buf, sizeof buf) > 0) {
        }
      }
    } else {
      ::usleep(static_cast<useconds_t>(slice) * 1000);
    }
  }
  return false;
}

std::string format_wait(std::chrono::milliseconds wait) {
  const auto ms = wait.count();
  char buf[48];
  if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%lld min %lld s", static_cast<long long>(ms / 60'000),
                  static_cast<long long>((ms % 60'000) / 1000));
  }
  return buf;
}

}  // namespace pf::agent_cli
