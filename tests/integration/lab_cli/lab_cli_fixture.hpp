// SPDX-License-Identifier: Apache-2.0
// Shared bits of the `patchflow lab fixture` tests: a temporary directory, the real patchflow
// binary run on YAML files the tests write, and the real tools that check what it built. A
// missing tool is a test failure naming its Debian package, never a skip.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "patchflow/common/process.hpp"
#include "patchflow/lab/deb.hpp"
#include "patchflow/lab/rpm.hpp"
#include "patchflow/lab/tools.hpp"

namespace pf::lab::testing {

class LabCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pf-lab-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << "mkdtemp failed";
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// Runs the patchflow binary (in `cwd` when given) with a private HOME.
  process::Outcome patchflow(std::vector<std::string> args, const std::string& cwd = {}) {
    args.insert(args.begin(), PF_PATCHFLOW_BIN);
    auto r = process::run({.argv = std::move(args),
                           .env = {"HOME=" + dir_.string(), "LC_ALL=C"},
                           .cwd = cwd,
                           .timeout = std::chrono::seconds(300),
                           .max_capture = std::size_t{16} << 20});
    EXPECT_TRUE(r) << (r ? "" : to_string(r.error()));
    return r.value_or(process::Outcome{});
  }

  /// `patchflow lab fixture -f dir_/NAME --out dir_/out [extra...]` on `yaml` written to NAME.
  process::Outcome fixture(const std::string& yaml, std::vector<std::string> extra = {},
                           const std::string& name = "fixture.yaml") {
    write(dir_ / name, yaml);
    std::vector<std::string> args = {"lab",   "fixture",     "-f", (dir_ / name).string(),
                                     "--out", out().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return patchflow(std::move(args));
  }

  [[nodiscard]] std::filesystem::path out() const { return dir_ / "out"; }

  /// The tool's path; a failure of the test naming the Debian package when it is missing.
  std::string require(const std::string& tool, const std::string& debian_package) {
    auto p = find_tool(tool, debian_package);
    EXPECT_TRUE(p) << (p ? "" : p.error().message);
    return p ? *p : tool;
  }

  /// Runs argv (LC_ALL=C) and returns the outcome (exit 127 with the reason when it cannot
  /// start).
  static process::Outcome run(std::vector<std::string> argv, std::vector<std::string> env = {}) {
    env.push_back("LC_ALL=C");
    auto r = process::run({.argv = std::move(argv),
                           .env = std::move(env),
                           .timeout = std::chrono::seconds(300),
                           .max_capture = std::size_t{16} << 20});
    if (!r) {
      process::Outcome failed;
      failed.exit_code = 127;
      failed.err = to_string(r.error());
      return failed;
    }
    return *r;
  }

  static std::string describe(const process::Outcome& o) {
    return (o.timed_out ? std::string("timed out") : "exit " + std::to_string(o.exit_code)) + ": " +
           o.err + o.out;
  }

  static void write(const std::filesystem::path& file, const std::string& text) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
  }

  static std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  /// apt-get acting on `root` (apt_args/apt_env of the lab) with `args` appended.
  process::Outcome apt_get(const std::filesystem::path& root, std::vector<std::string> args) {
    auto argv = apt_args(root);
    argv[0] = require("apt-get", "apt");
    argv.insert(argv.end(), args.begin(), args.end());
    return run(std::move(argv), apt_env(root));
  }

  /// `dpkg --root=R ... -s package` (dpkg_args of the lab).
  process::Outcome dpkg_status_of(const std::filesystem::path& root, const std::string& package) {
    auto argv = dpkg_args(root);
    argv[0] = require("dpkg", "dpkg");
    argv.insert(argv.end(), {"-s", package});
    return run(std::move(argv));
  }

  std::filesystem::path dir_;
};

}  // namespace pf::lab::testing
