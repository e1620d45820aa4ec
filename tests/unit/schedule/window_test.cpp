// SPDX-License-Identifier: Apache-2.0
// Windows in real time zones (the system tz database): occurrences checked against a calendar
// walked day by day here, DST changes in New York, Berlin and Lord Howe, blackouts, next
// openings, business days and the plan's formatting.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "patchflow/schedule/calendar.hpp"
#include "patchflow/schedule/window.hpp"

namespace {

using namespace std::chrono;
using pf::schedule::Interval;
using pf::schedule::Window;

// An independent calendar: days of 2026 walked one by one from 2026-01-01, a Thursday, whose
// midnight UTC is 1767225600 seconds after the epoch.
struct Day {
  int month;  // 1..12
  int day;    // 1..31
  int wday;   // 0 = Sunday
  std::int64_t midnight_utc;
};

std::vector<Day> walk_2026() {
  constexpr std::array<int, 12> kLength{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::vector<Day> out;
  std::int64_t midnight = 1767225600;
  int wday = 4;
  for (int m = 1; m <= 12; ++m) {
    for (int d = 1; d <= kLength[static_cast<std::size_t>(m - 1)]; ++d) {
      out.push_back({m, d, wday, midnight});
      wday = (wday + 1) % 7;
      midnight += 86400;
    }
  }
  return out;
}

sys_seconds at(std::int64_t unix_seconds) { return sys_seconds{seconds{unix_seconds}}; }

// A UTC instant from its parts (std::chrono's civil calendar, for readable expectations).
sys_seconds utc(int y, unsigned mo, unsigned d, int h, int mi = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi};
}

Window window(const char* schedule, const char* duration, const char* zone,
              const char* kind = "maintenance") {
  auto w = pf::schedule::make_window(schedule, duration, zone, kind);
  EXPECT_TRUE(w.has_value()) << schedule << ": " << (w ? "" : w.error().message);
  return w ? *w : Window{};
}

std::vector<Interval> occ(const Window& w, sys_seconds from, sys_seconds to) {
  auto o = pf::schedule::occurrences(w, from, to);
  EXPECT_TRUE(o.has_value()) << (o ? "" : o.error().message);
  return o ? *o : std::vector<Interval>{};
}

TEST(Window, SecondTuesdayOfEveryMonthOf2026InNewYork) {
  const Window w = window("second tuesday 22:00", "6h", "America/New_York");
  std::vector<std::int64_t> expected;
  int tuesdays = 0;
  int month = 0;
  for (const Day& d : walk_2026()) {
    if (d.month != month) {
      month = d.month;
      tuesdays = 0;
    }
    if (d.wday == 2 && ++tuesdays == 2) {
      // New York is UTC-4 from 2026-03-08 to 2026-11-01, UTC-5 otherwise.
      const bool edt = (d.month > 3 && d.month < 11) || (d.month == 3 && d.day > 8);
      expected.push_back(d.midnight_utc + (22 + (edt ? 4 : 5)) * 3600);
    }
  }
  ASSERT_EQ(expected.size(), 12u);
  const auto got = occ(w, utc(2026, 1, 1, 0), utc(2027, 1, 1, 0));
  ASSERT_EQ(got.size(), 12u);
  for (std::size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(got[i].start, at(expected[i])) << "month " << i + 1;
    EXPECT_EQ(got[i].end - got[i].start, hours{6}) << "month " << i + 1;
  }
}

TEST(Window, FifthFridaySkipsMonthsWithoutOne) {
  const Window w = window("fifth friday 12:00", "1h", "UTC");
  std::vector<std::int64_t> expected;
  int fridays = 0;
  int month = 0;
  for (const Day& d : walk_2026()) {
    if (d.month != month) {
      month = d.month;
      fridays = 0;
    }
    if (d.wday == 5 && ++fridays == 5) expected.push_back(d.midnight_utc + 12 * 3600);
  }
  const auto got = occ(w, utc(2026, 1, 1, 0), utc(2027, 1, 1, 0));
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].start, at(expected[i]));
}

TEST(Window, DayOffsetCrossesTheMonthEnd) {
  // The last Friday of January 2026 is the 30th: +3 days is Monday 2 February.
  const Window w = window("last friday +3d 22:00", "2h", "Europe/Berlin");
  const auto feb = occ(w, utc(2026, 2, 1, 0), utc(2026, 3, 1, 0));
  ASSERT_EQ(feb.size(), 1u);
  EXPECT_EQ(feb[0].start, utc(2026, 2, 2, 21));  // 22:00 CET
  // And the last Friday of February (27th) + 3 days is Monday 2 March.
  const auto mar = occ(w, utc(2026, 3, 1, 0), utc(2026, 3, 10, 0));
  ASSERT_EQ(mar.size(), 1u);
  EXPECT_EQ(mar[0].start, utc(2026, 3, 2, 21));
  // Patch Tuesday + 3 days: 10 March 2026 → Friday 13 March.
  const Window patch = window("second tuesday +3d 22:00", "6h", "America/New_York");
  const auto fri = occ(patch, utc(2026, 3, 1, 0), utc(2026, 4, 1, 0));
  ASSERT_EQ(fri.size(), 1u);
  EXPECT_EQ(fri[0].start, utc(2026, 3, 14, 2));  // 22:00 EDT on the 13th
}

