// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for parse_dpkg_records, the text reader behind read_dpkg_database (the
// status file and each journal file of updates/). Besides "no crash, no sanitizer report": an
// error is invalid_input with a message and names the input and a line inside it; a success
// returns one record per paragraph with a valid package name and known Status words, a valid
// version and architecture wherever one is given (both required for state "installed"), each
// (name, arch) once; where parse_dpkg_status accepts the same text too, it returns exactly the
// installed records.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/core/versions.hpp"
#include "patchflow/pkg/dpkg_status.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool valid_name(std::string_view s) {
  if (s.empty() || !alnum(s.front())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '+' && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

bool valid_arch(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

template <std::size_t N>
bool one_of(std::string_view word, const std::array<std::string_view, N>& words) {
  for (auto w : words) {
    if (w == word) return true;
  }
  return false;
}

constexpr std::array<std::string_view, 5> kWants{"unknown", "install", "hold", "deinstall",
                                                 "purge"};
constexpr std::array<std::string_view, 4> kFlags{"ok", "reinstreq", "hold", "hold-reinstreq"};
constexpr std::array<std::string_view, 8> kStates{
    "not-installed",   "config-files",     "half-installed",   "unpacked",
    "half-configured", "triggers-awaited", "triggers-pending", "installed"};

void check_error(const pf::Error& e, std::string_view input) {
  require(e.code == pf::Errc::invalid_input);
  require(!e.message.empty());
  require(e.where.starts_with("fuzz:"));
  const std::string digits = e.where.substr(5);
  require(!digits.empty() && digits.size() < 10);
  for (char c : digits) require(c >= '0' && c <= '9');
  const unsigned long line = std::strtoul(digits.c_str(), nullptr, 10);
  std::size_t lines = 1;
  for (char c : input) lines += c == '\n' ? 1 : 0;
  require(line >= 1 && line <= lines);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Small limits so that the size checks are reached too.
  const pf::pkg::DpkgLimits limits{.max_file_size = 3000, .max_field_size = 200};
  auto records = pf::pkg::parse_dpkg_records(input, "fuzz", limits);
  auto installed = pf::pkg::parse_dpkg_status(input, "fuzz", limits);
  if (!installed) check_error(installed.error(), input);
  if (!records) {
    check_error(records.error(), input);
    return 0;
  }
  require(input.empty() || input.back() == '\n');
  std::set<std::string> seen;
  std::vector<const pf::pkg::DpkgRecord*> installed_records;
  for (const auto& r : *records) {
    require(valid_name(r.name));
    require(one_of(r.want, kWants) && one_of(r.flag, kFlags) && one_of(r.state, kStates));
    if (r.state == "installed") {
      require(!r.version.empty() && !r.arch.empty());
      installed_records.push_back(&r);
    }
    if (!r.version.empty()) require(pf::versions::parse_deb(r.version).has_value());
    if (!r.arch.empty()) require(valid_arch(r.arch));
    require(seen.insert(r.name + ':' + r.arch).second);
  }
  if (installed) {
    require(installed->size() == installed_records.size());
    for (std::size_t i = 0; i < installed->size(); ++i) {
      const auto& p = (*installed)[i];
      const auto& r = *installed_records[i];
      require(p.name == r.name && p.arch == r.arch && p.version == r.version);
    }
  }
  return 0;
}
