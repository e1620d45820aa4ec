// SPDX-License-Identifier: Apache-2.0
// File helpers shared by the readers (private to pf::pkg).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::pkg::detail {

/// The contents of `file`, at most `limit` + 1 bytes: a result longer than `limit` tells the
/// caller that the file is too large without reading all of it. Errc::not_found when it does
/// not exist, Errc::io when it cannot be read; `where` is the path.
[[nodiscard]] Result<std::string> read_at_most(const std::filesystem::path& file,
                                               std::size_t limit);

/// `root` / `path`, with symbolic links of the last component followed inside `root`: an
/// absolute target is taken relative to `root` and ".." never climbs above it. Returns the
/// resolved path, or Errc::not_found when it does not exist, Errc::invalid_input for a loop.
[[nodiscard]] Result<std::filesystem::path> resolve_in_root(const std::filesystem::path& root,
                                                            std::string_view path);

/// 1-based number of the line holding byte `offset` of `text`.
[[nodiscard]] std::size_t line_of(std::string_view text, std::size_t offset) noexcept;

[[nodiscard]] inline bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

[[nodiscard]] std::string_view trim_blanks(std::string_view s) noexcept;

/// "<name>:<line>"
[[nodiscard]] std::string at(std::string_view name, std::size_t line);

/// A byte made printable for a message: "0x0d".
[[nodiscard]] std::string byte_name(unsigned char c);

}  // namespace pf::pkg::detail
