// SPDX-License-Identifier: Apache-2.0
// Red Hat CSAF/VEX import from the real RHSA and VEX documents in ../shared/data; expected
// values read off the documents by hand (product_status → relationships → branches).
#include <gtest/gtest.h>

#include <zlib.h>

#include <string>

#include "support.hpp"

namespace adv = pf::advisories;
using namespace pf::feeds;
using namespace pf::feeds::testing;

namespace {

const std::filesystem::path kVunnel = "vunnel/tests/unit/providers/rhel/test-fixtures/csaf";
const std::filesystem::path kClairVex = "claircore/rhel/vex/testdata";
const std::filesystem::path kClairCsaf = "claircore/toolkit/types/csaf/testdata";

::testing::AssertionResult fixed_in(const adv::Advisory& a, std::string_view ecosystem,
                                    std::string_view package, std::string_view fixed) {
  const adv::Affected* affected = find_affected(a, ecosystem, package);
  if (affected == nullptr) {
    return ::testing::AssertionFailure() << a.id << " has no " << ecosystem << " " << package;
  }
  if (affected->package_kind != adv::PackageKind::binary || affected->events.size() != 2 ||
      affected->events[0].type != adv::EventType::introduced ||
      affected->events[0].version != "0" || affected->fixed_version() != fixed) {
    return ::testing::AssertionFailure()
           << a.id << " " << ecosystem << " " << package << ": fixed "
           << affected->fixed_version().value_or("(none)") << ", expected " << fixed;
  }
  return ::testing::AssertionSuccess();
}

TEST(CsafImport, TigervncAdvisoryForRhel9) {
  Collected got;
  const auto stats = import_csaf(data() / kVunnel / "server/2024/rhsa-2024_0010.json", {},
                                 got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->files, 1u);
  EXPECT_EQ(stats->records, 3u);
  // Each CVE lists one source rpm (tigervnc-0:1.13.1-3.el9_3.3.src), ignored.
  EXPECT_EQ(stats->ignored, 3u);
  ASSERT_EQ(got.advisories.size(), 3u);
  const adv::Advisory& a = got.advisory("RHSA-2024:0010/CVE-2023-5367");
  EXPECT_EQ(a.cves, std::vector<std::string>{"CVE-2023-5367"});
  EXPECT_EQ(a.kind, adv::Kind::security);
  EXPECT_EQ(a.source, "csaf");
  EXPECT_EQ(a.severity, adv::Severity::high);  // impact "Important"
  EXPECT_EQ(a.summary,
            "xorg-x11-server: Out-of-bounds write in XIChangeDeviceProperty/RRChangeOutputProperty");
  EXPECT_EQ(a.published, 1704185914);  // 2024-01-02T08:58:34+00:00
  EXPECT_EQ(a.modified, 1732330466);   // 2024-11-23T02:54:26+00:00
  // 12 binary packages; 4 arches (and the src) of each merged into one entry.
  ASSERT_EQ(a.affected.size(), 12u);
  EXPECT_TRUE(fixed_in(a, "Red Hat:9", "tigervnc", "1.13.1-3.el9_3.3"));
  EXPECT_TRUE(fixed_in(a, "Red Hat:9", "tigervnc-server-minimal", "1.13.1-3.el9_3.3"));
  EXPECT_TRUE(fixed_in(a, "Red Hat:9", "tigervnc-selinux", "1.13.1-3.el9_3.3"));  // noarch
  EXPECT_EQ(got.status[got.index_of(a.id)],
            std::vector<AffectedStatus>(12, AffectedStatus::fixed));
  EXPECT_EQ(got.origins[0], (data() / kVunnel / "server/2024/rhsa-2024_0010.json").string());
}

TEST(CsafImport, EusStreamsMergeIntoTheMajorReleaseWithTheHighestFix) {
  Collected got;
  const auto stats =
      import_csaf(data() / kVunnel / "advisories/rhsa-2024_0811.json", {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  ASSERT_EQ(got.advisories.size(), 3u);
  const adv::Advisory& a = got.advisory("RHSA-2024:0811/CVE-2023-28486");
  EXPECT_EQ(a.severity, adv::Severity::medium);
  EXPECT_EQ(a.published, 1707872085);  // 2024-02-14T00:54:45+00:00
  EXPECT_EQ(a.modified, 1757517129);   // 2025-09-10T15:12:09+00:00
  // rhel_eus:8.6 (el8_6), rhel_eus:8.8 (el8_8) and enterprise_linux:8 (el8_9) → Red Hat:8.
  EXPECT_TRUE(fixed_in(a, "Red Hat:8", "sudo", "1.9.5p2-1.el8_9"));
  // rhel_eus:9.0 (7.el9_0.4), 9.2 (9.el9_2.2) and enterprise_linux:9 (10.el9_3) → Red Hat:9.
  EXPECT_TRUE(fixed_in(a, "Red Hat:9", "sudo", "1.9.5p2-10.el9_3"));
  EXPECT_TRUE(fixed_in(a, "Red Hat:9", "sudo-python-plugin", "1.9.5p2-10.el9_3"));
  EXPECT_EQ(find_affected(a, "Red Hat:8", "sudo-python-plugin"), nullptr);
  EXPECT_EQ(a.affected.size(), 8u);  // sudo, -debuginfo, -debugsource in 8; those + 2 in 9
}

TEST(CsafImport, EpochFromThePurlAndPerCveSeverity) {
  Collected got;
  const auto stats = import_csaf(data() / kVunnel / "advisories/2025/rhsa-2025_23414.json", {},
                                 got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  ASSERT_EQ(got.advisories.size(), 2u);
  const adv::Advisory& old_cve = got.advisory("RHSA-2025:23414/CVE-2021-25220");
  // The document says "Important"; this CVE's own impact is "Moderate".
  EXPECT_EQ(old_cve.severity, adv::Severity::medium);
  EXPECT_EQ(got.advisory("RHSA-2025:23414/CVE-2025-40778").severity, adv::Severity::high);
  // rhel_els:6 → Red Hat:6; purl qualifier epoch=32.
  EXPECT_TRUE(fixed_in(old_cve, "Red Hat:6", "bind", "32:9.8.2-0.68.rc1.el6_10.17"));
  EXPECT_TRUE(fixed_in(old_cve, "Red Hat:6", "bind-utils", "32:9.8.2-0.68.rc1.el6_10.17"));
  EXPECT_EQ(old_cve.affected.size(), 4u);  // bind, bind-libs, bind-sdb, bind-utils
}

TEST(CsafImport, ProductIdsWithoutPurlAndAusE4sTusStreams) {
  Collected got;
  const auto stats =
      import_csaf(data() / kClairCsaf / "rhsa-2022-0011.json", {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  ASSERT_EQ(got.advisories.size(), 1u);
  const adv::Advisory& a = got.advisories[0];
  EXPECT_EQ(a.id, "RHSA-2022:0011/CVE-2020-10188");
  EXPECT_EQ(a.severity, adv::Severity::high);
  // "7Server-7.6.AUS:telnet-1:0.17-65.el7_6.x86_64": no purl, the product id says it all.
  EXPECT_TRUE(fixed_in(a, "Red Hat:7", "telnet", "1:0.17-65.el7_6"));
  EXPECT_TRUE(fixed_in(a, "Red Hat:7", "telnet-server", "1:0.17-65.el7_6"));
  EXPECT_EQ(a.affected.size(), 3u);  // telnet, telnet-debuginfo, telnet-server
  EXPECT_EQ(stats->ignored, 3u);     // the three source rpms
}

TEST(CsafImport, ModulesAreIgnoredAndCounted) {
  Collected got;
  const auto stats =
      import_csaf(data() / kVunnel / "advisories/rhsa-2023_3821.json", {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  ASSERT_EQ(got.advisories.size(), 3u);  // ruby:2.7 module update: every rpm has rpmmod=
  for (const auto& a : got.advisories) EXPECT_TRUE(a.affected.empty()) << a.id;
  EXPECT_EQ(stats->ignored, 3u * 142u);
}

TEST(CsafImport, VexFileIdIsTheCveAndMainStreamFixWins) {
  Collected got;
  const auto stats =
      import_csaf(data() / kClairVex / "cve-2023-38545.json", {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  ASSERT_EQ(got.advisories.size(), 1u);
  const adv::Advisory& a = got.advisories[0];
  EXPECT_EQ(a.id, "CVE-2023-38545");  // tracking id is the CVE: no prefix
  EXPECT_EQ(a.severity, adv::Severity::high);
  EXPECT_EQ(a.summary, "curl: heap based buffer overflow in the SOCKS5 proxy handshake");
  // rhel_eus:9.0 el9_0.9, enterprise_linux:9 el9_2.4 and el9_3.2: the highest.
  EXPECT_TRUE(fixed_in(a, "Red Hat:9", "curl", "7.76.1-26.el9_3.2"));
  // Satellite client and JBoss Core Services builds are not RHEL.
  for (const auto& affected : a.affected) {
    EXPECT_TRUE(affected.ecosystem.starts_with("Red Hat:")) << affected.ecosystem;
    EXPECT_EQ(affected.package.find("puppet-agent"), std::string::npos);
    EXPECT_EQ(affected.package.find("jbcs-"), std::string::npos);
  }
  EXPECT_GT(stats->ignored, 0u);
}

TEST(CsafImport, KnownAffectedWithoutFixSourceRpmAndModuleIgnored) {
  Collected got;
  const auto stats = import_csaf(data() / kClairVex / "cve-2024-24786-bad-rpmmod.json", {},
                                 got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  ASSERT_EQ(got.advisories.size(), 1u);
  const adv::Advisory& a = got.advisories[0];
  EXPECT_EQ(a.id, "CVE-2024-24786");
  EXPECT_EQ(a.summary, "Test advisory with bad rpmmod qualifier");  // no vulnerability title
  EXPECT_EQ(a.severity, adv::Severity::medium);
  ASSERT_EQ(a.affected.size(), 2u);
  EXPECT_TRUE(fixed_in(a, "Red Hat:10", "cri-tools", "1.29.0-3.1.el9"));
  const adv::Affected* good = find_affected(a, "Red Hat:10", "good-pkg");
  ASSERT_NE(good, nullptr);
  ASSERT_EQ(good->events.size(), 1u);  // introduced "0", no fix
  EXPECT_EQ(good->events[0].version, "0");
  EXPECT_FALSE(good->fixed_version());
  EXPECT_EQ(got.status[0], (std::vector<AffectedStatus>{AffectedStatus::fixed,
                                                        AffectedStatus::open}));
  EXPECT_EQ(stats->ignored, 1u);  // firefox-flatpak: arch=src with rpmmod
}

TEST(CsafImport, IllegalModuleAndNonRhelProductsGiveNoAffected) {
  Collected got;
  const auto module = import_csaf(data() / kClairVex / "cve-2024-24786-illegal-module.json", {},
                                  got.advisory_sink());
  ASSERT_TRUE(module) << pf::to_string(module.error());
  EXPECT_EQ(module->ignored, 1u);  // go-toolset:rhel8/go-toolset, a module stream
  const auto openshift = import_csaf(data() / kClairVex / "cve-2024-24786-simple.json", {},
                                     got.advisory_sink());
  ASSERT_TRUE(openshift) << pf::to_string(openshift.error());
  EXPECT_EQ(openshift->ignored, 1u);  // cpe:/a:redhat:openshift:4.16::el9
  ASSERT_EQ(got.advisories.size(), 2u);
  EXPECT_TRUE(got.advisories[0].affected.empty());
  EXPECT_TRUE(got.advisories[1].affected.empty());
}

TEST(CsafImport, UnversionedKnownAffectedComponentIsASourcePackage) {
  Collected got;
  const auto stats =
      import_csaf(data() / kClairCsaf / "cve-2024-22047.json", {}, got.advisory_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  ASSERT_EQ(got.advisories.size(), 1u);
  // "red_hat_satellite_6:rubygem-audited": Satellite is not RHEL.
  EXPECT_TRUE(got.advisories[0].affected.empty());
  EXPECT_EQ(got.advisories[0].severity, adv::Severity::low);

  const std::string doc = R"({"document": {"tracking": {"id": "CVE-2024-0001"}},
    "product_tree": {"branches": [{"branches": [
      {"product": {"product_id": "red_hat_enterprise_linux_9",
                   "product_identification_helper": {"cpe": "cpe:/o:redhat:enterprise_linux:9"}}},
      {"product": {"product_id": "pam",
                   "product_identification_helper": {"purl": "pkg:rpm/redhat/pam?arch=src"}}}]}],
      "relationships": [{"category": "default_component_of",
        "full_product_name": {"product_id": "red_hat_enterprise_linux_9:pam"},
        "product_reference": "pam", "relates_to_product_reference": "red_hat_enterprise_linux_9"}]},
    "vulnerabilities": [{"cve": "CVE-2024-0001", "title": "pam: a flaw",
      "threats": [{"category": "impact", "details": "Catastrophic"}],
      "product_status": {"known_affected": ["red_hat_enterprise_linux_9:pam"]}}]})";
  Collected vex;
  const auto result = import_csaf_bytes(doc, "vex.json", {}, vex.advisory_sink());
  ASSERT_TRUE(result) << pf::to_string(result.error());
  ASSERT_EQ(vex.advisories.size(), 1u);
  const adv::Advisory& a = vex.advisories[0];
  EXPECT_EQ(a.severity, adv::Severity::unknown);  // an unknown word is not an error
  ASSERT_EQ(a.affected.size(), 1u);
  EXPECT_EQ(a.affected[0].ecosystem, "Red Hat:9");
  EXPECT_EQ(a.affected[0].package, "pam");
  EXPECT_EQ(a.affected[0].package_kind, adv::PackageKind::source);
  EXPECT_FALSE(a.affected[0].fixed_version());
  EXPECT_EQ(vex.status[0], std::vector<AffectedStatus>{AffectedStatus::open});
}

TEST(CsafImport, EverySampleImports) {
  const std::filesystem::path files[] = {
      kVunnel / "advisories/rhsa-2023_7025.json", kVunnel / "advisories/rhsa-2024_1431.json",
      kVunnel / "advisories/2024/rhsa-2024_6163.json",
      kVunnel / "advisories/2024/rhsa-2024_9371.json", kClairVex / "cve-2023-4154.json",
      kClairVex / "cve-2023-42670.json", kClairCsaf / "cve-2021-0084.json",
      "vuls-data-update/pkg/fetch/redhat/csaf/testdata/fixtures/2023/rhsa-2023_7435.json"};
  for (const auto& file : files) {
    Collected got;
    const auto stats = import_path(data() / file, {}, got.advisory_sink(), {});
    ASSERT_TRUE(stats) << file << ": " << pf::to_string(stats.error());
    EXPECT_GE(stats->records, 1u) << file;
    for (std::size_t i = 0; i < got.advisories.size(); ++i) {
      EXPECT_EQ(got.status[i].size(), got.advisories[i].affected.size());
      for (const auto& affected : got.advisories[i].affected) {
        EXPECT_TRUE(affected.ecosystem.starts_with("Red Hat:")) << file;
      }
    }
  }
}

std::string gzip(std::string_view text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(CsafImport, GzipAndImportPath) {
  Collected got;
  TempDir dir;
  const std::string doc = read_file(data() / kVunnel / "server/2024/rhsa-2024_0010.json");
  const auto packed = dir.write("rhsa-2024_0010.json.gz", gzip(doc));
  EXPECT_EQ(detect_format(packed).value(), Format::csaf);
  const auto stats = import_path(packed, {}, got.advisory_sink(), {});
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->records, 3u);
  EXPECT_EQ(stats->bytes, doc.size());
  EXPECT_TRUE(fixed_in(got.advisory("RHSA-2024:0010/CVE-2023-6377"), "Red Hat:9", "tigervnc",
                       "1.13.1-3.el9_3.3"));
}

// ---- hostile input ---------------------------------------------------------------------------

const std::string kTree = R"("product_tree": {"branches": [{"branches": [
      {"product": {"product_id": "BaseOS-9",
                   "product_identification_helper": {"cpe": "cpe:/o:redhat:enterprise_linux:9::baseos"}}},
      {"product": {"product_id": "openssl-1:3.0.7-18.el9_2.x86_64",
                   "product_identification_helper": {"purl": "pkg:rpm/redhat/openssl@3.0.7-18.el9_2?arch=x86_64&epoch=1"}}}]}],
    "relationships": [{"category": "default_component_of",
      "full_product_name": {"product_id": "BaseOS-9:openssl-1:3.0.7-18.el9_2.x86_64"},
      "product_reference": "openssl-1:3.0.7-18.el9_2.x86_64",
      "relates_to_product_reference": "BaseOS-9"}]})";

std::string document(std::string_view vulnerabilities, std::string_view tree = kTree) {
  return R"({"document": {"title": "t", "tracking": {"id": "RHSA-2024:0001",
    "initial_release_date": "2024-01-01T00:00:00Z", "current_release_date": "2024-01-02T00:00:00Z"},
    "aggregate_severity": {"text": "Important"}},
  )" + std::string(tree) + ",\n  \"vulnerabilities\": " + std::string(vulnerabilities) + "}";
}

TEST(CsafHostile, SmallDocumentMapsAsDocumented) {
  Collected got;
  const auto ok = import_csaf_bytes(
      document(R"([{"cve": "CVE-2024-0001", "product_status":
               {"fixed": ["BaseOS-9:openssl-1:3.0.7-18.el9_2.x86_64"]}}])"),
      "small.json", {}, got.advisory_sink());
  ASSERT_TRUE(ok) << pf::to_string(ok.error());
  ASSERT_EQ(got.advisories.size(), 1u);
  EXPECT_EQ(got.advisories[0].id, "RHSA-2024:0001/CVE-2024-0001");
  EXPECT_EQ(got.advisories[0].summary, "t");
  EXPECT_EQ(got.advisories[0].severity, adv::Severity::high);  // aggregate "Important"
  EXPECT_TRUE(fixed_in(got.advisories[0], "Red Hat:9", "openssl", "1:3.0.7-18.el9_2"));
}

