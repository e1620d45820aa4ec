// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::process {

/// What to run. argv[0] is looked up in PATH when it has no '/'.
struct Spec {
  std::vector<std::string> argv;
  /// "NAME=value" entries added to (or replacing in) the inherited environment.
  std::vector<std::string> env;
  /// Start from an empty environment instead of the inherited one.
  bool clear_env{false};
  /// Working directory; empty keeps the caller's.
  std::string cwd;
  /// Written to the child's standard input, which is then closed.
  std::string stdin_data;
  /// 0 means no limit. On expiry the whole process group gets SIGTERM, then SIGKILL 2 s later.
  std::chrono::milliseconds timeout{0};
  /// At most this many bytes of each stream are kept: the last ones (the tail is what explains a
  /// failure).
  std::size_t max_capture{1 << 20};
  /// Run as this user and group: the child sets its groups to `gid` alone, then its gid, then
  /// its uid, before exec (a failure is reported like a program that cannot be started).
  /// -1 keeps the caller's. Resolve names with getpwnam_r before calling run().
  long uid{-1};
  long gid{-1};
};

/// How it ended. exit_code is -1 when the process was ended by a signal.
struct Outcome {
  int exit_code{-1};
  int term_signal{0};
  bool timed_out{false};
  std::string out;
  std::string err;
  bool out_truncated{false};
  bool err_truncated{false};
  std::chrono::milliseconds elapsed{0};

  [[nodiscard]] bool ok() const noexcept { return exit_code == 0 && !timed_out; }
};

/// Runs a process to completion. Fails (Errc::not_found / Errc::io) only when it cannot be
/// started; a non-zero exit, a signal or a timeout is reported in Outcome.
[[nodiscard]] Result<Outcome> run(const Spec& spec);

}  // namespace pf::process
