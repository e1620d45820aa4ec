// SPDX-License-Identifier: Apache-2.0
// collect_facts on a temporary root whose os-release, hostname, boot id, proc files and mount
// table the test writes.
#include "patchflow/agent/facts.hpp"

#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "agent_temp.hpp"

namespace agent = pf::agent;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kBootId = "0f6e2a7c-1d3b-4c5e-9f80-112233445566";

class FactsRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = t_.mkdir("root");
    t_.write("root/etc/os-release",
             "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n");
    t_.write("host/boot_id", std::string(kBootId) + "\n");
    t_.write("host/proc/uptime", "3600.25 7000.00\n");
    t_.write("host/proc/stat", "cpu 1 2 3\nbtime 1795317501\nprocesses 10\n");
    options_.root = root_;
    options_.proc_dir = t_.path() / "host/proc";
    options_.boot_id_file = t_.path() / "host/boot_id";
    options_.mounts_file = t_.path() / "host/mounts";
    write_mounts("/dev/fake / ext4 rw,relatime 0 0\n");
  }

  void write_mounts(const std::string& text) { t_.write("host/mounts", text); }

  static std::string escaped(const fs::path& p) {
    std::string out;
    for (char c : p.string()) {
      if (c == ' ')
        out += "\\040";
      else
        out += c;
    }
    return out;
  }

  static const agent::MountFacts* find(const agent::OsFacts& f, const std::string& mp) {
    auto it = std::find_if(f.mounts.begin(), f.mounts.end(),
                           [&](const agent::MountFacts& m) { return m.mount_point == mp; });
    return it == f.mounts.end() ? nullptr : &*it;
  }

  agent::testing::TempRoot t_;
  fs::path root_;
  agent::FactsOptions options_;
};

TEST_F(FactsRoot, ReadsEveryFactFromTheGivenFiles) {
  t_.write("root/etc/hostname", "# the lab host\n\nlab-host-1\n");
  options_.kernel_release = "5.14.0-362.8.1.el9_3.x86_64";
  options_.kernel_version = "#1 SMP PREEMPT_DYNAMIC";
  options_.machine = "x86_64";
  auto f = agent::collect_facts(options_);
  ASSERT_TRUE(f) << pf::to_string(f.error());
  EXPECT_EQ(f->os_id, "debian");
  EXPECT_EQ(f->os_version_id, "12");
  EXPECT_EQ(f->os_pretty_name, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(f->ecosystem, "Debian:12");
  EXPECT_EQ(f->kernel_release, "5.14.0-362.8.1.el9_3.x86_64");
  EXPECT_EQ(f->kernel_version, "#1 SMP PREEMPT_DYNAMIC");
  EXPECT_EQ(f->arch, "x86_64");
  EXPECT_EQ(f->hostname, "lab-host-1");
  EXPECT_EQ(f->boot_id, kBootId);
  EXPECT_EQ(f->uptime, 3600s);
  EXPECT_EQ(f->boot_time.time_since_epoch(), 1795317501s);
  ASSERT_EQ(f->mounts.size(), 1u);
  EXPECT_EQ(f->mounts[0].mount_point, "/");
  EXPECT_EQ(f->mounts[0].fs_type, "ext4");
  EXPECT_EQ(f->mounts[0].device, "/dev/fake");
  EXPECT_GT(f->mounts[0].total_bytes, 0u);
  EXPECT_LE(f->mounts[0].available_bytes, f->mounts[0].total_bytes);
  EXPECT_TRUE(f->warnings.empty());
}

TEST_F(FactsRoot, UnameAndHostNameOfTheMachineWhenNotGiven) {
  struct utsname uts {};
  ASSERT_EQ(::uname(&uts), 0);
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  auto f = agent::collect_facts(options_);  // no etc/hostname in the root
  ASSERT_TRUE(f) << pf::to_string(f.error());
  EXPECT_EQ(f->kernel_release, uts.release);
  EXPECT_EQ(f->kernel_version, uts.version);
  EXPECT_EQ(f->arch, uts.machine);
  EXPECT_EQ(f->hostname, host);

  options_.hostname = "given";
  t_.write("root/etc/hostname", "ignored\n");
  auto g = agent::collect_facts(options_);
  ASSERT_TRUE(g) << pf::to_string(g.error());
  EXPECT_EQ(g->hostname, "given");
}

TEST_F(FactsRoot, MountsBelowTheRootAreShownRelativeToIt) {
  const fs::path spaced = t_.mkdir("root/data disk");
  const fs::path shadow = t_.mkdir("root/shadow");
  const fs::path outside = t_.mkdir("elsewhere");
  write_mounts(
      "/dev/fake / ext4 rw 0 0\n"
      "proc " +
      (root_ / "proc").string() + " proc rw 0 0\n" + "/dev/data " + escaped(spaced) +
      " xfs rw 0 0\n" + "/dev/gone " + (root_ / "missing").string() + " ext4 rw 0 0\n" + "tmpfs " +
      shadow.string() + " tmpfs rw 0 0\n" + "cgroup2 " + shadow.string() + " cgroup2 rw 0 0\n" +
      "/dev/other " + outside.string() + " ext4 rw 0 0\n");
  auto f = agent::collect_facts(options_);
  ASSERT_TRUE(f) << pf::to_string(f.error());

  const auto* top = find(*f, "/");
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->device, "/dev/fake");
  const auto* data = find(*f, "/data disk");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->fs_type, "xfs");
  EXPECT_EQ(data->device, "/dev/data");
  EXPECT_GT(data->total_bytes, 0u);
  EXPECT_GT(data->total_inodes, 0u);
  // proc is a pseudo file system; the last mount on shadow (cgroup2) hides the tmpfs; the
  // mount outside the root is not the root's; the missing directory is a warning.
  EXPECT_EQ(find(*f, "/proc"), nullptr);
  EXPECT_EQ(find(*f, "/shadow"), nullptr);
  EXPECT_EQ(f->mounts.size(), 2u);
  ASSERT_EQ(f->warnings.size(), 1u);
  EXPECT_NE(f->warnings[0].find((root_ / "missing").string()), std::string::npos) << f->warnings[0];
}

