// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the CISA KEV catalog. Besides "no crash, no sanitizer report, no leak" it checks the
// error contract: a failure is invalid_input with a message and a where that names the input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "patchflow/feeds/feeds.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  pf::feeds::ImportOptions options;
  options.limits.max_string_bytes = 4096;
  options.limits.max_depth = 32;
  options.limits.max_entry_bytes = 1u << 20;
  options.limits.max_document_bytes = 4u << 20;
  std::uint64_t delivered = 0;
  const auto sink = [&](pf::advisories::CveInfo&& info) {
    require(info.id.starts_with("CVE-"));
    ++delivered;
    return true;
  };
  const auto result = pf::feeds::import_kev_bytes(input, "fuzz.json", options, sink);
  if (result) {
    require(result->records == delivered);
  } else {
    require(result.error().code == pf::Errc::invalid_input);
    require(!result.error().message.empty());
    require(std::string_view(result.error().where).starts_with("fuzz"));
  }
  return 0;
}
