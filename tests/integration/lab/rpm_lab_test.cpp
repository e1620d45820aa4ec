// SPDX-License-Identifier: Apache-2.0
// build_rpm, make_rpm_root and install_rpms against the real rpmbuild and rpm.
#include <gtest/gtest.h>

#include <algorithm>

#include "lab_fixture.hpp"
#include "patchflow/lab/rpm.hpp"

namespace fs = std::filesystem;
namespace lab = pf::lab;

namespace {

class RpmLab : public lab::testing::LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    rpm_ = require("rpm", "rpm");
    require("rpmbuild", "rpm");
    root_ = dir_ / "root";
    auto made = lab::make_rpm_root(root_);
    ASSERT_TRUE(made) << pf::to_string(made.error());
  }

  std::string query(const std::string& format, const std::string& package) {
    auto argv = lab::rpm_args(root_);
    argv[0] = rpm_;
    argv.insert(argv.end(), {"-q", "--qf", format, package});
    auto r = run(argv);
    return r.ok() ? r.out : describe(r);
  }

  std::string rpm_;
  fs::path root_;
};

TEST_F(RpmLab, BuildsInstallsAndUpgradesInTheRoot) {
  lab::RpmSpec s;
  s.name = "pf-rpm";
  s.epoch = 2;
  s.version = "1.0";
  s.release = "1.el9";
  s.requires_ = {"pf-absent >= 1"};
  s.provides = {"pf-virtual"};
  s.files = {{"/usr/share/pf-rpm/README", "one\n", 0644}, {"/usr/bin/pf-rpm", "#!/bin/sh\n", 0755}};
  s.post = "echo post\n";
  auto v1 = lab::build_rpm(s, dir_ / "rpms");
  ASSERT_TRUE(v1) << pf::to_string(v1.error());
  EXPECT_EQ(v1->filename().string(), "pf-rpm-1.0-1.el9.noarch.rpm");

  auto info =
      run({rpm_, "-qp", "--qf", "%{EPOCH} %{REQUIRENAME} [%{FILEMODES:perms} ]\\n", v1->string()});
  ASSERT_TRUE(info.ok()) << describe(info);
  EXPECT_NE(info.out.find("2 "), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("-rwxr-xr-x"), std::string::npos) << info.out;
  auto script = run({rpm_, "-qp", "--scripts", v1->string()});
  EXPECT_NE(script.out.find("echo post"), std::string::npos) << script.out;

  auto installed = lab::install_rpms(root_, {*v1});
  ASSERT_TRUE(installed) << pf::to_string(installed.error());
  EXPECT_EQ(query("%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH}", "pf-rpm"),
            "pf-rpm 2:1.0-1.el9 noarch");
  EXPECT_EQ(slurp(root_ / "usr/share/pf-rpm/README"), "one\n");

  s.release = "2.el9";
  s.files[0].content = "two\n";
  auto v2 = lab::build_rpm(s, dir_ / "rpms");
  ASSERT_TRUE(v2) << pf::to_string(v2.error());
  auto upgraded = lab::install_rpms(root_, {*v2});
  ASSERT_TRUE(upgraded) << pf::to_string(upgraded.error());
  EXPECT_EQ(query("%{VERSION}-%{RELEASE}", "pf-rpm"), "1.0-2.el9");
  EXPECT_EQ(slurp(root_ / "usr/share/pf-rpm/README"), "two\n");
}

TEST_F(RpmLab, InvalidDescriptionsAreClearErrors) {
  lab::RpmSpec s;
  s.name = "pf-rpm";
  s.version = "1.0-1";
  auto v = lab::build_rpm(s, dir_ / "rpms");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, "version");
  s.version = "1.0";
  s.files = {{"relative/path", "", 0644}};
  auto f = lab::build_rpm(s, dir_ / "rpms");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, pf::Errc::invalid_input);
}

TEST_F(RpmLab, NewRootHoldsOnlyTheShellPackage) {
  EXPECT_TRUE(fs::exists(root_ / "var/lib/rpm"));
  auto argv = lab::rpm_args(root_);
  argv[0] = rpm_;
  argv.insert(argv.end(), {"-qa", "--qf", "%{NAME} [%{PROVIDES} ]\\n"});
  auto r = run(argv);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.out, "pf-lab-base /bin/bash /bin/sh pf-lab-base \n");
  EXPECT_TRUE(fs::is_symlink(root_ / "bin/sh"));
  EXPECT_EQ(fs::read_symlink(root_ / "bin/sh"), "busybox");
  EXPECT_NE(slurp(root_ / "etc/dnf/dnf.conf").find("gpgcheck=0"), std::string::npos);
  EXPECT_EQ(slurp(lab::dnf_home(root_) / ".rpmmacros"), "%_dbpath /var/lib/rpm\n");

  const fs::path bare = dir_ / "bare";
  auto made = lab::make_rpm_root(bare, {.scriptlets = false});
  ASSERT_TRUE(made) << pf::to_string(made.error());
  argv = lab::rpm_args(bare);
  argv[0] = rpm_;
  argv.push_back("-qa");
  auto b = run(argv);
  ASSERT_TRUE(b.ok()) << describe(b);
  EXPECT_EQ(b.out, "");
  EXPECT_FALSE(fs::exists(bare / "bin/sh"));
}

