// SPDX-License-Identifier: Apache-2.0
// The facts parsers on text: mount tables, /proc/uptime, /proc/stat, boot ids.
#include <gtest/gtest.h>

#include <string>

#include "agent_temp.hpp"
#include "patchflow/agent/facts.hpp"

namespace agent = pf::agent;
using namespace std::chrono_literals;

namespace {

TEST(MountEscapes, OctalEscapesAreUndone) {
  EXPECT_EQ(agent::unescape_mount_field("/mnt/with\\040space"), "/mnt/with space");
  EXPECT_EQ(agent::unescape_mount_field("/a\\011tab\\012nl"), "/a\ttab\nnl");
  EXPECT_EQ(agent::unescape_mount_field("/back\\134slash"), "/back\\slash");
  EXPECT_EQ(agent::unescape_mount_field("\\040\\040"), "  ");
  // Not three octal digits: left as written.
  EXPECT_EQ(agent::unescape_mount_field("/x\\04"), "/x\\04");
  EXPECT_EQ(agent::unescape_mount_field("/x\\089"), "/x\\089");
  EXPECT_EQ(agent::unescape_mount_field("/x\\"), "/x\\");
  EXPECT_EQ(agent::unescape_mount_field("plain"), "plain");
}

TEST(ParseMounts, ReadsFieldsAndUnescapes) {
  const std::string text =
      "proc /proc proc rw,relatime 0 0\n"
      "/dev/vda / ext4 rw,relatime,discard 0 0\n"
      "\n"
      "none /tmp/x/a\\040b tmpfs rw,relatime,size=1024k 0 0\n"
      "server:/export\\040dir /mnt/nfs nfs4 rw\n";  // four fields, no newline at the end
  auto m = agent::parse_mounts(text, "mounts");
  ASSERT_TRUE(m) << pf::to_string(m.error());
  ASSERT_EQ(m->size(), 4u);
  EXPECT_EQ((*m)[0].fs_type, "proc");
  EXPECT_EQ((*m)[1].device, "/dev/vda");
  EXPECT_EQ((*m)[1].mount_point, "/");
  EXPECT_EQ((*m)[1].options, "rw,relatime,discard");
  EXPECT_EQ((*m)[2].mount_point, "/tmp/x/a b");
  EXPECT_EQ((*m)[3].device, "server:/export dir");
  EXPECT_EQ((*m)[3].fs_type, "nfs4");
}

TEST(ParseMounts, MalformedLinesAreErrorsWithTheLine) {
  auto few = agent::parse_mounts("proc /proc proc rw 0 0\n/dev/sda1 /boot\n", "m");
  ASSERT_FALSE(few);
  EXPECT_EQ(few.error().where, "m:2");
  EXPECT_EQ(few.error().code, pf::Errc::invalid_input);

  auto rel = agent::parse_mounts("/dev/sda1 boot ext4 rw 0 0\n", "m");
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().where, "m:1");
  EXPECT_NE(rel.error().message.find("not an absolute path"), std::string::npos);

  auto ctl = agent::parse_mounts("/dev/sda1 /boot ext4 rw\x01 0 0\n", "m");
  ASSERT_FALSE(ctl);
  EXPECT_EQ(ctl.error().where, "m:1");

  const std::string long_line = "/dev/x /" + std::string(20000, 'a') + " ext4 rw 0 0\n";
  auto big = agent::parse_mounts(long_line, "m");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("longer than"), std::string::npos);
}

TEST(PseudoFs, SkipListCoversKernelFileSystems) {
  for (const char* t : {"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "debugfs",
                        "tracefs", "securityfs", "pstore", "bpf", "autofs", "fusectl", "configfs",
                        "binfmt_misc", "hugetlbfs", "nsfs", "devtmpfs"}) {
    EXPECT_TRUE(agent::is_pseudo_fs(t)) << t;
  }
  for (const char* t : {"ext4", "xfs", "btrfs", "tmpfs", "overlay", "nfs4", "vfat", "zfs"}) {
    EXPECT_FALSE(agent::is_pseudo_fs(t)) << t;
  }
}

TEST(ProcUptime, WholeSecondsOfTheFirstNumber) {
  auto u = agent::parse_proc_uptime("13389.14 16628.78\n");
  ASSERT_TRUE(u) << pf::to_string(u.error());
  EXPECT_EQ(*u, 13389s);
  auto whole = agent::parse_proc_uptime("42\n");
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, 42s);
  for (const char* bad : {"", "abc 1.0", "-1.0 2.0", "1.2x 3", ".5 1", "99999999999999999999.0"}) {
    auto r = agent::parse_proc_uptime(bad, "proc/uptime");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().where, "proc/uptime");
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  }
}

