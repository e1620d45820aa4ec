// SPDX-License-Identifier: Apache-2.0
// Policy documents parsed from YAML: each kind with its defaults, and the error paths, each
// with its FILE:LINE:COL and a message saying what was expected and what was found.
#include <gtest/gtest.h>

#include <string>

#include "patchflow/policy/document.hpp"

namespace {

using namespace std::chrono;
using pf::policy::parse_documents;

// "WHERE | MESSAGE" of the error, or "OK".
std::string err(const std::string& yaml) {
  auto r = parse_documents(yaml, "p.yaml");
  if (r) return "OK";
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  return r.error().where + " | " + r.error().message;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const char* kChainHead =
    "apiVersion: patchflow/v1\n"
    "kind: Chain\n"
    "metadata: {name: c}\n"
    "spec:\n"
    "  patches: {baseline: b}\n"
    "  stages:\n";

TEST(PolicyParse, BaselineWithDefaults) {
  auto r = parse_documents("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b1}\nspec: {}\n", "b.yaml");
  ASSERT_TRUE(r) << r.error().where << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const auto& d = (*r)[0];
  EXPECT_EQ(d.kind, pf::policy::DocKind::baseline);
  EXPECT_EQ(d.name, "b1");
  EXPECT_EQ(d.where, "b.yaml:1");
  const auto& b = std::get<pf::policy::Baseline>(d.spec);
  EXPECT_EQ(b.classifications, std::vector{pf::advisories::Kind::security});
  EXPECT_EQ(b.min_severity, pf::advisories::Severity::low);
  EXPECT_EQ(b.auto_approve_after, seconds{0});
  EXPECT_FALSE(b.kev_only);
}

TEST(PolicyParse, BaselineFields) {
  auto r = parse_documents(R"(apiVersion: patchflow/v1
kind: Baseline
metadata: {name: b2, labels: {env: prod}}
spec:
  classifications: [bugfix, security, security]
  min_severity: Important
  auto_approve_after: 7d
  kev_only: true
  approve: [DSA-1-1, CVE-2024-1]
  reject: [ALSA-2024:1]
  holds: ["openssl*"]
  exclude: [kernel]
)", "b.yaml");
  ASSERT_TRUE(r) << r.error().where << r.error().message;
  const auto& d = (*r)[0];
  EXPECT_EQ(d.labels.at("env"), "prod");
  const auto& b = std::get<pf::policy::Baseline>(d.spec);
  EXPECT_EQ(b.classifications, (std::vector{pf::advisories::Kind::security, pf::advisories::Kind::bugfix}));
  EXPECT_EQ(b.min_severity, pf::advisories::Severity::high);
  EXPECT_EQ(b.auto_approve_after, days{7});
  EXPECT_TRUE(b.kev_only);
  EXPECT_EQ(b.approve, (std::vector<std::string>{"CVE-2024-1", "DSA-1-1"}));
  EXPECT_EQ(b.reject, std::vector<std::string>{"ALSA-2024:1"});
  EXPECT_EQ(b.holds, std::vector<std::string>{"openssl*"});
}

TEST(PolicyParse, WindowAndCalendarAndGroup) {
  auto r = parse_documents(R"(apiVersion: patchflow/v1
kind: Window
metadata: {name: w}
spec: {schedule: "second tuesday 22:00", duration: 6h, timezone: America/New_York}
---
apiVersion: patchflow/v1
kind: Window
metadata: {name: cal}
spec: {kind: calendar, timezone: Europe/Berlin, weekend: [sun, fri, sat], holidays: [2026-12-25, 2026-01-01]}
---
apiVersion: patchflow/v1
kind: Group
metadata: {name: g}
spec: {selector: "tier=web", hosts: [h2, h1], budget: "25%", windows: [w]}
)", "w.yaml");
  ASSERT_TRUE(r) << r.error().where << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].where, "w.yaml:6");
  const auto& w = std::get<pf::policy::WindowDoc>((*r)[0].spec);
  ASSERT_TRUE(w.window);
  EXPECT_EQ(w.window->duration, hours{6});
  EXPECT_EQ(w.window->zone.name(), "America/New_York");
  EXPECT_EQ(w.window->kind, pf::schedule::Kind::maintenance);
  const auto& c = std::get<pf::policy::WindowDoc>((*r)[1].spec);
  ASSERT_TRUE(c.calendar);
  EXPECT_FALSE(c.window);
  EXPECT_EQ(c.calendar->weekend, (std::vector{Friday, Saturday, Sunday}));
  ASSERT_EQ(c.calendar->holidays.size(), 2u);
  EXPECT_EQ(c.calendar->holidays[0], year{2026} / 1 / 1);
  const auto& g = std::get<pf::policy::Group>((*r)[2].spec);
  EXPECT_EQ(g.hosts, (std::vector<std::string>{"h1", "h2"}));
  ASSERT_TRUE(g.budget);
  EXPECT_TRUE(g.budget->percent);
  EXPECT_EQ(g.budget->value, 25);
  EXPECT_EQ(g.budget->resolve(10, true), 3);
}

