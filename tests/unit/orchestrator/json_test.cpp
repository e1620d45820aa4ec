// SPDX-License-Identifier: Apache-2.0
// JSON round trips of the state and the commands, errors on bad JSON, determinism, chunked
// replay, and the plan projection.
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "patchflow/orchestrator/plan_view.hpp"

namespace pf::orch::test {
namespace {

// A plan using every field: windows in two zones, a calendar, soaks, gates, budgets.
Plan rich_plan() {
  Plan p;
  p.chain = "rich";
  p.chain_revision = 42;
  p.stages.push_back(stage("db", 3));
  p.stages[0].max_parallel = {false, 2};
  p.stages[0].hosts[0].groups = {"dbs", "prod"};
  p.stages[0].hosts[2].window_set = 1;
  p.stages.push_back(stage("app", 4, {"db"}, "stages.db.hosts.all(h, h.post['ok'].passed)"));
  p.stages[1].max_parallel = {true, 25};
  p.stages[1].max_failed = {true, 10};
  p.stages[1].soak = {Soak::Kind::duration, minutes{90}, 0};
  p.stages[1].approval_required = true;
  p.stages[1].expected_duration = minutes{30};
  p.stages[1].host_timeout = hours{3};
  p.stages.push_back(stage("exec", 1, {"app"}));
  p.stages[2].soak = {Soak::Kind::business_days, seconds{0}, 3};
  p.window_sets = {{window("weekdays 22:00", "6h", "America/New_York")},
                   {window("second tuesday +3d 01:30", "2h", "Europe/Berlin"),
                    *schedule::make_window("once 2026-12-24 00:00", "2d", "Europe/Berlin", "blackout")}};
  schedule::Calendar cal;
  cal.zone = *schedule::Zone::find("Europe/Berlin");
  cal.weekend = {std::chrono::Friday, std::chrono::Saturday};
  cal.holidays = {year{2026} / December / day{25}, year{2027} / January / day{1}};
  p.calendar = cal;
  p.group_budgets = {{"dbs", 1}, {"prod", 10}};
  p.emergency = false;
  p.justification = "quarterly \"patch\" run\n";
  return p;
}

// Events of a run that exercises most states, with the time each is fed at.
std::vector<std::pair<Event, Time>> scenario() {
  const Time t0 = utc(2026, 6, 1, 12);
  std::vector<std::pair<Event, Time>> ev;
  ev.push_back({started("r1", rich_plan(), t0), t0});
  ev.push_back({started("r2", rich_plan(), t0), t0});
  ev.push_back({HostProgress{"r1", "db", "db-01", t0 + 1min}, t0 + 1min});
  ev.push_back({finished("r1", "db", "db-01", t0 + 5min, HostOutcomeKind::succeeded,
                         {{"ok", {true, 0}}, {"other", {false, -7}}}), t0 + 5min});
  ev.push_back({finished("r1", "db", "db-02", t0 + 6min, HostOutcomeKind::succeeded, {{"ok", {true, 0}}}),
                t0 + 6min});
  ev.push_back({Pause{"r2", "ops"}, t0 + 7min});
  ev.push_back({finished("r1", "db", "db-99", t0 + 7min), t0 + 7min});
  return ev;
}

State run_scenario(std::vector<Command>* out = nullptr) {
  Driver d;
  for (auto& [e, t] : scenario()) {
    auto c = d.step({e}, t);
    if (out) out->insert(out->end(), c.begin(), c.end());
  }
  return d.state;
}

TEST(Json, StateRoundTripsExactly) {
  const State s = run_scenario();
  ASSERT_EQ(s.runs.size(), 2u);
  EXPECT_EQ(s.runs.at("r1").stages[0].hosts[0].post.at("other").exit_code, -7);
  const std::string text = to_json(s);
  auto back = state_from_json(text);
  ASSERT_TRUE(back) << back.error().where << ": " << back.error().message;
  EXPECT_TRUE(*back == s);
  EXPECT_EQ(to_json(*back), text);
  EXPECT_EQ(back->runs.at("r1").plan.calendar->weekend[0], std::chrono::Friday);
  EXPECT_EQ(back->runs.at("r1").plan.window_sets[1][1].kind, schedule::Kind::blackout);
  // A decision on the read-back state equals one on the original.
  const Time t = utc(2026, 6, 2);
  EXPECT_EQ(to_json(decide(s, {}, t).state), to_json(decide(*back, {}, t).state));
}

TEST(Json, CommandsRoundTrip) {
  std::vector<Command> cmds{
      StartHost{"r1", "db", "db-01", "r1-0-0", utc(2026, 6, 1, 14)},
      CancelHost{"r1", "db-02", "r1-0-1"},
      Log{"r1", "stage app blocked: x → false (\"db-2\")"},
      RunFinished{"r1", RunStatus::halted},
  };
  for (const auto& c : cmds) {
    const std::string text = to_json(c);
    auto back = command_from_json(text);
    ASSERT_TRUE(back) << text << ": " << back.error().message;
    EXPECT_TRUE(*back == c) << text;
    EXPECT_EQ(to_json(*back), text);
  }
  EXPECT_EQ(to_json(cmds[3]), R"({"run_id":"r1","status":"halted","type":"run_finished"})");
}

TEST(Json, BadInputIsAnErrorNamingWhere) {
  struct Case {
    std::string text, where;
  };
  const std::string good = to_json(run_scenario());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  const std::vector<Case> cases{
      {"", "$"},
      {"[1,2", "$"},
      {R"({"version":2,"runs":{}})", "$.version"},
      {R"({"version":1})", "$"},
      {replace(R"("status":"running")", R"("status":"sprinting")"), "$.runs.r1.status"},
      {replace(R"("zone":"America/New_York")", R"("zone":"Mars/Olympus")"),
       "$.runs.r1.plan.window_sets[0][0].zone"},
      {replace(R"("holidays":["2026-12-25")", R"("holidays":["2026-02-30")"),
       "$.runs.r1.plan.calendar.holidays[0]"},
      {replace(R"("max_parallel":{"percent":false,"value":2})", R"("max_parallel":{"percent":false,"value":0})"),
       "$.runs.r1.plan.stages[0].max_parallel"},
  };
  for (const auto& c : cases) {
    auto r = state_from_json(c.text);
    ASSERT_FALSE(r) << c.text.substr(0, 80);
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_EQ(r.error().where, c.where) << r.error().message;
    EXPECT_FALSE(r.error().message.empty());
  }
  EXPECT_FALSE(command_from_json(R"({"type":"reboot_world","run_id":"r"})"));
  EXPECT_FALSE(command_from_json(R"({"type":"log","run_id":7,"line":""})"));
}

TEST(Json, HostListsMustStayParallelToThePlan) {
  State s = run_scenario();
  s.runs.at("r1").stages[2].hosts.pop_back();
  auto r = state_from_json(to_json(s));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "$.runs.r1.stages[2].hosts");
  EXPECT_NE(r.error().message.find("parallel"), std::string::npos) << r.error().message;
  s = run_scenario();
  s.runs.at("r2").stages.pop_back();
  r = state_from_json(to_json(s));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "$.runs.r2.stages");
  // A plan alone round-trips too.
  auto plan = plan_from_json(plan_to_json(rich_plan()));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(*plan == rich_plan());
}

