// SPDX-License-Identifier: Apache-2.0
// needs-restarting -r semantics on a real rpm root: fake kernel-core and glibc packages built
// with rpmbuild, installed with rpm, their INSTALLTIME read back through rpm. The fixtures have
// no scriptlets (rpm would run them chrooted, and the root has no /bin/sh).
#include <gtest/gtest.h>

#include <algorithm>

#include "../lab/lab_fixture.hpp"
#include "patchflow/agent/reboot.hpp"
#include "patchflow/lab/rpm.hpp"

namespace fs = std::filesystem;
namespace lab = pf::lab;
namespace agent = pf::agent;
using namespace std::chrono_literals;

namespace {

std::chrono::sys_seconds now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

class AgentRpmReboot : public lab::testing::LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    rpm_ = require("rpm", "rpm");
    require("rpmbuild", "rpm");
    root_ = dir_ / "root";
    auto made = lab::make_rpm_root(root_);
    ASSERT_TRUE(made) << pf::to_string(made.error());
    options_.root = root_;
    options_.rpm = rpm_;
  }

  void install(const std::string& name, const std::string& version) {
    lab::RpmSpec s;
    s.name = name;
    s.version = version;
    s.release = "1";
    s.files = {{"/usr/share/doc/" + name + "/README", name + "\n", 0644}};
    auto built = lab::build_rpm(s, dir_ / "rpms");
    ASSERT_TRUE(built) << pf::to_string(built.error());
    auto installed = lab::install_rpms(root_, {*built});
    ASSERT_TRUE(installed) << pf::to_string(installed.error());
  }

  static bool names(const agent::RebootState& s, const std::string& package) {
    return std::find(s.packages.begin(), s.packages.end(), package) != s.packages.end();
  }

  std::string rpm_;
  fs::path root_;
  agent::RebootOptions options_;
};

TEST_F(AgentRpmReboot, EmptyRootNeedsNoReboot) {
  auto family = agent::detect_family(root_);
  ASSERT_TRUE(family) << pf::to_string(family.error());
  EXPECT_EQ(*family, agent::PackageFamily::rpm);
  options_.running_kernel = "6.1.0-13-amd64";
  options_.boot_time = now() - 1h;
  auto r = agent::reboot_required(options_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_FALSE(r->required);
  EXPECT_TRUE(r->reasons.empty());
}

TEST_F(AgentRpmReboot, RunningKernelOlderThanTheInstalledOne) {
  ASSERT_NO_FATAL_FAILURE(install("kernel-core", "6.99.0"));
  // Booted after the install: only the kernel comparison can ask for a reboot.
  options_.boot_time = now() + 1h;
  options_.running_kernel = "6.1.0-13-amd64";
  auto r = agent::reboot_required(options_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_TRUE(r->required);
  EXPECT_EQ(r->reasons, std::vector<std::string>{
                            "running kernel 6.1.0-13-amd64, newest installed 6.99.0-1.noarch "
                            "(kernel-core)"});
  EXPECT_EQ(r->packages, std::vector<std::string>{"kernel-core"});

  // Running the installed kernel: nothing to do.
  options_.running_kernel = "6.99.0-1.noarch";
  auto same = agent::reboot_required(options_);
  ASSERT_TRUE(same) << pf::to_string(same.error());
  EXPECT_FALSE(same->required) << (same->reasons.empty() ? "" : same->reasons[0]);

  // Booted before the install: kernel-core is also a package updated since boot.
  options_.boot_time = now() - 1h;
  auto since = agent::reboot_required(options_);
  ASSERT_TRUE(since) << pf::to_string(since.error());
  EXPECT_TRUE(since->required);
  ASSERT_EQ(since->reasons.size(), 1u);
  EXPECT_TRUE(since->reasons[0].starts_with("kernel-core updated since boot (installed 20"))
      << since->reasons[0];
}

TEST_F(AgentRpmReboot, GlibcInstalledSinceBoot) {
  ASSERT_NO_FATAL_FAILURE(install("glibc", "2.99"));
  ASSERT_NO_FATAL_FAILURE(install("pf-not-core", "1.0"));
  options_.running_kernel = "6.1.0-13-amd64";  // no kernel package installed: not compared

  options_.boot_time = now() - 1h;
  auto r = agent::reboot_required(options_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_TRUE(r->required);
  EXPECT_EQ(r->packages, std::vector<std::string>{"glibc"});
  ASSERT_EQ(r->reasons.size(), 1u);
  EXPECT_TRUE(r->reasons[0].starts_with("glibc updated since boot (installed 20")) << r->reasons[0];
  EXPECT_TRUE(r->reasons[0].ends_with("Z)")) << r->reasons[0];

  // A boot after the install: the new glibc is already in use.
  options_.boot_time = now() + 1h;
  auto later = agent::reboot_required(options_);
  ASSERT_TRUE(later) << pf::to_string(later.error());
  EXPECT_FALSE(later->required) << (later->reasons.empty() ? "" : later->reasons[0]);

  // Without a boot time given, this machine's boot (before the install) decides.
  options_.boot_time.reset();
  auto host = agent::reboot_required(options_);
  ASSERT_TRUE(host) << pf::to_string(host.error());
  EXPECT_TRUE(host->required);
  EXPECT_TRUE(names(*host, "glibc"));
}

TEST_F(AgentRpmReboot, RpmFailuresAreClearErrors) {
  options_.boot_time = now();
  options_.running_kernel = "6.1.0-13-amd64";
  options_.rpm = (dir_ / "no-rpm").string();
  auto missing = agent::reboot_required(options_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::backend_failed);
  EXPECT_NE(missing.error().message.find("no-rpm"), std::string::npos) << missing.error().message;

  // A database rpm cannot open: its stderr is in the message.
  options_.rpm = rpm_;
  for (const auto& e : fs::directory_iterator(root_ / "var/lib/rpm")) {
    if (e.path().filename() == "rpmdb.sqlite") {
      std::ofstream(e.path(), std::ios::trunc) << "this is not a database\n";
    }
  }
  auto broken = agent::reboot_required(options_);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, pf::Errc::backend_failed);
  EXPECT_NE(broken.error().message.find("stderr:"), std::string::npos) << broken.error().message;
}

}  // namespace
