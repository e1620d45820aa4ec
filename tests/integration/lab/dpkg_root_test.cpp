// SPDX-License-Identifier: Apache-2.0
// dpkg roots: dpkg -i into them, a failing postinst, and apt-get upgrading from a lab repository.
#include <gtest/gtest.h>

#include "lab_fixture.hpp"
#include "patchflow/lab/deb.hpp"

namespace fs = std::filesystem;
namespace lab = pf::lab;

namespace {

class DebRoot : public lab::testing::LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    require("dpkg", "dpkg");
    require("dpkg-deb", "dpkg");
    root_ = dir_ / "root";
    auto made = lab::make_dpkg_root(root_);
    ASSERT_TRUE(made) << pf::to_string(made.error());
  }

  fs::path deb(const std::string& name, const std::string& version,
               std::optional<std::string> postinst = {}) {
    lab::DebSpec s;
    s.name = name;
    s.version = version;
    s.files = {{"/usr/share/" + name + "/version", version + "\n", 0644}};
    s.conffiles = {{"/etc/" + name + ".conf", "v=" + version + "\n"}};
    s.postinst = std::move(postinst);
    auto r = lab::build_deb(s, dir_ / "debs");
    EXPECT_TRUE(r) << pf::to_string(r.error());
    return r ? *r : fs::path{};
  }

  fs::path status() const { return root_ / "var/lib/dpkg/status"; }

  fs::path root_;
};

TEST_F(DebRoot, EmptyRootHasItsOwnDatabase) {
  for (const char* p : {"var/lib/dpkg/status", "var/lib/dpkg/available", "var/lib/dpkg/info",
                        "var/lib/dpkg/updates", "etc/apt/sources.list.d", "etc/apt/apt.conf"}) {
    EXPECT_TRUE(fs::exists(root_ / p)) << p;
  }
  EXPECT_EQ(slurp(status()), "");
}

TEST_F(DebRoot, InstalledPackageIsInTheRootsStatusAndNotTheMachines) {
  // The postinst runs on the host (--force-script-chrootless) with DPKG_ROOT set to the root.
  const auto pkg =
      deb("pf-hello", "1:2.0-1", "echo configured \"$1\" > \"$DPKG_ROOT/postinst-ran\"\n");
  auto r = lab::install_debs(root_, {pkg});
  ASSERT_TRUE(r) << pf::to_string(r.error());
  const std::string st = stanza(status(), "pf-hello");
  EXPECT_NE(st.find("Status: install ok installed\n"), std::string::npos) << st;
  EXPECT_NE(st.find("Version: 1:2.0-1\n"), std::string::npos) << st;
  EXPECT_NE(st.find("Conffiles:\n /etc/pf-hello.conf "), std::string::npos) << st;
  EXPECT_EQ(slurp(root_ / "usr/share/pf-hello/version"), "1:2.0-1\n");
  EXPECT_EQ(slurp(root_ / "postinst-ran"), "configured configure\n");
  EXPECT_TRUE(fs::exists(root_ / "var/lib/dpkg/info/pf-hello.list"));
  EXPECT_EQ(stanza("/var/lib/dpkg/status", "pf-hello"), "")
      << "the machine's database is untouched";
}

TEST_F(DebRoot, FailingPostinstLeavesThePackageHalfConfigured) {
  const auto pkg = deb("pf-broken", "1.0-1", "echo postinst failing >&2\nexit 1\n");
  auto r = lab::install_debs(root_, {pkg});
  ASSERT_FALSE(r) << "dpkg must exit non-zero";
  EXPECT_EQ(r.error().code, pf::Errc::backend_failed);
  EXPECT_NE(r.error().message.find("exited with status 1"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("postinst failing"), std::string::npos) << r.error().message;
  const std::string st = stanza(status(), "pf-broken");
  EXPECT_NE(st.find("Status: install ok half-configured\n"), std::string::npos) << st;
}

class AptRoot : public DebRoot, public ::testing::WithParamInterface<lab::RepoLayout> {};

TEST_P(AptRoot, AptGetUpgradesFromTheLabRepository) {
  const std::string apt_get = require("apt-get", "apt");
  require("apt-ftparchive", "apt-utils");
  require("gzip", "gzip");
  const auto v1 = deb("pf-up", "1.0-1");
  const auto v2 = deb("pf-up", "1.0-2");
  const auto other = deb("pf-new", "3.0-1");
  auto installed = lab::install_debs(root_, {v1});
  ASSERT_TRUE(installed) << pf::to_string(installed.error());

  auto repo = lab::build_apt_repo({v2, other}, dir_ / "repo", {.layout = GetParam()});
  ASSERT_TRUE(repo) << pf::to_string(repo.error());
  auto sources = lab::set_apt_sources(root_, {repo->source_line});
  ASSERT_TRUE(sources) << pf::to_string(sources.error());

  auto apt = [&](std::vector<std::string> args) {
    auto argv = lab::apt_args(root_);
    argv[0] = apt_get;
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, lab::apt_env(root_));
  };
  auto update = apt({"update"});
  ASSERT_TRUE(update.ok()) << describe(update);
  EXPECT_EQ(update.err.find("/etc/apt/sources.list.d/"), std::string::npos)
      << "the host's apt configuration leaked in: " << update.err;
  auto upgrade = apt({"-y", "upgrade"});
  ASSERT_TRUE(upgrade.ok()) << describe(upgrade);
  EXPECT_EQ(upgrade.err.find("/etc/apt/sources.list.d/"), std::string::npos)
      << "the host's apt configuration leaked in: " << upgrade.err;
  EXPECT_NE(upgrade.out.find("Unpacking pf-up (1.0-2) over (1.0-1)"), std::string::npos)
      << upgrade.out;
  auto install = apt({"-y", "install", "pf-new"});
  ASSERT_TRUE(install.ok()) << describe(install);

  const std::string up = stanza(status(), "pf-up");
  EXPECT_NE(up.find("Status: install ok installed\n"), std::string::npos) << up;
  EXPECT_NE(up.find("Version: 1.0-2\n"), std::string::npos) << up;
  const std::string added = stanza(status(), "pf-new");
  EXPECT_NE(added.find("Version: 3.0-1\n"), std::string::npos) << added;
  EXPECT_EQ(slurp(root_ / "usr/share/pf-up/version"), "1.0-2\n");
  EXPECT_TRUE(fs::exists(root_ / "var/log/dpkg.log"));
}

INSTANTIATE_TEST_SUITE_P(Layouts, AptRoot,
                         ::testing::Values(lab::RepoLayout::flat, lab::RepoLayout::dists),
                         [](const auto& param_info) {
                           return param_info.param == lab::RepoLayout::flat ? "Flat" : "Dists";
                         });

}  // namespace
