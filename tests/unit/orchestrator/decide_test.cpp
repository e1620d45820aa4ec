// SPDX-License-Identifier: Apache-2.0
// decide(): stages, waves, gates, failure thresholds, group budgets, windows, soaks,
// approvals, pause/resume/cancel, timeouts and ignored events.
#include <gtest/gtest.h>

#include "fixtures.hpp"

namespace pf::orch::test {
namespace {

const std::string kGate = "stages.db.hosts.all(h, h.post['db-healthy'].passed)";

// db (2 hosts, one at a time) -> app (4 hosts, waves of 2, gate on db's post) -> web (8 hosts,
// waves of 25%).
Plan three_tier() {
  Plan p;
  p.chain = "three-tier";
  p.chain_revision = 3;
  p.stages.push_back(stage("db", 2));
  p.stages.push_back(stage("app", 4, {"db"}, kGate));
  p.stages.back().max_parallel = {false, 2};
  p.stages.push_back(stage("web", 8, {"app"}, "stages.app.success_ratio >= 0.75"));
  p.stages.back().max_parallel = {true, 25};
  return p;
}

std::map<std::string, cel::PostResult> healthy(bool ok) { return {{"db-healthy", {ok, ok ? 0 : 3}}}; }

TEST(Limits, ResolveAgainstHostCount) {
  EXPECT_EQ(resolve_parallel({true, 25}, 8), 2);
  EXPECT_EQ(resolve_parallel({true, 25}, 5), 2);  // ceil(1.25)
  EXPECT_EQ(resolve_parallel({true, 10}, 3), 1);  // ceil(0.3)
  EXPECT_EQ(resolve_parallel({true, 1}, 0), 1);   // at least 1
  EXPECT_EQ(resolve_parallel({false, 3}, 100), 3);
  EXPECT_EQ(resolve_failed({true, 10}, 19), 1);   // floor(1.9)
  EXPECT_EQ(resolve_failed({true, 10}, 9), 0);
  EXPECT_EQ(resolve_failed({false, 2}, 9), 2);
}

TEST(Decide, ThreeTierRunsInWavesAndSucceeds) {
  const Time t0 = utc(2026, 6, 1, 10);
  Driver d;
  auto c = d.step({started("r1", three_tier(), t0)}, t0);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"db-01"}));
  ASSERT_EQ(std::get<StartHost>(c[2]).job_run_id, "r1-0-0") << all_logs(c);
  EXPECT_EQ(std::get<StartHost>(c[2]).deadline, t0 + hours{2});
  EXPECT_TRUE(has_log(c, "stage db: wave 1 started: db-01")) << all_logs(c);
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::pending);

  c = d.step({finished("r1", "db", "db-01", t0 + 10min, HostOutcomeKind::succeeded, healthy(true))},
             t0 + 10min);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"db-02"}));
  EXPECT_TRUE(has_log(c, "stage db: wave 2 started: db-02")) << all_logs(c);

  c = d.step({finished("r1", "db", "db-02", t0 + 20min, HostOutcomeKind::succeeded, healthy(true))},
             t0 + 20min);
  EXPECT_EQ(d.stage("r1", 0).status, StageStatus::succeeded);
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::running);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"app-01", "app-02"}));
  EXPECT_EQ(d.stage("r1", 1).wave, 1);

  // Wave 2 of app waits for both hosts of wave 1.
  c = d.step({finished("r1", "app", "app-01", t0 + 30min)}, t0 + 30min);
  EXPECT_TRUE(starts(c).empty());
  c = d.step({finished("r1", "app", "app-02", t0 + 31min)}, t0 + 31min);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"app-03", "app-04"}));
  EXPECT_EQ(d.stage("r1", 1).wave, 2);
  EXPECT_EQ(d.stage("r1", 1).hosts[2].job_run_id, "r1-1-2");
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::running);
}

