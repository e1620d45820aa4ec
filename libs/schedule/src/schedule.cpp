// SPDX-License-Identifier: Apache-2.0
// The schedule grammar (docs/windows.md), durations, kinds and make_window. A hand-written
// scanner over at most kMaxScheduleText bytes; every error names the 1-based column and what
// was expected there.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

#include "patchflow/schedule/window.hpp"

namespace pf::schedule {
namespace {

using namespace std::chrono;

constexpr std::size_t kMaxShown = 24;
constexpr std::array<const char*, 7> kShortDay{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr std::array<const char*, 7> kLongDay{"sunday",   "monday", "tuesday", "wednesday",
                                              "thursday", "friday", "saturday"};
constexpr std::array<const char*, 6> kOrdinal{"last", "first", "second", "third", "fourth", "fifth"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// The text of a token as an error shows it: printable ASCII, bounded.
std::string shown(std::string_view s) {
  if (s.empty()) return "end of text";
  std::string out = "'";
  for (const char c : s.substr(0, kMaxShown)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > kMaxShown) out += "...";
  return out + "'";
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<unsigned> small_number(std::string_view s, std::size_t max_digits) {
  if (!all_digits(s) || s.size() > max_digits) return std::nullopt;
  unsigned v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::optional<weekday> weekday_named(std::string_view word) {
  const std::string w = lower(word);
  for (unsigned i = 0; i < 7; ++i) {
    if (w == kShortDay[i] || w == kLongDay[i]) return weekday{i};
  }
  if (w == "tues") return Tuesday;
  if (w == "thur" || w == "thurs") return Thursday;
  return std::nullopt;
}

std::optional<unsigned> ordinal_named(std::string_view word) {
  const std::string w = lower(word);
  for (unsigned i = 0; i < kOrdinal.size(); ++i) {
    if (w == kOrdinal[i]) return i;  // "last" is 0 == kLast
  }
  if (w == "1st") return 1;
  if (w == "2nd") return 2;
  if (w == "3rd") return 3;
  if (w == "4th") return 4;
  if (w == "5th") return 5;
  return std::nullopt;
}

struct Token {
  std::string_view text;
  std::size_t column;  // 1-based
};

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  /// The next word (a run of bytes other than space, tab and comma); empty at the end.
  Token word() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ' ' && text_[pos_] != '\t' && text_[pos_] != ',') {
      ++pos_;
    }
    return {text_.substr(start, pos_ - start), start + 1};
  }

  Token peek() {
    const std::size_t saved = pos_;
    Token t = word();
    pos_ = saved;
    return t;
  }

  /// Consumes a comma (after optional spaces) when one is next.
  bool comma() {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ',') {
      ++pos_;
      return true;
    }
    return false;
  }

  /// The column of the next non-space byte and what stands there.
  Token rest() {
    skip_space();
    return {text_.substr(pos_), pos_ + 1};
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  std::string_view text_;
  std::size_t pos_{0};
};

Unexpected expected_at(const Token& t, const std::string& what) {
  return make_error(Errc::invalid_input, "expected " + what + ", found " + shown(t.text),
                    "column " + std::to_string(t.column));
}

Result<minutes> time_of_day(Scanner& s) {
  const Token t = s.word();
  const auto colon = t.text.find(':');
  const char* what = "a time of day HH:MM (00:00 to 23:59)";
  if (colon == std::string_view::npos) return expected_at(t, what);
  const auto h = small_number(t.text.substr(0, colon), 2);
  const std::string_view mm = t.text.substr(colon + 1);
  const auto m = mm.size() == 2 ? small_number(mm, 2) : std::nullopt;
  if (!h || !m || *h > 23 || *m > 59) return expected_at(t, what);
  return hours{*h} + minutes{*m};
}

Result<weekday> weekday_at(Scanner& s) {
  const Token t = s.word();
  if (auto d = weekday_named(t.text)) return *d;
  return expected_at(t, "a weekday (mon..sun or monday..sunday)");
}

Result<year_month_day> date_at(Scanner& s) {
  const Token t = s.word();
  const char* what = "a date YYYY-MM-DD (years 1900 to 2399)";
  if (t.text.size() != 10 || t.text[4] != '-' || t.text[7] != '-') return expected_at(t, what);
  const auto y = small_number(t.text.substr(0, 4), 4);
  const auto m = small_number(t.text.substr(5, 2), 2);
  const auto d = small_number(t.text.substr(8, 2), 2);
  if (!y || !m || !d || *y < 1900 || *y > 2399) return expected_at(t, what);
  const year_month_day ymd{year{static_cast<int>(*y)}, month{*m}, day{*d}};
  if (!ymd.ok()) return expected_at(t, "a date that exists");
  return ymd;
}

Result<void> end_of_text(Scanner& s) {
  const Token t = s.rest();
  if (!t.text.empty()) return expected_at(t, "the end of the schedule");
  return {};
}

/// The rest of "[monthly] <ordinal> <weekday> [+Nd|-Nd] HH:MM" after the ordinal.
Result<Schedule> nth_weekday(Scanner& s, unsigned nth) {
  Schedule out;
  out.repeat = Repeat::monthly_weekday;
  out.nth = nth;
  auto wd = weekday_at(s);
  if (!wd) return tl::unexpected(wd.error());
  out.weekday = *wd;
  const Token next = s.peek();
  if (!next.text.empty() && (next.text[0] == '+' || next.text[0] == '-')) {
    s.word();
    const std::string_view body = next.text.substr(1);
    const std::string what = "a day offset +Nd or -Nd (N from 0 to " + std::to_string(kMaxOffsetDays) + ")";
    if (body.size() < 2 || (body.back() != 'd' && body.back() != 'D')) return expected_at(next, what);
    const auto n = small_number(body.substr(0, body.size() - 1), 2);
    if (!n || *n > static_cast<unsigned>(kMaxOffsetDays)) return expected_at(next, what);
    out.offset_days = next.text[0] == '-' ? -static_cast<int>(*n) : static_cast<int>(*n);
  }
  auto at = time_of_day(s);
  if (!at) return tl::unexpected(at.error());
  out.at = *at;
  if (auto e = end_of_text(s); !e) return tl::unexpected(e.error());
  return out;
}

std::string two(unsigned v) {
  std::string out = std::to_string(v);
  return v < 10 ? "0" + out : out;
}

std::string hh_mm(minutes at) {
  const auto m = static_cast<unsigned>(at.count());
  return two(m / 60) + ":" + two(m % 60);
}

const std::vector<weekday>& monday_to_friday() {
  static const std::vector<weekday> days{Monday, Tuesday, Wednesday, Thursday, Friday};
  return days;
}

}  // namespace

Result<Schedule> parse_schedule(std::string_view text) {
  if (text.size() > kMaxScheduleText) {
    return make_error(Errc::invalid_input,
                      "schedule longer than " + std::to_string(kMaxScheduleText) + " bytes",
                      "column " + std::to_string(kMaxScheduleText + 1));
  }
  Scanner s(text);
  const Token head = s.word();
  const std::string keyword = lower(head.text);
  Schedule out;
  if (keyword == "daily" || keyword == "weekdays") {
    out.repeat = keyword == "daily" ? Repeat::daily : Repeat::weekly;
    if (keyword == "weekdays") out.days = monday_to_friday();
  } else if (keyword == "weekly") {
    out.repeat = Repeat::weekly;
    do {
      const Token at = s.peek();
      auto wd = weekday_at(s);
      if (!wd) return tl::unexpected(wd.error());
      if (std::find(out.days.begin(), out.days.end(), *wd) != out.days.end()) {
        return make_error(Errc::invalid_input, "weekday " + shown(at.text) + " listed twice",
                          "column " + std::to_string(at.column));
      }
      out.days.push_back(*wd);
    } while (s.comma());
    std::sort(out.days.begin(), out.days.end(),
              [](weekday a, weekday b) { return a.iso_encoding() < b.iso_encoding(); });
  } else if (keyword == "monthly") {
    const Token t = s.word();
    if (auto nth = ordinal_named(t.text)) return nth_weekday(s, *nth);
    const auto d = small_number(t.text, 2);
    if (!d || *d < 1 || *d > 31) {
      return expected_at(t, "a day of the month (1 to 31) or first, second, third, fourth, "
                            "fifth or last");
    }
    out.repeat = Repeat::monthly_day;
    out.day_of_month = *d;
  } else if (auto nth = ordinal_named(head.text)) {
    return nth_weekday(s, *nth);
  } else if (keyword == "once") {
    out.repeat = Repeat::once;
    auto d = date_at(s);
    if (!d) return tl::unexpected(d.error());
    out.date = *d;
  } else {
    return expected_at(head, "daily, weekdays, weekly, monthly, first, second, third, fourth, "
                             "fifth, last or once");
  }
  auto at = time_of_day(s);
  if (!at) return tl::unexpected(at.error());
  out.at = *at;
  if (auto e = end_of_text(s); !e) return tl::unexpected(e.error());
  return out;
}

std::string to_string(const Schedule& schedule) {
  std::string out;
  switch (schedule.repeat) {
    case Repeat::daily:
      out = "daily";
      break;
    case Repeat::weekly:
      if (schedule.days == monday_to_friday()) {
        out = "weekdays";
      } else {
        out = "weekly ";
        for (std::size_t i = 0; i < schedule.days.size(); ++i) {
          if (i > 0) out += ',';
          out += kShortDay[schedule.days[i].c_encoding() % 7];
        }
      }
      break;
    case Repeat::monthly_day:
      out = "monthly " + std::to_string(schedule.day_of_month);
      break;
    case Repeat::monthly_weekday:
      out = std::string("monthly ") + kOrdinal[std::min<unsigned>(schedule.nth, 5)] + " " +
            kLongDay[schedule.weekday.c_encoding() % 7];
      if (schedule.offset_days != 0) {
        out += schedule.offset_days > 0 ? " +" : " -";
        out += std::to_string(std::abs(schedule.offset_days)) + "d";
      }
      break;
    case Repeat::once: {
      const auto& d = schedule.date;
      out = "once " + std::to_string(static_cast<int>(d.year())) + "-" +
            two(static_cast<unsigned>(d.month())) + "-" + two(static_cast<unsigned>(d.day()));
      break;
    }
  }
  return out + " " + hh_mm(schedule.at);
}

Result<minutes> parse_duration(std::string_view text) {
  const std::string what = "a duration such as 90m, 6h, 1d12h (from " +
                           format_duration(kMinDuration) + " to " + format_duration(kMaxDuration) +
                           "), found " + shown(text);
  auto fail = [&] { return make_error(Errc::invalid_input, "expected " + what, "duration"); };
  if (text.empty() || text.size() > 32) return fail();
  constexpr std::string_view kUnits = "dhm";
  std::size_t next_unit = 0;  // units must come in the order d, h, m, each at most once
  std::size_t pos = 0;
  minutes total{0};
  while (pos < text.size()) {
    std::size_t end = pos;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    const auto n = small_number(text.substr(pos, end - pos), 6);
    if (!n || end >= text.size()) return fail();
    const auto unit = kUnits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text[end]))));
    if (unit == std::string_view::npos || unit < next_unit) return fail();
    next_unit = unit + 1;
    total += unit == 0 ? minutes{days{*n}} : unit == 1 ? minutes{hours{*n}} : minutes{*n};
    pos = end + 1;
  }
  if (total < kMinDuration || total > kMaxDuration) return fail();
  return total;
}

