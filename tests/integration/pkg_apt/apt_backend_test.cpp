// SPDX-License-Identifier: Apache-2.0
// The apt backend on real dpkg roots with real apt-get: install, upgrade, rollback, exact
// versions, security-only, holds, kept-back packages, conffile policies, and plans that change
// nothing. Every result is checked against the dpkg database read without the backend.
#include <gtest/gtest.h>

#include "apt_fixture.hpp"

namespace pf::pkg::apt::testing {
namespace {

// Installed: pf-app 1.0-1, pf-tool 1.0-1. Offered: pf-app 2.0-1 (new Depends on pf-lib),
// pf-lib, pf-new, and the installed versions (restore needs them).
class AptBackend : public AptWorld {
 protected:
  void SetUp() override {
    AptWorld::SetUp();
    if (HasFailure()) return;
    const auto app1 = deb("pf-app", "1.0-1");
    const auto app2 = deb("pf-app", "2.0-1", [](auto& s) { s.depends = {"pf-lib (>= 1.0)"}; });
    const auto tool = deb("pf-tool", "1.0-1");
    install({app1, tool});
    sources({repo({app1, app2, tool, deb("pf-lib", "1.0-1"), deb("pf-new", "3.0-1")})});
  }
};

TEST_F(AptBackend, InstalledIsTheDatabase) {
  auto b = backend();
  EXPECT_EQ(b->family(), Family::deb);
  EXPECT_EQ(b->name(), "apt");
  auto installed = b->installed();
  ASSERT_TRUE(installed) << to_string(installed.error());
  ASSERT_EQ(installed->size(), 2u);
  EXPECT_EQ((*installed)[0].name, "pf-app");
  EXPECT_EQ((*installed)[0].version, "1.0-1");
  EXPECT_EQ((*installed)[0].arch, "all");
  EXPECT_EQ((*installed)[1].name, "pf-tool");
}

TEST_F(AptBackend, UpgradeIsVerifiedAndRollbackRestoresTheRecordedVersions) {
  auto b = refreshed();
  auto updates = b->upgradable();
  ASSERT_TRUE(updates) << to_string(updates.error());
  ASSERT_EQ(updates->size(), 1u);
  EXPECT_EQ((*updates)[0].name, "pf-app");
  EXPECT_EQ((*updates)[0].arch, "all");
  EXPECT_EQ((*updates)[0].installed, "1.0-1");
  EXPECT_EQ((*updates)[0].candidate, "2.0-1");
  EXPECT_EQ((*updates)[0].origin, "stable");
  EXPECT_FALSE((*updates)[0].security);
  EXPECT_FALSE((*updates)[0].held_back) << (*updates)[0].held_reason;
  EXPECT_TRUE((*updates)[0].advisories.empty());

  auto report = b->apply(Selection{});
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << explain(*report);
  EXPECT_EQ(report->exit_code, 0);
  EXPECT_TRUE(report->consistent) << report->audit;
  EXPECT_FALSE(report->error);
  const auto* app = find(*report, "pf-app");
  ASSERT_NE(app, nullptr) << explain(*report);
  EXPECT_EQ(app->status, PackageResult::Status::applied);
  EXPECT_EQ(app->before, "1.0-1");
  EXPECT_EQ(app->after, "2.0-1");
  EXPECT_EQ(app->wanted, "2.0-1");
  const auto* lib = find(*report, "pf-lib");
  ASSERT_NE(lib, nullptr) << explain(*report);
  EXPECT_EQ(lib->status, PackageResult::Status::extra);
  EXPECT_EQ(lib->before, "");
  EXPECT_EQ(lib->after, "1.0-1");
  EXPECT_EQ(find(*report, "pf-tool"), nullptr) << "an unchanged package is not reported";
  EXPECT_EQ(version_of("pf-app"), "2.0-1");
  EXPECT_EQ(version_of("pf-lib"), "1.0-1");
  EXPECT_EQ(slurp(root_ / "usr/share/pf-app/version"), "2.0-1\n");
  const bool ran_upgrade =
      std::any_of(report->commands.begin(), report->commands.end(), [](const std::string& c) {
        return c.find(" -y upgrade --with-new-pkgs") != std::string::npos;
      });
  EXPECT_TRUE(ran_upgrade) << explain(*report);
  EXPECT_NE(report->output_tail.find("Setting up pf-app (2.0-1)"), std::string::npos)
      << report->output_tail;

  auto targets = rollback_targets(*report);
  auto back = b->restore(targets);
  ASSERT_TRUE(back) << to_string(back.error());
  EXPECT_EQ(back->outcome, ApplyOutcome::applied) << explain(*back);
  EXPECT_TRUE(back->consistent) << back->audit;
  EXPECT_EQ(version_of("pf-app"), "1.0-1");
  EXPECT_EQ(version_of("pf-lib"), "") << "the dependency it pulled in is removed again";
  EXPECT_EQ(version_of("pf-tool"), "1.0-1");
  EXPECT_EQ(slurp(root_ / "usr/share/pf-app/version"), "1.0-1\n");
  const auto* app_back = find(*back, "pf-app");
  ASSERT_NE(app_back, nullptr);
  EXPECT_EQ(app_back->status, PackageResult::Status::applied);
  EXPECT_EQ(app_back->after, "1.0-1");
  const auto* lib_back = find(*back, "pf-lib");
  ASSERT_NE(lib_back, nullptr);
  EXPECT_EQ(lib_back->status, PackageResult::Status::applied);
  EXPECT_EQ(lib_back->after, "");

  auto again = b->apply(Selection{});
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(again->outcome, ApplyOutcome::applied) << "the upgrade is offered again";
  auto twice = b->apply(Selection{});
  ASSERT_TRUE(twice) << to_string(twice.error());
  EXPECT_EQ(twice->outcome, ApplyOutcome::nothing_to_do) << explain(*twice);
}

TEST_F(AptBackend, ExactVersionsInstallUpgradeAndDowngrade) {
  auto b = refreshed();
  auto installed = b->apply(exact({{"pf-new", "", "3.0-1"}, {"pf-app", "", "2.0-1"}}));
  ASSERT_TRUE(installed) << to_string(installed.error());
  EXPECT_EQ(installed->outcome, ApplyOutcome::applied) << explain(*installed);
  EXPECT_EQ(version_of("pf-new"), "3.0-1");
  EXPECT_EQ(version_of("pf-app"), "2.0-1");

  auto down = b->apply(exact({{"pf-app", "all", "1.0-1"}}));
  ASSERT_TRUE(down) << to_string(down.error());
  EXPECT_EQ(down->outcome, ApplyOutcome::applied) << explain(*down);
  const auto* app = find(*down, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->before, "2.0-1");
  EXPECT_EQ(app->after, "1.0-1");
  EXPECT_EQ(app->wanted, "1.0-1");
  EXPECT_EQ(version_of("pf-app"), "1.0-1");

  auto missing = b->apply(exact({{"pf-app", "", "9.9-1"}}));
  ASSERT_TRUE(missing) << to_string(missing.error());
  EXPECT_EQ(missing->outcome, ApplyOutcome::resolve_failed) << explain(*missing);
  const auto* m = find(*missing, "pf-app");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->status, PackageResult::Status::not_applied);
  EXPECT_EQ(m->reason, Reason::not_in_repository) << explain(*missing);
  EXPECT_NE(m->detail.find("9.9-1"), std::string::npos) << m->detail;
  EXPECT_EQ(version_of("pf-app"), "1.0-1");
}

TEST_F(AptBackend, PackagesSelectionReportsEachName) {
  auto b = refreshed();
  auto report = b->apply(packages({"pf-app", "pf-tool", "pf-new"}));
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::not_applied) << explain(*report);
  const auto* app = find(*report, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, PackageResult::Status::applied);
  const auto* tool = find(*report, "pf-tool");
  ASSERT_NE(tool, nullptr);
  EXPECT_EQ(tool->status, PackageResult::Status::not_applied);
  EXPECT_EQ(tool->reason, Reason::up_to_date);
  const auto* added = find(*report, "pf-new");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->status, PackageResult::Status::not_applied);
  EXPECT_EQ(added->reason, Reason::not_installed) << "packages: upgrades only";
  EXPECT_EQ(version_of("pf-new"), "");

  auto unknown = b->apply(packages({"pf-no-such-package"}));
  ASSERT_TRUE(unknown) << to_string(unknown.error());
  EXPECT_EQ(unknown->outcome, ApplyOutcome::resolve_failed);
  const auto* u = find(*unknown, "pf-no-such-package");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->reason, Reason::not_in_repository);
  ASSERT_TRUE(unknown->error);
  EXPECT_NE(unknown->error->message.find("Unable to locate package pf-no-such-package"),
            std::string::npos)
      << unknown->error->message;

  auto bad = b->apply(packages({"--purge"}));
  ASSERT_FALSE(bad) << "a name that apt-get would read as an option is refused";
  EXPECT_EQ(bad.error().code, Errc::invalid_input);
  auto removal = b->apply(packages({"pf-app-"}));
  ASSERT_FALSE(removal) << "a trailing '-' would make apt-get remove the package";
  EXPECT_EQ(removal.error().code, Errc::invalid_input);
}

