// SPDX-License-Identifier: Apache-2.0
// Shared by the feed importer fuzz targets: small limits (so the fuzzer reaches them), and the
// contract every importer keeps besides "no crash, no sanitizer report, no leak": a failure is
// invalid_input with a message and a `where` that names the input, and a success reports
// exactly the records it delivered.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "patchflow/feeds/feeds.hpp"

namespace pf::fuzz {

inline void require(bool ok) {
  if (!ok) std::abort();
}

inline feeds::ImportOptions small_limits() {
  feeds::ImportOptions options;
  options.limits.max_string_bytes = 4096;
  options.limits.max_depth = 32;
  options.limits.max_entry_bytes = 1u << 20;
  options.limits.max_document_bytes = 4u << 20;
  return options;
}

inline void check_outcome(const Result<feeds::ImportStats>& result, std::uint64_t delivered) {
  if (result) {
    require(result->records == delivered);
  } else {
    require(result.error().code == Errc::invalid_input);
    require(!result.error().message.empty());
    require(std::string_view(result.error().where).starts_with("fuzz"));
  }
}

/// One advisory importer (`import(bytes, name, options, sink)`) on the fuzzer's input.
template <class Import>
int fuzz_advisories(const std::uint8_t* data, std::size_t size, std::string_view name,
                    Import import) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::uint64_t delivered = 0;
  const auto sink = [&](advisories::Advisory&& a, const feeds::RecordNotes& notes) {
    require(notes.affected_status.size() == a.affected.size());
    require(!a.id.empty());
    ++delivered;
    return true;
  };
  check_outcome(import(input, name, small_limits(), sink), delivered);
  return 0;
}

/// One enrichment importer on the fuzzer's input.
template <class Import>
int fuzz_cves(const std::uint8_t* data, std::size_t size, std::string_view name, Import import) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::uint64_t delivered = 0;
  const auto sink = [&](advisories::CveInfo&& info) {
    require(info.id.starts_with("CVE-"));
    ++delivered;
    return true;
  };
  check_outcome(import(input, name, small_limits(), sink), delivered);
  return 0;
}

}  // namespace pf::fuzz
