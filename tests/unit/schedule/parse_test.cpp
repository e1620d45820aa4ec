// SPDX-License-Identifier: Apache-2.0
// The schedule grammar: every form, the canonical text, errors with their columns, durations,
// kinds and zones.
#include <gtest/gtest.h>

#include <string>

#include "patchflow/schedule/window.hpp"

namespace {

using namespace std::chrono;
using pf::schedule::parse_schedule;
using pf::schedule::Repeat;

TEST(ScheduleParse, EveryFormAndItsCanonicalText) {
  struct Case {
    const char* text;
    const char* canonical;
  };
  const Case cases[] = {
      {"daily 02:00", "daily 02:00"},
      {"weekdays 22:00", "weekdays 22:00"},
      {"weekly mon,wed 01:30", "weekly mon,wed 01:30"},
      {"Weekly Wednesday, MON 1:30", "weekly mon,wed 01:30"},
      {"weekly mon,tue,wed,thu,fri 22:00", "weekdays 22:00"},
      {"monthly 15 03:00", "monthly 15 03:00"},
      {"second tuesday 22:00", "monthly second tuesday 22:00"},
      {"monthly second tuesday 22:00", "monthly second tuesday 22:00"},
      {"last friday 20:00", "monthly last friday 20:00"},
      {"second tuesday +3d 22:00", "monthly second tuesday +3d 22:00"},
      {"2nd tue -2d 06:15", "monthly second tuesday -2d 06:15"},
      {"first monday +0d 00:00", "monthly first monday 00:00"},
      {"once 2026-12-24 20:00", "once 2026-12-24 20:00"},
      {"  daily\t23:59  ", "daily 23:59"},
  };
  for (const auto& c : cases) {
    auto s = parse_schedule(c.text);
    ASSERT_TRUE(s.has_value()) << c.text << ": " << s.error().where << " " << s.error().message;
    EXPECT_EQ(pf::schedule::to_string(*s), c.canonical) << c.text;
    auto again = parse_schedule(pf::schedule::to_string(*s));
    ASSERT_TRUE(again.has_value()) << c.canonical;
    EXPECT_EQ(*again, *s) << c.canonical;
  }
}

TEST(ScheduleParse, Fields) {
  auto s = parse_schedule("second tuesday +3d 22:00");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->repeat, Repeat::monthly_weekday);
  EXPECT_EQ(s->nth, 2u);
  EXPECT_EQ(s->weekday, Tuesday);
  EXPECT_EQ(s->offset_days, 3);
  EXPECT_EQ(s->at, hours{22});

  auto last = parse_schedule("last friday 20:00");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->nth, pf::schedule::kLast);
  EXPECT_EQ(last->weekday, Friday);

  auto weekdays = parse_schedule("weekdays 22:00");
  ASSERT_TRUE(weekdays);
  EXPECT_EQ(weekdays->repeat, Repeat::weekly);
  EXPECT_EQ(weekdays->days, (std::vector<weekday>{Monday, Tuesday, Wednesday, Thursday, Friday}));

  auto once = parse_schedule("once 2026-12-24 20:00");
  ASSERT_TRUE(once);
  EXPECT_EQ(once->date, year{2026} / December / 24);
  EXPECT_EQ(once->at, hours{20});

  auto monthly = parse_schedule("monthly 15 03:00");
  ASSERT_TRUE(monthly);
  EXPECT_EQ(monthly->day_of_month, 15u);
}

