// SPDX-License-Identifier: Apache-2.0
// Shared bits of the lab tests: a temporary directory and running tools. A missing tool is a
// test failure naming the Debian package, never a skip.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "patchflow/common/process.hpp"
#include "patchflow/lab/tools.hpp"

namespace pf::lab::testing {

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pf-lab-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << "mkdtemp failed";
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// The tool's path; a failure of the test naming the Debian package when it is missing.
  std::string require(const std::string& tool, const std::string& debian_package) {
    auto p = find_tool(tool, debian_package);
    EXPECT_TRUE(p) << (p ? "" : p.error().message);
    return p ? *p : tool;
  }

  /// Runs argv and returns the outcome (exit 127 with the reason when it cannot start).
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

  static std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  /// The stanza of `package` in a dpkg status file ("" when absent).
  static std::string stanza(const std::filesystem::path& status, const std::string& package) {
    const std::string text = "\n" + slurp(status);
    const auto at = text.find("\nPackage: " + package + "\n");
    if (at == std::string::npos) return {};
    const auto end = text.find("\n\n", at + 1);
    return text.substr(at + 1, end == std::string::npos ? std::string::npos : end - at);
  }

  std::filesystem::path dir_;
};

}  // namespace pf::lab::testing
