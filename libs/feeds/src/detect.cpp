// SPDX-License-Identifier: Apache-2.0
// Format detection by content, and the one entry point that dispatches on it.
#include <optional>
#include <system_error>

#include "common.hpp"
#include "osv.hpp"

namespace pf::feeds::detail {
namespace {

constexpr std::size_t kHeadBytes = 64 * 1024;

bool tracker_id(std::string_view key) { return is_cve_id(key) || key.starts_with("TEMP-"); }

/// Looks at the first keys of a JSON document (possibly cut off).
std::optional<Format> json_kind(std::string_view head, const std::string& name,
                                const Limits& limits) {
  auto source = memory_source(head);
  JsonReader r(*source, name, limits);
  bool id = false;
  bool osv_field = false;
  try {
    if (r.next() != Tok::begin_object) return std::nullopt;
    std::string top;
    for (Tok t = r.next(); t != Tok::end; t = r.next()) {
      if (t != Tok::key) continue;
      const std::size_t depth = r.depth();
      const std::string_view key = r.text();
      if (key == "cveID") return Format::kev;
      if (key == "csaf_version") return Format::csaf;
      if (depth == 1) {
        top = key;
        if (key == "catalogVersion") return Format::kev;
        if (key == "resultsPerPage") return Format::nvd;
        if (key == "id") id = true;
        if (key == "affected" || key == "modified" || key == "published" || key == "aliases" ||
            key == "schema_version" || key == "related" || key == "upstream") {
          osv_field = true;
        }
        if (key == "format") {
          if (r.peek() == Tok::string) {
            r.next();
            if (r.text() == "NVD_CVE") return Format::nvd;
          }
        }
      } else if (depth == 2 && tracker_id(key) && top != "vulnerabilities") {
        return Format::debian_tracker;
      }
      if (id && osv_field) return Format::osv;
    }
  } catch (const Failure&) {
    // The head ends mid-document or is not JSON; decide on what was seen.
  }
  if (id && osv_field) return Format::osv;
  return std::nullopt;
}

}  // namespace
}  // namespace pf::feeds::detail

namespace pf::feeds {

std::string_view format_name(Format format) noexcept {
  switch (format) {
    case Format::osv: return "osv";
    case Format::osv_archive: return "osv-archive";
    case Format::osv_directory: return "osv-directory";
    case Format::debian_tracker: return "debian-tracker";
    case Format::csaf: return "csaf";
    case Format::kev: return "kev";
    case Format::epss: return "epss";
    case Format::nvd: return "nvd";
  }
  return "unknown";
}

Result<Format> detect_format(const std::filesystem::path& path, const ImportOptions& options) {
  try {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
      return make_error(Errc::not_found, "no such file or directory", path.string());
    }
    if (std::filesystem::is_directory(status)) return Format::osv_directory;
    std::string raw;
    auto source = detail::peek_source(detail::open_file(path), raw, 512);
    if (detail::looks_like_archive(raw)) return Format::osv_archive;
    std::string head;
    auto decoded = detail::peek_source(
        detail::decoded_source(std::move(source), path.string(), options.limits.max_document_bytes,
                               "document"),
        head, detail::kHeadBytes);
    if (head.empty()) return make_error(Errc::invalid_input, "empty file", path.string());
    if (detail::looks_like_archive(head)) return Format::osv_archive;  // tar.gz
    if (head.starts_with("#model_version") || head.starts_with("cve,epss")) return Format::epss;
    if (auto kind = detail::json_kind(head, path.string(), options.limits)) return *kind;
    return make_error(Errc::invalid_input,
                      "unrecognised feed format (not OSV, a Debian tracker document, CSAF, CISA "
                      "KEV, EPSS CSV, NVD CVE API 2.0 JSON, or an archive of OSV documents)",
                      path.string());
  } catch (const detail::Failure& failure) {
    return tl::unexpected(failure.error());
  }
}

Result<ImportStats> import_path(const std::filesystem::path& path, const ImportOptions& options,
                                const AdvisorySink& on_advisory, const CveSink& on_cve) {
  const auto format = detect_format(path, options);
  if (!format) return tl::unexpected(format.error());
  switch (*format) {
    case Format::osv:
    case Format::osv_archive:
    case Format::osv_directory: return import_osv(path, options, on_advisory);
    case Format::debian_tracker: return import_debian_tracker(path, options, on_advisory);
    case Format::csaf: return import_csaf(path, options, on_advisory);
    case Format::kev: return import_kev(path, options, on_cve);
    case Format::epss: return import_epss(path, options, on_cve);
    case Format::nvd: return import_nvd(path, options, on_cve);
  }
  return make_error(Errc::invalid_input, "unhandled format", path.string());
}

}  // namespace pf::feeds
