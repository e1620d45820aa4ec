// SPDX-License-Identifier: Apache-2.0
// The services collector with the real systemctl. This machine is a container where systemd is
// not PID 1: told that systemd runs, the collector must report systemctl's refusal clearly.
#include <gtest/gtest.h>

#include "../lab/lab_fixture.hpp"
#include "patchflow/agent/services.hpp"

namespace fs = std::filesystem;
namespace lab = pf::lab;
namespace agent = pf::agent;

namespace {

class AgentServices : public lab::testing::LabTest {};

TEST_F(AgentServices, RealSystemctl) {
  const std::string systemctl = require("systemctl", "systemd");
  std::error_code ec;
  const bool booted = fs::is_directory("/run/systemd/system", ec);

  auto plain = agent::collect_services({.systemctl = systemctl});
  ASSERT_TRUE(plain) << pf::to_string(plain.error());
  EXPECT_EQ(plain->systemd_running, booted);

  // Forced past the check: systemctl itself is asked.
  fs::create_directories(dir_ / "run/systemd/system");
  agent::ServicesOptions o;
  o.marker_dir = dir_ / "run/systemd/system";
  o.systemctl = systemctl;
  auto s = agent::collect_services(o);
  if (booted) {
    ASSERT_TRUE(s) << pf::to_string(s.error());
    EXPECT_TRUE(s->systemd_running);
    EXPECT_FALSE(s->services.empty());
    for (const auto& u : s->services) EXPECT_TRUE(u.unit.ends_with(".service")) << u.unit;
  } else {
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, pf::Errc::backend_failed);
    EXPECT_NE(s.error().message.find("exited with status"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("systemd"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().where.find("list-units --type=service"), std::string::npos)
        << s.error().where;
  }
}

}  // namespace