TEST(ScheduleParse, ErrorsNameTheColumnAndWhatWasExpected) {
  struct Case {
    std::string text;
    const char* where;
    const char* expected;  // part of the message
  };
  const Case cases[] = {
      {"", "column 1", "expected daily, weekdays"},
      {"fortnightly 02:00", "column 1", "found 'fortnightly'"},
      {"daily", "column 6", "found end of text"},
      {"daily 25:00", "column 7", "a time of day HH:MM"},
      {"daily 02:60", "column 7", "a time of day HH:MM"},
      {"daily 2:5", "column 7", "a time of day HH:MM"},
      {"daily 02:00 extra", "column 13", "the end of the schedule"},
      {"weekly mon,funday 01:30", "column 12", "a weekday"},
      {"weekly mon, 01:00", "column 13", "a weekday"},
      {"weekly mon,mon 01:00", "column 12", "listed twice"},
      {"monthly 32 03:00", "column 9", "a day of the month (1 to 31)"},
      {"monthly 0 03:00", "column 9", "a day of the month"},
      {"second tuesday +40d 22:00", "column 16", "a day offset"},
      {"second tuesday +3 22:00", "column 16", "a day offset"},
      {"second tuesdai 22:00", "column 8", "a weekday"},
      {"once 2026-02-30 20:00", "column 6", "a date that exists"},
      {"once 26-12-24 20:00", "column 6", "a date YYYY-MM-DD"},
      {"once 2600-01-01 20:00", "column 6", "years 1900 to 2399"},
      {"daily 02:00\x01", "column 7", "a time of day"},
      {std::string(300, 'a'), "column 257", "longer than 256 bytes"},
  };
  for (const auto& c : cases) {
    auto s = parse_schedule(c.text);
    ASSERT_FALSE(s.has_value()) << c.text;
    EXPECT_EQ(s.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(s.error().where, c.where) << c.text << ": " << s.error().message;
    EXPECT_NE(s.error().message.find(c.expected), std::string::npos)
        << c.text << ": " << s.error().message;
  }
}

TEST(ScheduleParse, Durations) {
  using pf::schedule::parse_duration;
  EXPECT_EQ(parse_duration("6h").value(), hours{6});
  EXPECT_EQ(parse_duration("90m").value(), minutes{90});
  EXPECT_EQ(parse_duration("1d12h").value(), hours{36});
  EXPECT_EQ(parse_duration("2h30m").value(), minutes{150});
  EXPECT_EQ(parse_duration("1m").value(), minutes{1});
  EXPECT_EQ(parse_duration("31d").value(), days{31});
  for (const char* bad : {"", "0m", "32d", "31d1m", "h6", "6x", "30m1h", "6h6h", "6", "-1h",
                          "9999999h", "6 h"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d.has_value()) << bad;
    EXPECT_EQ(d.error().where, "duration");
    EXPECT_NE(d.error().message.find("expected a duration"), std::string::npos);
  }
  EXPECT_EQ(pf::schedule::format_duration(minutes{90}), "1h30m");
  EXPECT_EQ(pf::schedule::format_duration(hours{48}), "2d");
}

TEST(ScheduleParse, WindowFieldsAndZones) {
  auto w = pf::schedule::make_window("second tuesday 22:00", "6h", "America/New_York", "maintenance");
  ASSERT_TRUE(w.has_value()) << w.error().message;
  EXPECT_EQ(w->zone.name(), "America/New_York");
  EXPECT_EQ(w->duration, hours{6});
  EXPECT_EQ(w->kind, pf::schedule::Kind::maintenance);

  auto zone = pf::schedule::make_window("daily 01:00", "2h", "Mars/Olympus_Mons", "blackout");
  ASSERT_FALSE(zone);
  EXPECT_EQ(zone.error().where, "zone");
  EXPECT_NE(zone.error().message.find("unknown time zone 'Mars/Olympus_Mons'"), std::string::npos);

  for (const char* bad : {"", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "Europe/Berlin\n"}) {
    auto z = pf::schedule::Zone::find(bad);
    ASSERT_FALSE(z) << bad;
    EXPECT_EQ(z.error().where, "zone");
  }

  auto schedule = pf::schedule::make_window("daily 24:00", "2h", "UTC", "blackout");
  ASSERT_FALSE(schedule);
  EXPECT_EQ(schedule.error().where, "schedule column 7");

  auto kind = pf::schedule::make_window("daily 01:00", "2h", "UTC", "freeze");
  ASSERT_FALSE(kind);
  EXPECT_EQ(kind.error().where, "kind");

  auto duration = pf::schedule::make_window("daily 01:00", "forever", "UTC", "blackout");
  ASSERT_FALSE(duration);
  EXPECT_EQ(duration.error().where, "duration");
}

}  // namespace
