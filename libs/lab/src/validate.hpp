// SPDX-License-Identifier: Apache-2.0
// Checks shared by the deb and rpm builders.
#pragma once

#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::lab {

inline bool single_line(std::string_view s) {
  return s.find('\n') == std::string_view::npos && s.find('\r') == std::string_view::npos;
}

/// An absolute, normalised path inside a package: "/a/b", no "." or ".." parts, no empty
/// parts, one line, no white space (rpm %files and dpkg lists cannot hold it).
[[nodiscard]] inline Result<void> check_package_path(const std::string& path, const char* field) {
  const auto bad = [&](const char* why) {
    return make_error(Errc::invalid_input, "path '" + path + "' " + why, field);
  };
  if (!path.starts_with('/') || path.size() < 2) return bad("must be absolute");
  if (path.ends_with('/')) return bad("must name a file");
  for (char c : path) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '%' || c == '\\') {
      return bad("has white space or a quote, '%' or '\\'");
    }
  }
  std::string_view rest(path);
  rest.remove_prefix(1);
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return bad("has an empty, '.' or '..' part");
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return {};
}

}  // namespace pf::lab
