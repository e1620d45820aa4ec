// SPDX-License-Identifier: Apache-2.0
// OSV JSON (https://ossf.github.io/osv-schema/) into Advisory, one document at a time.
#include <algorithm>
#include <system_error>
#include <vector>

#include "common.hpp"
#include "osv.hpp"

namespace pf::feeds::detail {
namespace {

namespace adv = pf::advisories;

constexpr std::string_view kSource = "osv";

void read_string_list(JsonReader& r, std::string_view what, std::vector<std::string>& cves) {
  if (r.peek() == Tok::null) {
    r.next();
    return;
  }
  r.begin_array(what);
  while (r.next_element()) {
    const std::string_view value = r.string(what);
    // "CVE-…" itself, or a vendor's record of one ("UBUNTU-CVE-…", "DEBIAN-CVE-…").
    const std::size_t at = value.find("CVE-");
    if (at != std::string_view::npos && (at == 0 || value[at - 1] == '-') &&
        is_cve_id(value.substr(at))) {
      add_unique(cves, value.substr(at));
    }
  }
}

std::int64_t read_time(JsonReader& r, std::string_view what) {
  const std::string_view text = r.string(what);
  std::int64_t seconds = 0;
  if (!parse_rfc3339(text, seconds)) {
    r.error(std::string(what) + " is not an RFC 3339 time: '" + std::string(text.substr(0, 64)) +
            "'");
  }
  return seconds;
}

/// database_specific / ecosystem_specific: free-form objects; we only look for a severity word.
adv::Severity read_specific(JsonReader& r) {
  adv::Severity severity = adv::Severity::unknown;
  if (r.peek() != Tok::begin_object) {
    r.skip();
    return severity;
  }
  r.next();
  while (r.next_key()) {
    const std::string_view key = r.text();
    if ((key == "urgency" || key == "severity") && r.peek() == Tok::string) {
      severity = std::max(severity, severity_word(r.string("a severity word")));
    } else {
      r.skip();
    }
  }
  return severity;
}

void read_range(JsonReader& r, std::vector<adv::Event>& events, ImportStats& stats) {
  r.begin_object("affected[].ranges[]");
  bool ecosystem = false;
  std::vector<adv::Event> found;
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "type") {
      ecosystem = r.string("ranges[].type") == "ECOSYSTEM";
    } else if (key == "events") {
      r.begin_array("ranges[].events");
      while (r.next_element()) {
        r.begin_object("ranges[].events[]");
        while (r.next_key()) {
          const std::string_view kind = r.text();
          adv::EventType type;
          if (kind == "introduced") {
            type = adv::EventType::introduced;
          } else if (kind == "fixed") {
            type = adv::EventType::fixed;
          } else if (kind == "last_affected") {
            type = adv::EventType::last_affected;
          } else {
            r.skip();  // "limit" and future event kinds do not describe affected versions
            continue;
          }
          found.push_back(adv::Event{type, std::string(r.string("an event version"))});
        }
      }
    } else {
      r.skip();
    }
  }
  if (ecosystem) {
    events.insert(events.end(), std::make_move_iterator(found.begin()),
                  std::make_move_iterator(found.end()));
  } else {
    ++stats.ignored;
  }
}

bool source_ecosystem(std::string_view ecosystem) {
  const std::string_view family = ecosystem.substr(0, ecosystem.find(':'));
  return family == "Debian" || family == "Ubuntu";
}

void read_affected(JsonReader& r, adv::Advisory& a, RecordNotes& notes, ImportStats& stats) {
  r.begin_object("affected[]");
  adv::Affected affected;
  bool has_package = false;
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "package") {
      r.begin_object("affected[].package");
      while (r.next_key()) {
        const std::string_view field = r.text();
        if (field == "ecosystem") {
          affected.ecosystem = r.string("package.ecosystem");
        } else if (field == "name") {
          affected.package = r.string("package.name");
        } else {
          r.skip();
        }
      }
      has_package = true;
    } else if (key == "ranges") {
      r.begin_array("affected[].ranges");
      while (r.next_element()) read_range(r, affected.events, stats);
    } else if (key == "ecosystem_specific" || key == "database_specific") {
      affected.severity = std::max(affected.severity, read_specific(r));
    } else {
      r.skip();
    }
  }
  if (!has_package || affected.ecosystem.empty() || affected.package.empty() ||
      affected.events.empty()) {
    ++stats.ignored;  // nothing a host inventory could match
    return;
  }
  affected.package_kind =
      source_ecosystem(affected.ecosystem) ? adv::PackageKind::source : adv::PackageKind::binary;
  a.affected.push_back(std::move(affected));
  notes.affected_status.push_back(AffectedStatus::stated);
}

