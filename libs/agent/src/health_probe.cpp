// SPDX-License-Identifier: Apache-2.0
#include "health_probe.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>

#include "patchflow/common/process.hpp"

namespace pf::agent::health::detail {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

std::string codes_text(const std::vector<int>& codes) {
  std::string s;
  for (int c : codes) {
    if (!s.empty()) s += ", ";
    s += std::to_string(c);
  }
  return s;
}

// Output of a command probe for the detail: the tail of stderr, else of stdout.
std::string output_tail(const process::Outcome& o) {
  std::string_view text = o.err.find_first_not_of(" \t\r\n") != std::string::npos ? o.err : o.out;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  constexpr std::size_t kTail = 1024;
  if (text.size() > kTail) text = text.substr(text.size() - kTail);
  return std::string(text);
}

ProbeResult run_command(const Probe& probe) {
  ProbeResult r;
  r.name = probe.name;
  process::Spec spec;
  spec.argv = probe.argv;
  spec.timeout = probe.timeout;
  spec.max_capture = 4096;
  const auto start = Clock::now();
  auto run = process::run(spec);
  r.latency = since(start);
  const std::string what = join_argv(probe.argv);
  if (!run) {
    r.code = -1;
    r.detail = "cannot run '" + what + "': " + run.error().message;
  } else if (run->timed_out) {
    r.code = -1;
    r.detail = "'" + what + "' did not finish within " + std::to_string(probe.timeout.count()) +
               " ms";
  } else if (run->exit_code < 0) {
    r.code = -1;
    r.detail = "'" + what + "' was killed by signal " + std::to_string(run->term_signal);
  } else {
    r.code = run->exit_code;
    r.ok = std::find(probe.ok_exit_codes.begin(), probe.ok_exit_codes.end(), run->exit_code) !=
           probe.ok_exit_codes.end();
    r.detail = "exit status " + std::to_string(run->exit_code) +
               (r.ok ? "" : " (ok: " + codes_text(probe.ok_exit_codes) + ")");
  }
  if (run && !r.ok) {
    const std::string tail = output_tail(*run);
    if (!tail.empty()) r.detail += "; output: " + tail;
  }
  r.detail = bounded_text(r.detail, kMaxDetail);
  return r;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// The start of the body is kept for the detail of a failed probe; the rest is read and dropped
// (the latency includes the whole answer).
struct Body {
  std::string head;
};

constexpr std::size_t kBodyHead = 512;

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t n = size * count;
  if (body->head.size() < kBodyHead) {
    body->head.append(data, std::min(n, kBodyHead - body->head.size()));
  }
  return n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

ProbeResult run_http(const Probe& probe) {
  ProbeResult r;
  r.name = probe.name;
  r.code = 0;
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    r.detail = "cannot initialise libcurl";
    return r;
  }
  CURL* c = curl.get();
  Body body;
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, probe.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  // A probe checks the service itself: a 3xx is an answer, and a proxy would be measured
  // instead of the service.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(probe.timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "patchflow-agent-health");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  const auto start = Clock::now();
  const CURLcode rc = curl_easy_perform(c);
  r.latency = since(start);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) {
    const std::string why = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    r.code = static_cast<int>(status);
    r.detail = (rc == CURLE_OPERATION_TIMEDOUT ? "timed out: " : "request failed: ") + why;
    r.detail = bounded_text(r.detail, kMaxDetail);
    return r;
  }
  r.code = static_cast<int>(status);
  r.ok = probe.expect_status != 0 ? r.code == probe.expect_status : (r.code >= 200 && r.code < 400);
  r.detail = "HTTP " + std::to_string(r.code);
  if (!r.ok) {
    r.detail += probe.expect_status != 0
                    ? " (expected " + std::to_string(probe.expect_status) + ")"
                    : " (expected 2xx or 3xx)";
    if (!body.head.empty()) r.detail += "; body: " + body.head;
  }
  r.detail = bounded_text(r.detail, kMaxDetail);
  return r;
}

}  // namespace

std::string bounded_text(std::string_view s, std::size_t n) {
  if (s.size() > n) {
    std::size_t cut = n;
    // Do not end inside a UTF-8 sequence: step back over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut);
  }
  std::string out(s);
  for (auto& ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if ((u < 0x20 && ch != '\t' && ch != '\n') || u == 0x7f) ch = '?';
  }
  return out;
}

Result<void> validate(const Probe& probe) {
  const std::string where = "probe '" + bounded_text(probe.name, 200) + "'";
  if (probe.name.empty()) return make_error(Errc::invalid_input, "a probe has no name", "probe");
  if (probe.name.size() > 200) {
    return make_error(Errc::invalid_input, "the name is longer than 200 bytes", where);
  }
  if (probe.timeout.count() <= 0) {
    return make_error(Errc::invalid_input, "the timeout must be positive", where);
  }
  switch (probe.kind) {
    case Probe::Kind::command:
      if (probe.argv.empty() || probe.argv.front().empty()) {
        return make_error(Errc::invalid_input, "a command probe needs argv", where);
      }
      if (probe.ok_exit_codes.empty()) {
        return make_error(Errc::invalid_input, "a command probe needs ok_exit_codes", where);
      }
      return {};
    case Probe::Kind::http:
      if (!(probe.url.starts_with("http://") || probe.url.starts_with("https://"))) {
        return make_error(Errc::invalid_input, "an http probe needs an http:// or https:// url",
                          where);
      }
      if (probe.url.find_first_of(std::string_view("\0\r\n ", 4)) != std::string::npos) {
        return make_error(Errc::invalid_input, "the url contains a blank or a control byte",
                          where);
      }
      if (probe.expect_status != 0 && (probe.expect_status < 100 || probe.expect_status > 599)) {
        return make_error(Errc::invalid_input, "expect_status must be 0 or 100..599", where);
      }
      return {};
  }
  return make_error(Errc::invalid_input, "unknown probe kind", where);
}

ProbeResult run_probe(const Probe& probe) {
  return probe.kind == Probe::Kind::http ? run_http(probe) : run_command(probe);
}

}  // namespace pf::agent::health::detail