TEST_F(AptBackend, PlanChangesNothing) {
  auto b = refreshed();
  const std::string before = status_text();
  auto all = b->plan(Selection{});
  ASSERT_TRUE(all) << to_string(all.error());
  ASSERT_EQ(all->changes.size(), 2u);
  const auto& lib = all->changes[0];
  EXPECT_EQ(lib.name, "pf-lib");
  EXPECT_EQ(lib.action, Action::install);
  EXPECT_FALSE(lib.selected);
  EXPECT_EQ(lib.to, "1.0-1");
  const auto& app = all->changes[1];
  EXPECT_EQ(app.name, "pf-app");
  EXPECT_EQ(app.action, Action::upgrade);
  EXPECT_TRUE(app.selected);
  EXPECT_EQ(app.from, "1.0-1");
  EXPECT_EQ(app.to, "2.0-1");
  EXPECT_TRUE(all->skipped.empty());

  auto named = b->plan(packages({"pf-tool", "pf-app"}));
  ASSERT_TRUE(named) << to_string(named.error());
  ASSERT_EQ(named->skipped.size(), 1u);
  EXPECT_EQ(named->skipped[0].name, "pf-tool");
  EXPECT_EQ(named->skipped[0].reason, Reason::up_to_date);

  auto down = b->plan(exact({{"pf-app", "", "1.0-1"}, {"pf-new", "", "3.0-1"}}));
  ASSERT_TRUE(down) << to_string(down.error());
  ASSERT_EQ(down->changes.size(), 1u);
  EXPECT_EQ(down->changes[0].name, "pf-new");
  EXPECT_EQ(down->changes[0].action, Action::install);
  EXPECT_TRUE(down->changes[0].selected);
  ASSERT_EQ(down->skipped.size(), 1u);
  EXPECT_EQ(down->skipped[0].reason, Reason::up_to_date);

  auto missing = b->plan(exact({{"pf-app", "", "7.0-1"}}));
  ASSERT_TRUE(missing) << to_string(missing.error());
  EXPECT_TRUE(missing->changes.empty());
  ASSERT_EQ(missing->skipped.size(), 1u);
  EXPECT_EQ(missing->skipped[0].reason, Reason::not_in_repository);

  auto security = b->plan([] {
    Selection s;
    s.kind = Selection::Kind::security;
    return s;
  }());
  ASSERT_TRUE(security) << to_string(security.error());
  EXPECT_TRUE(security->changes.empty()) << "no security repository here";

  EXPECT_EQ(status_text(), before) << "a plan changes nothing";
  EXPECT_EQ(version_of("pf-app"), "1.0-1");
}

