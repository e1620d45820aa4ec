// SPDX-License-Identifier: Apache-2.0
// The argv that makes dpkg and apt-get act on a package root instead of the running system.
#include <gtest/gtest.h>

#include <algorithm>

#include "patchflow/pkg_apt/apt_backend.hpp"

namespace pf::pkg::apt {
namespace {

bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

TEST(RootArgs, SystemRootIsPlain) {
  for (const char* root : {"/", "//", "/.", "/tmp/.."}) {
    EXPECT_TRUE(is_system_root(root)) << root;
    EXPECT_EQ(root_dpkg_args(root), std::vector<std::string>{"dpkg"}) << root;
    EXPECT_EQ(root_apt_args(root, "/usr/bin/apt-get"), std::vector<std::string>{"/usr/bin/apt-get"})
        << root;
    EXPECT_TRUE(root_apt_env(root).empty()) << root;
  }
  EXPECT_FALSE(is_system_root(""));
  EXPECT_FALSE(is_system_root("/srv/root"));
}

TEST(RootArgs, PackageRootGetsItsOwnDatabaseAndConfiguration) {
  const auto dpkg = root_dpkg_args("/srv/r/", "/usr/bin/dpkg");
  EXPECT_EQ(dpkg, (std::vector<std::string>{"/usr/bin/dpkg", "--root=/srv/r", "--force-not-root",
                                            "--force-bad-path", "--force-script-chrootless",
                                            "--log=/srv/r/var/log/dpkg.log"}));
  const auto apt = root_apt_args("/srv/r");
  EXPECT_EQ(apt.front(), "apt-get");
  for (const char* arg :
       {"Dir=/srv/r/", "Dir::State::status=/srv/r/var/lib/dpkg/status",
        "DPkg::Options::=--root=/srv/r", "DPkg::Options::=--force-not-root",
        "DPkg::Options::=--force-bad-path", "DPkg::Options::=--force-script-chrootless",
        "DPkg::Options::=--log=/srv/r/var/log/dpkg.log", "APT::Sandbox::User=root",
        "Dpkg::Use-Pty=0"}) {
    EXPECT_TRUE(has(apt, arg)) << arg;
  }
  // Every setting is one "-o" pair.
  EXPECT_EQ(apt.size() % 2, 1u);
  for (std::size_t i = 1; i < apt.size(); i += 2) EXPECT_EQ(apt[i], "-o");
  EXPECT_EQ(root_apt_env("/srv/r"), std::vector<std::string>{"APT_CONFIG=/srv/r/etc/apt/apt.conf"});
  EXPECT_EQ(root_apt_args("/srv/r", "apt-mark").front(), "apt-mark");
}

TEST(RootArgs, RelativeRootsBecomeAbsolute) {
  const auto dpkg = root_dpkg_args("some/root");
  ASSERT_GE(dpkg.size(), 2u);
  EXPECT_TRUE(dpkg[1].starts_with("--root=/")) << dpkg[1];
  EXPECT_TRUE(dpkg[1].ends_with("/some/root")) << dpkg[1];
}

}  // namespace
}  // namespace pf::pkg::apt