TEST(PolicyParse, ChainDesignExample) {
  auto r = parse_documents(std::string(kChainHead) + R"Y(    - name: db
      targets: {selector: "tier=db,env=prod"}
      rollout: {max_parallel: 1, max_failed: 0}
      preconditions:
        - {check: file_absent, path: /var/lib/app/recovery.flag}
        - {run: /usr/local/bin/db-ready, allowed_exit: [3, 0, 3]}
      retry: {interval: 1m, for: 2h}
      reboot: if_required
      pre:
        - {run: [systemctl, stop, app]}
      post:
        - {name: db-healthy, run: /usr/local/bin/db-check, allowed_exit: [0], timeout: 5m}
    - name: app
      after: [db]
      when: "stages.db.hosts.all(h, h.post['db-healthy'].passed)"
      targets: {selector: "tier=app,env=prod"}
      rollout: {max_parallel: "25%", max_failed: "10%"}
      health: {probes: [{name: web, url: "http://localhost/"}, {name: sh, run: "true"}], rollback_on_regression: true}
      soak: 3 business days
      approval: {required: true}
      timeout: 3h
      expected_duration: 30m
)Y", "c.yaml");
  ASSERT_TRUE(r) << r.error().where << " " << r.error().message;
  const auto& c = std::get<pf::policy::Chain>((*r)[0].spec);
  EXPECT_EQ(c.baseline, "b");
  ASSERT_EQ(c.stages.size(), 2u);
  const auto& db = c.stages[0];
  EXPECT_EQ(db.where, "c.yaml:7:7");
  ASSERT_EQ(db.preconditions.size(), 2u);
  EXPECT_EQ(db.preconditions[0].id, "precondition-1");
  EXPECT_EQ(db.preconditions[0].type, pf::jobs::StepType::check);
  EXPECT_EQ(db.preconditions[0].check.kind, pf::jobs::CheckKind::file_absent);
  EXPECT_EQ(db.preconditions[0].check.path, "/var/lib/app/recovery.flag");
  EXPECT_EQ(db.preconditions[1].check.kind, pf::jobs::CheckKind::command);
  EXPECT_EQ(db.preconditions[1].check.command.shell, "/usr/local/bin/db-ready");
  EXPECT_EQ(db.preconditions[1].check.command.ok_exit_codes, (std::vector{0, 3}));
  ASSERT_TRUE(db.retry);
  EXPECT_EQ(db.retry->interval, minutes{1});
  EXPECT_EQ(db.retry->for_duration, hours{2});
  ASSERT_EQ(db.pre.size(), 1u);
  EXPECT_EQ(db.pre[0].id, "pre-1");
  EXPECT_EQ(db.pre[0].command.argv, (std::vector<std::string>{"systemctl", "stop", "app"}));
  EXPECT_EQ(db.pre[0].timeout, seconds{300});
  ASSERT_EQ(db.post.size(), 1u);
  EXPECT_EQ(db.post[0].id, "db-healthy");
  EXPECT_EQ(db.post[0].timeout, minutes{5});
  EXPECT_EQ(db.rollout.max_parallel.resolve(10, true), 1);
  EXPECT_EQ(db.timeout, hours{2});
  EXPECT_EQ(db.expected_duration, hours{1});
  EXPECT_EQ(db.reboot, pf::jobs::Reboot::Policy::if_required);
  const auto& app = c.stages[1];
  EXPECT_EQ(app.after, std::vector<std::string>{"db"});
  EXPECT_EQ(app.when_where, "c.yaml:21:13");
  EXPECT_EQ(app.rollout.max_parallel.resolve(10, true), 3);  // 25% of 10, rounded up
  EXPECT_EQ(app.rollout.max_failed.resolve(15, false), 1);   // 10% of 15, rounded down
  EXPECT_EQ(app.rollout.max_parallel.resolve(1, true), 1);
  EXPECT_EQ(app.soak.business_days, 3);
  EXPECT_TRUE(app.approval_required);
  EXPECT_EQ(app.timeout, hours{3});
  EXPECT_EQ(app.expected_duration, minutes{30});
  ASSERT_TRUE(app.health);
  ASSERT_EQ(app.health->probes.size(), 2u);
  EXPECT_EQ(app.health->probes[0].kind, pf::jobs::Probe::Kind::http);
  EXPECT_EQ(app.health->probes[1].argv, (std::vector<std::string>{"/bin/sh", "-c", "true"}));
  EXPECT_TRUE(app.health->rollback_on_regression);
  // The stage's steps make a valid job.
  pf::jobs::Job job;
  job.run_id = "r1";
  job.host_id = "h1";
  job.issued_at = pf::jobs::Time{seconds{1'800'000'000}};
  job.expires_at = job.issued_at + hours{1};
  job.preconditions = db.preconditions;
  job.pre = db.pre;
  job.post = db.post;
  EXPECT_TRUE(pf::jobs::validate(job));
}

TEST(PolicyParse, LimitsAndTheirErrors) {
  const std::string head = std::string(kChainHead) + "    - name: s\n      targets: {hosts: [h]}\n";
  EXPECT_EQ(err(head + "      rollout: {max_parallel: lots}\n"),
            "p.yaml:9:31 | spec.stages[0].rollout.max_parallel: expected a count (3) or a "
            "percentage (25%), found \"lots\"");
  EXPECT_TRUE(has(err(head + "      rollout: {max_parallel: 0}\n"), "p.yaml:9:31"));
  EXPECT_TRUE(has(err(head + "      rollout: {max_failed: \"101%\"}\n"), "p.yaml:9:29"));
  EXPECT_EQ(err(head + "      rollout: {max_failed: 0, max_parallel: \"100%\"}\n"), "OK");
}

TEST(PolicyParse, StructureErrors) {
  // Unknown top-level key, with the known ones listed.
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec: {}\nextra: 1\n"),
            "p.yaml:5:1 | unknown key \"extra\" (known keys: apiVersion, kind, metadata, spec)");
  EXPECT_EQ(err("apiVersion: patchflow/v2\nkind: Baseline\nmetadata: {name: b}\nspec: {}\n"),
            "p.yaml:1:13 | apiVersion: expected patchflow/v1, found \"patchflow/v2\"");
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Policy\nmetadata: {name: b}\nspec: {}\n"),
            "p.yaml:2:7 | kind: expected Baseline, Group, Window or Chain, found \"Policy\"");
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: Bad_Name}\nspec: {}\n"),
            "p.yaml:3:18 | metadata.name: expected a name of lower-case letters, digits and '-' "
            "([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?), found \"Bad_Name\"");
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\n"),
            "p.yaml:1:1 | missing key \"spec\" (required: apiVersion, kind, metadata, spec)");
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec:\n  min_severity: huge\n"),
            "p.yaml:5:17 | spec.min_severity: expected negligible, low, medium, high or critical, found \"huge\"");
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec:\n  colour: red\n"),
            "p.yaml:5:3 | spec: unknown key \"colour\" (known keys: classifications, min_severity, "
            "auto_approve_after, kev_only, approve, reject, holds, exclude)");
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec: {auto_approve_after: soon}\n"),
            "p.yaml:4:28 | spec.auto_approve_after: expected a duration such as 30s, 90m, 2h or 7d, found \"soon\"");
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec: {holds: [\"a b\"]}\n"),
            "p.yaml:4:16 | spec.holds[0]: expected a package name or glob (openssl*, lib?ssl3), found \"a b\"");
  EXPECT_EQ(err("- 1\n"), "p.yaml:1:1 | expected a mapping with keys apiVersion, kind, metadata, spec, found a list");
  EXPECT_TRUE(has(err("a: [1, 2\n"), "invalid YAML"));
  EXPECT_TRUE(has(err(""), "no documents"));
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b, labels: {Env: x}}\nspec: {}\n"),
            "p.yaml:3:30 | metadata.labels: expected a label key ([a-z0-9][a-z0-9_.-]{0,62}), found \"Env\"");
}

