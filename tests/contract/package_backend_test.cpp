// SPDX-License-Identifier: Apache-2.0
// The PackageBackend contract, one typed suite run against every backend: apt/dpkg on a dpkg
// root and dnf/rpm on an rpm root, both built by the lab library with the real tools. What a
// backend reports is checked against the package database read independently (pf::pkg readers).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "patchflow/lab/deb.hpp"
#include "patchflow/lab/rpm.hpp"
#include "patchflow/lab/tools.hpp"
#include "patchflow/pkg/backend.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg/rpm_db.hpp"
#include "patchflow/pkg_apt/apt_backend.hpp"
#include "patchflow/pkg_dnf/dnf_backend.hpp"

namespace pf::pkg {
namespace {

namespace fs = std::filesystem;

// The packages every world offers: pf-app 1.0-1 (installed) and 2.0-1 (in the repository,
// depending on pf-lib, which is not installed), pf-tool 1.0-1 (installed, no update).
struct PackageDef {
  std::string name;
  std::string version;  // upstream-release, the same text in both families
  std::vector<std::string> depends;
};
const std::vector<PackageDef> kRepo{
    {"pf-app", "1.0-1", {}},
    {"pf-app", "2.0-1", {"pf-lib"}},
    {"pf-lib", "1.0-1", {}},
    {"pf-tool", "1.0-1", {}},
};
const std::vector<std::string> kInstalled{"pf-app=1.0-1", "pf-tool=1.0-1"};

std::string upstream(const std::string& v) { return v.substr(0, v.find('-')); }
std::string release(const std::string& v) { return v.substr(v.find('-') + 1); }

class World {
 public:
  virtual ~World() = default;
  virtual Result<void> build(const fs::path& dir) = 0;
  virtual std::unique_ptr<PackageBackend> backend(const fs::path& dir) = 0;
  /// The database read without the backend: name -> version.
  virtual std::vector<inventory::Package> read(const fs::path& dir) = 0;
};

class AptWorld : public World {
 public:
  Result<void> build(const fs::path& dir) override {
    std::vector<fs::path> debs;
    std::vector<fs::path> initial;
    for (const auto& p : kRepo) {
      lab::DebSpec spec;
      spec.name = p.name;
      spec.version = p.version;
      spec.depends = p.depends;
      spec.files = {{"/usr/share/" + p.name + "/version", p.version + "\n"}};
      auto deb = lab::build_deb(spec, dir / "debs");
      if (!deb) return tl::unexpected(deb.error());
      debs.push_back(*deb);
      if (std::find(kInstalled.begin(), kInstalled.end(), p.name + "=" + p.version) !=
          kInstalled.end())
        initial.push_back(*deb);
    }
    auto repo = lab::build_apt_repo(debs, dir / "repo");
    if (!repo) return tl::unexpected(repo.error());
    if (auto r = lab::make_dpkg_root(dir / "root"); !r) return r;
    if (auto r = lab::install_debs(dir / "root", initial); !r) return r;
    return lab::set_apt_sources(dir / "root", {repo->source_line});
  }
  std::unique_ptr<PackageBackend> backend(const fs::path& dir) override {
    BackendOptions options;
    options.root = dir / "root";
    options.lock_timeout = std::chrono::seconds(30);
    return apt::make_apt_backend(options);
  }
  std::vector<inventory::Package> read(const fs::path& dir) override {
    auto r = read_dpkg_status(dpkg_status_path(dir / "root"));
    EXPECT_TRUE(r) << (r ? "" : to_string(r.error()));
    return r ? *r : std::vector<inventory::Package>{};
  }
};

class DnfWorld : public World {
 public:
  Result<void> build(const fs::path& dir) override {
    std::vector<fs::path> rpms;
    std::vector<fs::path> initial;
    for (const auto& p : kRepo) {
      lab::RpmSpec spec;
      spec.name = p.name;
      spec.version = upstream(p.version);
      spec.release = release(p.version);
      spec.requires_ = p.depends;
      spec.files = {{"/usr/share/" + p.name + "/version", p.version + "\n"}};
      auto rpm = lab::build_rpm(spec, dir / "rpms");
      if (!rpm) return tl::unexpected(rpm.error());
      rpms.push_back(*rpm);
      if (std::find(kInstalled.begin(), kInstalled.end(), p.name + "=" + p.version) !=
          kInstalled.end())
        initial.push_back(*rpm);
    }
    auto repo = lab::build_rpm_repo(rpms, dir / "repo");
    if (!repo) return tl::unexpected(repo.error());
    if (auto r = lab::make_rpm_root(dir / "root"); !r) return r;
    if (auto r = lab::install_rpms(dir / "root", initial); !r) return r;
    return lab::write_file(dir / "root/etc/yum.repos.d/pf-lab.repo", repo->repo_file);
  }
  std::unique_ptr<PackageBackend> backend(const fs::path& dir) override {
    BackendOptions options;
    options.root = dir / "root";
    options.releasever = "lab";
    options.lock_timeout = std::chrono::seconds(30);
    return dnf::make_dnf_backend(options);
  }
  std::vector<inventory::Package> read(const fs::path& dir) override {
    auto r = read_rpm_database(dir / "root");
    EXPECT_TRUE(r) << (r ? "" : to_string(r.error()));
    return r ? *r : std::vector<inventory::Package>{};
  }
};

template <class W>
class PackageBackendContract : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pf-contract-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto built = world_.build(dir_);
    ASSERT_TRUE(built) << to_string(built.error());
    backend_ = world_.backend(dir_);
    ASSERT_NE(backend_, nullptr);
    auto refreshed = backend_->refresh();
    ASSERT_TRUE(refreshed) << to_string(refreshed.error());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// The installed version of `name` read from the database directly ("" when absent).
  std::string version_of(const std::string& name) {
    for (const auto& p : world_.read(dir_))
      if (p.name == name) return p.version;
    return {};
  }

