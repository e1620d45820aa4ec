// SPDX-License-Identifier: Apache-2.0
// patchflow scan: this machine (or a root) against advisory feeds, ranked by risk.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command.hpp"
#include "feed_store.hpp"
#include "patchflow/core/ranked.hpp"
#include "patchflow/core/risk.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg/os_release.hpp"
#include "patchflow/pkg/rpm_db.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"

namespace pf::cli {
namespace {

namespace fs = std::filesystem;
namespace adv = pf::advisories;

struct ScanOptions {
  std::string root = "/";
  std::vector<std::string> feeds;
  std::string db;
  std::string format = "table";
  std::string min_severity;
  bool kev_only = false;
  int exit_code = 0;
  std::string criticality = "medium";
  std::string host;
};

using Row = ranked::Finding;

int fail(const Error& e) {
  std::cerr << "patchflow: error: " << to_string(e) << "\n";
  return e.code == Errc::invalid_input || e.code == Errc::not_found ? kExitUsage : kExitInternal;
}

// The root's installed packages, from the package database its distribution uses.
Result<std::vector<inventory::Package>> read_packages(const fs::path& root,
                                                      const std::string& ecosystem,
                                                      std::string& kind) {
  auto scheme = adv::scheme_for_ecosystem(ecosystem);
  if (!scheme) return Unexpected(std::move(scheme.error()));
  if (*scheme == versions::Scheme::deb) {
    kind = "dpkg";
    return pkg::read_dpkg_status(pkg::dpkg_status_path(root));
  }
  kind = "rpm";
  return pkg::read_rpm_database(root);
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string join(std::span<const std::string> items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

std::string fmt_score(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

void print_table(const std::vector<Row>& rows) {
  std::vector<std::array<std::string, 7>> cells;
  cells.push_back({"RISK", "SEVERITY", "ADVISORY", "PACKAGE", "INSTALLED", "FIXED", "CVES"});
  for (const auto& r : rows) {
    const auto& f = r;
    std::string cves;
    for (std::size_t i = 0; i < f.cves.size() && i < 2; ++i) cves += (i ? " " : "") + f.cves[i];
    if (f.cves.size() > 2) cves += " +" + std::to_string(f.cves.size() - 2);
    if (r.kev) cves += " [KEV]";
    cells.push_back({fmt_score(r.score.value), std::string(adv::severity_name(f.severity)),
                     std::string(f.advisory_id), std::string(f.package),
                     f.installed_version, f.fixed_text, cves});
  }
  std::array<std::size_t, 7> width{};
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::puts(line.c_str());
  }
}

void print_csv(const std::vector<Row>& rows) {
  std::puts("risk,severity,advisory,cves,package,source_package,arch,installed,fixed,kev,epss,cvss");
  for (const auto& r : rows) {
    const auto& f = r;
    std::string line = fmt_score(r.score.value) + "," +
                       std::string(adv::severity_name(f.severity)) + "," +
                       csv_field(f.advisory_id) + "," + csv_field(join(f.cves, " ")) + "," +
                       csv_field(f.package) + "," + csv_field(f.source_package) + "," +
                       csv_field(f.arch) + "," + csv_field(f.installed_version) + "," +
                       csv_field(f.fixed_version ? *f.fixed_version : std::string()) + "," +
                       (r.kev ? "true" : "false") + "," +
                       (r.epss ? std::to_string(*r.epss) : std::string()) + "," +
                       (r.cvss ? fmt_score(*r.cvss) : std::string());
    std::puts(line.c_str());
  }
}

void print_json(const std::vector<Row>& rows, const std::string& host, const std::string& eco) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    const auto& f = r;
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : r.score.parts) {
      parts.push_back({{"name", p.name}, {"value", p.value}, {"weight", p.weight},
                       {"contribution", p.contribution}});
    }
    out.push_back({
        {"host", host},
        {"ecosystem", eco},
        {"advisory", f.advisory_id},
        {"cves", f.cves},
        {"package", f.package},
        {"source_package", f.source_package},
        {"arch", f.arch},
        {"installed", f.installed_version},
        {"fixed", f.fixed_version ? nlohmann::json(*f.fixed_version) : nlohmann::json(nullptr)},
        {"last_affected",
         f.last_affected ? nlohmann::json(*f.last_affected) : nlohmann::json(nullptr)},
        {"severity", adv::severity_name(f.severity)},
        {"kev", r.kev},
        {"epss", r.epss ? nlohmann::json(*r.epss) : nlohmann::json(nullptr)},
        {"cvss", r.cvss ? nlohmann::json(*r.cvss) : nlohmann::json(nullptr)},
        {"risk", r.score.value},
        {"risk_parts", parts},
    });
  }
  std::cout << out.dump(2) << "\n";
}

int run_scan(const ScanOptions& opt) {
  auto criticality = risk::criticality_from_name(opt.criticality);
  if (!criticality) return fail(criticality.error());
  std::optional<adv::Severity> min_severity;
  if (!opt.min_severity.empty()) {
    auto s = adv::severity_from_name(opt.min_severity);
    if (!s) return fail(s.error());
    min_severity = *s;
  }

  // What is installed.
  auto os = pkg::read_os_release(opt.root);
  if (!os) return fail(os.error());
  std::string db_kind;
  auto packages = read_packages(opt.root, os->ecosystem, db_kind);
  if (!packages) return fail(packages.error());
  inventory::Inventory inv;
  if (!opt.host.empty()) {
    inv.host = opt.host;
  } else if (opt.root == "/") {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    inv.host = name;
  } else {
    inv.host = fs::absolute(opt.root).string();
  }
  inv.ecosystem = os->ecosystem;
  inv.packages = std::move(*packages);

  // What is known: the given feeds (in a private in-memory store) or the local database.
  std::unique_ptr<store::AdvisoryStore> store;
  if (!opt.feeds.empty()) {
    auto mem = store::SqliteStore::open(":memory:");
    if (!mem) return fail(mem.error());
    store = std::move(*mem);
    for (const auto& f : opt.feeds) {
      auto r = import_feed(*store, f, "file:" + f);
      if (!r) return fail(r.error());
    }
  } else {
    const fs::path db = opt.db.empty() ? default_db_path() : fs::path(opt.db);
    if (!fs::exists(db)) {
      return fail({Errc::not_found,
                   "no advisories: give --feed FILE, or import feeds first "
                   "(patchflow feeds import / sync)",
                   db.string()});
    }
    auto opened = open_store(db);
    if (!opened) return fail(opened.error());
    store = std::move(*opened);
  }
  auto advisories = store->advisories(inv.ecosystem);
  if (!advisories) return fail(advisories.error());

  auto rows = ranked::match(inv, *advisories);
  // Enrichment for the CVEs that matter here.
  auto cve_rows = store->cves(ranked::cve_ids(rows));
  if (!cve_rows) return fail(cve_rows.error());
  ranked::rank(rows, *cve_rows, *criticality);
  std::erase_if(rows, [&](const Row& r) {
    return (min_severity && r.severity < *min_severity) || (opt.kev_only && !r.kev);
  });

  if (opt.format == "json") {
    print_json(rows, inv.host, inv.ecosystem);
  } else if (opt.format == "csv") {
    print_csv(rows);
  } else {
    print_table(rows);
  }
  std::size_t kev = 0;
  for (const auto& r : rows) kev += r.kev ? 1 : 0;
  std::fflush(stdout);  // the findings first, then the summary
  std::fprintf(stderr,
               "%zu findings on %s (%s, %zu %s packages) from %zu advisories; %zu in CISA KEV\n",
               rows.size(), inv.host.c_str(), inv.ecosystem.c_str(), inv.packages.size(),
               db_kind.c_str(), advisories->size(), kev);
  return rows.empty() ? kExitOk : opt.exit_code;
}

}  // namespace

