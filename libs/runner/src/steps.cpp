// SPDX-License-Identifier: Apache-2.0
#include "steps.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "patchflow/agent/facts.hpp"
#include "patchflow/agent/health.hpp"
#include "patchflow/common/files.hpp"
#include "patchflow/common/process.hpp"

namespace pf::runner::detail {
namespace {

using namespace std::chrono;

CheckOutcome fail(std::string detail) { return {false, false, 1, std::move(detail)}; }
CheckOutcome pass(std::string detail) { return {true, false, 0, std::move(detail)}; }

// A root-relative path: `root` + `path`, with links followed inside the root.
Result<std::filesystem::path> in_root(const RunOptions& o, const std::string& path) {
  return files::resolve_in_root(o.root, path);
}

struct UserIds {
  long uid{-1};
  long gid{-1};
};

Result<UserIds> lookup_user(const std::string& user) {
  if (user.empty()) return UserIds{};
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  const int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return make_error(Errc::not_found, "no user \"" + user + "\" on this host", "user");
  }
  return UserIds{static_cast<long>(pw.pw_uid), static_cast<long>(pw.pw_gid)};
}

struct CommandRun {
  bool started{false};
  bool timed_out{false};
  int exit_code{-1};
  std::string output;
  std::string error;
};

CommandRun run_command(const jobs::Command& c, milliseconds timeout) {
  CommandRun out;
  auto ids = lookup_user(c.user);
  if (!ids) {
    out.error = to_string(ids.error());
    return out;
  }
  process::Spec spec;
  spec.argv = c.shell.empty() ? c.argv : std::vector<std::string>{"/bin/sh", "-c", c.shell};
  for (const auto& [k, v] : c.env) spec.env.push_back(k + "=" + v);
  spec.cwd = c.cwd.empty() ? "/" : c.cwd;
  spec.timeout = timeout;
  spec.max_capture = kOutputTail;
  spec.uid = ids->uid;
  spec.gid = ids->gid;
  auto r = process::run(spec);
  if (!r) {
    out.error = to_string(r.error());
    return out;
  }
  out.started = true;
  out.timed_out = r->timed_out;
  out.exit_code = r->exit_code;
  out.output = tail(r->out + r->err);
  if (r->term_signal != 0 && !r->timed_out) {
    out.output = tail(out.output + "\n(killed by signal " + std::to_string(r->term_signal) + ")");
  }
  return out;
}

bool exit_ok(const std::vector<int>& codes, int code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

CheckOutcome check_port(const std::string& host, int port, milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return fail("cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        rc = -1;
        errno = ETIMEDOUT;
      }
    }
    const int e = errno;
    ::close(fd);
    if (rc == 0) return pass(host + ":" + service + " accepts connections");
    last = std::strerror(e);
  }
  return fail(host + ":" + service + " is not open: " + last);
}

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

CheckOutcome check_http(const std::string& url, int expect, milliseconds timeout) {
  static const bool init = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)init;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return fail("cannot start an HTTP request");
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    CheckOutcome o = fail(url + ": " + curl_easy_strerror(rc));
    o.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    return o;
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  const bool ok = expect == 0 ? (status >= 200 && status < 400) : status == expect;
  CheckOutcome o{ok, false, static_cast<int>(status),
                 url + " answered " + std::to_string(status) +
                     (ok ? "" : expect == 0 ? " (expected 2xx/3xx)"
                                            : " (expected " + std::to_string(expect) + ")")};
  return o;
}

CheckOutcome check_power(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return pass("no power supply information: assumed on AC");
  bool any_mains = false, any_battery = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    auto type = files::read_at_most(entry.path() / "type", 64);
    if (!type) continue;
    const std::string t(type->substr(0, type->find('\n')));
    if (t == "Mains" || t == "USB") {
      auto online = files::read_at_most(entry.path() / "online", 16);
      if (online && !online->empty() && (*online)[0] == '1') {
        return pass(entry.path().filename().string() + " is online");
      }
      any_mains = true;
    } else if (t == "Battery") {
      any_battery = true;
    }
  }
  if (!any_mains && !any_battery) return pass("no power supply reported: assumed on AC");
  return fail("on battery power: no mains supply is online");
}

}  // namespace

std::string tail(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  return std::string(text.substr(text.size() - limit));
}

std::chrono::system_clock::time_point now(const RunOptions& options) {
  return options.now ? options.now() : std::chrono::system_clock::now();
}

void sleep_for(const RunOptions& options, milliseconds d) {
  if (d.count() <= 0) return;
  if (options.sleep) options.sleep(d);
  else std::this_thread::sleep_for(d);
}

std::string rfc3339_now(const RunOptions& options) {
  return jobs::format_time(floor<seconds>(now(options)));
}