std::string format_duration(minutes duration) {
  if (duration.count() <= 0) return "0m";
  const auto d = duration_cast<days>(duration);
  const auto h = duration_cast<hours>(duration - d);
  const auto m = duration - d - h;
  std::string out;
  if (d.count() > 0) out += std::to_string(d.count()) + "d";
  if (h.count() > 0) out += std::to_string(h.count()) + "h";
  if (m.count() > 0) out += std::to_string(m.count()) + "m";
  return out;
}

Result<Kind> parse_kind(std::string_view text) {
  const std::string k = lower(text);
  if (k == "maintenance") return Kind::maintenance;
  if (k == "blackout") return Kind::blackout;
  return make_error(Errc::invalid_input, "expected maintenance or blackout, found " + shown(text),
                    "kind");
}

std::string_view kind_name(Kind kind) noexcept {
  return kind == Kind::blackout ? "blackout" : "maintenance";
}

Result<Window> make_window(std::string_view schedule, std::string_view duration,
                           std::string_view zone, std::string_view kind) {
  Window w;
  auto s = parse_schedule(schedule);
  if (!s) {
    Error e = s.error();
    e.where = "schedule " + e.where;
    return tl::unexpected(std::move(e));
  }
  w.schedule = std::move(*s);
  auto d = parse_duration(duration);
  if (!d) return tl::unexpected(d.error());
  w.duration = *d;
  auto z = Zone::find(zone);
  if (!z) return tl::unexpected(z.error());
  w.zone = std::move(*z);
  auto k = parse_kind(kind);
  if (!k) return tl::unexpected(k.error());
  w.kind = *k;
  return w;
}

}  // namespace pf::schedule