TEST_F(AptBackend, AdvisoriesAreRefusedWithTheReason) {
  auto b = backend();
  Selection s;
  s.kind = Selection::Kind::advisories;
  s.names = {"DSA-5678-1"};
  for (auto r :
       {b->plan(s).map([](auto&&) { return 0; }), b->apply(s).map([](auto&&) { return 0; })}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_NE(r.error().message.find("advisory metadata"), std::string::npos) << r.error().message;
  }
}

TEST_F(AptBackend, RestoreLeavesOutVersionsNoRepositoryHas) {
  auto b = refreshed();
  auto up = b->apply(exact({{"pf-app", "", "2.0-1"}, {"pf-new", "", "3.0-1"}}));
  ASSERT_TRUE(up) << to_string(up.error());
  ASSERT_EQ(up->outcome, ApplyOutcome::applied) << explain(*up);
  // pf-app back to a version that was never published; pf-new removed.
  auto back = b->restore({{"pf-app", "", "0.5-1"}, {"pf-new", "", ""}});
  ASSERT_TRUE(back) << to_string(back.error());
  EXPECT_EQ(back->outcome, ApplyOutcome::not_applied) << explain(*back);
  const auto* app = find(*back, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, PackageResult::Status::not_applied);
  EXPECT_EQ(app->reason, Reason::not_in_repository) << explain(*back);
  const auto* added = find(*back, "pf-new");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->status, PackageResult::Status::applied);
  EXPECT_EQ(version_of("pf-new"), "");
  EXPECT_EQ(version_of("pf-app"), "2.0-1");
}

