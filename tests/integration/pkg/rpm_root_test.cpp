// SPDX-License-Identifier: Apache-2.0
// The rpm reader against a real rpm database: packages built with rpmbuild and installed with
// rpm into a temporary root. Missing rpm or rpmbuild is a failure, not a skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "patchflow/pkg/rpm_db.hpp"
#include "patchflow/testing/temp_dir.hpp"
#include "tools.hpp"

namespace pkg = pf::pkg;
namespace fs = std::filesystem;
using pf::testing::describe;
using pf::testing::run_tool;

namespace {

constexpr const char* kDbPath = "/var/lib/rpm";

std::string show(const pf::inventory::Package& p) {
  return p.name + ' ' + p.arch + ' ' + p.version + ' ' + p.source_name + ' ' + p.source_version;
}

// pf-alpha: epoch 2, no files. pf-beta: a '~' version, one file, and a subpackage with its own
// name (so its source rpm is named differently). pf-gamma: an explicit epoch 0.
constexpr const char* kAlphaSpec = R"(Name: pf-alpha
Version: 1.2
Release: 3.el9
Epoch: 2
Summary: patchflow test package with an epoch
License: Apache-2.0
BuildArch: noarch
%description
Test package.
%files
)";

constexpr const char* kBetaSpec = R"(Name: pf-beta
Version: 0.9~rc1
Release: 1
Summary: patchflow test package with a file
License: Apache-2.0
BuildArch: noarch
%description
Test package.
%package -n pf-beta-libs
Summary: patchflow test subpackage
%description -n pf-beta-libs
Test subpackage.
%install
mkdir -p %{buildroot}/usr/share/pf-beta
echo hello > %{buildroot}/usr/share/pf-beta/README
%files
/usr/share/pf-beta/README
%files -n pf-beta-libs
)";

constexpr const char* kGammaSpec = R"(Name: pf-gamma
Version: 4.5
Release: 6
Epoch: 0
Summary: patchflow test package with epoch 0
License: Apache-2.0
BuildArch: noarch
%description
Test package.
%files
)";

class RpmRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    rpm_ = pf::testing::find_in_path("rpm");
    rpmbuild_ = pf::testing::find_in_path("rpmbuild");
    ASSERT_FALSE(rpm_.empty()) << "rpm is not in PATH: install the Debian package 'rpm' "
                                  "(scripts/setup); this test needs a real rpm database";
    ASSERT_FALSE(rpmbuild_.empty()) << "rpmbuild is not in PATH: install the Debian package "
                                       "'rpm' (scripts/setup); this test builds its packages";
    root_ = dir_.path() / "root";
    fs::create_directories(root_);
    auto init = run_tool({rpm_, "--root", root_.string(), "--dbpath", kDbPath, "--initdb"});
    ASSERT_TRUE(init.ok()) << "rpm --initdb: " << describe(init);
  }

  // Builds the spec's binary packages; returns their paths.
  std::vector<std::string> build(const std::string& name, const char* spec) {
    const fs::path spec_file = dir_.write("specs/" + name + ".spec", spec);
    const fs::path top = dir_.path() / "rpmbuild" / name;
    auto r =
        run_tool({rpmbuild_, "-bb", "--define", "_topdir " + top.string(), spec_file.string()});
    EXPECT_TRUE(r.ok()) << "rpmbuild " << name << ": " << describe(r) << r.out;
    std::vector<std::string> rpms;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(top / "RPMS", ec)) {
      if (e.path().extension() == ".rpm") rpms.push_back(e.path().string());
    }
    std::sort(rpms.begin(), rpms.end());
    return rpms;
  }

  void install(const std::vector<std::string>& rpms) {
    std::vector<std::string> argv{rpm_,    "--root", root_.string(), "--dbpath",
                                  kDbPath, "-i",     "--nodeps"};
    argv.insert(argv.end(), rpms.begin(), rpms.end());
    auto r = run_tool(argv);
    ASSERT_TRUE(r.ok()) << "rpm -i: " << describe(r);
  }

  pf::testing::TempDir dir_;
  fs::path root_;
  std::string rpm_;
  std::string rpmbuild_;
};