adv::Kind kind_of(std::string_view id) {
  // ALBA-, RLBA-, RHBA-, ELBA- are bug fix advisories; *EA- enhancements.
  if (id.size() > 5 && id[4] == '-') {
    const std::string_view type = id.substr(2, 2);
    if (type == "BA") return adv::Kind::bugfix;
    if (type == "EA") return adv::Kind::enhancement;
  }
  return adv::Kind::security;
}

std::string first_line(std::string_view text) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (!line.empty()) return std::string(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return {};
}

}  // namespace

bool read_osv_document(JsonReader& r, adv::Advisory& a, RecordNotes& notes, ImportStats& stats) {
  a = adv::Advisory{};
  a.source = kSource;
  notes.affected_status.clear();
  std::string details;
  bool withdrawn = false;
  adv::Severity top = adv::Severity::unknown;
  r.begin_object("the OSV document");
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "id") {
      a.id = r.string("id");
    } else if (key == "summary") {
      r.optional_string("summary", a.summary);
    } else if (key == "details") {
      r.optional_string("details", details);
    } else if (key == "aliases" || key == "upstream" || key == "related") {
      const std::string what(key);
      read_string_list(r, what, a.cves);
    } else if (key == "published") {
      a.published = read_time(r, "published");
    } else if (key == "modified") {
      a.modified = read_time(r, "modified");
    } else if (key == "withdrawn") {
      read_time(r, "withdrawn");
      withdrawn = true;
    } else if (key == "affected") {
      if (r.peek() == Tok::null) {
        r.next();
        continue;
      }
      r.begin_array("affected");
      while (r.next_element()) read_affected(r, a, notes, stats);
    } else if (key == "database_specific") {
      top = std::max(top, read_specific(r));
    } else if (key == "severity") {
      if (r.peek() == Tok::null) {
        r.next();
        continue;
      }
      r.begin_array("severity");
      while (r.next_element()) {
        r.begin_object("severity[]");
        std::string type;
        std::string score;
        while (r.next_key()) {
          const std::string_view field = r.text();
          if (field == "type") {
            type = r.string("severity[].type");
          } else if (field == "score") {
            score = r.string("severity[].score");
          } else {
            r.skip();
          }
        }
        if (type == "Ubuntu") top = std::max(top, severity_word(score));
      }
    } else {
      r.skip();
    }
  }
  r.finish();
  if (a.id.empty()) {
    fail(Errc::invalid_input, "the OSV document has no id", r.name());
  }
  if (is_cve_id(a.id)) {
    std::erase(a.cves, a.id);
    a.cves.insert(a.cves.begin(), a.id);
  }
  if (a.summary.empty()) a.summary = first_line(details);
  a.kind = kind_of(a.id);
  if (top == adv::Severity::unknown) {
    // AlmaLinux, Rocky and Red Hat write the vendor severity before the title.
    const std::size_t colon = a.summary.find(':');
    if (colon != std::string::npos && colon <= 16) {
      top = severity_word(std::string_view(a.summary).substr(0, colon));
    }
  }
  if (top == adv::Severity::unknown) {
    for (const auto& affected : a.affected) top = std::max(top, affected.severity);
  }
  a.severity = top;
  return !withdrawn;
}

