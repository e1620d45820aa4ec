// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the Debian security tracker JSON (the checks live in feeds_fuzz.hpp).
#include "feeds_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return pf::fuzz::fuzz_advisories(data, size, "fuzz.json", pf::feeds::import_debian_tracker_bytes);
}
