// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the dpkg status parser. Besides "no crash, no sanitizer report": an
// error names the input and a line inside it; a success returns only complete packages whose
// versions are valid dpkg versions, each (name, arch) once.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "patchflow/core/versions.hpp"
#include "patchflow/pkg/dpkg_status.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Small limits so that the size checks are reached too.
  const pf::pkg::DpkgLimits limits{.max_file_size = 3000, .max_field_size = 200};
  auto r = pf::pkg::parse_dpkg_status(input, "fuzz", limits);
  if (!r) {
    require(!r.error().message.empty());
    const std::string& where = r.error().where;
    require(where.starts_with("fuzz:"));
    const unsigned long line = std::strtoul(where.c_str() + 5, nullptr, 10);
    std::size_t lines = 1;
    for (char c : input) lines += c == '\n' ? 1 : 0;
    require(line >= 1 && line <= lines);
    return 0;
  }
  require(input.empty() || input.back() == '\n');
  std::set<std::string> seen;
  for (const auto& p : *r) {
    require(!p.name.empty() && !p.arch.empty() && !p.version.empty());
    require(!p.source_name.empty() && !p.source_version.empty());
    require(pf::versions::parse_deb(p.version).has_value());
    require(pf::versions::parse_deb(p.source_version).has_value());
    require(seen.insert(p.name + ':' + p.arch).second);
  }
  return 0;
}
