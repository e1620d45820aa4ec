// SPDX-License-Identifier: Apache-2.0
// The OSV document reader, shared with format detection.
#pragma once

#include <filesystem>

#include "json_reader.hpp"
#include "patchflow/core/advisory.hpp"
#include "patchflow/feeds/feeds.hpp"

namespace pf::feeds::detail {

/// Reads one OSV document to its end. False when the advisory is withdrawn.
bool read_osv_document(JsonReader& reader, advisories::Advisory& advisory, RecordNotes& notes,
                       ImportStats& stats);

Result<ImportStats> osv_file_or_tree(const std::filesystem::path& path,
                                     const ImportOptions& options, const AdvisorySink& sink);

}  // namespace pf::feeds::detail