TEST(Decide, ThreeTierWithToleranceSucceedsEndToEnd) {
  Plan p = three_tier();
  p.stages[1].max_failed = {true, 25};  // floor(1) of 4
  const Time t0 = utc(2026, 6, 1, 10);
  Driver d;
  d.step({started("r1", p, t0)}, t0);
  Time t = t0;
  auto finish = [&](const std::string& s, const std::string& h, HostOutcomeKind k = HostOutcomeKind::succeeded) {
    t += 1min;
    return d.step({finished("r1", s, h, t, k, healthy(true))}, t);
  };
  finish("db", "db-01");
  finish("db", "db-02");
  finish("app", "app-01");
  auto c = finish("app", "app-02", HostOutcomeKind::rolled_back);
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::running);  // 1 failure <= floor(25% of 4)
  finish("app", "app-03");
  c = finish("app", "app-04");
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::succeeded);
  // web: 8 hosts in waves of 25% = 2, the gate success_ratio 0.75 >= 0.75 holds.
  EXPECT_EQ(starts(c), (std::vector<std::string>{"web-01", "web-02"}));
  for (int wave = 0; wave < 4; ++wave) {
    for (int i = 1; i <= 2; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "web-%02d", wave * 2 + i);
      EXPECT_EQ(d.stage("r1", 2).hosts[static_cast<std::size_t>(wave * 2 + i - 1)].wave, wave);
      c = finish("web", id);
    }
    if (wave < 3) {
      EXPECT_EQ(starts(c).size(), 2u) << wave;
    }
  }
  EXPECT_EQ(d.run("r1").status, RunStatus::succeeded);
  EXPECT_EQ(finished_status(c), RunStatus::succeeded);
  EXPECT_TRUE(has_log(c, "run finished: succeeded"));
}

TEST(Decide, FalseGateBlocksWithExplanationAndSkipsDependents) {
  const Time t0 = utc(2026, 6, 1, 10);
  Driver d;
  d.step({started("r1", three_tier(), t0)}, t0);
  d.step({finished("r1", "db", "db-01", t0, HostOutcomeKind::succeeded, healthy(true))}, t0);
  auto c = d.step({finished("r1", "db", "db-02", t0, HostOutcomeKind::succeeded, healthy(false))}, t0);
  const auto& app = d.stage("r1", 1);
  EXPECT_EQ(app.status, StageStatus::blocked);
  ASSERT_EQ(app.explanation.size(), 1u);
  EXPECT_NE(app.explanation[0].find(kGate + " → false"), std::string::npos) << app.explanation[0];
  EXPECT_NE(app.explanation[0].find("db-02"), std::string::npos) << app.explanation[0];
  EXPECT_TRUE(has_log(c, "stage app blocked: " + kGate + " → false")) << all_logs(c);
  EXPECT_EQ(d.stage("r1", 2).status, StageStatus::skipped);
  EXPECT_EQ(d.stage("r1", 2).why, "dependency app blocked");
  EXPECT_EQ(d.host("r1", 2, 0), HostStatus::not_started);
  EXPECT_EQ(d.host("r1", 1, 0), HostStatus::not_started);
  EXPECT_EQ(d.run("r1").status, RunStatus::blocked);
  EXPECT_EQ(finished_status(c), RunStatus::blocked);
  EXPECT_TRUE(starts(c).empty());
}

