// SPDX-License-Identifier: Apache-2.0
#include "tools.hpp"

#include "patchflow/lab/tools.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace pf::testing {

std::string find_in_path(const std::string& program) {
  auto found = lab::find_tool(program, "");
  return found ? *found : std::string();
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
