// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for one OSV JSON document (the checks live in feeds_fuzz.hpp).
#include "feeds_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return pf::fuzz::fuzz_advisories(data, size, "fuzz.json", pf::feeds::import_osv_bytes);
}