namespace {

void import_document(ByteSource& source, const std::string& name, const Limits& limits,
                     const AdvisorySink& sink, ImportStats& stats) {
  JsonReader reader(source, name, limits);
  adv::Advisory advisory;
  RecordNotes notes;
  notes.origin = name;
  const bool live = read_osv_document(reader, advisory, notes, stats);
  ++stats.files;
  stats.bytes += source.delivered();
  if (!live) {
    ++stats.ignored;  // withdrawn: the advisory must no longer be used
    return;
  }
  Delivery(limits, stats).advisory(sink, std::move(advisory), notes, name);
}

bool ends_with_json(std::string_view name) { return name.ends_with(".json"); }

void import_archive(ArchiveReader& archive, const std::string& name, const Limits& limits,
                    const AdvisorySink& sink, ImportStats& stats) {
  std::string entry;
  std::int64_t declared = -1;
  std::uint64_t seen = 0;
  while (archive.next(entry, declared)) {
    if (++seen > limits.max_files) {
      fail(Errc::invalid_input,
           "more archive entries than the limit of " + std::to_string(limits.max_files), name);
    }
    if (!ends_with_json(entry)) {
      ++stats.ignored;
      continue;
    }
    const std::string where = name + "!" + entry;
    if (declared >= 0 && static_cast<std::uint64_t>(declared) > limits.max_entry_bytes) {
      fail(Errc::invalid_input,
           "archive entry declares " + std::to_string(declared) +
               " bytes, which exceeds the limit of " + std::to_string(limits.max_entry_bytes) +
               " bytes",
           where);
    }
    auto source = archive.entry_source(limits.max_entry_bytes);
    import_document(*source, where, limits, sink, stats);
  }
}

bool gzip_wraps_tar(const std::filesystem::path& path) {
  std::string head;
  auto source = peek_source(decoded_source(open_file(path), path.string(), 1u << 20, "document"),
                            head, 512);
  return looks_like_archive(head);
}

}  // namespace

Result<ImportStats> osv_file_or_tree(const std::filesystem::path& path, const ImportOptions& options,
                                     const AdvisorySink& on_advisory) {
  return guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    const Limits& limits = options.limits;
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
      return make_error(Errc::not_found, "no such file or directory", path.string());
    }
    if (std::filesystem::is_directory(status)) {
      std::vector<std::filesystem::path> files;
      std::uint64_t seen = 0;
      for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (++seen > limits.max_files) {
          return make_error(Errc::invalid_input,
                            "more files than the limit of " + std::to_string(limits.max_files),
                            path.string());
        }
        if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
        if (ends_with_json(it->path().filename().string())) {
          files.push_back(it->path());
        } else {
          ++stats.ignored;
        }
      }
      if (ec) return make_error(Errc::io, "cannot list directory: " + ec.message(), path.string());
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        auto source = open_document(file, limits.max_document_bytes);
        import_document(*source, file.string(), limits, on_advisory, stats);
      }
      return stats;
    }
    std::string head;
    auto source = peek_source(open_file(path), head, 512);
    const bool gzip = head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
                      static_cast<unsigned char>(head[1]) == 0x8b;
    if (looks_like_archive(head) || (gzip && gzip_wraps_tar(path))) {
      source.reset();
      auto archive = ArchiveReader::open_file(path, path.string());
      import_archive(*archive, path.string(), limits, on_advisory, stats);
      return stats;
    }
    auto document = decoded_source(std::move(source), path.string(), limits.max_document_bytes,
                                   "document");
    import_document(*document, path.string(), limits, on_advisory, stats);
    return stats;
  });
}

}  // namespace pf::feeds::detail

namespace pf::feeds {

Result<ImportStats> import_osv(const std::filesystem::path& path, const ImportOptions& options,
                               const AdvisorySink& on_advisory) {
  return detail::osv_file_or_tree(path, options, on_advisory);
}

Result<ImportStats> import_osv_bytes(std::string_view data, std::string_view name,
                                     const ImportOptions& options,
                                     const AdvisorySink& on_advisory) {
  return detail::guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    auto source = detail::open_document(data, name, options.limits.max_document_bytes);
    detail::import_document(*source, std::string(name), options.limits, on_advisory, stats);
    return stats;
  });
}

Result<ImportStats> import_osv_archive_bytes(std::string_view data, std::string_view name,
                                             const ImportOptions& options,
                                             const AdvisorySink& on_advisory) {
  return detail::guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    auto archive = detail::ArchiveReader::open_memory(data, std::string(name));
    detail::import_archive(*archive, std::string(name), options.limits, on_advisory, stats);
    return stats;
  });
}

}  // namespace pf::feeds