TEST(CsafHostile, RejectedWithPositionAndPath) {
  Collected got;
  const std::string good = document(R"([{"cve": "CVE-2024-0001", "product_status":
               {"fixed": ["BaseOS-9:openssl-1:3.0.7-18.el9_2.x86_64"]}}])");
  // Truncated.
  EXPECT_TRUE(fails_with(import_csaf_bytes(good.substr(0, good.size() - 20), "cut.json", {},
                                           got.advisory_sink()),
                         "truncated", "cut.json:"));
  // Wrong types.
  EXPECT_TRUE(fails_with(
      import_csaf_bytes(document(R"([{"cve": 2024}])"), "t.json", {}, got.advisory_sink()),
      "expected vulnerabilities[].cve to be a string", "at $.vulnerabilities[0].cve"));
  EXPECT_TRUE(fails_with(import_csaf_bytes(document(R"([{"cve": "CVE-2024-0001",
                                           "product_status": {"fixed": "BaseOS-9"}}])"),
                                           "t.json", {}, got.advisory_sink()),
                         "to be an array", "at $.vulnerabilities[0].product_status.fixed"));
  EXPECT_TRUE(fails_with(
      import_csaf_bytes(R"({"document": {"tracking": {"initial_release_date": "yesterday"}}})",
                        "t.json", {}, got.advisory_sink()),
      "not an RFC 3339 time", "t.json:1:"));
  // A product id that the tree does not define.
  EXPECT_TRUE(fails_with(import_csaf_bytes(document(R"([{"cve": "CVE-2024-0001",
      "product_status": {"known_affected": ["BaseOS-9:nope"]}}])"),
                                           "t.json", {}, got.advisory_sink()),
                         "product 'BaseOS-9:nope' is not defined",
                         "at $.vulnerabilities[0].product_status.known_affected[0]"));
  // A relationship pointing at a missing product.
  std::string tree = kTree;
  tree.replace(tree.find(R"("relates_to_product_reference": "BaseOS-9")"),
               std::string_view(R"("relates_to_product_reference": "BaseOS-9")").size(),
               R"("relates_to_product_reference": "AppStream-9")");
  const auto missing = import_csaf_bytes(document("[]", tree), "rel.json", {}, got.advisory_sink());
  EXPECT_TRUE(fails_with(missing, "relates to product 'AppStream-9', which the product_tree does not define",
                         "at $.product_tree.relationships[0].relates_to_product_reference"));
  EXPECT_TRUE(fails_with(missing, "", "rel.json:12:39 (byte 857)"));
  // Not a CVE id, a CVE listed twice, no document.
  EXPECT_TRUE(fails_with(import_csaf_bytes(document(R"([{"cve": "GHSA-1"}])"), "t.json", {},
                                           got.advisory_sink()),
                         "not a CVE id", "$.vulnerabilities[0].cve"));
  EXPECT_TRUE(fails_with(import_csaf_bytes(document(R"([{"cve": "CVE-2024-0001"},
                                                        {"cve": "CVE-2024-0001"}])"),
                                           "t.json", {}, got.advisory_sink()),
                         "listed twice", "$.vulnerabilities[1].cve"));
  EXPECT_TRUE(fails_with(import_csaf_bytes(R"({"vulnerabilities": []})", "t.json", {},
                                           got.advisory_sink()),
                         "no \"document\"", "t.json"));
  // A malformed fixed version and a broken purl escape.
  std::string bad = kTree;
  bad.replace(bad.find("3.0.7-18.el9_2?"), 15, "3.0.7-18.el9_2%?");
  EXPECT_TRUE(fails_with(import_csaf_bytes(document(R"([{"cve": "CVE-2024-0001", "product_status":
               {"fixed": ["BaseOS-9:openssl-1:3.0.7-18.el9_2.x86_64"]}}])", bad),
                                           "t.json", {}, got.advisory_sink()),
                         "malformed purl", "$.vulnerabilities[0].product_status.fixed[0]"));
  EXPECT_TRUE(got.advisories.empty());
}