TEST(PolicyParse, InputsThatHangYamlCpp07AreRefused) {
  // yaml-cpp 0.7's LoadAll loops forever on these (found by policy_fuzz).
  EXPECT_EQ(err("{},b:c}"), "p.yaml:1:3 | invalid YAML: unexpected token (such as ',' outside [] or {})");
  EXPECT_EQ(err(","), "p.yaml:1:1 | invalid YAML: unexpected token (such as ',' outside [] or {})");
  EXPECT_EQ(err("\"q\",b"), "p.yaml:1:4 | invalid YAML: unexpected token (such as ',' outside [] or {})");
  EXPECT_EQ(err("- a\n[q],b"), "p.yaml:2:4 | invalid YAML: unexpected token (such as ',' outside [] or {})");
  // Empty documents in a row are not that.
  EXPECT_TRUE(has(err("---\n---\n---\n"), "no documents"));
}

TEST(PolicyParse, InvalidUtf8IsRefusedWithItsPlace) {
  EXPECT_EQ(err("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec: {holds: [\"\xc3\xa9\xff\"]}\n"),
            "p.yaml:4:18 | the file is not valid UTF-8 (byte 255)");
  EXPECT_TRUE(has(err("a: \"\xed\xa0\x80\"\n"), "p.yaml:1:5 | the file is not valid UTF-8"));  // a surrogate
  EXPECT_TRUE(has(err("a: \"\xc0\xaf\"\n"), "p.yaml:1:5 | the file is not valid UTF-8"));      // overlong
  EXPECT_TRUE(has(err("a: \"\xe2\x82\"\n"), "p.yaml:1:5 | the file is not valid UTF-8"));      // cut short
}

