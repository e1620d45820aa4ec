// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/core/advisory.hpp"
#include "patchflow/core/inventory.hpp"

/// Inventories × advisories → findings.
///
/// Fleets are mostly alike, so the matcher works on a FleetIndex: every distinct installed
/// package (ecosystem, name, arch, version, source name, source version) is interned once and
/// gets a PackageId; each host is a sorted list of PackageIds; each package knows the hosts
/// that have it. An affected entry is evaluated once per distinct (ecosystem, package key,
/// version) it names, and the outcome fans out to every package and host that shares it.
namespace pf::matcher {

using HostId = std::uint32_t;     ///< order in which hosts were added, from 0
using PackageId = std::uint32_t;  ///< a distinct installed package of one ecosystem

/// One distinct installed package, as the index holds it. Views stay valid as long as the
/// index lives (they point into its interned strings).
struct PackageView {
  std::string_view ecosystem;
  std::string_view name;
  std::string_view arch;
  std::string_view version;
  std::string_view source_name;
  std::string_view source_version;
};

/// The fleet's installed packages, interned. Hosts are only added; the index is not thread-safe
/// while hosts are added, and may be read from several threads afterwards.
class FleetIndex {
 public:
  FleetIndex();
  ~FleetIndex();
  FleetIndex(FleetIndex&&) noexcept;
  FleetIndex& operator=(FleetIndex&&) noexcept;
  FleetIndex(const FleetIndex&) = delete;
  FleetIndex& operator=(const FleetIndex&) = delete;

  /// Adds one host and all its packages; returns its id. Duplicate package rows count once.
  /// A package whose version does not parse in the ecosystem's scheme is kept (it is
  /// installed) but never matches; evaluation counts it in skipped_invalid_installed.
  HostId add_host(const inventory::Inventory& inventory);

  /// Interns one package of `ecosystem` without adding a host, for callers that already hold
  /// the fleet's distinct package rows (the store keeps inventories as rows + a content
  /// hash): intern each row once, then add hosts as lists of ids.
  [[nodiscard]] PackageId intern_package(std::string_view ecosystem,
                                         const inventory::Package& package);

  /// Adds a host made of packages interned before. Every id must come from this index and
  /// belong to `ecosystem` (checked with PF_ASSERT). Duplicates count once.
  HostId add_host(std::string_view host, std::string_view ecosystem,
                  std::span<const PackageId> packages);

  [[nodiscard]] std::size_t host_count() const noexcept;
  [[nodiscard]] std::size_t package_count() const noexcept;
  /// Distinct (ecosystem, binary or source name, version) tuples: what evaluation works on.
  [[nodiscard]] std::size_t tuple_count() const noexcept;

  [[nodiscard]] std::string_view host_name(HostId host) const;
  [[nodiscard]] std::string_view host_ecosystem(HostId host) const;
  [[nodiscard]] PackageView package(PackageId package) const;
  /// Number of hosts that have `package`.
  [[nodiscard]] std::uint32_t host_count_of(PackageId package) const;
  /// The host's packages, ascending ids.
  [[nodiscard]] std::vector<PackageId> packages_of(HostId host) const;
  /// The hosts that have `package`, ascending.
  [[nodiscard]] std::vector<HostId> hosts_with(PackageId package) const;
  /// Approximate heap bytes the index holds.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

  struct Impl;
  /// For the matcher's own functions.
  [[nodiscard]] const Impl& impl() const noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// One affected package version, before fan-out to hosts: advisory `advisory` (an index into
/// the advisories evaluated), entry `affected` of it, matched installed package `package`.
struct Hit {
  std::uint32_t advisory{0};
  std::uint32_t affected{0};
  PackageId package{0};
  /// Index into advisories[advisory].affected[affected].events of the `fixed` or
  /// `last_affected` event that closes the range the version falls in; -1 when that range is
  /// still open: no fix yet.
  std::int32_t closing_event{-1};
};

struct Statistics {
  std::uint64_t advisories{0};
  std::uint64_t affected_entries{0};  ///< entries read
  /// Entries naming an (ecosystem, package) that no host has, other ecosystems included.
  std::uint64_t entries_not_installed{0};
  std::uint64_t entries_unknown_ecosystem{0};  ///< no version scheme known for the ecosystem
  /// Range checks made: one per (entry, distinct installed version of the package it names).
  /// This, not hosts × packages, is the matcher's work.
  std::uint64_t evaluations{0};
  /// Entries skipped because an event version does not parse (checked only for entries that
  /// name an installed package).
  std::uint64_t skipped_invalid_feed_versions{0};
  /// (entry, installed version) checks skipped because the installed version does not parse.
  std::uint64_t skipped_invalid_installed_versions{0};
  std::uint64_t hits{0};      ///< affected (advisory, distinct installed package) pairs
  std::uint64_t findings{0};  ///< hits fanned out to hosts: (host, advisory, package)

