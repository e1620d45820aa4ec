// SPDX-License-Identifier: Apache-2.0
// What `patchflow lab up` builds: the lab packages (1.0 installed, 1.1 available), their
// advisories on both sides (updateinfo in the rpm repository, the same records in the server),
// the host plan with its labels, and each host's package root.
#include <cmath>
#include <ctime>
#include <string>
#include <vector>

#include "lab_fleet_internal.hpp"
#include "patchflow/lab/deb.hpp"
#include "patchflow/lab/rpm.hpp"
#include "patchflow/lab/tools.hpp"

namespace pf::cli::labfleet {
namespace {

namespace fs = std::filesystem;
namespace adv = pf::advisories;

constexpr std::int64_t kDay = 86400;

const char* const kDebOsRelease =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nID=debian\n"
    "VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
const char* const kRpmOsRelease =
    "NAME=\"AlmaLinux\"\nVERSION=\"9.4 (Seafoam Ocelot)\"\nID=\"almalinux\"\n"
    "ID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"AlmaLinux 9.4 (Seafoam "
    "Ocelot)\"\n";

// "2026-11-26 18:00:00" (UTC), as updateinfo.xml writes issued dates.
std::string date_time(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string date_only(std::int64_t t) {
  return date_time(t).substr(0, 10);
}

// pf-app needs the library, as applications do: an upgrade of one pulls nothing, but a chain
// that holds the library back sees the dependency.
std::vector<std::string> deb_depends(const std::string& name) {
  if (name == "pf-app") return {"pf-libssl-lab (>= 1.0)"};
  return {};
}
std::vector<std::string> rpm_requires(const std::string& name) {
  if (name == "pf-app") return {"pf-libssl-lab >= 1.0"};
  return {};
}

std::vector<lab::PackageFile> files_of(const std::string& name, const std::string& version) {
  return {{"/usr/share/pf-lab/" + name + "/VERSION", version + "\n", 0644}};
}

lab::DebSpec deb_spec(const std::string& name, const std::string& version) {
  lab::DebSpec d;
  d.name = name;
  d.version = version + "-1";
  d.source_name = name;
  d.description = "patchflow lab package " + name;
  d.depends = deb_depends(name);
  d.files = files_of(name, version);
  return d;
}

lab::RpmSpec rpm_spec(const std::string& name, const std::string& version) {
  lab::RpmSpec r;
  r.name = name;
  r.version = version;
  r.release = "1";
  r.summary = "patchflow lab package " + name;
  r.requires_ = rpm_requires(name);
  r.files = files_of(name, version);
  return r;
}

std::string updateinfo_type(adv::Kind kind) {
  switch (kind) {
    case adv::Kind::security:
      return "security";
    case adv::Kind::bugfix:
      return "bugfix";
    case adv::Kind::enhancement:
      return "enhancement";
  }
  return "security";
}

// Red Hat's words, as updateinfo carries them.
std::string updateinfo_severity(adv::Severity s) {
  switch (s) {
    case adv::Severity::critical:
      return "Critical";
    case adv::Severity::high:
      return "Important";
    case adv::Severity::medium:
      return "Moderate";
    case adv::Severity::low:
      return "Low";
    default:
      return "";
  }
}

std::string title_of(const LabPackage& p) {
  switch (p.kind) {
    case adv::Kind::security:
      return p.name + " security update";
    case adv::Kind::bugfix:
      return p.name + " bug fix update";
    case adv::Kind::enhancement:
      return p.name + " enhancement update";
  }
  return p.name + " update";
}

}  // namespace

std::vector<HostPlan> plan_hosts(int hosts, double rpm_share) {
  static const char* const kTiers[] = {"db", "app", "web"};
  static const char* const kGroups[] = {"pilot", "executives", "general"};
  std::vector<HostPlan> out;
  const int width = hosts > 99 ? 3 : 2;
  for (int i = 0; i < hosts; ++i) {
    HostPlan h;
    std::string num = std::to_string(i + 1);
    h.name = "lab-" +
             std::string(static_cast<std::size_t>(width) - std::min<std::size_t>(num.size(), width),
                         '0') +
             num;
    // Host i is rpm when the rounded running count of rpm hosts steps up at i: round(N*share)
    // rpm hosts, spread evenly.
    const auto before = std::floor(i * rpm_share + 0.5);
    const auto after = std::floor((i + 1) * rpm_share + 0.5);
    h.family = after > before ? Family::rpm : Family::deb;
    h.labels["tier"] = kTiers[i % 3];
    // Rotated by one every three hosts, so that each tier gets each group.
    h.labels["group"] = kGroups[(i + i / 3) % 3];
    h.labels["family"] = h.family == Family::deb ? "deb" : "rpm";
    h.labels["env"] = "lab";
    out.push_back(std::move(h));
  }
  return out;
}

const std::vector<LabPackage>& lab_packages() {
  static const std::vector<LabPackage> kPackages = {
      {"pf-libssl-lab", adv::Kind::security, adv::Severity::critical, "CVE-2026-90001", 9.8, true,
       "DLA-LAB-1", "PFLAB-2026:0001", 5},
      {"pf-web", adv::Kind::security, adv::Severity::medium, "CVE-2026-90002", 5.3, false,
       "DLA-LAB-2", "PFLAB-2026:0002", 4},
      {"pf-app", adv::Kind::bugfix, adv::Severity::low, "", 0, false, "DLA-LAB-3",
       "PFLAB-2026:0003", 3},
      {"pf-db", adv::Kind::enhancement, adv::Severity::low, "", 0, false, "DLA-LAB-4",
       "PFLAB-2026:0004", 2},
  };
  return kPackages;
}

Result<BuiltRepos> build_repos(const fs::path& dir, std::int64_t now, const Progress& progress) {
  BuiltRepos out;
  const fs::path debs_dir = dir / "build" / "debs";
  const fs::path rpms_dir = dir / "build" / "rpms";
  out.apt_dir = dir / "repos" / "apt";
  out.rpm_dir = dir / "repos" / "rpm";
  std::vector<fs::path> all_debs;
  std::vector<fs::path> all_rpms;
  std::vector<lab::Advisory> updateinfo;
  for (const auto& p : lab_packages()) {
    progress("building " + p.name + " " + kOldVersion + " and " + kNewVersion + " (.deb, .rpm)");
    for (const char* version : {kOldVersion, kNewVersion}) {
      auto deb = lab::build_deb(deb_spec(p.name, version), debs_dir);
      if (!deb) return Unexpected(deb.error());
      auto rpm = lab::build_rpm(rpm_spec(p.name, version), rpms_dir);
      if (!rpm) return Unexpected(rpm.error());
      all_debs.push_back(*deb);
      all_rpms.push_back(*rpm);
      if (std::string(version) == kOldVersion) {
        out.old_debs.push_back(*deb);
        out.old_rpms.push_back(*rpm);
      }
    }
    lab::Advisory a;
    a.id = p.rpm_id;
    a.type = updateinfo_type(p.kind);
    a.title = title_of(p);
    a.severity = updateinfo_severity(p.severity);
    a.issued = date_time(now - p.days_ago * kDay);
    a.description = title_of(p) + " (patchflow lab)";
    if (!p.cve.empty()) a.cves.push_back(p.cve);
    lab::AdvisoryPackage ap;
    ap.name = p.name;
    ap.version = kNewVersion;
    ap.release = "1";
    ap.filename = p.name + "-" + kNewVersion + "-1.noarch.rpm";
    a.packages.push_back(ap);
    updateinfo.push_back(std::move(a));
  }
  progress("indexing the apt repository (" + std::to_string(all_debs.size()) + " debs)");
  auto apt = lab::build_apt_repo(all_debs, out.apt_dir);
  if (!apt) return Unexpected(apt.error());
  out.apt_source_line = apt->source_line;
  progress("indexing the rpm repository (" + std::to_string(all_rpms.size()) + " rpms, " +
           std::to_string(updateinfo.size()) + " updateinfo advisories)");
  auto rpm = lab::build_rpm_repo(all_rpms, out.rpm_dir, updateinfo);
  if (!rpm) return Unexpected(rpm.error());
  out.rpm_repo_file = rpm->repo_file;
  return out;
}

Result<void> build_root(const HostPlan& host, const fs::path& root, const BuiltRepos& repos) {
  if (host.family == Family::deb) {
    if (auto ok = lab::make_dpkg_root(root); !ok) return ok;
    if (auto ok = lab::set_apt_sources(root, {repos.apt_source_line}); !ok) return ok;
    if (auto ok = lab::write_file(root / "etc/os-release", kDebOsRelease); !ok) return ok;
  } else {
    if (auto ok = lab::make_rpm_root(root); !ok) return ok;
    if (auto ok = lab::write_file(root / "etc/yum.repos.d/pf-lab.repo", repos.rpm_repo_file); !ok) {
      return ok;
    }
    if (auto ok = lab::write_file(root / "etc/os-release", kRpmOsRelease); !ok) return ok;
  }
  if (auto ok = lab::write_file(root / "etc/hostname", host.name + "\n"); !ok) return ok;
  return host.family == Family::deb ? lab::install_debs(root, repos.old_debs)
                                    : lab::install_rpms(root, repos.old_rpms);
}

std::vector<adv::Advisory> server_advisories(std::int64_t now) {
  std::vector<adv::Advisory> out;
  for (const auto& p : lab_packages()) {
    for (const bool deb : {true, false}) {
      adv::Advisory a;
      a.id = deb ? p.deb_id : p.rpm_id;
      a.kind = p.kind;
      a.severity = p.severity;
      if (!p.cve.empty()) a.cves.push_back(p.cve);
      a.summary = title_of(p) + " (patchflow lab)";
      a.published = now - p.days_ago * kDay;
      a.modified = a.published;
      a.source = "lab";
      adv::Affected e;
      e.ecosystem = deb ? kDebEcosystem : kRpmEcosystem;
      e.package = p.name;
      // Debian's advisories name source packages, the rpm ones binary packages.
      e.package_kind = deb ? adv::PackageKind::source : adv::PackageKind::binary;
      e.events = {{adv::EventType::introduced, "0"},
                  {adv::EventType::fixed, std::string(kNewVersion) + "-1"}};
      e.severity = deb ? p.severity : adv::Severity::unknown;
      a.affected.push_back(std::move(e));
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::vector<adv::CveInfo> server_cves(std::int64_t now) {
  std::vector<adv::CveInfo> out;
  for (const auto& p : lab_packages()) {
    if (p.cve.empty()) continue;
    adv::CveInfo c;
    c.id = p.cve;
    if (p.cvss > 0) c.cvss3_score = p.cvss;
    c.kev = p.kev;
    if (p.kev) c.kev_date_added = date_only(now - (p.days_ago - 1) * kDay);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace pf::cli::labfleet