TEST(ProcStat, BtimeLine) {
  const std::string stat =
      "cpu  1 2 3 4 5 6 7 0 0 0\n"
      "intr 12345 0 0 0\n"
      "ctxt 999\n"
      "btime 1795317501\n"
      "processes 4242\n";
  auto b = agent::parse_proc_stat_btime(stat);
  ASSERT_TRUE(b) << pf::to_string(b.error());
  EXPECT_EQ(b->time_since_epoch(), 1795317501s);

  auto none = agent::parse_proc_stat_btime("cpu 1 2 3\nctxt 4\n", "stat");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, pf::Errc::not_found);

  auto bad = agent::parse_proc_stat_btime("cpu 1\nbtime soon\n", "stat");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(bad.error().where, "stat:2");
}

// Found by agent_facts_fuzz: from_chars reads a leading '-', so "-0" passed as 0 seconds.
TEST(ProcUptime, SignedZeroIsNotANumberOfSeconds) {
  for (const char* bad : {"-0", "-0.5 1.0\n", "-00 0\n"}) {
    auto r = agent::parse_proc_uptime(bad, "proc/uptime");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  }
  auto b = agent::parse_proc_stat_btime("cpu 1\nbtime -0\n", "stat");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(b.error().where, "stat:2");
}

TEST(BootId, UuidOnly) {
  auto id = agent::parse_boot_id("356b445a-0340-4911-bba9-cbe637c0116b\n");
  ASSERT_TRUE(id) << pf::to_string(id.error());
  EXPECT_EQ(*id, "356b445a-0340-4911-bba9-cbe637c0116b");
  auto upper = agent::parse_boot_id("356B445A-0340-4911-BBA9-CBE637C0116B");
  ASSERT_TRUE(upper);
  EXPECT_EQ(*upper, "356b445a-0340-4911-bba9-cbe637c0116b");
  for (const char* bad :
       {"", "\n", "356b445a-0340-4911-bba9-cbe637c0116", "356b445a03404911bba9cbe637c0116b",
        "356b445a-0340-4911-bba9-cbe637c0116g", "356b445a-0340-4911-bba9-cbe637c0116b\n\n",
        " 356b445a-0340-4911-bba9-cbe637c0116b"}) {
    auto r = agent::parse_boot_id(bad, "boot_id");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
    EXPECT_EQ(r.error().where, "boot_id");
  }
}

TEST(BootInfo, UptimeAndBtimeEachDerivedFromTheOther) {
  agent::testing::TempRoot t;
  const std::chrono::sys_seconds now{2000000000s};

  t.write("both/uptime", "100.5 80.0\n");
  t.write("both/stat", "cpu 1\nbtime 1999990000\n");
  auto both = agent::read_boot_info(t.path() / "both", now);
  ASSERT_TRUE(both) << pf::to_string(both.error());
  EXPECT_EQ(both->uptime, 100s);
  EXPECT_EQ(both->boot_time.time_since_epoch(), 1999990000s);  // as the kernel says, not now-100

  t.write("uptime-only/uptime", "3600.00 1.0\n");
  auto u = agent::read_boot_info(t.path() / "uptime-only", now);
  ASSERT_TRUE(u) << pf::to_string(u.error());
  EXPECT_EQ(u->boot_time, now - 3600s);

  t.write("stat-only/stat", "btime 1999999000\n");
  auto s = agent::read_boot_info(t.path() / "stat-only", now);
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_EQ(s->uptime, 1000s);

  t.write("no-btime/uptime", "7.0 1.0\n");
  t.write("no-btime/stat", "cpu 1\n");
  auto nb = agent::read_boot_info(t.path() / "no-btime", now);
  ASSERT_TRUE(nb) << pf::to_string(nb.error());
  EXPECT_EQ(nb->boot_time, now - 7s);

  t.mkdir("empty");
  auto none = agent::read_boot_info(t.path() / "empty", now);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, pf::Errc::not_found);
  EXPECT_NE(none.error().message.find("uptime"), std::string::npos) << none.error().message;

  t.write("bad/uptime", "soon\n");
  t.write("bad/stat", "btime 1999999000\n");
  auto bad = agent::read_boot_info(t.path() / "bad", now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, (t.path() / "bad/uptime").string());
}

}  // namespace