TEST(Decide, MaxFailedZeroHaltsAfterFirstFailure) {
  Plan p;
  p.chain = "halt";
  p.stages.push_back(stage("web", 3));
  p.stages[0].max_parallel = {false, 2};
  p.stages.push_back(stage("app", 1, {"web"}));
  p.stages.push_back(stage("exec", 1, {"app"}));
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  auto c = d.step({started("r1", p, t0)}, t0);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"web-01", "web-02"}));
  c = d.step({finished("r1", "web", "web-01", t0 + 1min, HostOutcomeKind::failed)}, t0 + 1min);
  EXPECT_EQ(d.stage("r1", 0).status, StageStatus::halted);
  EXPECT_TRUE(has_log(c, "chain halted: stage web failed 1 > max_failed 0")) << all_logs(c);
  EXPECT_EQ(d.host("r1", 0, 1), HostStatus::dispatched);  // in work, may finish
  EXPECT_EQ(d.host("r1", 0, 2), HostStatus::not_started);
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::skipped);
  EXPECT_EQ(d.stage("r1", 2).status, StageStatus::skipped);  // transitively
  EXPECT_EQ(d.stage("r1", 2).why, "dependency app skipped");
  EXPECT_EQ(d.run("r1").status, RunStatus::running);  // web-02 still in work
  EXPECT_FALSE(finished_status(c));
  c = d.step({finished("r1", "web", "web-02", t0 + 2min)}, t0 + 2min);
  EXPECT_EQ(d.host("r1", 0, 1), HostStatus::succeeded);  // recorded
  EXPECT_EQ(d.run("r1").status, RunStatus::halted);
  EXPECT_EQ(finished_status(c), RunStatus::halted);
}

TEST(Decide, SkippedHostsCountNeitherWay) {
  Plan p;
  p.chain = "skip";
  p.stages.push_back(stage("s", 2));
  p.stages[0].max_parallel = {false, 2};
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  d.step({started("r1", p, t0)}, t0);
  d.step({finished("r1", "s", "s-01", t0, HostOutcomeKind::skipped)}, t0);
  auto c = d.step({finished("r1", "s", "s-02", t0)}, t0);
  EXPECT_EQ(d.stage("r1", 0).status, StageStatus::succeeded);
  EXPECT_EQ(finished_status(c), RunStatus::succeeded);
}

TEST(Decide, GroupBudgetHoldsAcrossConcurrentRuns) {
  Plan p;
  p.chain = "budget";
  p.stages.push_back(stage("s", 2));
  p.stages[0].max_parallel = {false, 2};
  for (auto& h : p.stages[0].hosts) h.groups = {"dbs", "prod"};
  p.group_budgets = {{"dbs", 1}};
  Plan q = p;
  for (auto& h : q.stages[0].hosts) h.id = "q" + h.id;
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  auto c = d.step({started("r1", p, t0), started("r2", q, t0)}, t0);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"s-01"}));
  EXPECT_EQ(d.stage("r1", 0).hosts[1].waiting, "group budget dbs: 1 of 1 in work");
  EXPECT_EQ(d.stage("r2", 0).hosts[0].waiting, "group budget dbs: 1 of 1 in work");
  EXPECT_TRUE(has_log(c, "stage s: qs-01 waits (group budget dbs: 1 of 1 in work)")) << all_logs(c);
  // Nothing changes with time alone, and the wait is not logged again.
  c = d.step({}, t0 + 1min);
  EXPECT_TRUE(c.empty()) << all_logs(c);
  // One finishes: exactly one more starts (run ids in order: r1 first).
  c = d.step({finished("r1", "s", "s-01", t0 + 2min)}, t0 + 2min);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"s-02"}));
  c = d.step({finished("r1", "s", "s-02", t0 + 3min)}, t0 + 3min);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"qs-01"}));
  EXPECT_EQ(d.run("r1").status, RunStatus::succeeded);
}

