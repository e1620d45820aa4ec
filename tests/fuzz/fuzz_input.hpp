// SPDX-License-Identifier: Apache-2.0
// Shared by the version fuzz targets: the input is up to three strings separated by tabs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pf::fuzz {

struct Parts {
  std::string_view part[3];
  std::size_t count{0};
};

inline Parts split_tabs(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Parts p;
  std::size_t start = 0;
  while (p.count < 3) {
    const auto tab = input.find('\t', start);
    p.part[p.count++] = input.substr(start, tab == std::string_view::npos ? tab : tab - start);
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return p;
}

}  // namespace pf::fuzz
