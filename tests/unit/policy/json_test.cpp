// SPDX-License-Identifier: Apache-2.0
// The stored form: every kind round-trips exactly through canonical JSON (where included);
// from_json refuses what is not the stored form; diff lines for the audit log.
#include <gtest/gtest.h>

#include <string>

#include "patchflow/policy/document.hpp"

namespace {

using pf::policy::diff;
using pf::policy::from_json;
using pf::policy::parse_documents;
using pf::policy::to_json;

const char* kAll = R"(apiVersion: patchflow/v1
kind: Baseline
metadata: {name: b, labels: {env: prod, tier: web}}
spec: {classifications: [security, enhancement], min_severity: medium, auto_approve_after: 36h,
       kev_only: true, approve: [DSA-1-1], reject: [CVE-2024-2], holds: ["openssl*"], exclude: [kernel]}
---
apiVersion: patchflow/v1
kind: Group
metadata: {name: g}
spec: {selector: "tier in (web,app),!legacy", hosts: [h1], budget: {max_in_work: "25%"}, windows: [w]}
---
apiVersion: patchflow/v1
kind: Window
metadata: {name: w}
spec: {kind: blackout, schedule: "second tuesday +3d 22:00", duration: 1d12h, timezone: America/New_York}
---
apiVersion: patchflow/v1
kind: Window
metadata: {name: cal}
spec: {kind: calendar, timezone: Europe/Berlin, weekend: [fri], holidays: [2026-12-25]}
---
apiVersion: patchflow/v1
kind: Chain
metadata: {name: c}
spec:
  patches: {baseline: b}
  window: {schedule: "weekdays 22:00", duration: 6h, timezone: UTC}
  windows: [w]
  calendar: cal
  emergency: {allowed: true}
  stages:
    - name: db
      targets: {selector: "tier=db", group: g, hosts: [h9]}
      rollout: {max_parallel: 2, max_failed: "10%"}
      preconditions:
        - {check: disk_free, path: /var, min_free_mb: 500}
        - {check: port_open, host: localhost, port: 5432, timeout: 10s}
        - {check: http_ok, url: "http://localhost/health", expect_status: 200}
        - {check: service_active, unit: postgresql.service}
        - {check: process_absent, process: backup}
        - {check: uptime_min, seconds: 600}
        - {check: on_ac_power}
        - {check: file_present, path: /etc/ready, name: ready}
        - {run: [/bin/true], allowed_exit: [0, 1]}
      retry: {interval: 90s, for: 2h}
      pre: [{run: "systemctl stop app", timeout: 5m}]
      post: [{name: db-healthy, run: "true"}, {name: svc, check: service_active, unit: pg}]
      reboot: always
      health: {probes: [{name: web, url: "https://localhost/", expect_status: 204, timeout: 5s}, {name: sh, run: [/bin/true], allowed_exit: [0, 2]}]}
      soak: 1 business day
      approval: {required: true}
      timeout: 90m
      expected_duration: 45m
    - name: web
      after: [db]
      when: "stages.db.success_ratio >= 0.95"
      targets: {group: g}
      soak: 2h
)";

TEST(PolicyJson, EveryKindRoundTripsExactly) {
  auto docs = parse_documents(kAll, "all.yaml");
  ASSERT_TRUE(docs) << docs.error().where << " " << docs.error().message;
  ASSERT_EQ(docs->size(), 5u);
  for (const auto& d : *docs) {
    const std::string j = to_json(d);
    auto back = from_json(j);
    ASSERT_TRUE(back) << j << "\n" << back.error().where << " " << back.error().message;
    EXPECT_EQ(*back, d) << j;
    EXPECT_EQ(to_json(*back), j);
    EXPECT_TRUE(diff(j, to_json(*back)).empty());
  }
  EXPECT_EQ((*docs)[4].where, "all.yaml:22");
  const std::string gj = to_json((*docs)[1]);
  EXPECT_EQ(gj,
            R"({"kind":"Group","labels":{},"name":"g","spec":{"budget":"25%","hosts":["h1"],)"
            R"("selector":"tier in (app,web),!legacy","windows":["w"]},"where":"all.yaml:7"})");
  const std::string bj = to_json((*docs)[0]);
  EXPECT_NE(bj.find(R"("auto_approve_after":"36h")"), std::string::npos) << bj;
  EXPECT_NE(bj.find(R"("classifications":["security","enhancement"])"), std::string::npos) << bj;
}

TEST(PolicyJson, DefaultsAreWrittenOut) {
  auto docs = parse_documents("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec: {}\n", "f");
  ASSERT_TRUE(docs);
  EXPECT_EQ(to_json((*docs)[0]),
            R"({"kind":"Baseline","labels":{},"name":"b","spec":{"approve":[],"auto_approve_after":"0",)"
            R"("classifications":["security"],"exclude":[],"holds":[],"kev_only":false,)"
            R"("min_severity":"low","reject":[]},"where":"f:1"})");
}

TEST(PolicyJson, FromJsonRefusesOtherShapes) {
  auto docs = parse_documents(kAll, "all.yaml");
  ASSERT_TRUE(docs);
  const std::string j = to_json((*docs)[1]);
  EXPECT_FALSE(from_json("not json"));
  EXPECT_FALSE(from_json("[]"));
  EXPECT_FALSE(from_json(std::string(40, '[') + std::string(40, ']')));
  std::string extra = j;
  extra.insert(1, R"("extra":1,)");
  auto e = from_json(extra);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().where, "$");
  std::string bad_budget = j;
  bad_budget.replace(bad_budget.find(R"("25%")"), 5, R"("250%")");
  e = from_json(bad_budget);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().where, "$.spec.budget");
  std::string bad_kind = j;
  bad_kind.replace(bad_kind.find("Group"), 5, "Grump");
  EXPECT_FALSE(from_json(bad_kind));
  const std::string cj = to_json((*docs)[4]);
  std::string bad_step = cj;
  bad_step.replace(bad_step.find(R"("id":"db-healthy")"), 17, R"("id":"install")");
  e = from_json(bad_step);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("reserved"), std::string::npos) << e.error().message;
}

TEST(PolicyJson, DiffLines) {
  const std::string head = "apiVersion: patchflow/v1\nkind: Chain\nmetadata: {name: c}\nspec:\n  patches: {baseline: b}\n  stages:\n"
                           "    - {name: a, targets: {hosts: [h]}}\n";
  auto one = parse_documents(head + "    - {name: b, targets: {hosts: [h]}, rollout: {max_parallel: 1}}\n", "f");
  auto two = parse_documents(head + "    - {name: b, targets: {hosts: [h, h2]}, rollout: {max_parallel: \"25%\"}}\n", "f");
  ASSERT_TRUE(one && two);
  const auto lines = diff(to_json((*one)[0]), to_json((*two)[0]));
  ASSERT_EQ(lines.size(), 2u) << testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "spec.stages[1].rollout.max_parallel: 1 → \"25%\"");
  EXPECT_EQ(lines[1], "+ spec.stages[1].targets.hosts[1]: \"h2\"");
  const auto back = diff(to_json((*two)[0]), to_json((*one)[0]));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1], "- spec.stages[1].targets.hosts[1]: \"h2\"");
  EXPECT_TRUE(diff(to_json((*one)[0]), to_json((*one)[0])).empty());
  EXPECT_EQ(diff(R"({"a":1})", R"({"b":[1]})"), (std::vector<std::string>{"- a: 1", "+ b: [1]"}));
  EXPECT_EQ(diff("x", "y"), std::vector<std::string>{"$: x → y"});
  EXPECT_TRUE(diff("x", "x").empty());
}

}  // namespace
