// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for OSV archives (zip, tar) (the checks live in feeds_fuzz.hpp).
#include "feeds_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return pf::fuzz::fuzz_advisories(data, size, "fuzz.zip", pf::feeds::import_osv_archive_bytes);
}