TEST(CsafHostile, DeepNestingAndLongStringsHitTheLimits) {
  Collected got;
  std::string deep = R"({"product_tree": {"branches": )";
  for (int i = 0; i < 200; ++i) deep += R"([{"branches": )";
  deep += "[]";
  for (int i = 0; i < 200; ++i) deep += "}]";
  deep += "}}";
  EXPECT_TRUE(fails_with(import_csaf_bytes(deep, "deep.json", {}, got.advisory_sink()),
                         "nested deeper than the limit of 64", "deep.json:1:"));
  ImportOptions small;
  small.limits.max_string_bytes = 16;
  EXPECT_TRUE(fails_with(import_csaf_bytes(document("[]"), "long.json", small, got.advisory_sink()),
                         "string longer than the limit of 16 bytes", "at $.document.tracking"));
  small = {};
  small.limits.max_document_bytes = 100;
  EXPECT_TRUE(fails_with(import_csaf_bytes(document("[]"), "big.json", small, got.advisory_sink()),
                         "exceeds the limit of 100 bytes", "big.json"));
  // A stopped import, and no advisory sink.
  const auto stop = [](adv::Advisory&&, const RecordNotes&) { return false; };
  const auto stopped = import_csaf_bytes(document(R"([{"cve": "CVE-2024-0001"}])"), "s.json", {},
                                         stop);
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, pf::Errc::interrupted);
  EXPECT_TRUE(fails_with(import_csaf_bytes(document(R"([{"cve": "CVE-2024-0001"}])"), "s.json",
                                           {}, {}),
                         "no advisory sink", "s.json"));
}

}  // namespace
