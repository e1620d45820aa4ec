// SPDX-License-Identifier: Apache-2.0
// Reboot required on a real dpkg root: a package whose postinst raises the flag the way
// Debian's update-notifier hook does, installed by the real dpkg.
#include <gtest/gtest.h>

#include "../lab/lab_fixture.hpp"
#include "patchflow/agent/reboot.hpp"
#include "patchflow/lab/deb.hpp"

namespace fs = std::filesystem;
namespace lab = pf::lab;
namespace agent = pf::agent;

namespace {

// What /usr/share/update-notifier/notify-reboot-required does, relative to DPKG_ROOT (dpkg
// runs the script on the machine with DPKG_ROOT set: --force-script-chrootless).
constexpr const char* kNotifyReboot =
    "set -e\n"
    "mkdir -p \"$DPKG_ROOT/run\"\n"
    "echo '*** System restart required ***' > \"$DPKG_ROOT/run/reboot-required\"\n"
    "echo \"$DPKG_MAINTSCRIPT_PACKAGE\" >> \"$DPKG_ROOT/run/reboot-required.pkgs\"\n";

class AgentDebReboot : public lab::testing::LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    require("dpkg", "dpkg");
    require("dpkg-deb", "dpkg");
    root_ = dir_ / "root";
    auto made = lab::make_dpkg_root(root_);
    ASSERT_TRUE(made) << pf::to_string(made.error());
    options_.root = root_;
  }

  fs::path deb(const std::string& name, std::optional<std::string> postinst) {
    lab::DebSpec s;
    s.name = name;
    s.version = "1.0-1";
    s.files = {{"/usr/share/doc/" + name + "/README", name + "\n", 0644}};
    s.postinst = std::move(postinst);
    auto r = lab::build_deb(s, dir_ / "debs");
    EXPECT_TRUE(r) << pf::to_string(r.error());
    return r ? *r : fs::path{};
  }

  fs::path root_;
  agent::RebootOptions options_;
};

TEST_F(AgentDebReboot, PostinstFlagMakesARebootRequiredNamingThePackage) {
  const bool host_flag_before = fs::exists("/run/reboot-required");

  auto before = agent::reboot_required(options_);
  ASSERT_TRUE(before) << pf::to_string(before.error());
  EXPECT_FALSE(before->required);
  EXPECT_TRUE(before->packages.empty());

  // A package without the hook changes nothing.
  auto plain = lab::install_debs(root_, {deb("pf-plain", std::nullopt)});
  ASSERT_TRUE(plain) << pf::to_string(plain.error());
  auto still = agent::reboot_required(options_);
  ASSERT_TRUE(still) << pf::to_string(still.error());
  EXPECT_FALSE(still->required);

  auto kernel = lab::install_debs(root_, {deb("pf-linux-image", kNotifyReboot)});
  ASSERT_TRUE(kernel) << pf::to_string(kernel.error());
  ASSERT_TRUE(fs::exists(root_ / "run/reboot-required"));
  auto after = agent::reboot_required(options_);
  ASSERT_TRUE(after) << pf::to_string(after.error());
  EXPECT_TRUE(after->required);
  EXPECT_EQ(after->reasons, std::vector<std::string>{"*** System restart required ***"});
  EXPECT_EQ(after->packages, std::vector<std::string>{"pf-linux-image"});

  // A second one appends its name; reinstalling the first does not name it twice.
  auto libc = lab::install_debs(root_, {deb("pf-libc", kNotifyReboot)});
  ASSERT_TRUE(libc) << pf::to_string(libc.error());
  auto again = lab::install_debs(root_, {deb("pf-linux-image", kNotifyReboot)});
  ASSERT_TRUE(again) << pf::to_string(again.error());
  auto both = agent::reboot_required(options_);
  ASSERT_TRUE(both) << pf::to_string(both.error());
  EXPECT_TRUE(both->required);
  EXPECT_EQ(both->reasons.size(), 1u);
  EXPECT_EQ(both->packages, (std::vector<std::string>{"pf-linux-image", "pf-libc"}));

  // The flag went into the root, not onto this machine.
  EXPECT_EQ(fs::exists("/run/reboot-required"), host_flag_before);

  // After the reboot the flag is gone (Debian keeps it in the /run tmpfs).
  fs::remove(root_ / "run/reboot-required");
  fs::remove(root_ / "run/reboot-required.pkgs");
  auto rebooted = agent::reboot_required(options_);
  ASSERT_TRUE(rebooted) << pf::to_string(rebooted.error());
  EXPECT_FALSE(rebooted->required);
}

}  // namespace
