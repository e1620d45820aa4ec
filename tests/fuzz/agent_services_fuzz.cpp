// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for parse_systemctl_units (systemctl list-units --plain --no-legend), with
// the default limits and with small ones so that the bounds are reached. Besides "no crash, no
// sanitizer report, no leak": an error is invalid_input with a message and names the input and
// a line inside it; a success has at most limits.max_units units, one per non-blank line, each
// with UNIT, LOAD, ACTIVE and SUB as single words (no blanks, no control bytes, the leading
// bullet skipped) and a trimmed description without control bytes; the small limits accept only
// what the default ones accept, with the same units.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/agent/services.hpp"

namespace {

namespace agent = pf::agent;

void require(bool ok) {
  if (!ok) std::abort();
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

bool is_word(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (is_blank(c) || is_control(c)) return false;
  }
  return true;
}

// Lines that are not only blanks (and a trailing '\r').
std::size_t non_blank_lines(std::string_view text) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view l = text.substr(pos, nl - pos);
    pos = nl + 1;
    while (!l.empty() && (is_blank(l.back()) || l.back() == '\r')) l.remove_suffix(1);
    while (!l.empty() && is_blank(l.front())) l.remove_prefix(1);
    if (!l.empty()) ++n;
  }
  return n;
}

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

void check_units(const std::vector<agent::ServiceUnit>& units, std::string_view input,
                 const agent::UnitListLimits& limits) {
  require(units.size() <= limits.max_units);
  require(units.size() == non_blank_lines(input));
  for (const auto& u : units) {
    require(is_word(u.unit) && is_word(u.load) && is_word(u.active) && is_word(u.sub));
    for (char c : u.description) require(!is_control(c));
    if (!u.description.empty()) {
      require(!is_blank(u.description.front()) && !is_blank(u.description.back()));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const agent::UnitListLimits defaults;
  const agent::UnitListLimits small{.max_line = 120, .max_units = 6};
  auto all = agent::parse_systemctl_units(input, "fuzz", defaults);
  auto few = agent::parse_systemctl_units(input, "fuzz", small);
  if (all) {
    check_units(*all, input, defaults);
  } else {
    check_error(all.error(), input);
  }
  if (few) {
    check_units(*few, input, small);
    require(all.has_value() && all->size() == few->size());
    for (std::size_t i = 0; i < few->size(); ++i) {
      const auto& a = (*all)[i];
      const auto& b = (*few)[i];
      require(a.unit == b.unit && a.load == b.load && a.active == b.active && a.sub == b.sub &&
              a.description == b.description);
    }
  } else {
    check_error(few.error(), input);
  }
  return 0;
}