TEST_F(FactsRoot, TheDeepestMountHoldsTheRoot) {
  write_mounts("/dev/fake / ext4 rw 0 0\n/dev/holder " + t_.path().string() + " btrfs rw 0 0\n");
  auto f = agent::collect_facts(options_);
  ASSERT_TRUE(f) << pf::to_string(f.error());
  ASSERT_EQ(f->mounts.size(), 1u);
  EXPECT_EQ(f->mounts[0].mount_point, "/");
  EXPECT_EQ(f->mounts[0].fs_type, "btrfs");
  EXPECT_EQ(f->mounts[0].device, "/dev/holder");
}

TEST_F(FactsRoot, MissingOsReleaseNamesThePath) {
  fs::remove(root_ / "etc/os-release");
  auto f = agent::collect_facts(options_);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, pf::Errc::not_found);
  EXPECT_NE(f.error().message.find((root_ / "etc/os-release").string()), std::string::npos)
      << f.error().message;
}

TEST_F(FactsRoot, BootIdErrorsAreClear) {
  options_.boot_id_file = t_.path() / "host/no-such-boot-id";
  auto missing = agent::collect_facts(options_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::not_found);
  EXPECT_NE(missing.error().message.find("cannot read the boot id"), std::string::npos)
      << missing.error().message;
  EXPECT_EQ(missing.error().where, options_.boot_id_file.string());

  options_.boot_id_file = t_.write("host/bad-boot-id", "not-a-uuid\n");
  auto bad = agent::collect_facts(options_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(bad.error().where, options_.boot_id_file.string());

  options_.boot_id_file = t_.mkdir("host/dir-boot-id");
  auto dir = agent::collect_facts(options_);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code, pf::Errc::io);
}

TEST_F(FactsRoot, BadInputsAreErrors) {
  t_.write("root/etc/hostname", "two words\n");
  auto host = agent::collect_facts(options_);
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().where, (root_ / "etc/hostname").string() + ":1");
  fs::remove(root_ / "etc/hostname");

  write_mounts("/dev/fake /\n");
  auto mounts = agent::collect_facts(options_);
  ASSERT_FALSE(mounts);
  EXPECT_EQ(mounts.error().where, options_.mounts_file.string() + ":1");

  write_mounts("/dev/fake / ext4 rw 0 0\n");
  fs::remove(t_.path() / "host/proc/uptime");
  fs::remove(t_.path() / "host/proc/stat");
  auto proc = agent::collect_facts(options_);
  ASSERT_FALSE(proc);
  EXPECT_EQ(proc.error().code, pf::Errc::not_found);

  t_.write("host/proc/uptime", "1.0 1.0\n");
  options_.mounts_file = t_.path() / "host/no-mounts";
  auto no_mounts = agent::collect_facts(options_);
  ASSERT_FALSE(no_mounts);
  EXPECT_NE(no_mounts.error().message.find("mount table"), std::string::npos);
}

TEST_F(FactsRoot, EtcLinksStayInsideTheRoot) {
  // An absolute link in the root points into the root, never at the machine's own file.
  t_.write("root/usr/lib/os-release", "ID=almalinux\nVERSION_ID=\"9.3\"\n");
  fs::remove(root_ / "etc/os-release");
  fs::create_symlink("/usr/lib/os-release", root_ / "etc/os-release");
  t_.write("root/srv/hostname", "linked-host\n");
  fs::create_symlink("/srv/hostname", root_ / "etc/hostname");
  auto f = agent::collect_facts(options_);
  ASSERT_TRUE(f) << pf::to_string(f.error());
  EXPECT_EQ(f->ecosystem, "AlmaLinux:9");
  EXPECT_EQ(f->hostname, "linked-host");
}

}  // namespace