TEST(Decide, IsDeterministic) {
  std::vector<Command> a, b;
  const State s1 = run_scenario(&a);
  const State s2 = run_scenario(&b);
  EXPECT_EQ(to_json(s1), to_json(s2));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(to_json(a[i]), to_json(b[i]));
  EXPECT_FALSE(a.empty());
}

TEST(Decide, ChunkedReplayGivesTheSameResult) {
  // All 2^(n-1) ways of cutting n events into consecutive chunks, fed at one `now`.
  Plan p = rich_plan();
  p.stages[0].hosts[2].window_set = -1;
  p.stages[1].soak = {};
  p.stages[1].approval_required = true;
  const Time now = utc(2026, 6, 1, 12);
  const std::vector<Event> events{
      started("r1", p, now),
      finished("r1", "db", "db-01", now, HostOutcomeKind::succeeded, {{"ok", {true, 0}}}),
      finished("r1", "db", "db-02", now, HostOutcomeKind::succeeded, {{"ok", {true, 0}}}),
      finished("r1", "db", "db-03", now, HostOutcomeKind::succeeded, {{"ok", {true, 0}}}),
      finished("r1", "db", "db-03", now, HostOutcomeKind::failed),  // duplicate
      Approve{"r1", "app", "carol"},
      finished("r1", "app", "app-01", now, HostOutcomeKind::failed),
      Pause{"r1", "ops"},
      finished("r1", "app", "app-02", now),
      Resume{"r1", "ops"},
  };
  auto all = decide(State{}, events, now);
  std::string expected_cmds;
  for (const auto& c : all.commands) expected_cmds += to_json(c) + "\n";
  const std::string expected_state = to_json(all.state);
  EXPECT_EQ(all.state.runs.at("r1").stages[1].approved_by, "carol");
  EXPECT_EQ(all.state.runs.at("r1").stages[1].status, StageStatus::halted);  // 1 > floor(0.4)
  const std::size_t n = events.size();
  for (unsigned mask = 0; mask < (1u << (n - 1)); ++mask) {
    State s;
    std::string cmds;
    std::size_t begin = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i + 1 == n || (mask >> i & 1u)) {
        auto d = decide(s, std::span<const Event>(events).subspan(begin, i + 1 - begin), now);
        s = std::move(d.state);
        for (const auto& c : d.commands) cmds += to_json(c) + "\n";
        begin = i + 1;
      }
    }
    ASSERT_EQ(to_json(s), expected_state) << "cuts " << mask;
    ASSERT_EQ(cmds, expected_cmds) << "cuts " << mask;
  }
}