  static const PackageResult* find(const ApplyReport& report, const std::string& name) {
    for (const auto& p : report.packages)
      if (p.name == name) return &p;
    return nullptr;
  }

  W world_;
  fs::path dir_;
  std::unique_ptr<PackageBackend> backend_;
};

using Worlds = ::testing::Types<AptWorld, DnfWorld>;
class WorldNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, AptWorld> ? "apt" : "dnf";
  }
};
TYPED_TEST_SUITE(PackageBackendContract, Worlds, WorldNames);

TYPED_TEST(PackageBackendContract, InstalledMatchesTheDatabase) {
  auto installed = this->backend_->installed();
  ASSERT_TRUE(installed) << to_string(installed.error());
  auto direct = this->world_.read(this->dir_);
  ASSERT_EQ(installed->size(), direct.size());
  EXPECT_EQ(this->version_of("pf-app"), "1.0-1");
  bool found = std::any_of(installed->begin(), installed->end(), [](const auto& p) {
    return p.name == "pf-app" && p.version == "1.0-1";
  });
  EXPECT_TRUE(found);
}

TYPED_TEST(PackageBackendContract, UpgradableListsTheNewVersionOnly) {
  auto updates = this->backend_->upgradable();
  ASSERT_TRUE(updates) << to_string(updates.error());
  ASSERT_EQ(updates->size(), 1u);
  EXPECT_EQ((*updates)[0].name, "pf-app");
  EXPECT_EQ((*updates)[0].installed, "1.0-1");
  EXPECT_EQ((*updates)[0].candidate, "2.0-1");
  EXPECT_FALSE((*updates)[0].held_back) << (*updates)[0].held_reason;
}

TYPED_TEST(PackageBackendContract, PlanChangesNothing) {
  auto before = this->world_.read(this->dir_);
  auto plan = this->backend_->plan(Selection{});
  ASSERT_TRUE(plan) << to_string(plan.error());
  auto app = std::find_if(plan->changes.begin(), plan->changes.end(),
                          [](const Change& c) { return c.name == "pf-app"; });
  ASSERT_NE(app, plan->changes.end());
  EXPECT_EQ(app->from, "1.0-1");
  EXPECT_EQ(app->to, "2.0-1");
  EXPECT_EQ(app->action, Action::upgrade);
  EXPECT_TRUE(app->selected);
  auto lib = std::find_if(plan->changes.begin(), plan->changes.end(),
                          [](const Change& c) { return c.name == "pf-lib"; });
  ASSERT_NE(lib, plan->changes.end()) << "the new dependency is part of the plan";
  EXPECT_EQ(lib->action, Action::install);
  EXPECT_FALSE(lib->selected);
  auto after = this->world_.read(this->dir_);
  ASSERT_EQ(before.size(), after.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].name, after[i].name);
    EXPECT_EQ(before[i].version, after[i].version);
  }
}