TEST(PolicyParse, DuplicateDocumentInOneFile) {
  const std::string b = "apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec: {}\n";
  EXPECT_EQ(err(b + "---\n" + b), "p.yaml:6:1 | metadata.name: Baseline \"b\" is defined twice in this file");
  // The same name in another kind is fine.
  EXPECT_EQ(err(b + "---\napiVersion: patchflow/v1\nkind: Group\nmetadata: {name: b}\nspec: {hosts: [h]}\n"), "OK");
}

TEST(PolicyParse, WindowErrorsPointAtTheField) {
  const std::string head = "apiVersion: patchflow/v1\nkind: Window\nmetadata: {name: w}\nspec:\n";
  auto e = err(head + "  schedule: \"second tuesdya 22:00\"\n  duration: 6h\n  timezone: UTC\n");
  EXPECT_TRUE(has(e, "p.yaml:5:13 | spec.schedule: column 8 of \"second tuesdya 22:00\": expected a weekday")) << e;
  e = err(head + "  schedule: daily 22:00\n  duration: 6 hours\n  timezone: UTC\n");
  EXPECT_TRUE(has(e, "p.yaml:6:13 | spec.duration: ")) << e;
  e = err(head + "  schedule: daily 22:00\n  duration: 6h\n  timezone: Mars/Olympus\n");
  EXPECT_TRUE(has(e, "p.yaml:7:13 | spec.timezone: ")) << e;
  e = err(head + "  schedule: daily 22:00\n  duration: 6h\n  timezone: UTC\n  kind: sometimes\n");
  EXPECT_TRUE(has(e, "p.yaml:8:9 | spec.kind: ")) << e;
  e = err(head + "  kind: calendar\n  timezone: UTC\n  holidays: [2026-02-30]\n");
  EXPECT_EQ(e, "p.yaml:7:14 | spec.holidays[0]: not a calendar date in years 1900..2399, found \"2026-02-30\"");
  e = err(head + "  kind: calendar\n  timezone: UTC\n  schedule: daily 22:00\n");
  EXPECT_EQ(e, "p.yaml:7:3 | spec: unknown key \"schedule\" (known keys: kind, timezone, weekend, holidays)");
  e = err(head + "  kind: calendar\n  timezone: UTC\n  weekend: [mon, tue, wed, thu, fri, sat, sun]\n");
  EXPECT_TRUE(has(e, "p.yaml:7:12 | spec.weekend: a week without business days")) << e;
}

