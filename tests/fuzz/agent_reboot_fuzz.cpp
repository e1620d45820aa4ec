// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the reboot check's parsers: the reboot-required flag file, its .pkgs
// list and `rpm -qa` output with install times (0x1f-separated), all fed the same input, then
// evaluate_rpm_reboot on what parsed. Besides "no crash, no sanitizer report, no leak": an
// error has a message and names the input and a line inside it (invalid_input for the flag
// files, backend_failed for rpm output); reasons are non-empty, trimmed lines without control
// bytes, each once, at most 64 of 1 KiB; package names are unique, without white space or
// control bytes, at most 256 bytes; rpm packages have all six fields as single words, a numeric
// epoch or none, one per line; the evaluation is "required" exactly when it gives reasons, names
// only installed packages, each once, and finds nothing to do for a host running its only
// kernel with nothing installed since boot.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/agent/reboot.hpp"

namespace {

namespace agent = pf::agent;
using namespace std::chrono_literals;

void require(bool ok) {
  if (!ok) std::abort();
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

// Non-empty, no byte <= 0x20, no DEL.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Letters, digits, '.', '_' and '~' only: what survives uname -r parsing unchanged.
bool is_plain(std::string_view s, bool dots = true) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '~' || (dots && c == '.');
    if (!ok) return false;
  }
  return true;
}

std::size_t line_count(std::string_view input) {
  return 1 + static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n'));
}

void check_error(const pf::Error& e, pf::Errc code, std::string_view input) {
  require(e.code == code);
  require(!e.message.empty());
  require(e.where.starts_with("fuzz:"));
  const std::string digits = e.where.substr(5);
  require(is_digits(digits) && digits.size() < 10);
  const unsigned long n = std::strtoul(digits.c_str(), nullptr, 10);
  require(n >= 1 && n <= line_count(input));
}

void check_state(const agent::RebootState& s, const std::vector<agent::InstalledRpm>& installed) {
  require(s.required == !s.reasons.empty());
  if (!s.packages.empty()) require(s.required);
  std::set<std::string> names;
  for (const auto& p : installed) names.insert(p.name);
  std::set<std::string> seen;
  for (const auto& p : s.packages) {
    require(names.contains(p));
    require(seen.insert(p).second);
  }
  for (const auto& r : s.reasons) require(!r.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto reasons = agent::parse_reboot_required(input, "fuzz"); reasons) {
    require(reasons->size() <= 64);
    std::set<std::string> seen;
    for (const auto& r : *reasons) {
      require(!r.empty() && r.size() <= 1024);
      require(r.front() != ' ' && r.front() != '\t' && r.back() != ' ' && r.back() != '\t');
      for (char c : r) require(!is_control(c));
      require(seen.insert(r).second);
    }
  } else {
    check_error(reasons.error(), pf::Errc::invalid_input, input);
  }

  if (auto pkgs = agent::parse_reboot_required_pkgs(input, "fuzz"); pkgs) {
    std::set<std::string> seen;
    for (const auto& p : *pkgs) {
      require(is_token(p) && p.size() <= 256);
      require(seen.insert(p).second);
    }
  } else {
    check_error(pkgs.error(), pf::Errc::invalid_input, input);
  }

  auto installed = agent::parse_rpm_install_times(input, "fuzz");
  if (!installed) {
    check_error(installed.error(), pf::Errc::backend_failed, input);
    return 0;
  }
  require(input.empty() || input.back() == '\n');
  require(installed->size() == line_count(input) - 1);
  std::chrono::sys_seconds latest{};
  for (const auto& p : *installed) {
    require(is_token(p.name) && is_token(p.version) && is_token(p.release) && is_token(p.arch));
    require(p.epoch.empty() || is_digits(p.epoch));
    require(p.install_time.time_since_epoch() >= 0s);
    latest = std::max(latest, p.install_time);
  }

  const agent::RebootOptions options;
  // An arbitrary running kernel, booted before anything was installed.
  const auto early = agent::evaluate_rpm_reboot(*installed, "5.14.0-362.8.1.el9_3.x86_64",
                                                std::chrono::sys_seconds{}, options);
  check_state(early, *installed);

  // Booted after the last install, running the only kernel package installed: nothing to do.
  const agent::InstalledRpm* kernel = nullptr;
  std::size_t kernels = 0;
  for (const auto& p : *installed) {
    if (std::find(options.kernel_packages.begin(), options.kernel_packages.end(), p.name) !=
        options.kernel_packages.end()) {
      kernel = &p;
      ++kernels;
    }
  }
  std::string running = "6.1.0-13-amd64";
  if (kernels == 1) running = kernel->version + "-" + kernel->release + "." + kernel->arch;
  const auto late = agent::evaluate_rpm_reboot(*installed, running, latest, options);
  check_state(late, *installed);
  if (kernels == 0 || (kernels == 1 && kernel->epoch.empty() && is_plain(kernel->version) &&
                       is_plain(kernel->release) && is_plain(kernel->arch, false))) {
    require(!late.required);
  }
  return 0;
}
