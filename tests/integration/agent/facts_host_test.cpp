// SPDX-License-Identifier: Apache-2.0
// collect_facts on a lab root (with a real tmpfs mounted inside it) and on this machine, checked
// against what the kernel and the tools themselves say.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "../lab/lab_fixture.hpp"
#include "patchflow/agent/facts.hpp"
#include "patchflow/lab/deb.hpp"
#include "patchflow/pkg/os_release.hpp"

namespace fs = std::filesystem;
namespace lab = pf::lab;
namespace agent = pf::agent;
using namespace std::chrono_literals;

namespace {

const agent::MountFacts* find(const agent::OsFacts& f, const std::string& mount_point) {
  auto it = std::find_if(f.mounts.begin(), f.mounts.end(),
                         [&](const agent::MountFacts& m) { return m.mount_point == mount_point; });
  return it == f.mounts.end() ? nullptr : &*it;
}

std::string trim_newline(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

class AgentFacts : public lab::testing::LabTest {
 protected:
  void TearDown() override {
    if (!mounted_.empty()) ::umount2(mounted_.c_str(), MNT_DETACH);
    LabTest::TearDown();
  }

  fs::path mounted_;
};

TEST_F(AgentFacts, LabRootWithItsOwnFilesAndAMount) {
  const fs::path root = dir_ / "root";
  require("dpkg", "dpkg");
  auto made = lab::make_dpkg_root(root);
  ASSERT_TRUE(made) << pf::to_string(made.error());
  ASSERT_TRUE(lab::write_file(root / "etc/os-release",
                              "NAME=\"Ubuntu\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\n"
                              "ID=ubuntu\nVERSION_ID=\"22.04\"\n"
                              "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n"));
  ASSERT_TRUE(lab::write_file(root / "etc/hostname", "lab-web-01\n"));
  // The lab gives each simulated host its own boot id.
  const std::string own_id = "6d1f0c1e-5a4b-4f3e-8d2c-0123456789ab";
  ASSERT_TRUE(lab::write_file(dir_ / "host/boot_id", own_id + "\n"));

  // A real tmpfs inside the root, at a path with a space (the kernel escapes it as \040).
  const fs::path scratch = root / "mnt/scratch space";
  fs::create_directories(scratch);
  ASSERT_EQ(::mount("pf-agent-test", scratch.c_str(), "tmpfs", 0, "size=4m,nr_inodes=1000"), 0)
      << "mount tmpfs: " << std::strerror(errno);
  mounted_ = scratch;
  ASSERT_TRUE(lab::write_file(scratch / "data", std::string(512 << 10, 'x')));

  agent::FactsOptions o;
  o.root = root;
  o.boot_id_file = dir_ / "host/boot_id";
  auto f = agent::collect_facts(o);
  ASSERT_TRUE(f) << pf::to_string(f.error());
  EXPECT_EQ(f->os_id, "ubuntu");
  EXPECT_EQ(f->os_version_id, "22.04");
  EXPECT_EQ(f->os_pretty_name, "Ubuntu 22.04.3 LTS");
  EXPECT_EQ(f->ecosystem, "Ubuntu:22.04:LTS");
  EXPECT_EQ(f->hostname, "lab-web-01");
  EXPECT_EQ(f->boot_id, own_id);
  EXPECT_GT(f->uptime, 0s);

  const auto* top = find(*f, "/");
  ASSERT_NE(top, nullptr) << "the file system holding the root";
  EXPECT_GT(top->total_bytes, 0u);
  const auto* m = find(*f, "/mnt/scratch space");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->fs_type, "tmpfs");
  EXPECT_EQ(m->device, "pf-agent-test");
  EXPECT_EQ(m->total_bytes, 4u << 20);
  EXPECT_LE(m->available_bytes, (4u << 20) - (512u << 10));
  EXPECT_GE(m->available_bytes, (4u << 20) - (600u << 10));
  EXPECT_EQ(m->total_inodes, 1000u);
  EXPECT_LT(m->available_inodes, 1000u);
  // This machine's other mounts (/proc, /dev, ...) are not the root's.
  for (const auto& mount : f->mounts) {
    EXPECT_TRUE(mount.mount_point == "/" || mount.mount_point.starts_with("/mnt/"))
        << mount.mount_point;
  }

  // Without its os-release the root is not a host.
  fs::remove(root / "etc/os-release");
  auto none = agent::collect_facts(o);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find((root / "etc/os-release").string()), std::string::npos)
      << none.error().message;
}

TEST_F(AgentFacts, ThisMachine) {
  const std::string uname_tool = require("uname", "coreutils");
  auto f = agent::collect_facts();
  ASSERT_TRUE(f) << pf::to_string(f.error());

  auto os = pf::pkg::read_os_release("/");
  ASSERT_TRUE(os) << pf::to_string(os.error());
  EXPECT_EQ(f->os_id, os->id);
  EXPECT_EQ(f->ecosystem, os->ecosystem);

  auto r = run({uname_tool, "-r"});
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(f->kernel_release, trim_newline(r.out));
  auto m = run({uname_tool, "-m"});
  ASSERT_TRUE(m.ok()) << describe(m);
  EXPECT_EQ(f->arch, trim_newline(m.out));

  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(f->hostname, host);

  ASSERT_EQ(f->boot_id.size(), 36u);
  EXPECT_EQ(f->boot_id, trim_newline(slurp("/proc/sys/kernel/random/boot_id")));

  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  EXPECT_GT(f->uptime, 0s);
  EXPECT_LT(f->boot_time, now);
  // btime and now - uptime agree to within clock adjustments since the boot.
  const auto drift = (now - f->uptime) - f->boot_time;
  EXPECT_LT(std::chrono::abs(drift), 120s) << drift.count();

  ASSERT_FALSE(f->mounts.empty());
  EXPECT_TRUE(std::any_of(f->mounts.begin(), f->mounts.end(),
                          [](const agent::MountFacts& mf) { return mf.total_bytes > 0; }));
  EXPECT_NE(find(*f, "/"), nullptr);
  for (const auto& mount : f->mounts) {
    EXPECT_FALSE(agent::is_pseudo_fs(mount.fs_type)) << mount.mount_point << " " << mount.fs_type;
    EXPECT_LE(mount.available_bytes, mount.total_bytes) << mount.mount_point;
  }
  // Each mount point once.
  for (std::size_t i = 0; i < f->mounts.size(); ++i) {
    for (std::size_t j = i + 1; j < f->mounts.size(); ++j) {
      EXPECT_NE(f->mounts[i].mount_point, f->mounts[j].mount_point);
    }
  }
}

}  // namespace