TEST(PolicyParse, GroupErrors) {
  const std::string head = "apiVersion: patchflow/v1\nkind: Group\nmetadata: {name: g}\nspec:\n";
  EXPECT_EQ(err(head + "  budget: 2\n"), "p.yaml:5:3 | spec: expected a selector or hosts (or both)");
  auto e = err(head + "  selector: \"tier=web,,\"\n");
  EXPECT_EQ(e, "p.yaml:5:13 | spec.selector: invalid selector \"tier=web,,\" at column 10: expected a label key, found ','");
  EXPECT_EQ(err(head + "  hosts: [h]\n  budget: {max_in_work: many}\n"),
            "p.yaml:6:25 | spec.budget.max_in_work: expected a count (3) or a percentage (25%), found \"many\"");
}

TEST(PolicyParse, StageErrors) {
  const std::string head = kChainHead;
  EXPECT_EQ(err(head + "    - name: s\n"),
            "p.yaml:7:7 | spec.stages[0]: missing key \"targets\" (required: name, targets)");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {}\n"),
            "p.yaml:8:16 | spec.stages[0].targets: expected at least one of selector, group, hosts");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      reboot: maybe\n"),
            "p.yaml:9:15 | spec.stages[0].reboot: expected never, if_required or always, found \"maybe\"");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      soak: a while\n"),
            "p.yaml:9:13 | spec.stages[0].soak: expected \"N business days\" or a duration such as 2h or 1d, found \"a while\"");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n    - name: s\n      targets: {hosts: [h]}\n"),
            "p.yaml:9:7 | spec.stages[1]: stage name \"s\" used twice");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      post:\n        - {run: \"true\"}\n"),
            "p.yaml:10:11 | spec.stages[0].post[0]: missing key \"name\" (post steps are named: gates read h.post['NAME'])");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      preconditions:\n        - {check: file_absent, unit: x}\n"),
            "p.yaml:10:32 | spec.stages[0].preconditions[0]: unknown key \"unit\" (known keys: name, timeout, check, path)");
  EXPECT_TRUE(has(err(head + "    - name: s\n      targets: {hosts: [h]}\n      preconditions:\n        - {check: teleport}\n"),
                  "p.yaml:10:19 | spec.stages[0].preconditions[0].check: expected disk_free"));
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      pre:\n        - {name: install, run: x}\n"),
            "p.yaml:10:18 | spec.stages[0].pre[0].name: expected a step name ([a-z0-9][a-z0-9_.-]{0,63}, not "
            "install, baseline, health, rollback, postponed or reboot.*), found \"install\"");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      pre:\n        - {name: a, run: x}\n      post:\n        - {name: a, run: y}\n"),
            "p.yaml:12:11 | spec.stages[0].post[0].id: step id \"a\" is used twice");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      pre:\n        - {run: [\"\"]}\n"),
            "p.yaml:10:17 | spec.stages[0].pre[0].run: expected a program and its arguments, found an empty list");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      approval: {required: yes please}\n"),
            "p.yaml:9:28 | spec.stages[0].approval.required: expected true or false, found \"yes please\"");
  EXPECT_EQ(err(head + "    - name: s\n      targets: {hosts: [h]}\n      timeout: 30d\n"),
            "p.yaml:9:16 | spec.stages[0].timeout: expected at most 7d, found \"30d\"");
}