TEST(Decide, HostWaitsForItsWindowWithExpectedDurationLeft) {
  Plan p;
  p.chain = "windows";
  p.stages.push_back(stage("db", 1));
  p.stages[0].hosts[0].window_set = 0;
  p.stages[0].expected_duration = hours{1};
  p.window_sets = {{window("daily 22:00", "6h", "America/New_York")}};
  // 2026-06-10 12:00 EDT = 16:00Z; the window opens 22:00 EDT = 02:00Z on the 11th.
  const Time t0 = utc(2026, 6, 10, 16);
  Driver d;
  auto c = d.step({started("r1", p, t0)}, t0);
  EXPECT_TRUE(starts(c).empty());
  EXPECT_EQ(d.stage("r1", 0).status, StageStatus::waiting_window);
  EXPECT_EQ(d.stage("r1", 0).next_opening, utc(2026, 6, 11, 2));
  EXPECT_TRUE(has_log(c, "db-01 waits (window: next opening 2026-06-10 22:00 EDT (2026-06-11T02:00:00Z))"))
      << all_logs(c);
  c = d.step({}, utc(2026, 6, 11, 1, 59, 59));
  EXPECT_TRUE(c.empty()) << all_logs(c);
  c = d.step({}, utc(2026, 6, 11, 2));
  EXPECT_EQ(starts(c), (std::vector<std::string>{"db-01"}));
  EXPECT_EQ(d.stage("r1", 0).status, StageStatus::running);
  EXPECT_FALSE(d.stage("r1", 0).next_opening);
}

TEST(Decide, NoStartWhenTooLittleOfTheWindowIsLeft) {
  Plan p;
  p.chain = "windows";
  p.stages.push_back(stage("db", 1));
  p.stages[0].hosts[0].window_set = 0;
  p.stages[0].expected_duration = hours{1};
  p.window_sets = {{window("daily 22:00", "6h", "America/New_York")}};
  // 03:30 EDT: the window is open until 04:00, 30 minutes, less than the hour expected.
  const Time t = utc(2026, 6, 11, 7, 30);
  Driver d;
  auto c = d.step({started("r1", p, t)}, t);
  EXPECT_TRUE(starts(c).empty());
  EXPECT_EQ(d.stage("r1", 0).next_opening, utc(2026, 6, 12, 2));
  // 03:00 EDT: exactly one hour left is enough.
  Driver e;
  c = e.step({started("r1", p, utc(2026, 6, 11, 7))}, utc(2026, 6, 11, 7));
  EXPECT_EQ(starts(c), (std::vector<std::string>{"db-01"}));
}

TEST(Decide, WindowOpeningFollowsDaylightSavingTime) {
  Plan p;
  p.chain = "dst";
  p.stages.push_back(stage("db", 1));
  p.stages[0].hosts[0].window_set = 0;
  p.window_sets = {{window("daily 22:00", "6h", "America/New_York")}};
  // New York springs forward on 2026-03-08: 22:00 is 03:00Z on the 7th (EST) but 02:00Z on
  // the evening of the 8th (EDT).
  const Time t0 = utc(2026, 3, 8, 12);
  Driver d;
  auto c = d.step({started("r1", p, t0)}, t0);
  EXPECT_EQ(d.stage("r1", 0).next_opening, utc(2026, 3, 9, 2));
  EXPECT_TRUE(has_log(c, "2026-03-08 22:00 EDT (2026-03-09T02:00:00Z)")) << all_logs(c);
  EXPECT_TRUE(starts(d.step({}, utc(2026, 3, 9, 1, 59))).empty());
  EXPECT_EQ(starts(d.step({}, utc(2026, 3, 9, 2))), (std::vector<std::string>{"db-01"}));
}

Plan soaked(bool emergency) {
  Plan p;
  p.chain = "soak";
  p.stages.push_back(stage("db", 1));
  p.stages.push_back(stage("app", 1, {"db"}));
  p.stages[1].soak = {Soak::Kind::business_days, seconds{0}, 2};
  schedule::Calendar cal;
  cal.holidays = {year{2026} / December / day{25}};
  p.calendar = cal;
  p.emergency = emergency;
  if (emergency) p.justification = "CVE-2026-1234 exploited in the wild";
  return p;
}