TEST(Window, NewYorkDstWeekendsLastTheirWallClockSpan) {
  const Window w = window("daily 22:00", "6h", "America/New_York");
  // 7 March 22:00 EST → 8 March 04:00 EDT: 5 hours.
  auto spring = occ(w, utc(2026, 3, 8, 0), utc(2026, 3, 8, 12));
  ASSERT_EQ(spring.size(), 1u);
  EXPECT_EQ(spring[0].start, utc(2026, 3, 8, 3));
  EXPECT_EQ(spring[0].end, utc(2026, 3, 8, 8));
  // 31 October 22:00 EDT → 1 November 04:00 EST: 7 hours.
  auto fall = occ(w, utc(2026, 11, 1, 0), utc(2026, 11, 1, 12));
  ASSERT_EQ(fall.size(), 1u);
  EXPECT_EQ(fall[0].start, utc(2026, 11, 1, 2));
  EXPECT_EQ(fall[0].end, utc(2026, 11, 1, 9));
  // The nights around them are 6 hours.
  auto before = occ(w, utc(2026, 3, 7, 0), utc(2026, 3, 7, 12));
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].end - before[0].start, hours{6});
}

TEST(Window, NewYorkGapAndRepeatedHour) {
  // 02:30 does not exist on 8 March: the window starts at 03:00 EDT (07:00Z) and, being
  // wall-clock, still ends at 03:30 EDT.
  const Window gap = window("daily 02:30", "1h", "America/New_York");
  auto g = occ(gap, utc(2026, 3, 8, 0), utc(2026, 3, 9, 0));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].start, utc(2026, 3, 8, 7));
  EXPECT_EQ(g[0].end, utc(2026, 3, 8, 7, 30));
  // A window lying wholly in the gap keeps its duration of real time.
  const Window inside = window("daily 02:10", "20m", "America/New_York");
  auto in = occ(inside, utc(2026, 3, 8, 0), utc(2026, 3, 9, 0));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].start, utc(2026, 3, 8, 7));
  EXPECT_EQ(in[0].end, utc(2026, 3, 8, 7, 20));
  // 01:30 happens twice on 1 November: the first (EDT, 05:30Z) counts; it ends at 02:30 EST.
  const Window twice = window("daily 01:30", "1h", "America/New_York");
  auto t = occ(twice, utc(2026, 11, 1, 0), utc(2026, 11, 2, 0));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].start, utc(2026, 11, 1, 5, 30));
  EXPECT_EQ(t[0].end, utc(2026, 11, 1, 7, 30));
}

TEST(Window, BerlinDstWeekends) {
  const Window w = window("daily 22:00", "6h", "Europe/Berlin");
  auto spring = occ(w, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12));
  ASSERT_EQ(spring.size(), 1u);
  EXPECT_EQ(spring[0].start, utc(2026, 3, 28, 21));  // 22:00 CET
  EXPECT_EQ(spring[0].end, utc(2026, 3, 29, 2));     // 04:00 CEST
  EXPECT_EQ(spring[0].end - spring[0].start, hours{5});
  auto fall = occ(w, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12));
  ASSERT_EQ(fall.size(), 1u);
  EXPECT_EQ(fall[0].start, utc(2026, 10, 24, 20));  // 22:00 CEST
  EXPECT_EQ(fall[0].end, utc(2026, 10, 25, 3));     // 04:00 CET
  EXPECT_EQ(fall[0].end - fall[0].start, hours{7});

  const Window gap = window("daily 02:30", "1h", "Europe/Berlin");
  auto g = occ(gap, utc(2026, 3, 29, 0), utc(2026, 3, 29, 12));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].start, utc(2026, 3, 29, 1));  // 03:00 CEST, the end of the gap
  auto t = occ(gap, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].start, utc(2026, 10, 25, 0, 30));  // the first 02:30, CEST
  EXPECT_EQ(t[0].end, utc(2026, 10, 25, 2, 30));    // 03:30 CET
}

