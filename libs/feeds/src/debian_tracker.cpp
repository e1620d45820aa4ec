// SPDX-License-Identifier: Apache-2.0
// The Debian security tracker JSON, streamed: one (source package, CVE) entry at a time.
#include <algorithm>
#include <array>
#include <utility>

#include "common.hpp"

namespace pf::feeds::detail {
namespace {

namespace adv = pf::advisories;

constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kReleases{{
    {"squeeze", "Debian:6"},
    {"wheezy", "Debian:7"},
    {"jessie", "Debian:8"},
    {"stretch", "Debian:9"},
    {"buster", "Debian:10"},
    {"bullseye", "Debian:11"},
    {"bookworm", "Debian:12"},
    {"trixie", "Debian:13"},
    {"forky", "Debian:14"},
    {"duke", "Debian:15"},
    {"sid", "Debian:unstable"},
}};

std::string_view ecosystem_of(std::string_view codename) {
  for (const auto& [name, ecosystem] : kReleases) {
    if (name == codename) return ecosystem;
  }
  return {};
}

void read_release(JsonReader& r, std::string_view ecosystem, const std::string& package,
                  adv::Advisory& a, RecordNotes& notes) {
  r.begin_object("a release entry");
  std::string status;
  std::string fixed;
  bool has_fixed = false;
  adv::Severity severity = adv::Severity::unknown;
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "status") {
      status = r.string("status");
    } else if (key == "fixed_version") {
      has_fixed = r.optional_string("fixed_version", fixed);
    } else if (key == "urgency") {
      std::string word;
      if (r.optional_string("urgency", word)) severity = severity_word(word);
    } else {
      r.skip();  // repositories, nodsa, nodsa_reason, …
    }
  }
  // Positioned at the release's closing brace: errors name $.<package>.<id>.releases.<codename>.
  adv::Affected affected;
  AffectedStatus how;
  if (status == "resolved") {
    if (!has_fixed || fixed.empty()) r.error("status \"resolved\" without a fixed_version");
    if (fixed == "0") return;  // never affected in this release
    affected.events = {{adv::EventType::introduced, "0"}, {adv::EventType::fixed, fixed}};
    how = AffectedStatus::fixed;
  } else if (status == "open" || status == "undetermined") {
    affected.events = {{adv::EventType::introduced, "0"}};
    how = status == "open" ? AffectedStatus::open : AffectedStatus::undetermined;
  } else if (status.empty()) {
    r.error("release entry without a status");
  } else {
    r.error("unknown status \"" + status.substr(0, 64) +
            "\" (expected resolved, open or undetermined)");
  }
  affected.ecosystem = ecosystem;
  affected.package = package;
  affected.package_kind = adv::PackageKind::source;
  affected.severity = severity;
  a.severity = std::max(a.severity, severity);
  a.affected.push_back(std::move(affected));
  notes.affected_status.push_back(how);
}

void read_entry(JsonReader& r, const std::string& package, adv::Advisory& a, RecordNotes& notes,
                ImportStats& stats) {
  r.begin_object("a tracker entry");
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "description") {
      r.optional_string("description", a.summary);
    } else if (key == "releases") {
      // An entry without releases is written as [] by some producers.
      if (r.peek() == Tok::begin_array) {
        r.next();
        if (r.next_element()) r.error("expected releases to be an object, found a non-empty array");
        continue;
      }
      r.begin_object("releases");
      while (r.next_key()) {
        const std::string_view ecosystem = ecosystem_of(r.text());
        if (ecosystem.empty()) {
          ++stats.ignored;  // experimental, or a release newer than this table
          r.skip();
          continue;
        }
        read_release(r, ecosystem, package, a, notes);
      }
    } else {
      r.skip();  // scope, debianbug
    }
  }
}

void import_tracker(ByteSource& source, const std::string& name, const Limits& limits,
                    const AdvisorySink& sink, ImportStats& stats) {
  JsonReader r(source, name, limits);
  Delivery delivery(limits, stats);
  RecordNotes notes;
  notes.origin = name;
  r.begin_object("the tracker document");
  while (r.next_key()) {
    const std::string package(r.text());
    if (package.empty()) r.error("empty source package name");
    r.begin_object("a source package entry");
    while (r.next_key()) {
      const std::string id(r.text());
      if (id.empty()) r.error("empty tracker id");
      const std::string where = r.where();
      adv::Advisory a;
      a.id = "DEBIAN-" + id + "/" + package;
      a.source = "debian-tracker";
      a.kind = adv::Kind::security;
      if (is_cve_id(id)) a.cves.push_back(id);
      notes.affected_status.clear();
      read_entry(r, package, a, notes, stats);
      delivery.advisory(sink, std::move(a), notes, where);
    }
  }
  r.finish();
  ++stats.files;
  stats.bytes += source.delivered();
}

}  // namespace
}  // namespace pf::feeds::detail

namespace pf::feeds {

Result<ImportStats> import_debian_tracker(const std::filesystem::path& path,
                                          const ImportOptions& options,
                                          const AdvisorySink& on_advisory) {
  return detail::guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    auto source = detail::open_document(path, options.limits.max_document_bytes);
    detail::import_tracker(*source, path.string(), options.limits, on_advisory, stats);
    return stats;
  });
}

Result<ImportStats> import_debian_tracker_bytes(std::string_view data, std::string_view name,
                                                const ImportOptions& options,
                                                const AdvisorySink& on_advisory) {
  return detail::guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    auto source = detail::open_document(data, name, options.limits.max_document_bytes);
    detail::import_tracker(*source, std::string(name), options.limits, on_advisory, stats);
    return stats;
  });
}

}  // namespace pf::feeds