TEST(Decide, SoakOfBusinessDaysSpansWeekendAndHoliday) {
  // db finishes Thursday 2026-12-24 10:00Z; Friday 25 is a holiday, 26-27 the weekend: two
  // business days later is Tuesday 29 10:00Z.
  const Time t0 = utc(2026, 12, 24, 9);
  const Time done = utc(2026, 12, 24, 10);
  Driver d;
  d.step({started("r1", soaked(false), t0)}, t0);
  auto c = d.step({finished("r1", "db", "db-01", done)}, done);
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::waiting_soak);
  EXPECT_EQ(d.stage("r1", 1).soak_until, utc(2026, 12, 29, 10));
  EXPECT_TRUE(has_log(c, "stage app: soak until 2026-12-29T10:00:00Z")) << all_logs(c);
  for (Time t = done; t < utc(2026, 12, 29, 10); t += hours{6}) {
    c = d.step({}, t);
    EXPECT_TRUE(c.empty()) << all_logs(c);
    EXPECT_EQ(d.stage("r1", 1).status, StageStatus::waiting_soak);
  }
  EXPECT_TRUE(d.step({}, utc(2026, 12, 29, 9, 59, 59)).empty());
  c = d.step({}, utc(2026, 12, 29, 10));
  EXPECT_EQ(starts(c), (std::vector<std::string>{"app-01"}));
}

TEST(Decide, EmergencySkipsSoakAndLogsTheJustification) {
  const Time t0 = utc(2026, 12, 24, 9);
  Driver d;
  d.step({started("r1", soaked(true), t0)}, t0);
  auto c = d.step({finished("r1", "db", "db-01", t0)}, t0);
  EXPECT_TRUE(has_log(c, "emergency run: soak of stage app skipped (justification: "
                         "CVE-2026-1234 exploited in the wild)"))
      << all_logs(c);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"app-01"}));
  EXPECT_FALSE(d.stage("r1", 1).soak_until);
}

TEST(Decide, ApprovalWaitsAndRecordsWhoApproved) {
  Plan p;
  p.chain = "approve";
  p.stages.push_back(stage("db", 1));
  p.stages.push_back(stage("app", 1, {"db"}));
  p.stages[1].approval_required = true;
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  d.step({started("r1", p, t0)}, t0);
  // Approving a stage that is not waiting is ignored.
  auto c = d.step({Approve{"r1", "app", "bob"}}, t0);
  EXPECT_TRUE(has_log(c, "Approve ignored: stage app is pending, not waiting_approval")) << all_logs(c);
  EXPECT_TRUE(d.stage("r1", 1).approved_by.empty());
  c = d.step({finished("r1", "db", "db-01", t0)}, t0);
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::waiting_approval);
  EXPECT_TRUE(has_log(c, "stage app waits for approval"));
  EXPECT_TRUE(d.step({}, t0 + hours{48}).empty());
  c = d.step({Approve{"r1", "app", "carol"}}, t0 + hours{49});
  EXPECT_EQ(d.stage("r1", 1).approved_by, "carol");
  EXPECT_EQ(starts(c), (std::vector<std::string>{"app-01"}));
  EXPECT_TRUE(has_log(c, "stage app approved by carol"));
  c = d.step({Approve{"r1", "app", "dave"}}, t0 + hours{50});
  EXPECT_EQ(d.stage("r1", 1).approved_by, "carol");
  EXPECT_TRUE(has_log(c, "Approve ignored"));
}