TEST(Window, LordHoweHalfHourDst) {
  const Window w = window("daily 22:00", "6h", "Australia/Lord_Howe");
  // 4 October 2026 02:00 +10:30 → 02:30 +11: the night is 5h30m.
  auto spring = occ(w, utc(2026, 10, 3, 0), utc(2026, 10, 4, 0));
  ASSERT_EQ(spring.size(), 1u);
  EXPECT_EQ(spring[0].start, utc(2026, 10, 3, 11, 30));
  EXPECT_EQ(spring[0].end - spring[0].start, hours{5} + minutes{30});
  // 5 April 2026 02:00 +11 → 01:30 +10:30: 6h30m.
  auto fall = occ(w, utc(2026, 4, 4, 0), utc(2026, 4, 5, 0));
  ASSERT_EQ(fall.size(), 1u);
  EXPECT_EQ(fall[0].start, utc(2026, 4, 4, 11));
  EXPECT_EQ(fall[0].end - fall[0].start, hours{6} + minutes{30});
}

TEST(Window, OccurrenceRangeIsHalfOpenAndBounded) {
  const Window w = window("daily 02:00", "1h", "UTC");
  auto o = occ(w, utc(2026, 1, 1, 2), utc(2026, 1, 3, 2));
  ASSERT_EQ(o.size(), 2u);  // 1 and 2 January; 3 January 02:00 is the excluded end
  EXPECT_EQ(o[0].start, utc(2026, 1, 1, 2));
  EXPECT_TRUE(occ(w, utc(2026, 1, 3, 0), utc(2026, 1, 1, 0)).empty());

  auto far = pf::schedule::occurrences(w, utc(1800, 1, 1, 0), utc(2026, 1, 1, 0));
  ASSERT_FALSE(far);
  EXPECT_NE(far.error().message.find("1900..2399"), std::string::npos);
  auto longer = pf::schedule::occurrences(w, utc(2000, 1, 1, 0), utc(2030, 1, 1, 0));
  ASSERT_FALSE(longer);
  EXPECT_NE(longer.error().message.find("range longer than"), std::string::npos);
  auto extreme = pf::schedule::open_at(std::vector<Window>{w}, sys_seconds::max());
  ASSERT_FALSE(extreme);

  const Window once = window("once 2026-12-24 20:00", "3h", "Europe/Berlin");
  auto one = occ(once, utc(2026, 1, 1, 0), utc(2027, 6, 1, 0));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].start, utc(2026, 12, 24, 19));
  const Window monthly31 = window("monthly 31 03:00", "1h", "UTC");
  EXPECT_EQ(occ(monthly31, utc(2026, 1, 1, 0), utc(2027, 1, 1, 0)).size(), 7u);
}

// Weekly maintenance Saturday 20:00 → Sunday 06:00 Berlin, a nightly backup blackout 01:00 →
// 03:00. Saturday 7 March 2026 (CET, UTC+1).
std::vector<Window> weekend_with_backup() {
  return {window("weekly sat 20:00", "10h", "Europe/Berlin"),
          window("daily 01:00", "2h", "Europe/Berlin", "blackout")};
}

TEST(Window, NightlyBlackoutOverridesWeeklyMaintenance) {
  const auto ws = weekend_with_backup();
  auto before = pf::schedule::open_at(ws, utc(2026, 3, 7, 18));  // Sat 19:00
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->open);
  EXPECT_FALSE(before->in_blackout);

  auto evening = pf::schedule::open_at(ws, utc(2026, 3, 7, 22));  // Sat 23:00
  ASSERT_TRUE(evening);
  EXPECT_TRUE(evening->open);
  EXPECT_EQ(evening->until, utc(2026, 3, 8, 0));  // Sun 01:00: the blackout starts

  auto backup = pf::schedule::open_at(ws, utc(2026, 3, 8, 1));  // Sun 02:00
  ASSERT_TRUE(backup);
  EXPECT_FALSE(backup->open);
  EXPECT_TRUE(backup->in_blackout);

  auto after = pf::schedule::open_at(ws, utc(2026, 3, 8, 2, 30));  // Sun 03:30
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->open);
  EXPECT_EQ(after->until, utc(2026, 3, 8, 5));  // Sun 06:00: the window ends

  auto tuesday = pf::schedule::open_at(ws, utc(2026, 3, 10, 1));  // a blackout, no window
  ASSERT_TRUE(tuesday);
  EXPECT_FALSE(tuesday->open);
  EXPECT_TRUE(tuesday->in_blackout);

  auto end = pf::schedule::open_at(ws, utc(2026, 3, 8, 5));  // Sun 06:00 exactly: closed
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->open);
}

TEST(Window, TouchingMaintenanceWindowsCountAsOne) {
  const std::vector<Window> ws{window("daily 22:00", "4h", "UTC"), window("daily 02:00", "2h", "UTC")};
  auto o = pf::schedule::open_at(ws, utc(2026, 5, 1, 23));
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->open);
  EXPECT_EQ(o->until, utc(2026, 5, 2, 4));
}

