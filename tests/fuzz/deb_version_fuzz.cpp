// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the Debian version parser and ordering. The input is up to three
// versions separated by tabs; besides "no crash, no sanitizer report" it checks that the
// ordering is a total order on whatever parses: reflexive, antisymmetric, transitive.
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

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const pf::fuzz::Parts split = pf::fuzz::split_tabs(data, size);
  const std::string_view* parts = split.part;
  const std::size_t n = split.count;

  v::DebVersion parsed[3];
  bool valid[3] = {};
  for (std::size_t i = 0; i < n; ++i) {
    auto strict = v::parse_deb(parts[i], v::Check::strict);
    auto lenient = v::parse_deb(parts[i], v::Check::lenient);
    require(!strict || lenient);  // strict accepts a subset of lenient
    if (!lenient) {
      require(!lenient.error().message.empty());
      require(lenient.error().where.starts_with("position "));
      continue;
    }
    require(inside(lenient->upstream, parts[i]) && inside(lenient->revision, parts[i]));
    require(!lenient->upstream.empty());
    parsed[i] = *lenient;
    valid[i] = true;
    require(v::compare(parsed[i], parsed[i]) == 0);
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (!valid[i] || !valid[j]) continue;
      const int ab = v::compare(parsed[i], parsed[j]);
      require(ab >= -1 && ab <= 1);
      require(ab == -v::compare(parsed[j], parsed[i]));
      require(ab == *v::compare_deb(parts[i], parts[j]));
    }
  }
  if (n == 3 && valid[0] && valid[1] && valid[2]) {
    const int ab = v::compare(parsed[0], parsed[1]);
    const int bc = v::compare(parsed[1], parsed[2]);
    const int ac = v::compare(parsed[0], parsed[2]);
    if (ab <= 0 && bc <= 0) require(ac <= 0);
    if (ab >= 0 && bc >= 0) require(ac >= 0);
  }
  return 0;
}
