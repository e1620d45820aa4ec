// SPDX-License-Identifier: Apache-2.0
// Reboot required: the Debian flag files on temporary roots, rpm's query output and the
// needs-restarting rules on package lists.
#include "patchflow/agent/reboot.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent_temp.hpp"

namespace agent = pf::agent;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

TEST(RebootRequiredFile, ReasonsAreItsLines) {
  auto r = agent::parse_reboot_required("*** System restart required ***\n");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(*r, std::vector<std::string>{"*** System restart required ***"});
  auto two = agent::parse_reboot_required("\n  first  \nsecond\nfirst\n");
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, (std::vector<std::string>{"first", "second"}));
  auto empty = agent::parse_reboot_required("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());

  auto ctl = agent::parse_reboot_required("ok\nbell\a\n", "f");
  ASSERT_FALSE(ctl);
  EXPECT_EQ(ctl.error().where, "f:2");
  auto long_line = agent::parse_reboot_required(std::string(2000, 'x'), "f");
  ASSERT_FALSE(long_line);
  EXPECT_EQ(long_line.error().where, "f:1");
  std::string many;
  for (int i = 0; i < 100; ++i) many += "reason " + std::to_string(i) + "\n";
  auto too_many = agent::parse_reboot_required(many, "f");
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().where, "f:65");
}

TEST(RebootRequiredPkgs, OnePerLineEachOnce) {
  auto p = agent::parse_reboot_required_pkgs(
      "linux-image-6.1.0-13-amd64\nlibc6\n\nlibc6\r\nlinux-base\n");
  ASSERT_TRUE(p) << pf::to_string(p.error());
  EXPECT_EQ(*p, (std::vector<std::string>{"linux-image-6.1.0-13-amd64", "libc6", "linux-base"}));

  auto space = agent::parse_reboot_required_pkgs("libc6\nnot a name\n", "p");
  ASSERT_FALSE(space);
  EXPECT_EQ(space.error().where, "p:2");
  auto long_name = agent::parse_reboot_required_pkgs(std::string(300, 'a') + "\n", "p");
  ASSERT_FALSE(long_name);
  EXPECT_EQ(long_name.error().where, "p:1");
  std::string many;
  for (int i = 0; i < 5000; ++i) many += "pkg" + std::to_string(i) + "\n";
  auto too_many = agent::parse_reboot_required_pkgs(many, "p");
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().where, "p:4097");
  // Duplicates do not count against the limit.
  std::string dups;
  for (int i = 0; i < 10000; ++i) dups += "libc6\n";
  auto d = agent::parse_reboot_required_pkgs(dups, "p");
  ASSERT_TRUE(d) << pf::to_string(d.error());
  EXPECT_EQ(d->size(), 1u);
  auto huge = agent::parse_reboot_required_pkgs(std::string((1 << 20) + 1, 'a'), "p");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().where, "p");
}

class DebRebootFlag : public ::testing::Test {
 protected:
  void SetUp() override {
    t_.write("var/lib/dpkg/status", "");
    options_.root = t_.path();
  }
  agent::testing::TempRoot t_;
  agent::RebootOptions options_;
};