TEST(Window, NextOpeningNeedsTimeLeft) {
  const auto ws = weekend_with_backup();
  auto next = [&](sys_seconds t, seconds left) {
    return pf::schedule::next_opening(ws, t, left, days{30});
  };
  // Inside the window with exactly an hour before the blackout: now.
  auto exact = next(utc(2026, 3, 8, 0) - hours{1}, hours{1});
  ASSERT_TRUE(exact);
  EXPECT_EQ(*exact, utc(2026, 3, 7, 23));
  // A second more than that: after the backup, Sunday 03:00 (3h left).
  auto later = next(utc(2026, 3, 7, 23), hours{1} + seconds{1});
  ASSERT_TRUE(later);
  EXPECT_EQ(*later, utc(2026, 3, 8, 2));
  // From Tuesday: the next Saturday 20:00.
  auto week = next(utc(2026, 3, 10, 12), hours{2});
  ASSERT_TRUE(week);
  EXPECT_EQ(*week, utc(2026, 3, 14, 19));
  // Four hours fit only before the blackout, from Saturday 20:00 (5h).
  auto four = next(utc(2026, 3, 7, 21), hours{4});
  ASSERT_TRUE(four);
  EXPECT_EQ(*four, utc(2026, 3, 14, 19));
  // Six hours never fit.
  auto six = next(utc(2026, 3, 7, 21), hours{6});
  ASSERT_FALSE(six);
  EXPECT_EQ(six.error().code, pf::Errc::not_found);
  // No maintenance window at all: never open.
  const std::vector<Window> only_blackout{ws[1]};
  EXPECT_FALSE(pf::schedule::next_opening(only_blackout, utc(2026, 3, 7, 21), minutes{1}));
}

TEST(Calendar, BusinessDaysOverAWeekendAndAHoliday) {
  pf::schedule::Calendar cal;
  cal.zone = pf::schedule::Zone::find("America/New_York").value();
  cal.holidays = {year{2026} / November / 26};  // Thanksgiving
  // Wednesday 25 November 10:00 EST + 3: Fri 27, Mon 30, Tue 1 December, 10:00 EST.
  auto soak = pf::schedule::add_business_days(cal, utc(2026, 11, 25, 15), 3);
  ASSERT_TRUE(soak);
  EXPECT_EQ(*soak, utc(2026, 12, 1, 15));
  // Friday 6 March 15:00 EST + 1: Monday 9 March 15:00, now EDT (19:00Z).
  auto monday = pf::schedule::add_business_days(cal, utc(2026, 3, 6, 20), 1);
  ASSERT_TRUE(monday);
  EXPECT_EQ(*monday, utc(2026, 3, 9, 19));
  // Saturday counts from the following days: Saturday 10:00 + 1 is Monday 10:00.
  auto sat = pf::schedule::add_business_days(cal, utc(2026, 5, 2, 14), 1);
  ASSERT_TRUE(sat);
  EXPECT_EQ(*sat, utc(2026, 5, 4, 14));
  EXPECT_EQ(pf::schedule::add_business_days(cal, utc(2026, 5, 2, 14), 0).value(), utc(2026, 5, 2, 14));
  EXPECT_FALSE(pf::schedule::is_business_day(cal, year{2026} / November / 26));
  EXPECT_TRUE(pf::schedule::is_business_day(cal, year{2026} / November / 27));

  // A Friday-Saturday weekend.
  pf::schedule::Calendar gulf;
  gulf.weekend = {Friday, Saturday};
  auto thu = pf::schedule::add_business_days(gulf, utc(2026, 5, 7, 9), 1);  // Thursday
  ASSERT_TRUE(thu);
  EXPECT_EQ(*thu, utc(2026, 5, 10, 9));  // Sunday

  EXPECT_FALSE(pf::schedule::add_business_days(cal, utc(2026, 5, 2, 14), -1));
  pf::schedule::Calendar never;
  never.weekend = {Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday};
  auto none = pf::schedule::add_business_days(never, utc(2026, 5, 2, 14), 1);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().where, "weekend");
}

TEST(Format, LocalTimeAndUtc) {
  const Window w = window("second tuesday 22:00", "6h", "America/New_York");
  const auto o = occ(w, utc(2026, 3, 1, 0), utc(2026, 4, 1, 0));
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(pf::schedule::format_interval(o[0], w.zone),
            "2026-03-10 22:00 EDT - 2026-03-11 04:00 EDT "
            "(2026-03-11T02:00:00Z - 2026-03-11T08:00:00Z)");
  EXPECT_EQ(pf::schedule::format_local(utc(2026, 1, 13, 3, 0) + seconds{5}, w.zone),
            "2026-01-12 22:00:05 EST");
  EXPECT_EQ(pf::schedule::format_utc(utc(2026, 1, 13, 3, 0)), "2026-01-13T03:00:00Z");
}

}  // namespace
