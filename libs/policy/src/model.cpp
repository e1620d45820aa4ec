// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cstdint>

#include "patchflow/policy/document.hpp"

namespace pf::policy {

int Limit::resolve(int total, bool at_least_one) const {
  if (total < 0) total = 0;
  std::int64_t n = value;
  if (percent) {
    const std::int64_t scaled = std::int64_t{total} * value;
    n = at_least_one ? (scaled + 99) / 100 : scaled / 100;
  }
  if (at_least_one && n < 1) n = 1;
  return static_cast<int>(std::clamp<std::int64_t>(n, 0, INT32_MAX));
}

bool operator==(const WindowDoc& a, const WindowDoc& b) {
  if (a.window != b.window) return false;
  if (a.calendar.has_value() != b.calendar.has_value()) return false;
  if (!a.calendar) return true;
  return a.calendar->zone == b.calendar->zone && a.calendar->weekend == b.calendar->weekend &&
         a.calendar->holidays == b.calendar->holidays;
}

std::string_view doc_kind_name(DocKind kind) noexcept {
  switch (kind) {
    case DocKind::baseline: return "Baseline";
    case DocKind::group: return "Group";
    case DocKind::window: return "Window";
    case DocKind::chain: return "Chain";
  }
  return "?";
}

bool valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum) continue;
    if (c != '-' || i == 0 || i + 1 == name.size()) return false;
  }
  return true;
}

}  // namespace pf::policy

#include <cctype>
#include <cstdio>

#include "internal.hpp"

namespace pf::policy::detail {

Result<std::chrono::seconds> parse_span(std::string_view text, bool allow_zero) {
  if (text == "0") {
    if (allow_zero) return std::chrono::seconds{0};
    return make_error(Errc::invalid_input, "must be longer than 0");
  }
  if (text.empty() || text.size() > 32) {
    return make_error(Errc::invalid_input, "expected a duration such as 30s, 90m, 2h or 7d");
  }
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxSpanS) return make_error(Errc::invalid_input, "duration longer than 3650 days");
      ++i;
    }
    if (i == start || i == text.size()) {
      return make_error(Errc::invalid_input, "expected a duration such as 30s, 90m, 2h or 7d");
    }
    std::int64_t unit = 0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return make_error(Errc::invalid_input, "expected a duration such as 30s, 90m, 2h or 7d");
    }
    ++i;
    total += n * unit;
    if (total > kMaxSpanS) return make_error(Errc::invalid_input, "duration longer than 3650 days");
  }
  if (total == 0 && !allow_zero) return make_error(Errc::invalid_input, "must be longer than 0");
  return std::chrono::seconds{total};
}

std::string format_span(std::chrono::seconds s) {
  const auto n = s.count();
  if (n == 0) return "0";
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

std::string soak_text(const Soak& soak) {
  if (soak.business_days > 0) {
    return std::to_string(soak.business_days) +
           (soak.business_days == 1 ? " business day" : " business days");
  }
  if (soak.duration.count() > 0) return format_span(soak.duration);
  return "";
}

Result<Soak> parse_soak(std::string_view text) {
  Soak soak;
  if (text.empty()) return soak;
  const auto sp = text.find(' ');
  if (sp != std::string_view::npos) {
    std::string_view num = text.substr(0, sp), rest = text.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest != "business days" && rest != "business day") {
      return make_error(Errc::invalid_input,
                        "expected \"N business days\" or a duration such as 2h or 1d");
    }
    int n = 0;
    if (num.empty() || num.size() > 3) {
      return make_error(Errc::invalid_input, "expected a number of business days (1.." +
                                                 std::to_string(schedule::kMaxBusinessDays) + ")");
    }
    for (char c : num) {
      if (c < '0' || c > '9') {
        return make_error(Errc::invalid_input, "expected a number of business days (1.." +
                                                   std::to_string(schedule::kMaxBusinessDays) + ")");
      }
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > schedule::kMaxBusinessDays) {
      return make_error(Errc::invalid_input, "business days must be in 1.." +
                                                 std::to_string(schedule::kMaxBusinessDays));
    }
    soak.business_days = n;
    return soak;
  }
  auto d = parse_span(text, false);
  if (!d) {
    return make_error(Errc::invalid_input,
                      "expected \"N business days\" or a duration such as 2h or 1d");
  }
  soak.duration = *d;
  return soak;
}

jobs::Job stage_job(const Stage& stage) {
  jobs::Job j;
  j.run_id = "policy-check";
  j.job = stage.name;
  j.host_id = "policy-check";
  j.issued_at = jobs::Time{std::chrono::seconds{1'800'000'000}};
  j.expires_at = j.issued_at + std::chrono::hours(24);
  j.preconditions = stage.preconditions;
  if (stage.retry) j.retry = jobs::Retry{stage.retry->interval, j.expires_at};
  j.pre = stage.pre;
  j.post = stage.post;
  j.reboot.policy = stage.reboot;
  j.baseline = stage.health;
  return j;
}

std::string format_date(std::chrono::year_month_day d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

Result<std::chrono::year_month_day> parse_date(std::string_view t) {
  auto digits = [&](std::size_t from, std::size_t n, int& out) {
    out = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (t.size() != 10 || t[4] != '-' || t[7] != '-' || !digits(0, 4, y) || !digits(5, 2, m) ||
      !digits(8, 2, d)) {
    return make_error(Errc::invalid_input, "expected a date YYYY-MM-DD");
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || y < 1900 || y > 2399) {
    return make_error(Errc::invalid_input, "not a calendar date in years 1900..2399");
  }
  return ymd;
}

namespace {
constexpr std::string_view kDays[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr std::string_view kLongDays[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                           "thursday", "friday", "saturday"};
}  // namespace

std::string weekday_text(std::chrono::weekday d) { return std::string(kDays[d.c_encoding() % 7]); }

Result<std::chrono::weekday> parse_weekday(std::string_view text) {
  std::string lower;
  for (char c : text.substr(0, 16)) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (unsigned i = 0; i < 7; ++i) {
    if (lower == kDays[i] || lower == kLongDays[i]) return std::chrono::weekday{i};
  }
  return make_error(Errc::invalid_input, "expected a weekday (mon, tue, wed, thu, fri, sat, sun)");
}

bool valid_label_key(std::string_view k) noexcept {
  if (k.empty() || k.size() > 63) return false;
  for (std::size_t i = 0; i < k.size(); ++i) {
    const char c = k[i];
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) continue;
    if (i == 0 || (c != '_' && c != '.' && c != '-')) return false;
  }
  return true;
}

bool valid_label_value(std::string_view v) noexcept {
  if (v.size() > 63) return false;
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace pf::policy::detail
