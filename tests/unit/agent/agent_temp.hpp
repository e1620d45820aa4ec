// SPDX-License-Identifier: Apache-2.0
// A temporary directory for one agent test, removed with everything in it at the end.
#pragma once

#include "patchflow/testing/temp_dir.hpp"

namespace pf::agent::testing {

/// The shared temporary directory (tests/support), under an agent-specific prefix.
class TempRoot : public pf::testing::TempDir {
 public:
  TempRoot() : TempDir("pf-agent") {}
};

}  // namespace pf::agent::testing
