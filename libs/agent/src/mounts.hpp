// SPDX-License-Identifier: Apache-2.0
// Free disk per mount (private to pf::agent).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "patchflow/agent/facts.hpp"

namespace pf::agent::detail {

/// Reads `mounts_file`, drops pseudo file systems and shadowed mounts (the last mount on a
/// mount point wins), keeps those visible from `root` (everything for "/", else the file
/// system holding the root as "/" and the mounts below it) and statvfs()es each. A statvfs
/// failure becomes a warning.
[[nodiscard]] Result<std::vector<MountFacts>> collect_mounts(
    const std::filesystem::path& root, const std::filesystem::path& mounts_file,
    std::vector<std::string>& warnings);

}  // namespace pf::agent::detail