TEST(Decide, SameHostFinishedTwiceChangesNothingTheSecondTime) {
  const Time t0 = utc(2026, 6, 1, 12);
  Driver d;
  d.step({started("r1", rich_plan(), t0)}, t0);
  const Event f = finished("r1", "db", "db-01", t0, HostOutcomeKind::succeeded, {{"ok", {true, 0}}});
  d.step({f}, t0);
  const std::string once = to_json(d.state);
  auto c = d.step({f}, t0);
  EXPECT_EQ(to_json(d.state), once);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Log>(c[0]));
}

TEST(PlanView, WavesAndNextOpenings) {
  Plan p = rich_plan();
  p.stages[0].hosts[1].window_set = 0;
  p.window_sets.push_back({window("once 2020-01-01 00:00", "1h", "UTC")});
  p.stages[2].hosts[0].window_set = 2;
  // Monday 2026-06-01 12:00 EDT: the weekday window opens 22:00 EDT = 02:00Z.
  const auto v = plan_view(p, utc(2026, 6, 1, 16));
  EXPECT_EQ(v.chain, "rich");
  ASSERT_EQ(v.stages.size(), 3u);
  EXPECT_EQ(v.stages[0].wave_size, 2);
  EXPECT_EQ(v.stages[0].waves, 2);
  EXPECT_EQ(v.stages[0].hosts[0].wave, 1);
  EXPECT_EQ(v.stages[0].hosts[2].wave, 2);
  EXPECT_EQ(v.stages[0].hosts[0].window, "no window restriction");
  EXPECT_EQ(v.stages[0].hosts[1].window, "2026-06-01 22:00 EDT (2026-06-02T02:00:00Z)");
  EXPECT_EQ(v.stages[0].hosts[1].opening, utc(2026, 6, 2, 2));
  // Second Tuesday of June 2026 is the 9th; +3d is Friday the 12th, 01:30 CEST = 23:30Z.
  EXPECT_EQ(v.stages[0].hosts[2].window, "2026-06-12 01:30 CEST (2026-06-11T23:30:00Z)");
  EXPECT_EQ(v.stages[1].wave_size, 1);  // 25% of 4
  EXPECT_EQ(v.stages[1].max_failed, 0);  // floor(10% of 4)
  EXPECT_EQ(v.stages[1].soak, "1h30m");
  EXPECT_EQ(v.stages[1].hosts[3].wave, 4);
  EXPECT_EQ(v.stages[2].soak, "3 business days");
  EXPECT_EQ(v.stages[2].hosts[0].window, "no opening within 400 days");
  EXPECT_FALSE(v.stages[2].hosts[0].opening);
  p.emergency = true;
  EXPECT_EQ(plan_view(p, utc(2026, 6, 1)).stages[2].soak, "3 business days (skipped: emergency)");
}

}  // namespace
}  // namespace pf::orch::test
