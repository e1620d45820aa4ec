// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for EPSS CSV (the checks live in feeds_fuzz.hpp).
#include "feeds_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return pf::fuzz::fuzz_cves(data, size, "fuzz.csv", pf::feeds::import_epss_bytes);
}
