// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/advisory.hpp"

/// Importers for advisory feeds (OSV, the Debian security tracker, Red Hat CSAF/VEX) and enrichment feeds (CISA KEV, EPSS, NVD CVE API 2.0) into the normalized model of
/// patchflow/core/advisory.hpp.
///
/// Every importer reads untrusted input as a stream and hands records to a callback one at a
/// time; memory is bounded by one record (one OSV document, one Debian tracker CVE entry, one
/// NVD vulnerability, one CSAF document), never by the feed. Delivery is per record: records delivered before an
/// error stay delivered, and only the final Result says whether the whole input was imported.
/// A caller that wants all-or-nothing collects or stages records and commits on success.
///
/// Errors are Errc::invalid_input for malformed or over-limit input (Errc::io when a file
/// cannot be read, Errc::not_found when it does not exist, Errc::interrupted when a callback
/// stopped the import). Error::where names the input and the position:
///   "<file>:<line>:<column> (byte <offset>) at $.affected[2].package.name"
/// and, inside an archive, "<archive>!<entry>:<line>:<column> ...". Lines and columns are
/// 1-based, columns count bytes; offsets are 0-based bytes of the (decompressed) document.
namespace pf::feeds {

/// Bounds on untrusted input. The defaults admit every real feed (the full NVD and Debian
/// tracker documents are a few hundred MB; the largest OSV records are a few MB).
struct Limits {
  /// Bytes of one document after decompression: a JSON or CSV file, one archive entry's
  /// document is bounded by max_entry_bytes instead.
  std::uint64_t max_document_bytes{2ull << 30};
  /// Bytes of one archive entry after decompression, counted while decompressing (zip bombs).
  std::uint64_t max_entry_bytes{64ull << 20};
  /// Bytes of one JSON string (after unescaping) or one CSV line.
  std::uint64_t max_string_bytes{1ull << 20};
  /// Nesting of JSON arrays and objects.
  std::uint32_t max_depth{64};
  /// Records delivered by one import (advisories or CVE entries).
  std::uint64_t max_records{20'000'000};
  /// Entries in one archive or files under one directory, including ignored ones.
  std::uint64_t max_files{2'000'000};
};

struct ImportOptions {
  Limits limits;
};

/// What one import did.
struct ImportStats {
  std::uint64_t records{0};  ///< records delivered to the callback
  std::uint64_t files{0};    ///< documents parsed (files, archive entries)
  std::uint64_t ignored{0};  ///< files or entries not parsed (not *.json), or items skipped
                             ///< as out of scope (an unknown Debian release codename, an OSV
                             ///< range of type SEMVER/GIT)
  std::uint64_t bytes{0};    ///< document bytes parsed, after decompression
};

/// How a feed states one Affected entry. Debian's tracker distinguishes a vulnerability that
/// is open (confirmed, no fix) from one that is undetermined (not yet triaged); both become an
/// Affected with introduced "0" and no fix, and this tells them apart.
enum class AffectedStatus {
  stated,        ///< the feed gives ranges (OSV) and nothing more
  fixed,         ///< Debian "resolved" with a version; CSAF product_status.fixed
  open,          ///< Debian "open"; CSAF product_status.known_affected
  undetermined,  ///< Debian "undetermined"
};

/// Per-record details that the normalized model has no field for.
struct RecordNotes {
  std::string_view origin;  ///< the file, or "<archive>!<entry>", the record came from
  /// One per Advisory::affected entry, same order (empty for enrichment records).
  std::vector<AffectedStatus> affected_status;
};

/// Receives one advisory; the callee owns it. Return false to stop the import (the importer
/// then returns Errc::interrupted).
using AdvisorySink = std::function<bool(advisories::Advisory&&, const RecordNotes&)>;
/// Receives what one enrichment record says about one CVE; fields a feed does not carry are
/// left empty, so a caller merges the records of several feeds per CVE id.
using CveSink = std::function<bool(advisories::CveInfo&&)>;

// ---- OSV ----------------------------------------------------------------------------------

/// Imports OSV JSON: one .json file (plain or gzip), a directory (recursively, every *.json,
/// in path order, symlinks not followed) or an archive laid out as OSV's `all.zip` (zip; tar,
/// tar.gz and tar.xz as well). In archives each entry is parsed on its own and limited to
/// max_entry_bytes while decompressing; an entry with an absolute path or a `..` component
/// makes the archive malformed; entries not ending in .json and non-regular entries are ignored.
///
/// Mapping: id; CVE ids from id, aliases, upstream and related (only "CVE-…", or the CVE a
/// vendor record such as "UBUNTU-CVE-2021-3782" names; de-duplicated, in order); summary, or
/// the first non-empty line of details; published/modified (RFC 3339 to Unix seconds UTC);
/// kind bugfix for *BA- ids (ALBA, RLBA, RHBA), enhancement for *EA- ids, security otherwise
/// (a withdrawn record is not delivered and counts as ignored); affected[].package {ecosystem, name} with PackageKind::source for
/// Debian and Ubuntu ecosystems and binary otherwise; ECOSYSTEM ranges to events (other range
/// types are skipped and counted as ignored). Severity: per package from ecosystem_specific /
/// database_specific "urgency" or "severity"; per advisory from the top-level
/// database_specific "severity", a top-level severity[] entry of type "Ubuntu", the vendor
/// word before ':' in the summary ("Important: openssl security update"), or else the highest
/// per-package severity. Unknown words are Severity::unknown, not errors.
[[nodiscard]] Result<ImportStats> import_osv(const std::filesystem::path& path,
                                             const ImportOptions& options,
                                             const AdvisorySink& on_advisory);
/// One OSV document already in memory (plain or gzip); `name` is used in Error::where.
[[nodiscard]] Result<ImportStats> import_osv_bytes(std::string_view data, std::string_view name,
                                                   const ImportOptions& options,
                                                   const AdvisorySink& on_advisory);
/// An archive already in memory (zip or tar, possibly compressed), as import_osv reads one.
[[nodiscard]] Result<ImportStats> import_osv_archive_bytes(std::string_view data,
                                                           std::string_view name,
                                                           const ImportOptions& options,
                                                           const AdvisorySink& on_advisory);

// ---- Debian security tracker ----------------------------------------------------------------

/// Imports the Debian security tracker JSON (security-tracker.debian.org/tracker/data/json,
/// plain or gzip), streaming: memory is bounded by one (source package, CVE) entry.
///
/// One Advisory per (source package, tracker id): id "DEBIAN-<tracker id>/<source package>"
/// (e.g. "DEBIAN-CVE-2022-0456/chromium"; tracker ids are CVE-… or TEMP-…), cves = [id] when it
/// is a CVE, summary = description, source "debian-tracker", kind security. One Affected per
/// release with a known codename (squeeze 6 … trixie 13, forky 14, duke 15, sid "unstable";
/// ecosystem "Debian:<number>"), package = source package, PackageKind::source:
///   resolved + fixed_version "0"  → no Affected (never affected);
///   resolved + version            → introduced "0", fixed <version>    (AffectedStatus::fixed)
///   open                          → introduced "0", no fix             (AffectedStatus::open)
///   undetermined                  → introduced "0", no fix             (AffectedStatus::undetermined)
/// Affected::severity comes from the release's urgency ("high**" → high: the asterisks mark an
/// urgency not yet checked); Advisory::severity is the highest of them. An advisory whose
/// releases are all unaffected is still delivered, with no Affected entries. Unknown codenames
/// are skipped and counted as ignored; an unknown status is an error.
[[nodiscard]] Result<ImportStats> import_debian_tracker(const std::filesystem::path& path,
                                                        const ImportOptions& options,
                                                        const AdvisorySink& on_advisory);
[[nodiscard]] Result<ImportStats> import_debian_tracker_bytes(std::string_view data,
                                                              std::string_view name,
                                                              const ImportOptions& options,
                                                              const AdvisorySink& on_advisory);

// ---- Red Hat CSAF / VEX ---------------------------------------------------------------------

/// Imports one Red Hat CSAF 2.0 document (plain or gzip): a security advisory (RHSA-…, category
/// csaf_security_advisory) or a per-CVE VEX file (csaf_vex). The document is one record set: it
/// is read whole (bounded by max_document_bytes, max_depth and max_string_bytes) because
/// product_status refers to product_tree entries that may come later. Its advisories are
/// delivered only once the whole document is read and resolved: a bad document delivers none.
///
/// One Advisory per vulnerabilities[] entry with a cve (entries without one are counted as
/// ignored): id "<tracking id>/<CVE>" (e.g. "RHSA-2024:0010/CVE-2023-5367": a CVE is fixed by
/// many RHSAs, so the pair keeps ids unique per document and CVE), or just the CVE when the
/// tracking id is the CVE (VEX files); cves = [CVE]; summary = the vulnerability title, else the
/// document title; published/modified = document.tracking initial_release_date /
/// current_release_date; severity = the highest threats[category=impact].details of the
/// vulnerability, else document.aggregate_severity.text ("Important" → high; unknown words →
/// unknown); kind security (bugfix for RHBA-, enhancement for RHEA-); source "csaf".
///
/// Affected entries come from product_status.fixed (AffectedStatus::fixed: introduced "0",
/// fixed EVR) and product_status.known_affected (AffectedStatus::open: introduced "0", no fix);
/// other statuses are not imported. Each product id must be defined by product_tree (a branch
/// product, a full_product_names entry or a relationship), and every relationship must refer
/// to defined products, else the document is rejected. Only "default_component_of"
/// relationships place a component in a platform:
///   - the platform's CPE gives the ecosystem "Red Hat:<major>": enterprise_linux and the
///     longer-lived update streams of the same release (rhel_eus, enterprise_linux_eus, rhel_aus,
///     rhel_e4s, rhel_tus, rhel_els, …: "cpe:/a:redhat:rhel_eus:8.6::appstream" → "Red Hat:8");
///     other products (OpenShift, Satellite, JBoss, Software Collections) are ignored;
///   - the component's purl ("pkg:rpm/redhat/openssl@3.0.7-18.el9_2?arch=x86_64&epoch=1"), or
///     else its product id ("openssl-1:3.0.7-18.el9_2.x86_64"), gives the binary rpm name and
///     [epoch:]version-release (epoch 0 omitted), PackageKind::binary. Source rpms with a version
///     (arch=src), module rpms (purl qualifier rpmmod, module ids such as "ruby:2.7:…",
///     "…module+el8…") and non-rpm purls are ignored. An unversioned known_affected component
///     (Red Hat names unfixed components by source package: "pkg:rpm/redhat/pam?arch=src")
///     becomes PackageKind::source with no fix; an unversioned fixed one is ignored.
/// One Affected per (ecosystem, package, kind), in order of first appearance: the arches
/// merge; when main and update streams of one release give several fixes, the highest EVR is
/// kept (an EUS host may then be reported until it gets the main-stream build); when any of
/// them is known_affected, the entry is open with no fix. Every ignored product_status entry
/// counts in ImportStats::ignored.
[[nodiscard]] Result<ImportStats> import_csaf(const std::filesystem::path& path,
                                              const ImportOptions& options,
                                              const AdvisorySink& on_advisory);
[[nodiscard]] Result<ImportStats> import_csaf_bytes(std::string_view data, std::string_view name,
                                                    const ImportOptions& options,
                                                    const AdvisorySink& on_advisory);

// ---- enrichment -----------------------------------------------------------------------------

/// CISA KEV catalog JSON: each vulnerabilities[] entry → CveInfo{id = cveID, kev = true,
/// kev_date_added = dateAdded, kev_ransomware = knownRansomwareCampaignUse == "Known"}.
[[nodiscard]] Result<ImportStats> import_kev(const std::filesystem::path& path,
                                             const ImportOptions& options,
                                             const CveSink& on_cve);
[[nodiscard]] Result<ImportStats> import_kev_bytes(std::string_view data, std::string_view name,
                                                   const ImportOptions& options,
                                                   const CveSink& on_cve);

/// EPSS scores CSV, plain or gzip. Accepted header eras: "cve,epss" (2021, no percentile),
/// "cve,epss,percentile", and the current "#model_version:…,score_date:…" comment line followed
/// by "cve,epss,percentile". Each row → CveInfo{id, epss, epss_percentile}; scores must be
/// numbers in [0, 1]. Anything else is rejected with the line and column.
[[nodiscard]] Result<ImportStats> import_epss(const std::filesystem::path& path,
                                              const ImportOptions& options,
                                              const CveSink& on_cve);
[[nodiscard]] Result<ImportStats> import_epss_bytes(std::string_view data, std::string_view name,
                                                    const ImportOptions& options,
                                                    const CveSink& on_cve);

/// NVD CVE API 2.0 JSON (an API page or a nvdcve-2.0-*.json feed, plain or gzip):
/// vulnerabilities[].cve.id with metrics cvssMetricV31/cvssMetricV30 → cvss3 score and vector,
/// cvssMetricV40 → cvss4. Among several metrics the "Primary" (NVD's own) one wins, then the
/// newer version (3.1 over 3.0), then the first listed.
[[nodiscard]] Result<ImportStats> import_nvd(const std::filesystem::path& path,
                                             const ImportOptions& options,
                                             const CveSink& on_cve);
[[nodiscard]] Result<ImportStats> import_nvd_bytes(std::string_view data, std::string_view name,
                                                   const ImportOptions& options,
                                                   const CveSink& on_cve);

// ---- format detection ---------------------------------------------------------------------

enum class Format { osv, osv_archive, osv_directory, debian_tracker, csaf, kev, epss, nvd };

[[nodiscard]] std::string_view format_name(Format format) noexcept;

/// Detects the format of a path by its content: a directory is an OSV tree; zip or tar magic
/// (after any compression) an OSV archive; otherwise the first bytes of the (decompressed)
/// document: an EPSS header, or the first keys of the JSON document (OSV "id"/"affected",
/// KEV "catalogVersion"/"cveID", NVD "format": "NVD_CVE"/"resultsPerPage", CSAF "csaf_version",
/// Debian tracker: an object of objects keyed by CVE-/TEMP- ids). Errc::invalid_input when it
/// is none of them.
[[nodiscard]] Result<Format> detect_format(const std::filesystem::path& path,
                                           const ImportOptions& options = {});

/// Detects the format and imports with the matching importer; advisories go to on_advisory,
/// enrichment records to on_cve (either may be empty when the caller expects only the other
/// kind; a record for an empty sink is an error).
[[nodiscard]] Result<ImportStats> import_path(const std::filesystem::path& path,
                                              const ImportOptions& options,
                                              const AdvisorySink& on_advisory,
                                              const CveSink& on_cve);

}  // namespace pf::feeds
