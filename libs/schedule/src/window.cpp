// SPDX-License-Identifier: Apache-2.0
// Occurrences of windows in UTC, whether work may run at an instant, the next opening, and
// the formatting used by `patchflow plan`. The wall-clock rules live in Zone::to_sys.
#include <algorithm>

#include "detail.hpp"
#include "patchflow/schedule/window.hpp"

namespace pf::schedule {
namespace {

using namespace std::chrono;

// Windows last at most 31 days of wall-clock time, 31 days + 1 hour of real time at most:
// any window open at t started within this much before t.
constexpr days kLookBack{33};
// Blackouts are collected this much further ahead than maintenance windows, so that a
// maintenance window reaching past the end of a search still ends at a blackout's start.
constexpr days kBlackoutAhead{33};
constexpr days kMaxHorizon{3000};

/// Candidate local dates of a schedule in [d0, d1].
std::vector<local_days> local_dates(const Schedule& s, local_days d0, local_days d1) {
  std::vector<local_days> out;
  auto in = [&](local_days d) { return d0 <= d && d <= d1; };
  switch (s.repeat) {
    case Repeat::daily:
      for (auto d = d0; d <= d1; d += days{1}) out.push_back(d);
      break;
    case Repeat::weekly:
      for (auto d = d0; d <= d1; d += days{1}) {
        if (std::find(s.days.begin(), s.days.end(), weekday{d}) != s.days.end()) out.push_back(d);
      }
      break;
    case Repeat::monthly_day: {
      const year_month_day first{d0};
      const year_month_day last{d1};
      for (auto ym = first.year() / first.month(); ym <= last.year() / last.month(); ym += months{1}) {
        const year_month_day date = ym / day{s.day_of_month};
        if (date.ok() && in(local_days{date})) out.push_back(local_days{date});
      }
      break;
    }
    case Repeat::monthly_weekday: {
      // The offset moves a date up to kMaxOffsetDays into a neighbouring month.
      const year_month_day first{d0 - days{kMaxOffsetDays + 1}};
      const year_month_day last{d1 + days{kMaxOffsetDays + 1}};
      for (auto ym = first.year() / first.month(); ym <= last.year() / last.month(); ym += months{1}) {
        local_days base;
        if (s.nth == kLast) {
          base = local_days{year_month_weekday_last{ym.year(), ym.month(), weekday_last{s.weekday}}};
        } else {
          const year_month_weekday ymw{ym.year(), ym.month(), s.weekday[s.nth]};
          if (!ymw.ok()) continue;  // no fifth such weekday this month
          base = local_days{ymw};
        }
        const local_days date = base + days{s.offset_days};
        if (in(date)) out.push_back(date);
      }
      break;
    }
    case Repeat::once:
      if (s.date.ok() && in(local_days{s.date})) out.push_back(local_days{s.date});
      break;
  }
  return out;
}

/// The occurrences of every window of one kind starting in [from, to), merged where they
/// overlap or touch. Callers have checked the range.
std::vector<Interval> merged(std::span<const Window> windows, Kind kind, sys_seconds from,
                             sys_seconds to) {
  std::vector<Interval> all;
  for (const Window& w : windows) {
    if (w.kind != kind) continue;
    auto occ = occurrences(w, from, to);
    if (occ) all.insert(all.end(), occ->begin(), occ->end());
  }
  std::sort(all.begin(), all.end(), [](const Interval& a, const Interval& b) {
    return a.start < b.start || (a.start == b.start && a.end < b.end);
  });
  std::vector<Interval> out;
  for (const Interval& i : all) {
    if (!out.empty() && i.start <= out.back().end) {
      out.back().end = std::max(out.back().end, i.end);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

/// Maintenance time minus blackout time; both inputs sorted and merged.
std::vector<Interval> subtract(const std::vector<Interval>& open, const std::vector<Interval>& closed) {
  std::vector<Interval> out;
  for (const Interval& m : open) {
    sys_seconds cursor = m.start;
    for (const Interval& b : closed) {
      if (b.end <= cursor) continue;
      if (b.start >= m.end) break;
      if (b.start > cursor) out.push_back({cursor, b.start});
      cursor = std::max(cursor, b.end);
      if (cursor >= m.end) break;
    }
    if (cursor < m.end) out.push_back({cursor, m.end});
  }
  return out;
}

sys_seconds clamp_range(sys_seconds t) {
  constexpr sys_seconds lo{sys_days{year{1900} / January / 1}};
  constexpr sys_seconds hi{sys_days{year{2400} / January / 1} - seconds{1}};
  return std::clamp(t, lo, hi);
}

/// Open segments around t: maintenance starting in [t - kLookBack, t + ahead), minus
/// blackouts starting in [t - kLookBack, t + ahead + kBlackoutAhead).
std::vector<Interval> open_segments(std::span<const Window> windows, sys_seconds t, days ahead) {
  const sys_seconds from = clamp_range(t - kLookBack);
  const auto maintenance = merged(windows, Kind::maintenance, from, clamp_range(t + ahead));
  const auto blackouts = merged(windows, Kind::blackout, from, clamp_range(t + ahead + kBlackoutAhead));
  return subtract(maintenance, blackouts);
}

std::string two(long long v) {
  std::string out = std::to_string(v);
  return v < 10 ? "0" + out : out;
}

std::string date_text(local_days d) {
  const year_month_day ymd{d};
  return std::to_string(static_cast<int>(ymd.year())) + "-" +
         two(static_cast<unsigned>(ymd.month())) + "-" + two(static_cast<unsigned>(ymd.day()));
}

}  // namespace

Result<std::vector<Interval>> occurrences(const Window& window, sys_seconds from, sys_seconds to) {
  if (!detail::in_range(from) || !detail::in_range(to)) return detail::out_of_range("occurrences");
  if (to <= from) return std::vector<Interval>{};
  if (to - from > kMaxRange) {
    return make_error(Errc::invalid_input,
                      "range longer than " + std::to_string(kMaxRange.count()) + " days",
                      "occurrences");
  }
  // Local dates two days either side cover every UTC offset (at most 26 hours apart).
  const local_days d0 = floor<days>(window.zone.to_local(from)) - days{2};
  const local_days d1 = floor<days>(window.zone.to_local(to)) + days{2};
  std::vector<Interval> out;
  for (const local_days d : local_dates(window.schedule, d0, d1)) {
    const local_seconds local_start = d + window.schedule.at;
    const sys_seconds start = window.zone.to_sys(local_start);
    if (start < from || start >= to) continue;
    sys_seconds end = window.zone.to_sys(local_start + window.duration);
    // Only a window lying wholly inside a DST gap has no wall-clock time left: it then lasts
    // its duration of real time from the end of the gap.
    if (end <= start) end = start + window.duration;
    out.push_back({start, end});
  }
  std::sort(out.begin(), out.end(), [](const Interval& a, const Interval& b) { return a.start < b.start; });
  return out;
}

Result<Openness> open_at(std::span<const Window> windows, sys_seconds t) {
  if (!detail::in_range(t)) return detail::out_of_range("open_at");
  Openness out;
  const sys_seconds from = clamp_range(t - kLookBack);
  for (const Interval& b :
       merged(windows, Kind::blackout, from, clamp_range(t + kLookBack))) {
    if (b.contains(t)) out.in_blackout = true;
  }
  for (const Interval& seg : open_segments(windows, t, kLookBack)) {
    if (seg.contains(t)) {
      out.open = true;
      out.until = seg.end;
      break;
    }
  }
  return out;
}

Result<sys_seconds> next_opening(std::span<const Window> windows, sys_seconds t, seconds min_left,
                                 days horizon) {
  if (!detail::in_range(t)) return detail::out_of_range("next_opening");
  if (horizon <= days{0} || horizon > kMaxHorizon) {
    return make_error(Errc::invalid_input,
                      "horizon must be 1 to " + std::to_string(kMaxHorizon.count()) + " days",
                      "next_opening");
  }
  const seconds need = std::max(min_left, seconds{0});
  for (const Interval& seg : open_segments(windows, t, horizon)) {
    if (seg.end <= t) continue;
    const sys_seconds start = std::max(seg.start, t);
    if (start >= t + horizon) break;
    if (seg.end - start >= need) return start;
  }
  return make_error(Errc::not_found,
                    "no opening with " + format_duration(ceil<minutes>(need)) + " left within " +
                        std::to_string(horizon.count()) + " days after " + format_utc(t),
                    "next_opening");
}

std::string format_local(sys_seconds t, const Zone& zone) {
  if (!detail::in_range(t)) return "@" + std::to_string(t.time_since_epoch().count());
  const auto [day, time] = detail::split(zone.to_local(t));
  const auto h = duration_cast<hours>(time);
  const auto m = duration_cast<minutes>(time - h);
  const auto s = time - h - m;
  std::string out = date_text(day) + " " + two(h.count()) + ":" + two(m.count());
  if (s.count() != 0) out += ":" + two(s.count());
  return out + " " + zone.abbreviation(t);
}

std::string format_utc(sys_seconds t) {
  if (!detail::in_range(t)) return "@" + std::to_string(t.time_since_epoch().count());
  const auto [day, time] = detail::split(local_seconds{t.time_since_epoch()});
  const auto h = duration_cast<hours>(time);
  const auto m = duration_cast<minutes>(time - h);
  const auto s = time - h - m;
  return date_text(day) + "T" + two(h.count()) + ":" + two(m.count()) + ":" + two(s.count()) + "Z";
}

std::string format_interval(const Interval& interval, const Zone& zone) {
  return format_local(interval.start, zone) + " - " + format_local(interval.end, zone) + " (" +
         format_utc(interval.start) + " - " + format_utc(interval.end) + ")";
}

}  // namespace pf::schedule