TEST_F(DebRebootFlag, NoFlagNoReboot) {
  auto family = agent::detect_family(t_.path());
  ASSERT_TRUE(family) << pf::to_string(family.error());
  EXPECT_EQ(*family, agent::PackageFamily::deb);
  auto r = agent::reboot_required(options_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_FALSE(r->required);
  EXPECT_TRUE(r->reasons.empty());
  EXPECT_TRUE(r->packages.empty());
}

TEST_F(DebRebootFlag, FlagFileWithPackages) {
  t_.write("run/reboot-required", "*** System restart required ***\n");
  t_.write("run/reboot-required.pkgs", "linux-image-amd64\nlibc6\nlinux-image-amd64\n");
  auto r = agent::reboot_required(options_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_TRUE(r->required);
  EXPECT_EQ(r->reasons, std::vector<std::string>{"*** System restart required ***"});
  EXPECT_EQ(r->packages, (std::vector<std::string>{"linux-image-amd64", "libc6"}));
}

TEST_F(DebRebootFlag, EmptyFlagWithoutPackagesStillRequires) {
  t_.write("var/run/reboot-required", "");
  auto r = agent::reboot_required(options_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_TRUE(r->required);
  ASSERT_EQ(r->reasons.size(), 1u);
  EXPECT_NE(r->reasons[0].find("var/run/reboot-required exists"), std::string::npos)
      << r->reasons[0];
  EXPECT_TRUE(r->packages.empty());
}

TEST_F(DebRebootFlag, VarRunLinkIsFollowedInsideTheRootAndReadOnce) {
  t_.write("run/reboot-required", "*** System restart required ***\n");
  t_.write("run/reboot-required.pkgs", "libc6\n");
  fs::create_symlink("/run", t_.path() / "var/run");
  auto r = agent::reboot_required(options_);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_TRUE(r->required);
  EXPECT_EQ(r->reasons.size(), 1u);
  EXPECT_EQ(r->packages, std::vector<std::string>{"libc6"});

  // An absolute link target is taken inside the root: here it leads to the root's own
  // srv/flags, never to the machine's.
  agent::testing::TempRoot other;
  other.write("var/lib/dpkg/status", "");
  other.write("srv/flags/reboot-required", "from the root's srv/flags\n");
  other.mkdir("var");
  fs::create_symlink("/srv/flags", other.path() / "var/run");
  options_.root = other.path();
  auto o = agent::reboot_required(options_);
  ASSERT_TRUE(o) << pf::to_string(o.error());
  EXPECT_TRUE(o->required);
  EXPECT_EQ(o->reasons, std::vector<std::string>{"from the root's srv/flags"});
}

TEST_F(DebRebootFlag, MalformedPackagesFileIsAnErrorNamingIt) {
  t_.write("run/reboot-required", "*** System restart required ***\n");
  t_.write("run/reboot-required.pkgs", "ok\nbad name\n");
  auto r = agent::reboot_required(options_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, (t_.path() / "run/reboot-required.pkgs").string() + ":2");
}

TEST(DetectFamily, RpmDatabaseOrNothing) {
  agent::testing::TempRoot rpm;
  rpm.mkdir("var/lib/rpm");
  auto f = agent::detect_family(rpm.path());
  ASSERT_TRUE(f) << pf::to_string(f.error());
  EXPECT_EQ(*f, agent::PackageFamily::rpm);
  auto other_db = agent::detect_family(rpm.path(), "/usr/lib/sysimage/rpm");
  ASSERT_FALSE(other_db);

  agent::testing::TempRoot none;
  auto n = agent::detect_family(none.path());
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, pf::Errc::not_found);
  EXPECT_NE(n.error().message.find("var/lib/dpkg/status"), std::string::npos);
  agent::RebootOptions o;
  o.root = none.path();
  auto r = agent::reboot_required(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::not_found);

  // Forced to rpm on a root without a database: rpm is not run (it would create one).
  o.family = agent::PackageFamily::rpm;
  auto forced = agent::reboot_required(o);
  ASSERT_FALSE(forced);
  EXPECT_EQ(forced.error().code, pf::Errc::not_found);
  EXPECT_NE(forced.error().message.find("no rpm database"), std::string::npos);
  EXPECT_FALSE(fs::exists(none.path() / "var/lib/rpm"));
}

std::string line(const std::vector<std::string>& fields) {
  std::string s;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) s += '\x1f';
    s += fields[i];
  }
  return s + "\n";
}

