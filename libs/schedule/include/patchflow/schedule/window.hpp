// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/schedule/zone.hpp"

namespace pf::schedule {

/// Longest schedule text accepted by parse_schedule.
inline constexpr std::size_t kMaxScheduleText = 256;
/// Bounds of a window's duration.
inline constexpr std::chrono::minutes kMinDuration{1};
inline constexpr std::chrono::minutes kMaxDuration{31 * 24 * 60};
/// Bound of the "+Nd" / "-Nd" offset of an Nth-weekday schedule, in days.
inline constexpr int kMaxOffsetDays = 31;
/// Longest range occurrences() expands, and the default search horizon of next_opening().
inline constexpr std::chrono::days kMaxRange{3660};
inline constexpr std::chrono::days kDefaultHorizon{400};

enum class Repeat {
  daily,            // every day
  weekly,           // on the listed weekdays ("weekdays" is weekly Mon..Fri)
  monthly_day,      // on a day of the month (months without that day are skipped)
  monthly_weekday,  // on the Nth (or last) weekday of the month, plus an offset in days
  once,             // on one date
};

/// nth value meaning "last" for Repeat::monthly_weekday.
inline constexpr unsigned kLast = 0;

/// A parsed recurrence: when a window starts, in wall-clock time of its zone.
struct Schedule {
  Repeat repeat{Repeat::daily};
  std::chrono::minutes at{0};               // local start, minutes after midnight (0..1439)
  std::vector<std::chrono::weekday> days;   // weekly: Mon..Sun order, no duplicates
  unsigned day_of_month{0};                 // monthly_day: 1..31
  unsigned nth{0};                          // monthly_weekday: 1..5, or kLast
  std::chrono::weekday weekday{};           // monthly_weekday
  int offset_days{0};                       // monthly_weekday: -31..31
  std::chrono::year_month_day date{};       // once

  friend bool operator==(const Schedule&, const Schedule&) = default;
};

/// Parses the schedule grammar of docs/windows.md ("daily 02:00", "weekdays 22:00",
/// "weekly mon,wed 01:30", "monthly 15 03:00", "second tuesday +3d 22:00",
/// "monthly last friday 20:00", "once 2026-12-24 20:00"). Keywords are case-insensitive.
/// Errors are invalid_input; where is "column N" (1-based, bytes) and the message says what
/// was expected there.
[[nodiscard]] Result<Schedule> parse_schedule(std::string_view text);

/// The canonical text of a schedule; parse_schedule(to_string(s)) == s.
[[nodiscard]] std::string to_string(const Schedule& schedule);

/// Parses a duration: one or more <number><unit> parts, units d, h, m ("6h", "90m",
/// "1d12h", "2h30m"), between kMinDuration and kMaxDuration.
[[nodiscard]] Result<std::chrono::minutes> parse_duration(std::string_view text);

/// "6h", "1h30m", "2d", "45m".
[[nodiscard]] std::string format_duration(std::chrono::minutes duration);

enum class Kind { maintenance, blackout };

[[nodiscard]] Result<Kind> parse_kind(std::string_view text);
[[nodiscard]] std::string_view kind_name(Kind kind) noexcept;

/// A recurring (or one-off) span of wall-clock time in a zone.
struct Window {
  Schedule schedule;
  std::chrono::minutes duration{60};  // wall-clock length
  Zone zone;
  Kind kind{Kind::maintenance};

  friend bool operator==(const Window&, const Window&) = default;
};

/// Builds a window from its policy fields; errors name the field ("schedule: column 7",
/// "duration", "zone", "kind").
[[nodiscard]] Result<Window> make_window(std::string_view schedule, std::string_view duration,
                                         std::string_view zone, std::string_view kind);

/// A half-open span [start, end) of UTC time.
struct Interval {
  std::chrono::sys_seconds start;
  std::chrono::sys_seconds end;

  [[nodiscard]] bool contains(std::chrono::sys_seconds t) const noexcept {
    return start <= t && t < end;
  }
  friend bool operator==(const Interval&, const Interval&) = default;
};

/// The window's occurrences whose start lies in [from, to), in order. Each starts at the
/// schedule's wall-clock time and ends `duration` of wall-clock time later (so a 6h window
/// over a DST change lasts 5h or 7h of real time); see docs/windows.md for gaps and repeated
/// hours. Errors: from/to outside years 1900..2399, or to - from longer than kMaxRange.
[[nodiscard]] Result<std::vector<Interval>> occurrences(const Window& window,
                                                        std::chrono::sys_seconds from,
                                                        std::chrono::sys_seconds to);

struct Openness {
  bool open{false};                 // inside a maintenance window and outside every blackout
  std::chrono::sys_seconds until{}; // when open: the earliest of the (merged) maintenance end
                                    // and the next blackout start
  bool in_blackout{false};          // t lies inside a blackout
};

/// Whether work may run at t. Overlapping or touching maintenance windows count as one.
/// Without any maintenance window nothing is ever open.
[[nodiscard]] Result<Openness> open_at(std::span<const Window> windows, std::chrono::sys_seconds t);

/// The first instant >= t at which open_at is open with at least min_left until it closes:
/// the time a host may start work expected to take min_left. not_found when there is none
/// within horizon after t.
[[nodiscard]] Result<std::chrono::sys_seconds> next_opening(
    std::span<const Window> windows, std::chrono::sys_seconds t, std::chrono::seconds min_left,
    std::chrono::days horizon = kDefaultHorizon);

/// "2026-03-10 22:00 EDT".
[[nodiscard]] std::string format_local(std::chrono::sys_seconds t, const Zone& zone);
/// "2026-03-11T02:00:00Z" (RFC 3339, UTC).
[[nodiscard]] std::string format_utc(std::chrono::sys_seconds t);
/// "2026-03-10 22:00 EDT - 2026-03-11 04:00 EDT (2026-03-11T02:00:00Z - 2026-03-11T08:00:00Z)".
[[nodiscard]] std::string format_interval(const Interval& interval, const Zone& zone);

}  // namespace pf::schedule