TEST_F(RpmLab, ScriptletsRunChrootedInTheRoot) {
  lab::RpmSpec s;
  s.name = "pf-script";
  s.version = "1.0";
  s.pre = "mkdir -p /var/lib/pf-script\necho pre $1 > /var/lib/pf-script/pre\n";
  s.post = "echo post $1 > /var/lib/pf-script/post\nsleep 0\n";
  auto v1 = lab::build_rpm(s, dir_ / "rpms");
  ASSERT_TRUE(v1) << pf::to_string(v1.error());
  auto installed = lab::install_rpms(root_, {*v1});
  ASSERT_TRUE(installed) << pf::to_string(installed.error());
  EXPECT_EQ(slurp(root_ / "var/lib/pf-script/pre"), "pre 1\n");
  EXPECT_EQ(slurp(root_ / "var/lib/pf-script/post"), "post 1\n");

  s.version = "2.0";
  s.pre = "echo refusing >&2\nexit 3\n";
  auto v2 = lab::build_rpm(s, dir_ / "rpms");
  ASSERT_TRUE(v2) << pf::to_string(v2.error());
  auto refused = lab::install_rpms(root_, {*v2});
  ASSERT_FALSE(refused) << "a failing %pre stops rpm";
  EXPECT_NE(refused.error().message.find("refusing"), std::string::npos) << refused.error().message;
  EXPECT_EQ(query("%{VERSION}", "pf-script"), "1.0");
}

TEST_F(RpmLab, DnfActsOnTheRootWithItsOwnDatabase) {
  const std::string dnf = require("dnf", "dnf");
  require("createrepo_c", "createrepo-c");
  require("modifyrepo_c", "createrepo-c");
  lab::RpmSpec s;
  s.name = "pf-dnf";
  s.version = "1.0";
  s.post = "echo installed > /var/lib/pf-dnf-post\n";
  auto pkg = lab::build_rpm(s, dir_ / "rpms");
  ASSERT_TRUE(pkg) << pf::to_string(pkg.error());
  auto repo = lab::build_rpm_repo({*pkg}, dir_ / "repo");
  ASSERT_TRUE(repo) << pf::to_string(repo.error());
  ASSERT_TRUE(lab::write_file(root_ / "etc/yum.repos.d/pf-lab.repo", repo->repo_file));

  auto argv = lab::dnf_args(root_);
  EXPECT_EQ(argv[0], "dnf");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--installroot=" + fs::absolute(root_).string()),
            argv.end());
  argv[0] = dnf;
  argv.insert(argv.end(), {"-y", "install", "pf-dnf"});
  auto r = run(argv, lab::dnf_env(root_));
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(query("%{NAME}-%{VERSION}-%{RELEASE}", "pf-dnf"), "pf-dnf-1.0-1");
  EXPECT_EQ(slurp(root_ / "var/lib/pf-dnf-post"), "installed\n") << "dnf ran the %post";
  EXPECT_FALSE(fs::exists(root_ / "root/.rpmdb")) << "dnf used the root's database";
}

TEST_F(RpmLab, RepositoryHasPrimaryAndUpdateinfo) {
  require("createrepo_c", "createrepo-c");
  require("modifyrepo_c", "createrepo-c");
  const std::string gzip = require("gzip", "gzip");
  lab::RpmSpec s;
  s.name = "pf-repo";
  s.version = "1.0";
  s.release = "2";
  auto pkg = lab::build_rpm(s, dir_ / "rpms");
  ASSERT_TRUE(pkg) << pf::to_string(pkg.error());

  lab::Advisory a;
  a.id = "PFSA-2026:0001";
  a.title = "pf-repo <security> fix & more";
  a.severity = "Important";
  a.issued = "2026-01-02 00:00:00";
  a.description = "Fixes CVE-2026-0001.";
  a.cves = {"CVE-2026-0001"};
  a.packages = {{"pf-repo", 0, "1.0", "2", "noarch", "pf-repo-1.0-2.noarch.rpm"}};
  auto repo = lab::build_rpm_repo({*pkg}, dir_ / "repo", {a});
  ASSERT_TRUE(repo) << pf::to_string(repo.error());
  EXPECT_TRUE(fs::exists(dir_ / "repo/pf-repo-1.0-2.noarch.rpm"));
  EXPECT_NE(repo->repo_file.find("baseurl=file://" + (dir_ / "repo").string() + "\n"),
            std::string::npos);

  const std::string repomd = slurp(dir_ / "repo/repodata/repomd.xml");
  EXPECT_NE(repomd.find("<data type=\"primary\">"), std::string::npos) << repomd;
  EXPECT_NE(repomd.find("<data type=\"updateinfo\">"), std::string::npos) << repomd;

  std::string primary, updateinfo;
  for (const auto& e : fs::directory_iterator(dir_ / "repo/repodata")) {
    const std::string f = e.path().filename().string();
    if (f.ends_with("-primary.xml.gz")) primary = e.path().string();
    if (f.find("updateinfo.xml") != std::string::npos) updateinfo = e.path().string();
  }
  ASSERT_FALSE(primary.empty());
  auto p = run({gzip, "-dc", primary});
  ASSERT_TRUE(p.ok()) << describe(p);
  EXPECT_NE(p.out.find("<name>pf-repo</name>"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("<version epoch=\"0\" ver=\"1.0\" rel=\"2\"/>"), std::string::npos) << p.out;

  ASSERT_TRUE(updateinfo.ends_with(".gz")) << updateinfo;
  auto u = run({gzip, "-dc", updateinfo});
  ASSERT_TRUE(u.ok()) << describe(u);
  EXPECT_NE(u.out.find("<id>PFSA-2026:0001</id>"), std::string::npos) << u.out;
  EXPECT_NE(u.out.find("<title>pf-repo &lt;security&gt; fix &amp; more</title>"), std::string::npos)
      << u.out;
  EXPECT_NE(u.out.find("id=\"CVE-2026-0001\" type=\"cve\""), std::string::npos) << u.out;
  EXPECT_NE(u.out.find("<package name=\"pf-repo\" epoch=\"0\" version=\"1.0\" release=\"2\""),
            std::string::npos)
      << u.out;
}

}  // namespace
