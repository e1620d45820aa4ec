// SPDX-License-Identifier: Apache-2.0
// How dnf is pointed at a root: the argv prefix, the environment and the HOME with the rpm
// database path. (Running them is the integration tests' part.)
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "patchflow/testing/temp_dir.hpp"
#include "patchflow/pkg_dnf/dnf_backend.hpp"

namespace pf::pkg::dnf {
namespace {

namespace fs = std::filesystem;

bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DnfArgs, RootWithAndWithoutItsOwnConfiguration) {
  pf::testing::TempDir dir;
  const fs::path root = dir.path() / "root";
  const fs::path home = dir.path() / "home";
  ASSERT_TRUE(write_dnf_home(home, "/var/lib/rpm"));
  EXPECT_EQ(slurp(home / ".rpmmacros"), "%_dbpath /var/lib/rpm\n");

  BackendOptions o;
  o.root = root;
  o.releasever = "9";
  o.dnf = "/usr/bin/dnf";
  auto argv = root_dnf_args(o, home);
  EXPECT_EQ(argv[0], "/usr/bin/dnf");
  EXPECT_TRUE(has(argv, "--installroot=" + root.string()));
  EXPECT_TRUE(has(argv, "--config=" + (home / "empty-dnf.conf").string()))
      << "a root without dnf.conf gets dnf's defaults, never the host's configuration";
  EXPECT_TRUE(has(argv, "--setopt=reposdir=" + (root / "etc/yum.repos.d").string() + "," +
                            (root / "etc/yum/repos.d").string() + "," +
                            (root / "etc/distro.repos.d").string()));
  EXPECT_TRUE(has(argv, "--releasever=9"));
  EXPECT_TRUE(has(argv, "--noplugins")) << "the host's plugins do not belong to another root";
  EXPECT_TRUE(has(argv, "--setopt=exit_on_lock=True"));

  fs::create_directories(root / "etc/dnf");
  std::ofstream(root / "etc/dnf/dnf.conf") << "[main]\n";
  EXPECT_TRUE(has(root_dnf_args(o, home), "--config=" + (root / "etc/dnf/dnf.conf").string()));

  o.root = "/";
  o.releasever.clear();
  auto host = root_dnf_args(o, home);
  EXPECT_TRUE(has(host, "--installroot=/"));
  EXPECT_FALSE(has(host, "--noplugins")) << "on the host, the administrator's plugins apply";
  EXPECT_FALSE(std::any_of(host.begin(), host.end(),
                           [](const std::string& a) { return a.starts_with("--releasever"); }));

  o.env = {"http_proxy=http://proxy.invalid:3128"};
  auto env = root_dnf_env(o, home);
  EXPECT_EQ(env, (std::vector<std::string>{"LC_ALL=C", "HOME=" + home.string(),
                                           "http_proxy=http://proxy.invalid:3128"}));
  EXPECT_EQ(dnf_lock_files("/srv/r")[0], fs::path("/srv/r/var/lib/dnf/rpmdb_lock.pid"));
}

TEST(DnfArgs, DatabasePathMustBeAPlainAbsolutePath) {
  pf::testing::TempDir dir;
  for (const char* bad : {"", "var/lib/rpm", "/var/lib/rpm %{_var}", "/a\nb"}) {
    auto r = write_dnf_home(dir.path() / "home", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_input);
  }
}

TEST(DnfBackend, MissingProgramsAndDatabasesAreClearErrors) {
  pf::testing::TempDir dir;
  BackendOptions o;
  o.root = dir.path();
  o.dnf = (dir.path() / "no-dnf").string();
  auto backend = make_dnf_backend(o);
  EXPECT_EQ(backend->family(), Family::rpm);
  EXPECT_EQ(backend->name(), "dnf");
  auto refreshed = backend->refresh();
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code, Errc::backend_failed);
  EXPECT_NE(refreshed.error().message.find("no-dnf"), std::string::npos)
      << refreshed.error().message;
  auto installed = backend->installed();
  ASSERT_FALSE(installed) << "no rpm database in the root";
  EXPECT_EQ(installed.error().code, Errc::not_found);
  auto applied = backend->apply(Selection{});
  ASSERT_FALSE(applied) << "nothing can be attempted without a database";
  EXPECT_EQ(applied.error().code, Errc::not_found);
  Selection none;
  none.kind = Selection::Kind::packages;
  auto empty = backend->plan(none);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::invalid_input);
}

}  // namespace
}  // namespace pf::pkg::dnf
