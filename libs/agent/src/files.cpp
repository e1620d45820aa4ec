// SPDX-License-Identifier: Apache-2.0
#include "files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <system_error>
#include <vector>

namespace pf::agent::detail {

namespace fs = std::filesystem;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::size_t find_control(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return i;
  }
  return std::string_view::npos;
}

std::string tail_of(std::string_view s, std::size_t n) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  if (s.size() > n) s = s.substr(s.size() - n);
  return std::string(s);
}

std::string rfc3339(std::chrono::sys_seconds t) {
  const std::time_t tt = static_cast<std::time_t>(t.time_since_epoch().count());
  std::tm tm{};
  if (::gmtime_r(&tt, &tm) == nullptr) return std::to_string(tt);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

Result<process::Outcome> run_tool(process::Spec spec, const std::string& what) {
  spec.env.push_back("LC_ALL=C");
  const std::size_t limit = spec.max_capture;
  const auto timeout = spec.timeout;
  auto run = process::run(spec);
  if (!run) {
    return make_error(Errc::backend_failed, "cannot run '" + what + "': " + run.error().message,
                      what);
  }
  if (run->timed_out) {
    return make_error(Errc::timeout,
                      what + " did not finish within " + std::to_string(timeout.count()) +
                          " ms; stderr: " + tail_of(run->err, 512),
                      what);
  }
  if (run->exit_code != 0) {
    const std::string how = run->exit_code >= 0
                                ? "exited with status " + std::to_string(run->exit_code)
                                : "was killed by signal " + std::to_string(run->term_signal);
    return make_error(Errc::backend_failed,
                      what + " " + how + "; stderr: " + tail_of(run->err, 512), what);
  }
  if (run->out_truncated) {
    return make_error(Errc::backend_failed,
                      what + " printed more than the limit of " + std::to_string(limit) + " bytes",
                      what);
  }
  return std::move(*run);
}

}  // namespace pf::agent::detail
