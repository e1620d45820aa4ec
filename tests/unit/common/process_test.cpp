// SPDX-License-Identifier: Apache-2.0
#include "patchflow/common/process.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
namespace process = pf::process;

namespace {

process::Outcome run_ok(process::Spec spec) {
  auto r = process::run(spec);
  EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
  return r.value_or(process::Outcome{});
}

TEST(Process, CapturesStdoutStderrAndExitCode) {
  auto out = run_ok({.argv = {"sh", "-c", "echo hello; echo oops >&2; exit 3"}});
  EXPECT_EQ(out.out, "hello\n");
  EXPECT_EQ(out.err, "oops\n");
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_FALSE(out.ok());
}

TEST(Process, FeedsStdin) {
  std::string big(300000, 'x');  // larger than a pipe buffer
  auto out = run_ok({.argv = {"wc", "-c"}, .stdin_data = big});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(std::stoul(out.out), big.size());
}

TEST(Process, ChildThatIgnoresStdinDoesNotKillUs) {
  std::string big(1 << 20, 'x');
  auto out = run_ok({.argv = {"true"}, .stdin_data = big});
  EXPECT_EQ(out.exit_code, 0);
}

TEST(Process, TimeoutEndsTheProcessGroup) {
  auto out = run_ok({.argv = {"sh", "-c", "sleep 30 & sleep 30"}, .timeout = 300ms});
  EXPECT_TRUE(out.timed_out);
  EXPECT_FALSE(out.ok());
  EXPECT_LT(out.elapsed, 5s);
}

TEST(Process, KeepsTheTailWhenOutputIsTooLong) {
  auto out = run_ok({.argv = {"sh", "-c", "seq 1 100000"}, .max_capture = 16});
  EXPECT_TRUE(out.out_truncated);
  EXPECT_EQ(out.out.size(), 16u);
  EXPECT_TRUE(out.out.ends_with("99999\n100000\n"));
}

TEST(Process, EnvironmentAndWorkingDirectory) {
  auto out = run_ok({.argv = {"sh", "-c", "echo \"$PF_X\"; pwd"},
                     .env = {"PF_X=42"},
                     .cwd = "/tmp"});
  EXPECT_EQ(out.out, "42\n/tmp\n");
  auto clean = run_ok({.argv = {"/usr/bin/env"}, .env = {"ONLY=1"}, .clear_env = true});
  EXPECT_EQ(clean.out, "ONLY=1\n");
}

TEST(Process, MissingProgramIsNotFound) {
  auto r = process::run({.argv = {"/nonexistent/patchflow-no-such-tool"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::not_found);
  EXPECT_EQ(r.error().where, "/nonexistent/patchflow-no-such-tool");
  auto empty = process::run({});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, pf::Errc::invalid_input);
}

TEST(Process, ReportsTheSignal) {
  auto out = run_ok({.argv = {"sh", "-c", "kill -9 $$"}});
  EXPECT_EQ(out.exit_code, -1);
  EXPECT_EQ(out.term_signal, 9);
}

}  // namespace
