// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the importers. Private to the feeds component.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json_reader.hpp"
#include "patchflow/core/advisory.hpp"
#include "patchflow/feeds/feeds.hpp"

namespace pf::feeds::detail {

/// RFC 3339 date-time ("2024-01-02T03:04:05.678Z", "…+02:00"; a missing zone is UTC, as in
/// NVD) to Unix seconds; false when malformed.
[[nodiscard]] bool parse_rfc3339(std::string_view text, std::int64_t& seconds) noexcept;

/// "CVE-YYYY-NNNN…" (four-digit year, at least four digits).
[[nodiscard]] bool is_cve_id(std::string_view text) noexcept;

/// Appends when not present yet.
void add_unique(std::vector<std::string>& list, std::string_view value);

/// A vendor word to a Severity; trailing '*' (Debian's "not yet checked") and blanks are
/// ignored; unknown words give Severity::unknown.
[[nodiscard]] advisories::Severity severity_word(std::string_view word);

/// Counts records against the limit and hands them to a sink.
class Delivery {
 public:
  Delivery(const Limits& limits, ImportStats& stats) : limits_(limits), stats_(stats) {}
  void advisory(const AdvisorySink& sink, advisories::Advisory&& advisory,
                const RecordNotes& notes, const std::string& where);
  void cve(const CveSink& sink, advisories::CveInfo&& info, const std::string& where);

 private:
  void count(const std::string& where);
  const Limits& limits_;
  ImportStats& stats_;
};

/// Opens a file or memory as a decoded (gunzipped if need be), size-limited source.
std::unique_ptr<ByteSource> open_document(const std::filesystem::path& path,
                                          std::uint64_t limit);
std::unique_ptr<ByteSource> open_document(std::string_view data, std::string_view name,
                                          std::uint64_t limit);

}  // namespace pf::feeds::detail