  [[nodiscard]] std::uint64_t skipped_invalid_versions() const noexcept {
    return skipped_invalid_feed_versions + skipped_invalid_installed_versions;
  }
};

struct MatchResult {
  /// Sorted by advisory id (then the advisory's index), then package name, arch, version,
  /// source; an (advisory, package) pair appears once (the first matching entry wins).
  std::vector<Hit> hits;
  Statistics stats;
};

/// Evaluates every advisory against the fleet. An entry applies to hosts of its exact ecosystem;
/// a source entry names Package::source_name and checks source_version, a binary entry name and
/// version. Events are read in order: introduced opens a range (inclusive; "0" = from the very
/// beginning; ignored while a range is open), fixed closes it exclusive, last_affected inclusive
/// (a close with no open range is ignored); a range left open has no fix yet. Never throws for
/// bad data: unknown ecosystems and unparsable versions are skipped and counted. The
/// advisories must outlive uses of the hits.
[[nodiscard]] MatchResult evaluate(const FleetIndex& fleet,
                                   std::span<const advisories::Advisory> advisories);

/// The incremental path: one new advisory against a built index. Only the (ecosystem, package)
/// keys the advisory names are touched; equals evaluate() restricted to that advisory (with
/// Hit::advisory == 0).
[[nodiscard]] MatchResult evaluate_advisory(const FleetIndex& fleet,
                                            const advisories::Advisory& advisory);

/// A finding in readable form. Views point into the index and the advisories.
struct Finding {
  HostId host_index{0};
  std::string_view host;
  std::string_view advisory_id;
  std::span<const std::string> cves;
  std::string_view package;  ///< binary package name
  std::string_view arch;
  std::string_view source_package;
  std::string_view installed_version;
  /// Exactly one of fixed_version and last_affected is set, or neither: no fix yet.
  std::optional<std::string_view> fixed_version;
  std::optional<std::string_view> last_affected;  ///< fixed in some later, unnamed version
  /// The entry's severity, or the advisory's where the entry has none.
  advisories::Severity severity{advisories::Severity::unknown};
  advisories::Severity advisory_severity{advisories::Severity::unknown};
};

[[nodiscard]] Finding describe(const FleetIndex& fleet,
                               std::span<const advisories::Advisory> advisories, const Hit& hit,
                               HostId host);

/// Every finding, sorted by host id, then in hit order. Materialises hits × hosts: meant for
/// small fleets, tests and single-advisory results; large fleets read per host or per hit.
[[nodiscard]] std::vector<Finding> findings(const FleetIndex& fleet,
                                            std::span<const advisories::Advisory> advisories,
                                            const MatchResult& result);

/// One host's findings, in hit order.
[[nodiscard]] std::vector<Finding> findings_for_host(
    const FleetIndex& fleet, std::span<const advisories::Advisory> advisories,
    const MatchResult& result, HostId host);

/// Per host: how many findings it has and its highest per-hit value.
struct HostRollup {
  std::uint32_t findings{0};
  double top{0};                  ///< highest hit_values entry among its findings; 0 if none
  std::uint32_t top_hit{0xffffffffU};  ///< index into MatchResult::hits of that entry
};

/// Fans every hit out to its hosts without materialising findings: one entry per host
/// (index = HostId). `hit_values` (empty, or one per hit, e.g. a risk score computed per hit)
/// gives `top`; with a per-host factor that only scales (host criticality) the host's top is
/// the factor applied to this one.
[[nodiscard]] std::vector<HostRollup> roll_up(const FleetIndex& fleet, const MatchResult& result,
                                              std::span<const double> hit_values = {});

/// The fixed version, "no fix yet", or "after <last affected version>", for people.
[[nodiscard]] std::string fixed_version_text(const Finding& finding);

}  // namespace pf::matcher
