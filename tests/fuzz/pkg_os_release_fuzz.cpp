// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the os-release parser and the ecosystem mapping. Besides "no crash, no
// sanitizer report": errors name the input; a mapped ecosystem is one of the known families
// followed by ':' and the release.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "patchflow/pkg/os_release.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto fields = pf::pkg::parse_os_release_fields(input, "fuzz");
  auto os = pf::pkg::parse_os_release(input, "fuzz");
  if (!fields) {
    require(!os);
    require(fields.error().where.starts_with("fuzz:"));
    require(!fields.error().message.empty());
    return 0;
  }
  for (const auto& [key, value] : *fields) require(!key.empty());
  if (!os) {
    require(os.error().where == "fuzz");
    return 0;
  }
  static constexpr std::array<std::string_view, 9> kFamilies{
      "Debian:", "Ubuntu:", "AlmaLinux:",    "Rocky Linux:", "Red Hat:",
      "CentOS:", "Fedora:", "Oracle Linux:", "Amazon Linux:"};
  bool known = false;
  for (auto f : kFamilies) {
    if (os->ecosystem.starts_with(f) && os->ecosystem.size() > f.size()) known = true;
  }
  require(known);
  require(!os->id.empty() && !os->version_id.empty());
  return 0;
}
