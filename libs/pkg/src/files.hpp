// SPDX-License-Identifier: Apache-2.0
// File helpers shared by the readers (private to pf::pkg).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"
#include "patchflow/common/files.hpp"

namespace pf::pkg::detail {

// Bounded reads and paths inside a root come from patchflow/common/files.hpp.
using files::read_at_most;
using files::resolve_in_root;

/// 1-based number of the line holding byte `offset` of `text`.
[[nodiscard]] std::size_t line_of(std::string_view text, std::size_t offset) noexcept;

[[nodiscard]] inline bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

[[nodiscard]] std::string_view trim_blanks(std::string_view s) noexcept;

/// "<name>:<line>"
[[nodiscard]] inline std::string at(std::string_view name, std::size_t line) {
  return files::at_line(name, line);
}

/// A byte made printable for a message: "0x0d".
[[nodiscard]] std::string byte_name(unsigned char c);

}  // namespace pf::pkg::detail
