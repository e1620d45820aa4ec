// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for parse_inventory (libs/server/src/inventory_parse.hpp), the streaming
// reader of PUT /agent/v1/inventory. Besides "no crash, no sanitizer report, no leak": on
// every input within the server's depth bound it gives the same rows, or the same first error
// (message and field), as the document-based reference (tests/unit/server/
// inventory_reference.hpp); an error always names a field; accepted rows pass the store's
// validate_inventory.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "inventory_parse.hpp"
#include "inventory_reference.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// The server refuses bodies nested deeper than 64 before reading them (server.cpp).
bool depth_ok(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > 64) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto mine = pf::server::parse_inventory(input);
  if (mine) {
    require(!mine->hash.empty());
    require(pf::store::validate_inventory(mine->hash, mine->packages, mine->updates).has_value());
  } else {
    require(!mine.error().message.empty());
    require(!mine.error().field.empty());
  }
  if (!depth_ok(input)) return 0;
  require(pf::server::testing::compare(mine, pf::server::testing::reference_parse_inventory(input))
              .empty());
  return 0;
}