CheckOutcome evaluate_check(const jobs::Check& check, seconds timeout, const RunOptions& o) {
  using jobs::CheckKind;
  switch (check.kind) {
    case CheckKind::disk_free: {
      auto p = in_root(o, check.path);
      if (!p) return fail(to_string(p.error()));
      struct statvfs st {};
      if (::statvfs(p->c_str(), &st) != 0) return fail(check.path + ": " + std::strerror(errno));
      const std::uint64_t free_mb =
          static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize / (1024 * 1024);
      const std::string seen = std::to_string(free_mb) + " MB free on " + check.path +
                               " (at least " + std::to_string(check.min_free_mb) + " MB wanted)";
      return free_mb >= check.min_free_mb ? pass(seen) : fail(seen);
    }
    case CheckKind::service_active: {
      auto r = process::run({.argv = {o.systemctl, "is-active", check.unit},
                             .timeout = duration_cast<milliseconds>(timeout),
                             .max_capture = 4096});
      if (!r) return fail(to_string(r.error()));
      const std::string state(r->out.substr(0, r->out.find('\n')));
      CheckOutcome out{r->ok(), r->timed_out, r->exit_code,
                       check.unit + " is " + (state.empty() ? tail(r->err, 512) : state)};
      return out;
    }
    case CheckKind::port_open:
      return check_port(check.host, check.port, std::min<milliseconds>(timeout, seconds(10)));
    case CheckKind::http_ok: return check_http(check.url, check.expect_status, timeout);
    case CheckKind::file_absent:
    case CheckKind::file_present: {
      auto p = in_root(o, check.path);
      bool present = false;
      if (p) {
        std::error_code ec;
        present = std::filesystem::exists(std::filesystem::symlink_status(*p, ec));
      } else if (p.error().code != Errc::not_found) {
        return fail(to_string(p.error()));
      }
      const std::string seen = check.path + (present ? " is present" : " is absent");
      return (check.kind == CheckKind::file_present) == present ? pass(seen) : fail(seen);
    }
    case CheckKind::process_absent: {
      auto names = agent::health::process_names(o.proc_dir);
      if (!names) return fail(to_string(names.error()));
      const bool running = std::binary_search(names->begin(), names->end(), check.name);
      return running ? fail("a process \"" + check.name + "\" is running")
                     : pass("no process \"" + check.name + "\"");
    }
    case CheckKind::uptime_min: {
      auto info = agent::read_boot_info(o.proc_dir, floor<seconds>(now(o)));
      if (!info) return fail(to_string(info.error()));
      const std::string seen = "up " + std::to_string(info->uptime.count()) + " s (at least " +
                               std::to_string(check.seconds) + " s wanted)";
      return info->uptime.count() >= check.seconds ? pass(seen) : fail(seen);
    }
    case CheckKind::on_ac_power: return check_power(o.power_supply_dir);
    case CheckKind::command: {
      auto r = run_command(check.command, duration_cast<milliseconds>(timeout));
      if (!r.started) return fail(r.error);
      CheckOutcome out{!r.timed_out && exit_ok(check.command.ok_exit_codes, r.exit_code),
                       r.timed_out, r.exit_code, r.output};
      return out;
    }
  }
  return fail("unknown check");
}

StepResult execute_step(const jobs::Step& step, std::string_view phase, int attempt,
                        const RunOptions& o) {
  StepResult res;
  res.step_id = step.id;
  res.phase = std::string(phase);
  res.attempt = attempt;
  res.started_at = rfc3339_now(o);
  const auto start = steady_clock::now();
  switch (step.type) {
    case jobs::StepType::command: {
      auto r = run_command(step.command, duration_cast<milliseconds>(step.timeout));
      if (!r.started) {
        res.status = StepStatus::failed;
        res.exit_code = -1;
        res.output_tail = r.error;
      } else {
        res.exit_code = r.exit_code;
        res.output_tail = r.output;
        res.status = r.timed_out ? StepStatus::timed_out
                     : exit_ok(step.command.ok_exit_codes, r.exit_code) ? StepStatus::passed
                                                                         : StepStatus::failed;
      }
      break;
    }
    case jobs::StepType::check: {
      auto c = evaluate_check(step.check, step.timeout, o);
      res.status = c.ok ? StepStatus::passed : c.timed_out ? StepStatus::timed_out : StepStatus::failed;
      res.exit_code = c.exit_code;
      res.output_tail = tail(c.detail);
      break;
    }
    case jobs::StepType::wait_for: {
      const auto deadline = start + step.timeout;
      int polls = 0;
      for (;;) {
        ++polls;
        const auto left = duration_cast<seconds>(deadline - steady_clock::now());
        auto c = evaluate_check(step.check, std::clamp(left, seconds(1), seconds(30)), o);
        res.exit_code = c.exit_code;
        res.output_tail = tail(c.detail + " (poll " + std::to_string(polls) + ")");
        if (c.ok) {
          res.status = StepStatus::passed;
          break;
        }
        if (steady_clock::now() + step.interval >= deadline) {
          res.status = StepStatus::timed_out;
          break;
        }
        sleep_for(o, duration_cast<milliseconds>(step.interval));
      }
      break;
    }
  }
  res.duration_ms = duration_cast<milliseconds>(steady_clock::now() - start).count();
  return res;
}

}  // namespace pf::runner::detail