TEST(Decide, PauseStopsNewStartsResumeContinuesCancelStopsAll) {
  Plan p;
  p.chain = "prc";
  p.stages.push_back(stage("s", 3));
  p.stages.push_back(stage("t", 1, {"s"}));
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  d.step({started("r1", p, t0)}, t0);
  auto c = d.step({Pause{"r1", "bob"}, finished("r1", "s", "s-01", t0)}, t0);
  EXPECT_EQ(d.run("r1").status, RunStatus::paused);
  EXPECT_EQ(d.host("r1", 0, 0), HostStatus::succeeded);  // in-work host recorded
  EXPECT_TRUE(starts(c).empty());
  EXPECT_TRUE(has_log(c, "run paused by bob"));
  EXPECT_TRUE(d.step({}, t0 + hours{1}).empty());
  c = d.step({Pause{"r1", "bob"}}, t0 + hours{1});
  EXPECT_TRUE(has_log(c, "Pause ignored: run is paused"));
  c = d.step({Resume{"r1", "bob"}}, t0 + hours{2});
  EXPECT_EQ(starts(c), (std::vector<std::string>{"s-02"}));
  EXPECT_EQ(d.run("r1").status, RunStatus::running);
  c = d.step({Cancel{"r1", "carol", "change freeze"}}, t0 + hours{3});
  EXPECT_EQ(cancels(c), (std::vector<std::string>{"s-02"}));
  EXPECT_EQ(std::get<CancelHost>(c[0]).job_run_id, "r1-0-1");
  EXPECT_EQ(d.host("r1", 0, 1), HostStatus::canceled);
  EXPECT_EQ(d.host("r1", 0, 2), HostStatus::canceled);
  EXPECT_EQ(d.stage("r1", 0).status, StageStatus::canceled);
  EXPECT_EQ(d.stage("r1", 1).status, StageStatus::canceled);
  EXPECT_EQ(d.run("r1").status, RunStatus::canceled);
  EXPECT_EQ(finished_status(c), RunStatus::canceled);
  EXPECT_TRUE(has_log(c, "run canceled by carol: change freeze"));
  // A late report and a second cancel change nothing.
  const std::string before = to_json(d.state);
  c = d.step({finished("r1", "s", "s-02", t0 + hours{4}), Cancel{"r1", "carol", ""}}, t0 + hours{4});
  EXPECT_EQ(to_json(d.state), before);
  EXPECT_EQ(logs(c).size(), 2u);
  EXPECT_TRUE(has_log(c, "HostFinished ignored: run already canceled"));
}

TEST(Decide, SilentHostTimesOutAndIsCanceled) {
  Plan p;
  p.chain = "timeout";
  p.stages.push_back(stage("s", 1));
  p.stages[0].host_timeout = hours{1};
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  d.step({started("r1", p, t0)}, t0);
  EXPECT_TRUE(d.step({HostProgress{"r1", "s", "s-01", t0 + 50min}}, t0 + 50min).empty());
  EXPECT_TRUE(d.step({}, t0 + 1h + 49min).empty());  // progress reset the timeout
  auto c = d.step({}, t0 + 1h + 50min);
  EXPECT_EQ(d.host("r1", 0, 0), HostStatus::timed_out);
  EXPECT_EQ(cancels(c), (std::vector<std::string>{"s-01"}));
  EXPECT_TRUE(has_log(c, "stage s: host s-01 timed out")) << all_logs(c);
  EXPECT_EQ(d.stage("r1", 0).status, StageStatus::halted);  // timed_out counts as failed
  EXPECT_EQ(finished_status(c), RunStatus::halted);
}

TEST(Decide, UnknownAndDuplicateEventsAreIgnoredAndLogged) {
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  d.step({started("r1", three_tier(), t0)}, t0);
  d.step({finished("r1", "db", "db-01", t0, HostOutcomeKind::succeeded, healthy(true))}, t0);
  const std::string before = to_json(d.state);
  const std::vector<Event> junk{
      finished("r1", "db", "db-01", t0, HostOutcomeKind::failed),  // duplicate
      finished("nope", "db", "db-01", t0),
      finished("r1", "dbx", "db-01", t0),
      finished("r1", "db", "db-99", t0),
      finished("r1", "app", "app-01", t0),  // not dispatched
      HostProgress{"r1", "db", "db-01", t0},
      Approve{"r1", "nope", "bob"},
      Resume{"r1", "bob"},
      Pause{"zzz", "bob"},
      started("r1", three_tier(), t0),
  };
  auto c = d.step(junk, t0);
  EXPECT_EQ(to_json(d.state), before);
  ASSERT_EQ(c.size(), junk.size()) << all_logs(c);
  for (const auto& line : logs(c)) EXPECT_NE(line.find(" ignored: "), std::string::npos) << line;
  EXPECT_TRUE(has_log(c, "HostFinished ignored: host db-01 of stage db is succeeded, not dispatched"));
  EXPECT_TRUE(has_log(c, "HostFinished ignored: unknown run"));
  EXPECT_TRUE(has_log(c, "HostFinished ignored: unknown stage 'dbx'"));
  EXPECT_TRUE(has_log(c, "HostFinished ignored: unknown host 'db-99' in stage db"));
  EXPECT_TRUE(has_log(c, "ChainStarted ignored: run already exists"));
}

