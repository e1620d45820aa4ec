// SPDX-License-Identifier: Apache-2.0
// systemctl list-units output on text; whether systemd runs; the collector where it does not.
#include "patchflow/agent/services.hpp"

#include <gtest/gtest.h>

#include <string>

#include "agent_temp.hpp"

namespace agent = pf::agent;
namespace fs = std::filesystem;

namespace {

TEST(SystemctlUnits, ParsesColumnsAndDescription) {
  const std::string text =
      "cron.service                 loaded    active   running Regular background program "
      "processing daemon\n"
      "\n"
      "dbus.service loaded active running D-Bus System Message Bus\n"
      "\xe2\x97\x8f nginx.service loaded failed failed A high performance web server\n"
      "* old.service not-found inactive dead old.service\n"
      "plymouth-quit.service\tloaded\tinactive\tdead\n"
      "systemd-fsck@dev-disk-by\\x2duuid-1234.service loaded active exited File System Check on "
      "/dev/disk/by-uuid/1234\n";
  auto u = agent::parse_systemctl_units(text);
  ASSERT_TRUE(u) << pf::to_string(u.error());
  ASSERT_EQ(u->size(), 6u);
  EXPECT_EQ((*u)[0].unit, "cron.service");
  EXPECT_EQ((*u)[0].load, "loaded");
  EXPECT_EQ((*u)[0].active, "active");
  EXPECT_EQ((*u)[0].sub, "running");
  EXPECT_EQ((*u)[0].description, "Regular background program processing daemon");
  EXPECT_EQ((*u)[2].unit, "nginx.service");
  EXPECT_EQ((*u)[2].active, "failed");
  EXPECT_EQ((*u)[2].sub, "failed");
  EXPECT_EQ((*u)[3].unit, "old.service");
  EXPECT_EQ((*u)[3].load, "not-found");
  EXPECT_EQ((*u)[4].unit, "plymouth-quit.service");
  EXPECT_EQ((*u)[4].description, "");
  EXPECT_EQ((*u)[5].unit, "systemd-fsck@dev-disk-by\\x2duuid-1234.service");
  EXPECT_EQ((*u)[5].description, "File System Check on /dev/disk/by-uuid/1234");

  auto empty = agent::parse_systemctl_units("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SystemctlUnits, BoundsAndMalformedLines) {
  auto few =
      agent::parse_systemctl_units("a.service loaded active running x\nb.service loaded\n", "list");
  ASSERT_FALSE(few);
  EXPECT_EQ(few.error().where, "list:2");
  EXPECT_EQ(few.error().code, pf::Errc::invalid_input);

  auto ctl = agent::parse_systemctl_units("a.service loaded active running x\x1b[0m\n", "list");
  ASSERT_FALSE(ctl);
  EXPECT_EQ(ctl.error().where, "list:1");

  agent::UnitListLimits limits;
  limits.max_line = 64;
  limits.max_units = 2;
  auto long_line = agent::parse_systemctl_units(
      "a.service loaded active running " + std::string(100, 'd') + "\n", "list", limits);
  ASSERT_FALSE(long_line);
  EXPECT_NE(long_line.error().message.find("longer than 64"), std::string::npos);

  const std::string three =
      "a.service loaded active running A\nb.service loaded active running B\n"
      "c.service loaded active running C\n";
  auto many = agent::parse_systemctl_units(three, "list", limits);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().where, "list:3");
  limits.max_units = 3;
  EXPECT_TRUE(agent::parse_systemctl_units(three, "list", limits));
}

TEST(SystemdRunning, OnlyForTheMachineRootWithTheMarker) {
  agent::testing::TempRoot t;
  const fs::path marker = t.mkdir("run/systemd/system");
  EXPECT_TRUE(agent::systemd_running("/", marker));
  EXPECT_FALSE(agent::systemd_running(t.path(), marker));
  EXPECT_FALSE(agent::systemd_running("/", t.path() / "absent"));
  t.write("file-marker", "");
  EXPECT_FALSE(agent::systemd_running("/", t.path() / "file-marker"));
}

TEST(CollectServices, NotRunningIsAStateNotAnError) {
  agent::testing::TempRoot t;
  agent::ServicesOptions o;
  o.marker_dir = t.path() / "absent";
  o.systemctl = "/nonexistent/systemctl";  // never run
  auto s = agent::collect_services(o);
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_FALSE(s->systemd_running);
  EXPECT_TRUE(s->status.starts_with("systemd: not running")) << s->status;
  EXPECT_TRUE(s->services.empty());
  EXPECT_TRUE(s->failed.empty());

  o.root = t.path();
  o.marker_dir = t.mkdir("marker");
  auto r = agent::collect_services(o);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_FALSE(r->systemd_running);
  EXPECT_TRUE(r->status.starts_with("systemd: not running")) << r->status;
}

TEST(CollectServices, ThisMachine) {
  // This machine is a container without systemd as PID 1: the collector says so cleanly. On a
  // machine booted with systemd it lists at least one service instead.
  std::error_code ec;
  const bool booted = fs::is_directory("/run/systemd/system", ec);
  auto s = agent::collect_services();
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_EQ(s->systemd_running, booted);
  if (booted) {
    EXPECT_EQ(s->status, "systemd: running");
    EXPECT_FALSE(s->services.empty());
  } else {
    EXPECT_EQ(s->status, "systemd: not running (no directory /run/systemd/system)");
    EXPECT_TRUE(s->services.empty());
  }
}

TEST(CollectServices, MissingSystemctlIsAClearError) {
  agent::testing::TempRoot t;
  agent::ServicesOptions o;
  o.marker_dir = t.mkdir("run/systemd/system");
  o.systemctl = (t.path() / "no-systemctl").string();
  auto s = agent::collect_services(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, pf::Errc::backend_failed);
  EXPECT_NE(s.error().message.find("no-systemctl"), std::string::npos) << s.error().message;
}

}  // namespace
