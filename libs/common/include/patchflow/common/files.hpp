// SPDX-License-Identifier: Apache-2.0
// Reading files of a host or of a package root: bounded reads and paths resolved inside a root.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::files {

/// The contents of `file`, at most `limit` + 1 bytes: a longer result tells the caller the file
/// is too large without reading all of it (SIZE_MAX reads everything). Works on /proc files,
/// whose size is reported as 0. Errc::not_found when it does not exist, Errc::io when it cannot
/// be read or is a directory; where = the path.
[[nodiscard]] Result<std::string> read_at_most(const std::filesystem::path& file,
                                               std::size_t limit);

/// `root` / `path` with symbolic links followed inside `root`, in every component: an absolute
/// target is taken relative to `root` and ".." never climbs above it, so a root's
/// "var/run -> /run" never reaches the host's /run. Errc::not_found when it does not exist,
/// Errc::invalid_input for more than 32 links, Errc::io for a link that cannot be read.
[[nodiscard]] Result<std::filesystem::path> resolve_in_root(const std::filesystem::path& root,
                                                            std::string_view path);

/// True for "/" (and spellings of it such as "//" or "/."), the machine the program runs on.
[[nodiscard]] bool is_host_root(const std::filesystem::path& root);

/// "<name>:<line>", the `where` of an error in line-oriented input.
[[nodiscard]] std::string at_line(std::string_view name, std::size_t line);

}  // namespace pf::files
