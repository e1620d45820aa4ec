// SPDX-License-Identifier: Apache-2.0
// OSV import from the real AlmaLinux, Rocky, Debian and Ubuntu records in ../shared/data.
#include <gtest/gtest.h>

#include <map>

#include "support.hpp"

namespace adv = pf::advisories;
using namespace pf::feeds;
using namespace pf::feeds::testing;

namespace {

const std::filesystem::path kAlmaSamples = "almalinux-osv-database/sample";

TEST(OsvImport, AlmaLinuxRecordMapsEveryField) {
  Collected got;
  const auto stats =
      import_osv(data() / kAlmaSamples / "almalinux9_ALSA-2026:7896.json", {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->records, 1u);
  EXPECT_EQ(stats->files, 1u);
  ASSERT_EQ(got.advisories.size(), 1u);
  const adv::Advisory& a = got.advisories[0];
  EXPECT_EQ(a.id, "ALSA-2026:7896");
  EXPECT_EQ(a.kind, adv::Kind::security);
  EXPECT_EQ(a.source, "osv");
  EXPECT_EQ(a.summary, "Important: nodejs:20 security update");
  EXPECT_EQ(a.severity, adv::Severity::high);  // "Important:" before the title
  EXPECT_EQ(a.cves, (std::vector<std::string>{"CVE-2026-26996", "CVE-2026-27904",
                                               "CVE-2026-27135", "CVE-2026-21710"}));
  EXPECT_EQ(a.published, 1776038400);  // 2026-04-13T00:00:00Z
  EXPECT_EQ(a.modified, 1776239885);   // 2026-04-15T07:58:05Z
  ASSERT_EQ(a.affected.size(), 11u);
  const adv::Affected& nodejs = a.affected[0];
  EXPECT_EQ(nodejs.ecosystem, "AlmaLinux:9");
  EXPECT_EQ(nodejs.package, "nodejs");
  EXPECT_EQ(nodejs.package_kind, adv::PackageKind::binary);
  ASSERT_EQ(nodejs.events.size(), 2u);
  EXPECT_EQ(nodejs.events[0].type, adv::EventType::introduced);
  EXPECT_EQ(nodejs.events[0].version, "0");
  EXPECT_EQ(nodejs.fixed_version(), "1:20.20.2-1.module_el9.7.0+226+88d36870");
  // The same binary package appears twice, for two module streams.
  EXPECT_EQ(a.affected[1].package, "nodejs-devel");
  EXPECT_EQ(a.affected[1].fixed_version(), "1:20.20.2-1.module_el9.7.0+224+0af7cc6b");
  EXPECT_EQ(a.affected[10].package, "npm");
  EXPECT_EQ(got.status[0], std::vector<AffectedStatus>(11, AffectedStatus::stated));
}

TEST(OsvImport, DirectoryOfSamplesInPathOrder) {
  Collected got;
  const auto stats = import_osv(data() / kAlmaSamples, {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->records, 15u);
  ASSERT_EQ(got.advisories.size(), 15u);
  EXPECT_EQ(got.advisories[0].id, "ALSA-2026:19067");  // almalinux10_ALSA-2026:19067.json
  // Hand-checked rows: (file's advisory) → first package, ecosystem, fix, severity.
  const auto& openssl8 = got.advisory("ALSA-2026:38503");
  EXPECT_EQ(openssl8.severity, adv::Severity::medium);  // "Moderate:"
  ASSERT_NE(find_affected(openssl8, "AlmaLinux:8", "openssl"), nullptr);
  EXPECT_EQ(find_affected(openssl8, "AlmaLinux:8", "openssl")->fixed_version(),
            "1:1.1.1k-17.el8_6");
  const auto& sudo10 = got.advisory("ALSA-2026:19067");
  EXPECT_EQ(sudo10.cves, std::vector<std::string>{"CVE-2026-35535"});
  EXPECT_EQ(find_affected(sudo10, "AlmaLinux:10", "sudo")->fixed_version(), "1.9.17-4.p2.el10_2");
  const auto& glibc8 = got.advisory("ALSA-2026:42733");
  EXPECT_EQ(glibc8.affected.size(), 214u);
  EXPECT_EQ(find_affected(glibc8, "AlmaLinux:8", "compat-libpthread-nonshared")->fixed_version(),
            "2.28-251.el8_10.40");
}

TEST(OsvImport, NestedDirectoryAndRockyRecords) {
  Collected got;
  const auto alma = import_osv(
      data() / "vunnel/tests/unit/providers/alma/test-fixtures/osv-database", {},
      got.advisory_sink());
  ASSERT_TRUE(alma) << pf::to_string(alma.error());
  EXPECT_EQ(alma->records, 5u);
  EXPECT_EQ(got.advisory("ALBA-2021:4378").kind, adv::Kind::bugfix);

  const auto rocky = import_osv(data() / "vunnel/tests/unit/providers/rocky/test-fixtures/osv", {},
                                got.advisory_sink());
  ASSERT_TRUE(rocky) << pf::to_string(rocky.error());
  const auto& firefox = got.advisory("RLSA-2023:3220");
  EXPECT_EQ(firefox.severity, adv::Severity::high);
  EXPECT_EQ(firefox.cves.size(), 7u);
  EXPECT_EQ(firefox.published, 1684439538);  // 2023-05-18T19:52:18.288616Z
  EXPECT_EQ(firefox.modified, 1684439637);
  const auto* ff = find_affected(firefox, "Rocky Linux:8", "firefox");
  ASSERT_NE(ff, nullptr);
  EXPECT_EQ(ff->fixed_version(), "0:102.11.0-2.el8_7");
  EXPECT_EQ(ff->package_kind, adv::PackageKind::binary);
}

TEST(OsvImport, DebianRecordsNameSourcePackages) {
  Collected got;
  const auto stats = import_osv(data() / "osv.dev/gcp/workers/oss_fuzz_worker/testdata/DSA-3029-1.json",
                                {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  const auto& dsa = got.advisory("DSA-3029-1");
  EXPECT_EQ(dsa.summary, "nginx - security update");
  EXPECT_EQ(dsa.cves, std::vector<std::string>{"CVE-2014-3616"});  // from aliases
  EXPECT_EQ(dsa.published, 1411171200);
  ASSERT_EQ(dsa.affected.size(), 1u);
  EXPECT_EQ(dsa.affected[0].ecosystem, "Debian:7");
  EXPECT_EQ(dsa.affected[0].package, "nginx");
  EXPECT_EQ(dsa.affected[0].package_kind, adv::PackageKind::source);
  EXPECT_EQ(dsa.affected[0].fixed_version(), "1.2.1-2.2+wheezy3");

  // DLA-3623-1 lists its CVEs under "upstream" and affects nothing.
  const auto dla = import_osv(data() / "osv.dev/gcp/website/testdata/osv/DLA-3623-1.json", {},
                              got.advisory_sink());
  ASSERT_TRUE(dla) << pf::to_string(dla.error());
  const auto& d = got.advisory("DLA-3623-1");
  EXPECT_EQ(d.cves.size(), 44u);
  EXPECT_EQ(d.cves.front(), "CVE-2022-39189");
  EXPECT_TRUE(d.affected.empty());
}

TEST(OsvImport, UbuntuSeverityAndSourcePackages) {
  Collected got;
  const auto stats = import_osv(data() / "vunnel/tests/unit/providers/ubuntu/test-fixtures/osv", {},
                                got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->files, 6u);
  EXPECT_EQ(stats->records, 4u);  // UBUNTU-CVE-2013-2208 and -2020-36325 are withdrawn
  EXPECT_EQ(got.index_of("UBUNTU-CVE-2013-2208"), got.advisories.size());
  for (const auto& a : got.advisories) {
    for (const auto& affected : a.affected) {
      EXPECT_TRUE(affected.ecosystem.starts_with("Ubuntu:")) << a.id << " " << affected.ecosystem;
      EXPECT_EQ(affected.package_kind, adv::PackageKind::source) << a.id;
    }
  }
  const auto& usn = got.advisory("USN-5614-1");
  EXPECT_EQ(usn.cves, std::vector<std::string>{"CVE-2021-3782"});
  EXPECT_NE(find_affected(usn, "Ubuntu:20.04:LTS", "wayland"), nullptr);
  const auto& cve = got.advisory("UBUNTU-CVE-2021-3782");
  EXPECT_EQ(cve.severity, adv::Severity::medium);  // severity[] of type "Ubuntu"
}

TEST(OsvImport, ZipArchivesLikeOsvAllZip) {
  // Real all.zip files from vuls-data-update's fixtures (entries under all/).
  Collected got;
  const auto debian = import_osv(
      data() / "vuls-data-update/pkg/fetch/debian/osv/testdata/fixtures/all.zip", {},
      got.advisory_sink());
  ASSERT_TRUE(debian) << pf::to_string(debian.error());
  EXPECT_EQ(debian->records, 3u);
  const auto& dsa = got.advisory("DSA-135");
  EXPECT_EQ(dsa.cves, std::vector<std::string>{"CVE-2002-0653"});  // from related
  const auto* ssl = find_affected(dsa, "Debian:3.0", "libapache-mod-ssl");
  ASSERT_NE(ssl, nullptr);
  EXPECT_EQ(ssl->fixed_version(), "2.8.9-2");
  EXPECT_EQ(ssl->package_kind, adv::PackageKind::source);
  EXPECT_NE(got.origins[got.index_of("DSA-135")].find("all.zip!all/DSA-135.json"),
            std::string::npos);

  const auto alma = import_osv(data() / "vuls-data-update/pkg/fetch/alma/osv/testdata/fixtures/all.zip",
                               {}, got.advisory_sink());
  ASSERT_TRUE(alma) << pf::to_string(alma.error());
  EXPECT_EQ(alma->records, 4u);
  EXPECT_EQ(got.advisory("ALBA-2022:8256").kind, adv::Kind::bugfix);
  EXPECT_EQ(got.advisory("ALEA-2022:2093").kind, adv::Kind::enhancement);
  EXPECT_EQ(got.advisory("ALSA-2023:7465").kind, adv::Kind::security);
}

TEST(OsvImport, ZipBuiltFromTheSamplesMatchesTheDirectory) {
  TempDir tmp;
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& file : std::filesystem::directory_iterator(data() / kAlmaSamples)) {
    entries.emplace_back("advisories/" + file.path().filename().string(), read_file(file.path()));
  }
  entries.emplace_back("README.md", "not an advisory");
  const auto zip = tmp.path() / "all.zip";
  write_zip(zip, entries);

  Collected from_zip;
  const auto stats = import_osv(zip, {}, from_zip.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->records, 15u);
  EXPECT_EQ(stats->ignored, 1u);  // README.md

  Collected from_dir;
  ASSERT_TRUE(import_osv(data() / kAlmaSamples, {}, from_dir.advisory_sink()));
  std::map<std::string, std::string> zip_fixes;
  std::map<std::string, std::string> dir_fixes;
  for (const auto& a : from_zip.advisories) {
    zip_fixes[a.id] = std::string(*a.affected.at(0).fixed_version());
  }
  for (const auto& a : from_dir.advisories) {
    dir_fixes[a.id] = std::string(*a.affected.at(0).fixed_version());
  }
  EXPECT_EQ(zip_fixes, dir_fixes);

  // The same bytes from memory.
  Collected from_memory;
  const std::string bytes = read_file(zip);
  const auto memory = import_osv_archive_bytes(bytes, "mem.zip", {}, from_memory.advisory_sink());
  ASSERT_TRUE(memory) << pf::to_string(memory.error());
  EXPECT_EQ(memory->records, 15u);
}

TEST(OsvImport, WholeAlmaLinuxDatabaseFromItsTarXz) {
  Collected got;
  std::size_t packages = 0;
  std::uint64_t count = 0;
  const auto stats = import_osv(data() / "almalinux-osv-database/advisories-full.tar.xz", {},
                                [&](adv::Advisory&& a, const RecordNotes&) {
                                  ++count;
                                  packages += a.affected.size();
                                  if (a.id == "ALSA-2026:7896") got.advisories.push_back(a);
                                  EXPECT_FALSE(a.affected.empty()) << a.id;
                                  return true;
                                });
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(count, 5680u);
  EXPECT_EQ(stats->files, 5680u);
  EXPECT_GT(packages, 50000u);
  ASSERT_EQ(got.advisories.size(), 1u);
  EXPECT_EQ(got.advisories[0].affected.size(), 11u);
}

TEST(OsvImport, CallbackCanStopTheImport) {
  std::size_t seen = 0;
  const auto stats = import_osv(data() / kAlmaSamples, {},
                                [&](adv::Advisory&&, const RecordNotes&) { return ++seen < 3; });
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, pf::Errc::interrupted);
  EXPECT_EQ(seen, 3u);
}

TEST(OsvImport, WithdrawnAndOddButValidRecords) {
  Collected got;
  const auto withdrawn = import_osv_bytes(
      R"({"id":"OSV-1","withdrawn":"2024-01-01T00:00:00Z","affected":[]})", "w.json", {},
      got.advisory_sink());
  ASSERT_TRUE(withdrawn);
  EXPECT_EQ(withdrawn->records, 0u);
  EXPECT_EQ(withdrawn->ignored, 1u);

  // Unknown severity word → unknown; SEMVER ranges ignored; details' first line as summary;
  // a CVE id as the advisory id; escapes and a UTF-8 BOM.
  const auto odd = import_osv_bytes(
      "\xEF\xBB\xBF"
      R"({"id":"CVE-2024-0001","details":"\n  First line \u00e9\nsecond","aliases":["GHSA-x","CVE-2024-0001"],
          "database_specific":{"severity":"catastrophic"},
          "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
                       "ecosystem_specific":{"urgency":"high**"},
                       "ranges":[{"type":"SEMVER","events":[{"introduced":"1.0"}]},
                                 {"events":[{"introduced":"0"},{"limit":"9"},{"last_affected":"3.0.1-1"}],
                                  "type":"ECOSYSTEM"}]}]})",
      "odd.json", {}, got.advisory_sink());
  ASSERT_TRUE(odd) << pf::to_string(odd.error());
  const auto& a = got.advisory("CVE-2024-0001");
  EXPECT_EQ(a.summary, "First line \xC3\xA9");
  EXPECT_EQ(a.cves, std::vector<std::string>{"CVE-2024-0001"});
  ASSERT_EQ(a.affected.size(), 1u);
  EXPECT_EQ(a.affected[0].severity, adv::Severity::high);
  EXPECT_EQ(a.severity, adv::Severity::high);  // unknown top-level word, highest package one
  ASSERT_EQ(a.affected[0].events.size(), 2u);
  EXPECT_EQ(a.affected[0].events[1].type, adv::EventType::last_affected);
  EXPECT_EQ(odd->ignored, 1u);  // the SEMVER range
}

}  // namespace