TEST_F(RpmRoot, ReadsExactlyTheInstalledPackages) {
  std::vector<std::string> rpms;
  for (const auto& [name, spec] : {std::pair{"alpha", kAlphaSpec}, std::pair{"beta", kBetaSpec},
                                   std::pair{"gamma", kGammaSpec}}) {
    auto built = build(name, spec);
    rpms.insert(rpms.end(), built.begin(), built.end());
  }
  ASSERT_EQ(rpms.size(), 4u) << "expected pf-alpha, pf-beta, pf-beta-libs, pf-gamma";
  ASSERT_NO_FATAL_FAILURE(install(rpms));
  ASSERT_TRUE(fs::exists(root_ / "usr/share/pf-beta/README"));

  // A signing key in the database appears to rpm -qa as a gpg-pubkey "package".
  const std::string gpg = pf::testing::find_in_path("gpg");
  ASSERT_FALSE(gpg.empty()) << "gpg is not in PATH: install the Debian package 'gpg'";
  const fs::path home = dir_.path() / "gnupg";
  fs::create_directories(home);
  fs::permissions(home, fs::perms::owner_all);
  auto key = run_tool({gpg, "--homedir", home.string(), "--no-default-keyring", "--keyring",
                       "/usr/share/keyrings/debian-archive-keyring.gpg", "--export", "--armor"});
  ASSERT_TRUE(key.ok() && key.out.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"))
      << "gpg --export: " << describe(key);
  const fs::path key_file = dir_.write("key.asc", key.out);
  auto imported = run_tool(
      {rpm_, "--root", root_.string(), "--dbpath", kDbPath, "--import", key_file.string()});
  ASSERT_TRUE(imported.ok()) << "rpm --import: " << describe(imported);
  auto q = run_tool({rpm_, "--root", root_.string(), "--dbpath", kDbPath, "-q", "gpg-pubkey"});
  ASSERT_TRUE(q.ok()) << "the key is not in the database: " << describe(q);

  auto r = pkg::read_rpm_database(root_, {.rpm = rpm_});
  ASSERT_TRUE(r) << pf::to_string(r.error());
  std::vector<std::string> got;
  for (const auto& p : *r) got.push_back(show(p));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "pf-alpha noarch 2:1.2-3.el9 pf-alpha 2:1.2-3.el9",
                     "pf-beta noarch 0.9~rc1-1 pf-beta 0.9~rc1-1",
                     "pf-beta-libs noarch 0.9~rc1-1 pf-beta 0.9~rc1-1",
                     "pf-gamma noarch 4.5-6 pf-gamma 4.5-6",
                 }));
}

TEST_F(RpmRoot, EmptyDatabaseIsAnEmptyInventory) {
  auto r = pkg::read_rpm_database(root_, {.rpm = rpm_});
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_TRUE(r->empty());
}

TEST_F(RpmRoot, DamagedDatabaseIsAnErrorWithRpmsMessage) {
  { std::ofstream(root_ / "var/lib/rpm/rpmdb.sqlite", std::ios::trunc) << "not a database\n"; }
  auto r = pkg::read_rpm_database(root_, {.rpm = rpm_});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::backend_failed);
  EXPECT_NE(r.error().message.find("exited with status 1"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("cannot open Packages database"), std::string::npos)
      << r.error().message;
}

TEST_F(RpmRoot, RootWithoutDatabaseIsNotFoundAndLeftUntouched) {
  const fs::path empty = dir_.path() / "empty-root";
  fs::create_directories(empty);
  auto r = pkg::read_rpm_database(empty, {.rpm = rpm_});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::not_found);
  EXPECT_TRUE(fs::is_empty(empty));
}

}  // namespace
