// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the readers of apt-get/dpkg output (parse_apt_output,
// parse_update_failures, parse_sim_line, parse_release_info), all fed the same input. Besides
// "no crash, no sanitizer report, no leak": every package name kept is a single token (no
// blanks or control bytes, at most 256 bytes); the actions are the Inst/Remv/Purg lines (never
// a Conf), an install has a candidate version; there are no more errors than "E: " lines; a lock
// error is one of the errors; each failed repository is named, and only once; parse_sim_line
// accepts only lines of its four kinds; parse_release_info returns at most one entry per part.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/pkg_apt/apt_output.hpp"

namespace {

namespace apt = pf::pkg::apt;

void require(bool ok) {
  if (!ok) std::abort();
}

// What apt_output.hpp promises of a package name it keeps.
bool plausible_name(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

void check_listed(const std::vector<apt::Listed>& listed) {
  for (const auto& l : listed) require(plausible_name(l.name));
}

void check_sim(const apt::SimAction& a) {
  require(plausible_name(a.name));
  if (a.kind != apt::SimAction::Kind::remove) require(!a.to.empty());
  if (!a.from.empty()) require(plausible_name(a.from));
  if (!a.to.empty()) require(plausible_name(a.to));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto lines = lines_of(input);

  // Line by line: a parsed line starts (after blanks) with one of the four keywords.
  std::size_t sim_lines = 0;  // Inst/Remv/Purg lines parse_sim_line accepts
  std::size_t error_lines = 0;
  for (auto line : lines) {
    std::string_view t = line;
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    if (t.find("E: ") != std::string_view::npos) ++error_lines;
    auto a = apt::parse_sim_line(line);
    if (!a) continue;
    require(t.starts_with("Inst ") || t.starts_with("Remv ") || t.starts_with("Purg ") ||
            t.starts_with("Conf "));
    require((a->kind == apt::SimAction::Kind::configure) == t.starts_with("Conf "));
    check_sim(*a);
    if (a->kind != apt::SimAction::Kind::configure) ++sim_lines;
  }

  const auto out = apt::parse_apt_output(input);
  for (const auto& a : out.actions) {
    require(a.kind != apt::SimAction::Kind::configure);
    check_sim(a);
  }
  // Every action comes from a line parse_sim_line accepts (indented list lines are not actions,
  // so there may be fewer).
  require(out.actions.size() <= sim_lines);
  check_listed(out.kept_back);
  check_listed(out.held_changed);
  check_listed(out.deferred);
  check_listed(out.to_remove);
  for (const auto& n : out.up_to_date) require(plausible_name(n));
  for (const auto& n : out.not_installed) require(plausible_name(n));
  for (const auto& [name, hint] : out.problems) {
    require(plausible_name(name));
    require(hint.reason != pf::pkg::Reason::none);
  }
  if (out.general) require(out.general->reason != pf::pkg::Reason::none);
  require(out.errors.size() <= error_lines);
  if (!out.lock_error.empty()) require(!out.errors.empty());

  const auto failures = apt::parse_update_failures(input);
  std::set<std::string> repositories;
  for (const auto& f : failures) {
    require(!f.repository.empty());
    require(repositories.insert(f.repository).second);
  }

  // The whole input as one release string: at most one entry per ", "-separated part.
  const auto releases = apt::parse_release_info(input);
  std::size_t parts = 1;
  for (auto at = input.find(", "); at != std::string_view::npos; at = input.find(", ", at + 2))
    ++parts;
  require(releases.size() <= parts);
  for (const auto& r : releases) (void)apt::is_security_release(r);
  return 0;
}
