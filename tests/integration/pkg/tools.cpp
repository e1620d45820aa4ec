// SPDX-License-Identifier: Apache-2.0
#include "tools.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace pf::testing {

std::string find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

process::Outcome run_tool(std::vector<std::string> argv) {
  auto r = process::run({.argv = std::move(argv),
                         .env = {"LC_ALL=C"},
                         .timeout = std::chrono::seconds(120),
                         .max_capture = std::size_t{64} << 20});
  if (!r) {
    process::Outcome failed;
    failed.exit_code = 127;
    failed.err = to_string(r.error());
    return failed;
  }
  return *r;
}

std::string describe(const process::Outcome& outcome) {
  std::string s = outcome.timed_out ? "timed out" : "exit " + std::to_string(outcome.exit_code);
  return s + ": " + outcome.err;
}

}  // namespace pf::testing