TEST_F(AptBackend, RebootRequiredAfterTheRun) {
  const auto kernel = deb("pf-kernel", "1.0-1", [](auto& s) {
    s.postinst = "mkdir -p \"$DPKG_ROOT/run\"\ntouch \"$DPKG_ROOT/run/reboot-required\"\n";
  });
  sources({repo({kernel}, "kernels")});
  auto b = refreshed();
  auto r = b->apply(exact({{"pf-kernel", "", "1.0-1"}}));
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->outcome, ApplyOutcome::applied_reboot_required) << explain(*r);
}

// A "stable-security" suite next to "stable", as Debian publishes them.
TEST_F(AptWorld, SecurityOnlyTakesTheSecuritySuite) {
  const auto app1 = deb("pf-app", "1.0-1");
  const auto sec1 = deb("pf-sec", "1.0-1");
  install({app1, sec1});
  sources({repo({app1, sec1, deb("pf-app", "2.0-1")}, "stable"),
           repo({deb("pf-sec", "1.0-1+deb12u1")}, "stable-security")});
  auto b = refreshed();
  auto updates = b->upgradable();
  ASSERT_TRUE(updates) << to_string(updates.error());
  ASSERT_EQ(updates->size(), 2u);
  EXPECT_EQ((*updates)[0].name, "pf-app");
  EXPECT_FALSE((*updates)[0].security);
  EXPECT_EQ((*updates)[1].name, "pf-sec");
  EXPECT_TRUE((*updates)[1].security);
  EXPECT_EQ((*updates)[1].origin, "stable-security");
  EXPECT_EQ((*updates)[1].candidate, "1.0-1+deb12u1");

  Selection security;
  security.kind = Selection::Kind::security;
  auto report = b->apply(security);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << explain(*report);
  EXPECT_EQ(version_of("pf-sec"), "1.0-1+deb12u1");
  EXPECT_EQ(version_of("pf-app"), "1.0-1") << "not a security update";
  EXPECT_EQ(find(*report, "pf-app"), nullptr);
}

TEST_F(AptWorld, HeldPackageIsHeldBack) {
  const auto held1 = deb("pf-held", "1.0-1");
  const auto other1 = deb("pf-other", "1.0-1");
  install({held1, other1});
  sources({repo({held1, other1, deb("pf-held", "2.0-1"), deb("pf-other", "2.0-1")})});
  auto mark = lab::apt_args(root_);
  mark[0] = require("apt-mark", "apt");
  mark.insert(mark.end(), {"hold", "pf-held"});
  auto marked = run(mark, lab::apt_env(root_));
  ASSERT_TRUE(marked.ok()) << describe(marked);
  ASSERT_EQ(status_of("pf-held"), "hold ok installed");

  auto b = refreshed();
  auto updates = b->upgradable();
  ASSERT_TRUE(updates) << to_string(updates.error());
  ASSERT_EQ(updates->size(), 2u);
  const auto& held = (*updates)[0];
  EXPECT_EQ(held.name, "pf-held");
  EXPECT_TRUE(held.held_back);
  EXPECT_EQ(held.held_reason, "held (apt-mark hold)");
  EXPECT_EQ(held.installed, "1.0-1");
  EXPECT_EQ(held.candidate, "2.0-1");
  EXPECT_EQ(held.origin, "stable");
  EXPECT_FALSE((*updates)[1].held_back);

  auto plan = b->plan(Selection{});
  ASSERT_TRUE(plan) << to_string(plan.error());
  ASSERT_EQ(plan->skipped.size(), 1u);
  EXPECT_EQ(plan->skipped[0].name, "pf-held");
  EXPECT_EQ(plan->skipped[0].reason, Reason::held);

  auto all = b->apply(Selection{});
  ASSERT_TRUE(all) << to_string(all.error());
  EXPECT_EQ(all->outcome, ApplyOutcome::not_applied) << explain(*all);
  const auto* h = find(*all, "pf-held");
  ASSERT_NE(h, nullptr) << explain(*all);
  EXPECT_EQ(h->status, PackageResult::Status::not_applied);
  EXPECT_EQ(h->reason, Reason::held);
  EXPECT_EQ(h->detail, "held (apt-mark hold)");
  const auto* o = find(*all, "pf-other");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, PackageResult::Status::applied);
  EXPECT_EQ(version_of("pf-held"), "1.0-1");
  EXPECT_EQ(version_of("pf-other"), "2.0-1");

  for (const auto& sel : {packages({"pf-held"}), exact({{"pf-held", "", "2.0-1"}})}) {
    auto named = b->apply(sel);
    ASSERT_TRUE(named) << to_string(named.error());
    EXPECT_EQ(named->outcome, ApplyOutcome::not_applied) << explain(*named);
    const auto* n = find(*named, "pf-held");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->reason, Reason::held) << explain(*named);
  }
  EXPECT_EQ(version_of("pf-held"), "1.0-1");
}