TEST(Decide, InvalidPlanEndsTheRunFailed) {
  Plan p = three_tier();
  p.stages[1].when = "stages.web.total > 0";  // web is not a dependency of app
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  auto c = d.step({started("r1", p, t0)}, t0);
  EXPECT_EQ(d.run("r1").status, RunStatus::failed);
  EXPECT_NE(d.run("r1").reason.find("stages[1].when"), std::string::npos) << d.run("r1").reason;
  EXPECT_EQ(finished_status(c), RunStatus::failed);
  EXPECT_TRUE(starts(c).empty());
  EXPECT_EQ(remove_finished(d.state), 1u);
  EXPECT_TRUE(d.state.runs.empty());
}

TEST(Validate, RejectsBrokenPlans) {
  auto err = [](auto mutate) {
    Plan p = three_tier();
    mutate(p);
    auto r = validate(p);
    return r ? std::string("ok") : r.error().where + ": " + r.error().message;
  };
  EXPECT_EQ(err([](Plan&) {}), "ok");
  EXPECT_EQ(err([](Plan& p) { p.stages[0].after = {"web"}; }).substr(0, 16), "stages[0].after:");
  EXPECT_NE(err([](Plan& p) { p.stages[0].after = {"web"}; }).find("cycle"), std::string::npos);
  EXPECT_NE(err([](Plan& p) { p.stages[1].after = {"nope"}; }).find("unknown stage 'nope'"), std::string::npos);
  EXPECT_NE(err([](Plan& p) { p.stages[2].name = "db"; }).find("duplicate stage"), std::string::npos);
  EXPECT_NE(err([](Plan& p) { p.stages[1].max_parallel = {true, 0}; }).find("max_parallel"), std::string::npos);
  EXPECT_NE(err([](Plan& p) { p.stages[1].max_failed = {false, -1}; }).find("max_failed"), std::string::npos);
  EXPECT_NE(err([](Plan& p) { p.stages[1].hosts[0].window_set = 0; }).find("out of range"), std::string::npos);
  EXPECT_NE(err([](Plan& p) { p.stages[1].when = "stages.db.total +"; }).find("stages[1].when:1:"), std::string::npos);
  EXPECT_NE(err([](Plan& p) { p.stages[1].when = "stages.db.total"; }).find("stages[1].when"), std::string::npos);
  EXPECT_NE(err([](Plan& p) { p.stages[0].hosts[1].id = "db-01"; }).find("listed twice"), std::string::npos);
  // web's gate may read db: a transitive dependency.
  EXPECT_EQ(err([](Plan& p) { p.stages[2].when = "stages.db.failed == 0"; }), "ok");
}

TEST(Decide, StageWithoutHostsSucceeds) {
  Plan p;
  p.chain = "empty";
  p.stages.push_back(stage("none", 0));
  p.stages.push_back(stage("s", 1, {"none"}, "stages.none.success_ratio == 1.0"));
  const Time t0 = utc(2026, 6, 1);
  Driver d;
  auto c = d.step({started("r1", p, t0)}, t0);
  EXPECT_EQ(d.stage("r1", 0).status, StageStatus::succeeded);
  EXPECT_EQ(starts(c), (std::vector<std::string>{"s-01"}));
}

}  // namespace
}  // namespace pf::orch::test
