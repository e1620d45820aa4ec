// SPDX-License-Identifier: Apache-2.0
// Running the real tools in the pkg integration tests.
#pragma once

#include <string>
#include <vector>

#include "patchflow/common/process.hpp"

namespace pf::testing {

/// The full path of `program` found in PATH, or "" when it is not there.
std::string find_in_path(const std::string& program);

/// Runs argv (through pf::process, 120 s timeout). The outcome; a failure to start is reported
/// as exit code 127 with the reason in `err`.
process::Outcome run_tool(std::vector<std::string> argv);

/// "exit N: <stderr>" for a failure message.
std::string describe(const process::Outcome& outcome);

}  // namespace pf::testing
