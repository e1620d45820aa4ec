// SPDX-License-Identifier: Apache-2.0
// CISA KEV, EPSS and NVD enrichment from the real samples, and their error paths.
#include <gtest/gtest.h>

#include "support.hpp"

using namespace pf::feeds;
using namespace pf::feeds::testing;

namespace {

TEST(Kev, WholeCatalog) {
  Collected got;
  const auto stats =
      import_kev(data() / "cisa-kev/known_exploited_vulnerabilities.json", {}, got.cve_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->records, 1404u);
  std::size_t ransomware = 0;
  for (const auto& c : got.cves) {
    EXPECT_TRUE(c.kev);
    EXPECT_EQ(c.kev_date_added.size(), 10u);
    ransomware += c.kev_ransomware ? 1 : 0;
  }
  EXPECT_EQ(ransomware, 293u);
  const auto& log4j = got.cve("CVE-2021-44228");
  EXPECT_EQ(log4j.kev_date_added, "2021-12-10");
  EXPECT_TRUE(log4j.kev_ransomware);
  EXPECT_FALSE(got.cve("CVE-2025-48384").kev_ransomware);  // "Unknown"
  EXPECT_FALSE(log4j.epss.has_value());
  EXPECT_FALSE(log4j.cvss3_score.has_value());
}

TEST(Kev, ClaircoreSampleAndErrors) {
  Collected got;
  const auto stats = import_kev(
      data() / "claircore/enricher/kev/testdata/known_exploited_vulnerabilities.json", {},
      got.cve_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->records, 2u);
  EXPECT_EQ(got.cve("CVE-2017-3066").kev_date_added, "2025-02-24");

  EXPECT_TRUE(fails_with(
      import_kev_bytes(R"({"vulnerabilities":[{"cveID":"CVE-2024-1234","dateAdded":"2024-13-01"}]})",
                       "kev.json", {}, got.cve_sink()),
      "dateAdded is not a YYYY-MM-DD date", "$.vulnerabilities[0].dateAdded"));
  EXPECT_TRUE(fails_with(
      import_kev_bytes(R"({"vulnerabilities":[{"cveID":12}]})", "kev.json", {}, got.cve_sink()),
      "expected cveID to be a string, found a number", "kev.json:1:30 (byte 29)"));
  EXPECT_TRUE(fails_with(import_kev_bytes(R"({"title":"x"})", "kev.json", {}, got.cve_sink()),
                         "not a CISA KEV catalog", "kev.json"));
}

TEST(Epss, CurrentFormatPlain) {
  Collected got;
  const auto stats = import_epss(data() / "claircore/enricher/epss/testdata/data.csv", {},
                                 got.cve_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->records, 29u);  // the last line has no newline
  const auto& first = got.cve("CVE-1999-0005");
  EXPECT_DOUBLE_EQ(*first.epss, 0.91963);
  EXPECT_DOUBLE_EQ(*first.epss_percentile, 0.99030);
  EXPECT_DOUBLE_EQ(*got.cve("CVE-2024-9987").epss, 0.00043);
  EXPECT_FALSE(first.kev);
}

TEST(Epss, EveryHeaderEraGzipped) {
  const auto dir = data() / "vuls-data-update/pkg/fetch/epss/testdata/fixtures";
  struct Case {
    const char* file;
    double epss;
    bool has_percentile;
    double percentile;
  };
  for (const Case& c : {Case{"epss_scores-2021-04-14.csv.gz", 0.65117, false, 0},
                        Case{"epss_scores-2021-09-01.csv.gz", 0.65117, true, 0.9981063485700858},
                        Case{"epss_scores-2022-02-04.csv.gz", 0.96817, true, 0.99999},
                        Case{"epss_scores-2023-03-07.csv.gz", 0.97567, true, 0.99995}}) {
    SCOPED_TRACE(c.file);
    Collected got;
    const auto stats = import_epss(dir / c.file, {}, got.cve_sink());
    ASSERT_TRUE(stats) << pf::to_string(stats.error());
    EXPECT_EQ(stats->records, 2u);
    const auto& f5 = got.cve("CVE-2020-5902");
    EXPECT_DOUBLE_EQ(*f5.epss, c.epss);
    EXPECT_EQ(f5.epss_percentile.has_value(), c.has_percentile);
    if (c.has_percentile) {
      EXPECT_DOUBLE_EQ(*f5.epss_percentile, c.percentile);
    }
  }
}

TEST(Epss, VunnelSamplesAndErrors) {
  const auto dir = data() / "vunnel/tests/unit/providers/epss/test-fixtures";
  Collected got;
  const auto ok = import_epss(dir / "example-1.csv", {}, got.cve_sink());
  ASSERT_TRUE(ok) << pf::to_string(ok.error());
  EXPECT_DOUBLE_EQ(*got.cve("CVE-1999-0001").epss, 0.00383);  // as vunnel's snapshot says
  EXPECT_DOUBLE_EQ(*got.cve("CVE-1999-0001").epss_percentile, 0.73075);
  EXPECT_TRUE(import_epss(dir / "missing-date.csv", {}, got.cve_sink()));  // the date is optional

  EXPECT_TRUE(fails_with(import_epss(dir / "invalid-header.csv", {}, got.cve_sink()),
                         "unrecognised EPSS header 'invalid,header,format'",
                         "invalid-header.csv:2:1"));
  EXPECT_TRUE(fails_with(
      import_epss_bytes("cve,epss,percentile\nCVE-2024-0001,0.5,1.5\n", "e.csv", {}, got.cve_sink()),
      "percentile is not a number between 0 and 1: '1.5'", "e.csv:2:19"));
  EXPECT_TRUE(fails_with(
      import_epss_bytes("cve,epss,percentile\nGHSA-1,0.5,0.5\n", "e.csv", {}, got.cve_sink()),
      "not a CVE id", "e.csv:2:1"));
  EXPECT_TRUE(fails_with(
      import_epss_bytes("cve,epss,percentile\nCVE-2024-0001,0.5\n", "e.csv", {}, got.cve_sink()),
      "missing percentile column", "e.csv:2:"));
  EXPECT_TRUE(fails_with(import_epss_bytes("", "e.csv", {}, got.cve_sink()), "empty document",
                         "e.csv:1:1"));
  // A gzip stream with a corrupt CRC (a real corrupt fixture, whatever it contains).
  EXPECT_TRUE(fails_with(
      import_epss(data() /
                      "vuls-data-update/pkg/fetch/alma/updateinfo/testdata/fixtures/corruptcrc/"
                      "almalinux/9/BaseOS/x86_64/os/repodata/corrupt-updateinfo.xml.gz",
                  {}, got.cve_sink()),
      "", "corrupt-updateinfo.xml.gz"));
}

TEST(Nvd, PrimaryMetricWins) {
  Collected got;
  const auto stats = import_nvd(data() / "claircore/enricher/cvss/testdata/feed.json", {},
                                got.cve_sink());
  ASSERT_TRUE(stats) << pf::to_string(stats.error());
  EXPECT_EQ(stats->records, 3u);
  // CVE-2016-2781: v3.1 only from a Secondary source (4.6), v3.0 from NVD, Primary (6.5).
  const auto& coreutils = got.cve("CVE-2016-2781");
  EXPECT_DOUBLE_EQ(*coreutils.cvss3_score, 6.5);
  EXPECT_EQ(coreutils.cvss3_vector, "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N");
  EXPECT_FALSE(coreutils.cvss4_score.has_value());
  const auto& other = got.cve("CVE-2016-3674");
  EXPECT_DOUBLE_EQ(*other.cvss3_score, 7.5);
  EXPECT_EQ(other.cvss3_vector, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N");
}

TEST(Nvd, GzipFeedV40AndEmptyPage) {
  Collected got;
  const auto feed = import_nvd(
      data() / "vuls-data-update/pkg/fetch/nvd/feed/cve/v2/testdata/fixtures/nvdcve-2.0-2021.json.gz",
      {}, got.cve_sink());
  ASSERT_TRUE(feed) << pf::to_string(feed.error());
  EXPECT_EQ(feed->records, 3u);
  EXPECT_DOUBLE_EQ(*got.cve("CVE-2021-23814").cvss3_score, 8.8);  // Primary after a Secondary
  EXPECT_DOUBLE_EQ(*got.cve("CVE-2021-44228").cvss3_score, 10.0);
  EXPECT_DOUBLE_EQ(*got.cve("CVE-2021-3002").cvss3_score, 6.1);

  const auto page = import_nvd(
      data() / "vuls-data-update/pkg/fetch/nvd/api/cve/testdata/fixtures/1_item/0-1.json", {},
      got.cve_sink());
  ASSERT_TRUE(page) << pf::to_string(page.error());
  const auto& v4 = got.cve("CVE-2024-4819");
  EXPECT_DOUBLE_EQ(*v4.cvss4_score, 5.3);
  EXPECT_TRUE(v4.cvss4_vector.starts_with("CVSS:4.0/AV:N/AC:L/AT:N/PR:L"));
  EXPECT_DOUBLE_EQ(*v4.cvss3_score, 4.3);  // only Secondary metrics: the first one

  const auto empty = import_nvd(
      data() / "vuls-data-update/pkg/fetch/nvd/api/cve/testdata/fixtures/empty/0-1.json", {},
      got.cve_sink());
  ASSERT_TRUE(empty) << pf::to_string(empty.error());
  EXPECT_EQ(empty->records, 0u);

  const auto single = import_nvd(data() / "vunnel/tests/unit/providers/nvd/test-fixtures/single-entry.json",
                                 {}, got.cve_sink());
  ASSERT_TRUE(single) << pf::to_string(single.error());
  EXPECT_DOUBLE_EQ(*got.cve("CVE-2022-1576").cvss3_score, 6.5);
}

TEST(Nvd, Errors) {
  Collected got;
  EXPECT_TRUE(fails_with(
      import_nvd_bytes(R"({"vulnerabilities":[{"cve":{"id":"CVE-2024-0001","metrics":{"cvssMetricV31":[{"type":"Primary","cvssData":{"baseScore":11}}]}}}]})",
                       "n.json", {}, got.cve_sink()),
      "baseScore outside 0..10", "$.vulnerabilities[0].cve.metrics.cvssMetricV31[0].cvssData.baseScore"));
  EXPECT_TRUE(fails_with(
      import_nvd_bytes(R"({"vulnerabilities":[{"cve":{"metrics":{}}}]})", "n.json", {},
                       got.cve_sink()),
      "without cve.id", "n.json:1:"));
  EXPECT_TRUE(fails_with(
      import_nvd_bytes(R"({"vulnerabilities":{"cve":1}})", "n.json", {}, got.cve_sink()),
      "expected vulnerabilities to be an array, found an object", "n.json:1:20"));
}

}  // namespace