// pf-kb 2.0-1 adds a Depends on pf-newdep, which is not installed and conflicts with the
// installed pf-old: a plain upgrade keeps pf-kb back, a full upgrade would remove pf-old.
TEST_F(AptWorld, KeptBackPackageCarriesItsReason) {
  const auto kb1 = deb("pf-kb", "1.0-1");
  const auto old = deb("pf-old", "1.0-1");
  install({kb1, old});
  sources({repo({kb1, old, deb("pf-kb", "2.0-1", [](auto& s) { s.depends = {"pf-newdep"}; }),
                 deb("pf-newdep", "1.0-1", [](auto& s) { s.conflicts = {"pf-old"}; })})});
  auto b = refreshed();
  auto updates = b->upgradable();
  ASSERT_TRUE(updates) << to_string(updates.error());
  ASSERT_EQ(updates->size(), 1u);
  const auto& kb = (*updates)[0];
  EXPECT_EQ(kb.name, "pf-kb");
  EXPECT_TRUE(kb.held_back);
  EXPECT_EQ(kb.held_reason,
            "needs new packages or removals (full-upgrade would install pf-newdep and remove "
            "pf-old)");
  EXPECT_EQ(kb.candidate, "2.0-1");

  auto all = b->apply(Selection{});
  ASSERT_TRUE(all) << to_string(all.error());
  EXPECT_EQ(all->outcome, ApplyOutcome::not_applied) << explain(*all);
  const auto* r = find(*all, "pf-kb");
  ASSERT_NE(r, nullptr) << explain(*all);
  EXPECT_EQ(r->status, PackageResult::Status::not_applied);
  EXPECT_EQ(r->reason, Reason::kept_back);
  EXPECT_NE(r->detail.find("pf-old"), std::string::npos) << r->detail;

  // Named, it is still not installed at the price of a removal.
  const std::string before = status_text();
  auto named = b->apply(packages({"pf-kb"}));
  ASSERT_TRUE(named) << to_string(named.error());
  EXPECT_EQ(named->outcome, ApplyOutcome::resolve_failed) << explain(*named);
  const auto* n = find(*named, "pf-kb");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->reason, Reason::kept_back) << explain(*named);
  EXPECT_NE(n->detail.find("removal of pf-old"), std::string::npos) << n->detail;
  EXPECT_EQ(status_text(), before);
  EXPECT_EQ(version_of("pf-old"), "1.0-1");
}

// A locally modified conffile, and a new version shipping a different one.
class Conffiles : public AptWorld, public ::testing::WithParamInterface<ConffilePolicy> {};

TEST_P(Conffiles, PolicyDecidesWhichFileStays) {
  auto with_conf = [](const std::string& text) {
    return [text](lab::DebSpec& s) { s.conffiles = {{"/etc/pf-conf.conf", text}}; };
  };
  const auto v1 = deb("pf-conf", "1.0-1", with_conf("setting=1\n"));
  install({v1});
  auto local = lab::write_file(root_ / "etc/pf-conf.conf", "setting=local\n");
  ASSERT_TRUE(local) << to_string(local.error());
  sources({repo({v1, deb("pf-conf", "2.0-1", with_conf("setting=2\n"))})});
  auto o = options();
  o.conffiles = GetParam();
  auto b = refreshed(o);
  auto report = b->apply(packages({"pf-conf"}));
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << explain(*report);
  EXPECT_TRUE(report->consistent) << report->audit;
  EXPECT_EQ(version_of("pf-conf"), "2.0-1");
  if (GetParam() == ConffilePolicy::keep_old) {
    EXPECT_EQ(slurp(root_ / "etc/pf-conf.conf"), "setting=local\n");
    EXPECT_EQ(slurp(root_ / "etc/pf-conf.conf.dpkg-dist"), "setting=2\n");
  } else {
    EXPECT_EQ(slurp(root_ / "etc/pf-conf.conf"), "setting=2\n");
    EXPECT_EQ(slurp(root_ / "etc/pf-conf.conf.dpkg-old"), "setting=local\n");
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, Conffiles,
                         ::testing::Values(ConffilePolicy::keep_old, ConffilePolicy::take_new),
                         [](const auto& param_info) {
                           return param_info.param == ConffilePolicy::keep_old ? "KeepOld"
                                                                               : "TakeNew";
                         });

}  // namespace
}  // namespace pf::pkg::apt::testing
