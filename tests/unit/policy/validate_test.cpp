// SPDX-License-Identifier: Apache-2.0
// Checks across documents (references, the stage graph, gates) and the examples/chains files,
// which must parse and validate as one set.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "patchflow/policy/document.hpp"

namespace {

using pf::policy::Document;
using pf::policy::parse_documents;
using pf::policy::validate_set;

const char* kBase = R"(apiVersion: patchflow/v1
kind: Baseline
metadata: {name: b}
spec: {}
---
apiVersion: patchflow/v1
kind: Group
metadata: {name: g}
spec: {hosts: [h]}
---
apiVersion: patchflow/v1
kind: Window
metadata: {name: w}
spec: {schedule: daily 22:00, duration: 6h, timezone: UTC}
---
apiVersion: patchflow/v1
kind: Window
metadata: {name: cal}
spec: {kind: calendar, timezone: UTC}
)";

std::vector<Document> docs(const std::string& chain_spec) {
  auto base = parse_documents(kBase, "base.yaml");
  EXPECT_TRUE(base);
  auto c = parse_documents("apiVersion: patchflow/v1\nkind: Chain\nmetadata: {name: three-tier}\nspec:\n" + chain_spec, "c.yaml");
  EXPECT_TRUE(c) << c.error().where << " " << c.error().message;
  std::vector<Document> all = *base;
  if (c) all.insert(all.end(), c->begin(), c->end());
  return all;
}

// "WHERE | MESSAGE" or "OK".
std::string check(const std::string& chain_spec) {
  auto r = validate_set(docs(chain_spec));
  if (r) return "OK";
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  return r.error().where + " | " + r.error().message;
}

TEST(PolicyValidate, References) {
  EXPECT_EQ(check("  patches: {baseline: b}\n  windows: [w]\n  calendar: cal\n  stages:\n    - {name: a, targets: {group: g}}\n"), "OK");
  EXPECT_EQ(check("  patches: {baseline: nope}\n  stages:\n    - {name: a, targets: {group: g}}\n"),
            "c.yaml:1 | chain three-tier: baseline \"nope\" does not exist");
  EXPECT_EQ(check("  patches: {baseline: b}\n  windows: [x]\n  stages:\n    - {name: a, targets: {group: g}}\n"),
            "c.yaml:1 | chain three-tier: window \"x\" does not exist");
  EXPECT_EQ(check("  patches: {baseline: b}\n  windows: [cal]\n  stages:\n    - {name: a, targets: {group: g}}\n"),
            "c.yaml:1 | chain three-tier: window \"cal\" is a calendar, not a maintenance or blackout window");
  EXPECT_EQ(check("  patches: {baseline: b}\n  calendar: w\n  stages:\n    - {name: a, targets: {group: g}}\n"),
            "c.yaml:1 | chain three-tier: calendar: window \"w\" is not a calendar (kind: calendar)");
  EXPECT_EQ(check("  patches: {baseline: b}\n  stages:\n    - {name: a, targets: {group: gg}}\n"),
            "c.yaml:7:7 | chain three-tier: stage a: group \"gg\" does not exist");
  auto g = parse_documents("apiVersion: patchflow/v1\nkind: Group\nmetadata: {name: g2}\nspec: {hosts: [h], windows: [zz]}\n", "g.yaml");
  ASSERT_TRUE(g);
  auto r = validate_set(*g);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "g.yaml:1");
  EXPECT_EQ(r.error().message, "group g2: window \"zz\" does not exist");
}

TEST(PolicyValidate, StageGraph) {
  const std::string head = "  patches: {baseline: b}\n  stages:\n";
  EXPECT_EQ(check(head + "    - {name: a, targets: {group: g}, after: [x]}\n"),
            "c.yaml:7:7 | chain three-tier: stage a: after names unknown stage \"x\" (stages: a)");
  EXPECT_EQ(check(head + "    - {name: a, targets: {group: g}, after: [a]}\n"),
            "c.yaml:7:7 | chain three-tier: stage a: a stage cannot come after itself");
  EXPECT_EQ(check(head + "    - {name: a, targets: {group: g}, after: [c]}\n"
                         "    - {name: b, targets: {group: g}, after: [a]}\n"
                         "    - {name: c, targets: {group: g}, after: [b]}\n"),
            "c.yaml:7:7 | chain three-tier: stage a: the stages' after lists form a cycle (a → c → b → a)");
  // A gate reading a stage that is not before it.
  EXPECT_EQ(check(head + "    - {name: db, targets: {group: g}}\n"
                         "    - {name: app, targets: {group: g}, when: \"stages.db.failed == 0\"}\n"),
            "c.yaml:8:46 | chain three-tier: stage app: when reads stage \"db\", which is not "
            "(transitively) in its after list (none)");
  // Transitively before is fine; a sibling is not.
  EXPECT_EQ(check(head + "    - {name: db, targets: {group: g}}\n"
                         "    - {name: app, targets: {group: g}, after: [db]}\n"
                         "    - {name: web, targets: {group: g}, after: [app], when: \"stages.db.failed == 0 && stages.app.failed == 0\"}\n"),
            "OK");
  EXPECT_EQ(check(head + "    - {name: db, targets: {group: g}}\n"
                         "    - {name: app, targets: {group: g}, after: [db]}\n"
                         "    - {name: web, targets: {group: g}, after: [db], when: \"stages.app.failed == 0\"}\n"),
            "c.yaml:9:59 | chain three-tier: stage web: when reads stage \"app\", which is not "
            "(transitively) in its after list (db)");
}

TEST(PolicyValidate, DuplicatesAcrossFiles) {
  auto a = docs("  patches: {baseline: b}\n  stages:\n    - {name: a, targets: {group: g}}\n");
  auto b = parse_documents("apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: b}\nspec: {}\n", "other.yaml");
  ASSERT_TRUE(b);
  a.push_back((*b)[0]);
  auto r = validate_set(a);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "other.yaml:1");
  EXPECT_EQ(r.error().message, "Baseline b is defined twice (also at base.yaml:1)");
}

TEST(PolicyValidate, ExamplesParseAndValidateAsASet) {
  namespace fs = std::filesystem;
  std::vector<Document> all;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(PF_POLICY_EXAMPLES_DIR)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 7u);
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    auto d = parse_documents(ss.str(), fs::path(f).filename().string());
    ASSERT_TRUE(d) << d.error().where << " " << d.error().message;
    for (const auto& doc : *d) {
      auto back = pf::policy::from_json(pf::policy::to_json(doc));
      ASSERT_TRUE(back) << back.error().where << " " << back.error().message;
      EXPECT_EQ(*back, doc) << doc.name;
    }
    all.insert(all.end(), d->begin(), d->end());
  }
  auto r = validate_set(all);
  EXPECT_TRUE(r) << r.error().where << " " << r.error().message;
  std::set<std::string> chains;
  for (const auto& d : all)
    if (d.kind == pf::policy::DocKind::chain) chains.insert(d.name);
  EXPECT_EQ(chains, (std::set<std::string>{"emergency-kev", "executives", "failing-wave", "three-tier"}));
}

}  // namespace
