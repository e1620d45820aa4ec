// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the text parsers behind the host facts: the mount table
// (parse_mounts, unescape_mount_field), /proc/uptime, /proc/stat's btime and the boot id, all
// fed the same input. Besides "no crash, no sanitizer report, no leak": an error is
// invalid_input (not_found for a missing btime) with a message, and names the input (and a line
// inside it where the header says so); parse_mounts returns one entry per non-blank line, each
// the unescaped first three fields with an absolute mount point; unescaping never lengthens a
// field and leaves one without an octal escape as it is; an uptime or btime is the decimal
// value of its digits (rounded down); a boot id is 36 lower-case characters, the input's UUID.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/agent/facts.hpp"

namespace {

namespace agent = pf::agent;

void require(bool ok) {
  if (!ok) std::abort();
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
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

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

bool has_octal_escape(std::string_view s) {
  for (std::size_t i = 0; i + 3 < s.size(); ++i) {
    if (s[i] == '\\' && s[i + 1] >= '0' && s[i + 1] <= '7' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7')
      return true;
  }
  return false;
}

// Digits as a number when there are at most 18 of them.
std::optional<std::int64_t> decimal(std::string_view digits) {
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// "<name>:<line>" with the line inside the input.
void check_where_line(const std::string& where, std::string_view name, std::size_t lines) {
  require(where.size() > name.size() + 1 && where.starts_with(name) && where[name.size()] == ':');
  const std::string digits = where.substr(name.size() + 1);
  require(digits.size() < 10);
  for (char c : digits) require(is_digit(c));
  const unsigned long n = std::strtoul(digits.c_str(), nullptr, 10);
  require(n >= 1 && n <= lines);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || is_blank(s.back())))
    s.remove_suffix(1);
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto lines = lines_of(input);
  const std::size_t line_count = lines.size() + 1;

  // unescape_mount_field on the whole input (and below on every field of a mount line).
  {
    const std::string u = agent::unescape_mount_field(input);
    require(u.size() <= input.size());
    if (!has_octal_escape(input)) require(u == input);
  }

  auto mounts = agent::parse_mounts(input, "fuzz");
  if (mounts) {
    std::size_t i = 0;
    for (auto line : lines) {
      const auto f = fields_of(line);
      if (f.empty()) continue;
      require(f.size() >= 4);
      require(i < mounts->size());
      const auto& m = (*mounts)[i++];
      require(m.device == agent::unescape_mount_field(f[0]));
      require(m.mount_point == agent::unescape_mount_field(f[1]));
      require(m.fs_type == agent::unescape_mount_field(f[2]));
      require(m.options == f[3]);
      require(!m.mount_point.empty() && m.mount_point.front() == '/');
      for (auto field : {f[0], f[1], f[2]}) {
        const std::string u = agent::unescape_mount_field(field);
        require(!u.empty() && u.size() <= field.size());
        if (!has_octal_escape(field)) require(u == field);
      }
    }
    require(i == mounts->size());
  } else {
    require(mounts.error().code == pf::Errc::invalid_input);
    require(!mounts.error().message.empty());
    check_where_line(mounts.error().where, "fuzz", line_count);
  }

  // /proc/uptime: the first number's whole seconds.
  auto uptime = agent::parse_proc_uptime(input, "fuzz");
  {
    const std::string_view t = trim(input);
    const std::string_view first = t.substr(0, t.find_first_of(" \t"));
    const std::string_view whole = first.substr(0, first.find('.'));
    if (uptime) {
      const auto v = decimal(whole);
      require(v.has_value());
      require(uptime->count() == *v);
    } else {
      require(uptime.error().code == pf::Errc::invalid_input);
      require(!uptime.error().message.empty());
      require(uptime.error().where == "fuzz");
    }
  }

  // /proc/stat: the first "btime " line.
  auto btime = agent::parse_proc_stat_btime(input, "fuzz");
  {
    std::optional<std::size_t> at;  // index of the first btime line
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].starts_with("btime ")) {
        at = i;
        break;
      }
    }
    if (btime) {
      require(at.has_value());
      const auto v = decimal(trim(lines[*at].substr(6)));
      require(v.has_value());
      require(btime->time_since_epoch().count() == *v);
    } else if (btime.error().code == pf::Errc::not_found) {
      require(!at.has_value());
      require(btime.error().where == "fuzz");
      require(!btime.error().message.empty());
    } else {
      require(btime.error().code == pf::Errc::invalid_input);
      require(at.has_value());
      require(!btime.error().message.empty());
      require(btime.error().where == "fuzz:" + std::to_string(*at + 1));
    }
  }

  // The boot id: a UUID, lower-cased.
  auto id = agent::parse_boot_id(input, "fuzz");
  if (id) {
    require(id->size() == 36);
    std::string_view t = input;
    if (t.ends_with('\n')) t.remove_suffix(1);
    require(t.size() == 36);
    for (std::size_t i = 0; i < 36; ++i) {
      const char c = (*id)[i];
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        require(c == '-');
      } else {
        require(is_digit(c) || (c >= 'a' && c <= 'f'));
        const char in = t[i];
        require(in == c || in == c - 'a' + 'A');
      }
    }
  } else {
    require(id.error().code == pf::Errc::invalid_input);
    require(!id.error().message.empty());
    require(id.error().where == "fuzz");
  }
  return 0;
}