TEST(RpmInstallTimes, ParsesFieldsAndRejectsBadLines) {
  EXPECT_EQ(agent::rpm_install_time_format(),
            "%{NAME}\x1f%{EPOCH}\x1f%{VERSION}\x1f%{RELEASE}\x1f%{ARCH}\x1f%{INSTALLTIME}\\n");
  const std::string out =
      line({"glibc", "(none)", "2.34", "83.el9_3.7", "x86_64", "1700000000"}) +
      line({"kernel-core", "0", "5.14.0", "362.8.1.el9_3", "x86_64", "1700000100"}) +
      line({"gpg-pubkey", "(none)", "fd431d51", "4ae0493b", "(none)", "1600000000"});
  auto p = agent::parse_rpm_install_times(out);
  ASSERT_TRUE(p) << pf::to_string(p.error());
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].name, "glibc");
  EXPECT_EQ((*p)[0].epoch, "");
  EXPECT_EQ((*p)[0].release, "83.el9_3.7");
  EXPECT_EQ((*p)[0].install_time.time_since_epoch(), 1700000000s);
  EXPECT_EQ((*p)[1].epoch, "0");

  auto few = agent::parse_rpm_install_times(line({"a", "(none)", "1", "1", "noarch"}), "q");
  ASSERT_FALSE(few);
  EXPECT_EQ(few.error().where, "q:1");
  auto more = agent::parse_rpm_install_times(
      out + line({"a", "(none)", "1", "1", "noarch", "1", "x"}), "q");
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().where, "q:4");
  auto time =
      agent::parse_rpm_install_times(line({"a", "(none)", "1", "1", "noarch", "yesterday"}), "q");
  ASSERT_FALSE(time);
  EXPECT_NE(time.error().message.find("INSTALLTIME"), std::string::npos);
  auto epoch = agent::parse_rpm_install_times(line({"a", "x", "1", "1", "noarch", "1"}), "q");
  ASSERT_FALSE(epoch);
  auto cut = agent::parse_rpm_install_times(
      "glibc\x1f(none)\x1f"
      "2.34",
      "q");
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message.find("cut short"), std::string::npos);
  auto empty = agent::parse_rpm_install_times("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

agent::InstalledRpm pkg(std::string name, std::string version, std::string release,
                        std::int64_t installed, std::string arch = "x86_64",
                        std::string epoch = {}) {
  return {std::move(name),    std::move(epoch),
          std::move(version), std::move(release),
          std::move(arch),    std::chrono::sys_seconds(std::chrono::seconds(installed))};
}

constexpr std::int64_t kBoot = 1700000000;
const std::chrono::sys_seconds kBootTime{std::chrono::seconds(kBoot)};

TEST(RpmReboot, RunningNewestKernelNeedsNothing) {
  const std::vector<agent::InstalledRpm> installed{
      pkg("kernel-core", "5.14.0", "70.13.1.el9_0", kBoot - 9000),
      pkg("kernel-core", "5.14.0", "362.8.1.el9_3", kBoot - 5000),
      pkg("kernel", "5.14.0", "362.8.1.el9_3", kBoot - 5000),
      pkg("glibc", "2.34", "83.el9_3.7", kBoot - 100),
  };
  for (const char* running : {"5.14.0-362.8.1.el9_3.x86_64", "5.14.0-362.8.1.el9_3.x86_64+debug",
                              "5.14.0-362.8.1.el9_3"}) {
    auto s = agent::evaluate_rpm_reboot(installed, running, kBootTime);
    EXPECT_FALSE(s.required) << running << ": " << (s.reasons.empty() ? "" : s.reasons[0]);
  }
  // 362 is newer than 70 numerically although "3" < "7" as text.
  auto old = agent::evaluate_rpm_reboot(installed, "5.14.0-70.13.1.el9_0.x86_64", kBootTime);
  EXPECT_TRUE(old.required);
  ASSERT_EQ(old.reasons.size(), 1u);
  EXPECT_EQ(old.reasons[0],
            "running kernel 5.14.0-70.13.1.el9_0.x86_64, newest installed "
            "5.14.0-362.8.1.el9_3.x86_64 (kernel-core)");
  EXPECT_EQ(old.packages, std::vector<std::string>{"kernel-core"});
}

TEST(RpmReboot, ForeignRunningKernelDiffers) {
  auto s = agent::evaluate_rpm_reboot({pkg("kernel-core", "6.99.0", "1", kBoot - 10, "noarch")},
                                      "6.1.0-13-amd64", kBootTime);
  EXPECT_TRUE(s.required);
  ASSERT_EQ(s.reasons.size(), 1u);
  EXPECT_EQ(s.reasons[0],
            "running kernel 6.1.0-13-amd64, newest installed 6.99.0-1.noarch "
            "(kernel-core)");
  auto same = agent::evaluate_rpm_reboot({pkg("kernel-core", "6.99.0", "1", kBoot - 10, "noarch")},
                                         "6.99.0-1.noarch", kBootTime);
  EXPECT_FALSE(same.required);
}

TEST(RpmReboot, NoKernelPackagesNoKernelReason) {
  auto s = agent::evaluate_rpm_reboot({pkg("bash", "5.1.8", "6.el9", kBoot + 10)}, "6.1.0-13-amd64",
                                      kBootTime);
  EXPECT_FALSE(s.required);
  EXPECT_TRUE(s.reasons.empty());
}

TEST(RpmReboot, CorePackagesUpdatedSinceBoot) {
  const std::vector<agent::InstalledRpm> installed{
      pkg("kernel-core", "5.14.0", "362.el9", kBoot - 10),
      pkg("glibc", "2.34", "83.el9", kBoot + 60),
      pkg("glibc", "2.34", "83.el9", kBoot + 3600, "i686"),  // the later of the two is shown
      pkg("bash", "5.1.8", "6.el9", kBoot + 60),             // not a core package
      pkg("kernel-headers", "5.14.0", "400.el9", kBoot + 60),
      pkg("kernel-tools-libs", "5.14.0", "400.el9", kBoot + 60),
      pkg("kernel-modules", "5.14.0", "362.el9", kBoot + 120),
      pkg("openssl-libs", "3.0.7", "25.el9", kBoot),  // installed at the boot itself: before
      pkg("systemd", "252", "18.el9", kBoot + 7200),
  };
  auto s = agent::evaluate_rpm_reboot(installed, "5.14.0-362.el9.x86_64", kBootTime);
  EXPECT_TRUE(s.required);
  EXPECT_EQ(s.reasons, (std::vector<std::string>{
                           "glibc updated since boot (installed 2023-11-14T23:13:20Z)",
                           "kernel-modules updated since boot (installed 2023-11-14T22:15:20Z)",
                           "systemd updated since boot (installed 2023-11-15T00:13:20Z)"}));
  EXPECT_EQ(s.packages, (std::vector<std::string>{"glibc", "kernel-modules", "systemd"}));

  auto later = agent::evaluate_rpm_reboot(installed, "5.14.0-362.el9.x86_64",
                                          kBootTime + std::chrono::hours(3));
  EXPECT_FALSE(later.required);
}

TEST(RpmReboot, PackageListsComeFromTheOptions) {
  agent::RebootOptions o;
  o.core_packages = {"bash"};
  o.not_core_packages = {};
  o.kernel_packages = {"kernel-uek-core"};
  auto s = agent::evaluate_rpm_reboot(
      {pkg("bash", "5.1.8", "6.el9", kBoot + 1), pkg("glibc", "2.34", "1", kBoot + 1),
       pkg("kernel-core", "9.0", "1", kBoot - 1)},
      "5.14.0-362.el9.x86_64", kBootTime, o);
  EXPECT_TRUE(s.required);
  EXPECT_EQ(s.packages, std::vector<std::string>{"bash"});
}

}  // namespace