TYPED_TEST(PackageBackendContract, ApplyIsVerifiedAndRollbackRestores) {
  Selection sel;
  sel.kind = Selection::Kind::packages;
  sel.names = {"pf-app"};
  auto report = this->backend_->apply(sel);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->outcome, ApplyOutcome::applied) << report->output_tail;
  EXPECT_TRUE(report->consistent) << report->audit;
  const auto* app = this->find(*report, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, PackageResult::Status::applied);
  EXPECT_EQ(app->before, "1.0-1");
  EXPECT_EQ(app->after, "2.0-1");
  const auto* lib = this->find(*report, "pf-lib");
  ASSERT_NE(lib, nullptr) << "the dependency installed with it is reported";
  EXPECT_EQ(lib->status, PackageResult::Status::extra);
  EXPECT_EQ(lib->before, "");
  EXPECT_EQ(lib->after, "1.0-1");
  EXPECT_EQ(this->version_of("pf-app"), "2.0-1");
  EXPECT_EQ(this->version_of("pf-lib"), "1.0-1");
  EXPECT_FALSE(report->commands.empty());

  auto again = this->backend_->apply(sel);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(again->outcome, ApplyOutcome::nothing_to_do);

  auto back = this->backend_->restore(rollback_targets(*report));
  ASSERT_TRUE(back) << to_string(back.error());
  EXPECT_EQ(back->outcome, ApplyOutcome::applied) << back->output_tail;
  EXPECT_EQ(this->version_of("pf-app"), "1.0-1");
  EXPECT_EQ(this->version_of("pf-lib"), "") << "the dependency pulled in is removed again";
  EXPECT_EQ(this->version_of("pf-tool"), "1.0-1") << "untouched packages stay";
}

TYPED_TEST(PackageBackendContract, ExactVersionsUpgradeAndDowngrade) {
  Selection up;
  up.kind = Selection::Kind::exact;
  up.exact = {{"pf-app", "", "2.0-1"}};
  auto r1 = this->backend_->apply(up);
  ASSERT_TRUE(r1) << to_string(r1.error());
  EXPECT_EQ(r1->outcome, ApplyOutcome::applied) << r1->output_tail;
  EXPECT_EQ(this->version_of("pf-app"), "2.0-1");

  Selection down;
  down.kind = Selection::Kind::exact;
  down.exact = {{"pf-app", "", "1.0-1"}};
  auto r2 = this->backend_->apply(down);
  ASSERT_TRUE(r2) << to_string(r2.error());
  EXPECT_EQ(r2->outcome, ApplyOutcome::applied) << r2->output_tail;
  const auto* app = this->find(*r2, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->before, "2.0-1");
  EXPECT_EQ(app->after, "1.0-1");
  EXPECT_EQ(this->version_of("pf-app"), "1.0-1");
}

TYPED_TEST(PackageBackendContract, UnknownPackageIsNotAppliedWithTheReason) {
  Selection sel;
  sel.kind = Selection::Kind::packages;
  sel.names = {"pf-no-such-package"};
  auto before = this->world_.read(this->dir_);
  auto report = this->backend_->apply(sel);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_TRUE(report->outcome == ApplyOutcome::resolve_failed ||
              report->outcome == ApplyOutcome::not_applied)
      << outcome_name(report->outcome);
  const auto* missing = this->find(*report, "pf-no-such-package");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->status, PackageResult::Status::not_applied);
  EXPECT_EQ(missing->reason, Reason::not_in_repository) << reason_name(missing->reason);
  EXPECT_EQ(this->world_.read(this->dir_).size(), before.size());
}

TYPED_TEST(PackageBackendContract, UnavailableExactVersionIsNotInRepository) {
  Selection sel;
  sel.kind = Selection::Kind::exact;
  sel.exact = {{"pf-app", "", "9.9-1"}};
  auto report = this->backend_->apply(sel);
  ASSERT_TRUE(report) << to_string(report.error());
  const auto* app = this->find(*report, "pf-app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, PackageResult::Status::not_applied);
  EXPECT_EQ(app->reason, Reason::not_in_repository) << reason_name(app->reason);
  EXPECT_EQ(app->after, "1.0-1");
  EXPECT_EQ(this->version_of("pf-app"), "1.0-1");
}

}  // namespace
}  // namespace pf::pkg
