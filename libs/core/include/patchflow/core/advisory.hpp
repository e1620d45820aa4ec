// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/versions.hpp"

/// The normalized advisory model every feed importer produces and the matcher consumes.
namespace pf::advisories {

enum class Kind { security, bugfix, enhancement };

/// Vendor severity on one scale. Feeds' words map onto it: Red Hat "Important" -> high,
/// "Moderate" -> medium; Debian urgency "unimportant" -> negligible, "not yet assigned" ->
/// unknown; Ubuntu "negligible" -> negligible.
enum class Severity { unknown, negligible, low, medium, high, critical };

[[nodiscard]] std::string_view severity_name(Severity severity) noexcept;
/// Case-insensitive; accepts the vendor words listed on Severity.
[[nodiscard]] Result<Severity> severity_from_name(std::string_view name);

/// Whether Affected::package names a source package (Debian's tracker, OSV Debian records) or
/// a binary package (RPM advisories, OSV AlmaLinux/Rocky records).
enum class PackageKind { source, binary };

enum class EventType { introduced, fixed, last_affected };

/// One OSV-style range event, in the ecosystem's version order. introduced "0" means "from the
/// very first version".
struct Event {
  EventType type{EventType::introduced};
  std::string version;
};

/// One package in one ecosystem release that an advisory affects.
struct Affected {
  std::string ecosystem;  ///< "Debian:12", "Ubuntu:22.04:LTS", "AlmaLinux:9", "Rocky Linux:9"
  std::string package;
  PackageKind package_kind{PackageKind::binary};
  /// Range events; several introduced/fixed pairs may follow one another. No `fixed` event
  /// means "no fix yet".
  std::vector<Event> events;
  /// Per-package severity where the feed gives one (Debian urgency); unknown otherwise.
  Severity severity{Severity::unknown};

  /// The first fixed version listed, if any.
  [[nodiscard]] std::optional<std::string_view> fixed_version() const noexcept;
};

struct Advisory {
  std::string id;  ///< "DSA-5678-1", "ALSA-2024:1234", "DEBIAN-CVE-2024-1234", "CVE-2024-1234"
  Kind kind{Kind::security};
  Severity severity{Severity::unknown};
  std::vector<std::string> cves;
  std::string summary;
  std::int64_t published{0};  ///< Unix seconds, UTC; 0 when the feed does not say
  std::int64_t modified{0};
  std::string source;  ///< which importer produced it: "osv", "debian-tracker", "csaf"
  std::vector<Affected> affected;
};

/// What the enrichment feeds (NVD, EPSS, CISA KEV) say about one CVE.
struct CveInfo {
  std::string id;  ///< "CVE-2024-1234"
  std::optional<double> cvss3_score;
  std::string cvss3_vector;
  std::optional<double> cvss4_score;
  std::string cvss4_vector;
  std::optional<double> epss;             ///< probability of exploitation in 30 days, 0..1
  std::optional<double> epss_percentile;  ///< 0..1
  bool kev{false};                        ///< listed in CISA's Known Exploited Vulnerabilities
  std::string kev_date_added;             ///< "YYYY-MM-DD"
  bool kev_ransomware{false};             ///< knownRansomwareCampaignUse == "Known"
};

/// The version scheme of an ecosystem, never guessed from a version string: Debian and Ubuntu
/// order versions as dpkg does; AlmaLinux, Rocky Linux, Red Hat, CentOS, Fedora, Oracle Linux,
/// Amazon Linux, SUSE, openSUSE, Mageia and openEuler as rpm does. The release suffix
/// (":12", ":22.04:LTS") does not matter. Unknown ecosystems are an error.
[[nodiscard]] Result<versions::Scheme> scheme_for_ecosystem(std::string_view ecosystem);

}  // namespace pf::advisories
