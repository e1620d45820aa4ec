// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for rpmvercmp and the RPM EVR parser. The input is up to three strings
// separated by tabs. rpm's ordering is checked for reflexivity and antisymmetry; transitivity
// is not asked of it, because rpm itself does not guarantee it for arbitrary strings and we
// follow rpm, not an ideal.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_input.hpp"
#include "patchflow/core/versions.hpp"

namespace v = pf::versions;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const pf::fuzz::Parts split = pf::fuzz::split_tabs(data, size);
  const std::string_view* parts = split.part;
  const std::size_t n = split.count;
  for (std::size_t i = 0; i < n; ++i) {
    require(v::rpmvercmp(parts[i], parts[i]) == 0);
    auto strict = v::parse_rpm_evr(parts[i], v::Check::strict);
    auto lenient = v::parse_rpm_evr(parts[i], v::Check::lenient);
    require(!strict || lenient);
    if (!lenient) {
      require(lenient.error().where.starts_with("position "));
      continue;
    }
    require(v::compare(*lenient, *lenient) == 0);
    for (std::size_t j = 0; j < n; ++j) {
      const int r = v::rpmvercmp(parts[i], parts[j]);
      require(r >= -1 && r <= 1);
      require(r == -v::rpmvercmp(parts[j], parts[i]));
      auto other = v::parse_rpm_evr(parts[j]);
      if (other) require(v::compare(*lenient, *other) == -v::compare(*other, *lenient));
    }
  }
  return 0;
}