TEST(PolicyParse, GateErrorsCarryBothPositions) {
  const std::string head = std::string(kChainHead) + "    - name: db\n      targets: {hosts: [h]}\n"
                                                     "    - name: app\n      after: [db]\n      targets: {hosts: [h]}\n";
  EXPECT_EQ(err(head + "      when: \"stages.db.succes_ratio > 0.9\"\n"),
            "p.yaml:12:13 | spec.stages[1].when: at 1:11 of the condition: unknown field 'succes_ratio' "
            "of Stage (known fields: failed, failure_ratio, health_regressions, hosts, rolled_back, skipped, "
            "succeeded, success_ratio, total)");
  auto e = err(head + "      when: \"stages.web.failed == 0\"\n");
  EXPECT_TRUE(has(e, "p.yaml:12:13 | spec.stages[1].when: at 1:")) << e;
  EXPECT_TRUE(has(e, "web")) << e;
  e = err(head + "      when: \"stages.db.failed\"\n");
  EXPECT_TRUE(has(e, "p.yaml:12:13 | spec.stages[1].when: at ")) << e;
  e = err(head + "      when: \"stages.db.failed == \"\n");
  EXPECT_TRUE(has(e, "p.yaml:12:13 | spec.stages[1].when: at 1:")) << e;
}

TEST(PolicyParse, Bounds) {
  EXPECT_EQ(err(std::string(pf::policy::kMaxFileBytes + 1, '#')),
            "p.yaml:1:1 | the file is larger than 1 MiB (1048577 bytes)");
  std::string over = "apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec:\n  approve: [";
  for (int i = 0; i < 1001; ++i) over += std::string(i ? "," : "") + "X-" + std::to_string(i);
  over += "]\n";
  EXPECT_EQ(err(over), "p.yaml:5:12 | spec.approve: more than 1000 items (1001)");
  std::string docs;
  for (int i = 0; i < 1001; ++i) {
    docs += "---\napiVersion: patchflow/v1\nkind: Group\nmetadata: {name: g" + std::to_string(i) +
            "}\nspec: {hosts: [h]}\n";
  }
  EXPECT_TRUE(has(err(docs), "p.yaml:5002:1 | more than 1000 documents")) << err(docs);
  std::string nested = "apiVersion: patchflow/v1\nkind: Group\nmetadata: {name: g}\nspec:\n  hosts: ";
  std::string list = "[h]";
  for (int i = 0; i < 25; ++i) list = "[" + list + "]";
  EXPECT_TRUE(has(err(nested + list + "\n"), "p.yaml:5:11 | spec.hosts[0]: expected a host name"));
}

TEST(PolicyParse, AliasesAreCountedEachTimeTheyAreRead) {
  // One list of 1000 hosts, anchored once and used by every further stage.
  auto chain = [](const std::string& name, int stages) {
    std::string y = "apiVersion: patchflow/v1\nkind: Chain\nmetadata: {name: " + name +
                    "}\nspec:\n  patches: {baseline: b}\n  stages:\n"
                    "    - name: s0\n      targets:\n        hosts: &a [";
    for (int i = 0; i < 1000; ++i) y += std::string(i ? "," : "") + "h" + std::to_string(i);
    y += "]\n";
    for (int i = 1; i < stages; ++i) {
      y += "    - name: s" + std::to_string(i) + "\n      targets: {hosts: *a}\n";
    }
    return y;
  };
  EXPECT_EQ(err(chain("c", 100)), "OK") << "100 stages of 1000 hosts: about 100k nodes";
  const std::string e = err(chain("c", 100) + "---\n" + chain("d", 100) + "---\n" + chain("e", 100));
  EXPECT_TRUE(has(e, "more than 200000 YAML nodes read (aliases counted each time they are used)")) << e;
  EXPECT_TRUE(e.starts_with("p.yaml:")) << e;
}

TEST(PolicyParse, EmptyDocumentsAreSkipped) {
  auto r = parse_documents("---\napiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec: {}\n---\n", "f");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].where, "f:2");
}

}  // namespace