void add_scan_command(CLI::App& root, int& exit_code) {
  auto opt = std::make_shared<ScanOptions>();
  auto* scan = root.add_subcommand(
      "scan", "Match a machine's installed packages against advisories, ranked by risk");
  scan->add_option("--root", opt->root, "Root of the system to scan")->capture_default_str();
  scan->add_option("--feed", opt->feeds,
                   "Feed files to match against (OSV, Debian tracker, CSAF; KEV, EPSS, NVD for "
                   "the risk); without it, the local database");
  scan->add_option("--db", opt->db, "Local database (see 'patchflow feeds import')");
  scan->add_option("--format", opt->format, "Output")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
  scan->add_option("--min-severity", opt->min_severity,
                   "Only findings at least this severe (negligible, low, medium, high, critical)");
  scan->add_flag("--kev-only", opt->kev_only, "Only findings whose CVEs are in CISA KEV");
  scan->add_option("--exit-code", opt->exit_code,
                   "Exit with this code when anything is found (default 0)")
      ->check(CLI::Range(0, 125));
  scan->add_option("--criticality", opt->criticality,
                   "How much this host matters to the risk score (low, medium, high, critical)")
      ->capture_default_str();
  scan->add_option("--host", opt->host, "Name to report for the host (default: its hostname)");
  scan->footer(R"(Reads the root's os-release and its package database (dpkg for Debian and Ubuntu,
rpm for the others), matches with exact dpkg/rpm version order, and prints findings ranked by
risk (vendor severity, CVSS, EPSS, CISA KEV, host criticality); --format json shows how each
score was made.

Examples:
  patchflow scan --feed debian-tracker.json --feed known_exploited_vulnerabilities.json
  patchflow scan --root /srv/images/alma9 --feed AlmaLinux-all.zip --format json
  patchflow scan --min-severity high --kev-only --exit-code 1    # for CI gates

Exit status: 0, or --exit-code N when findings remain after the filters; 2 for bad input.)");
  scan->callback([opt, &exit_code] { exit_code = run_scan(*opt); });
}

}  // namespace pf::cli
