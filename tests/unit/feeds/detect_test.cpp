// SPDX-License-Identifier: Apache-2.0
// Format detection by content, and import_path dispatching on it.
#include <gtest/gtest.h>

#include "support.hpp"

using namespace pf::feeds;
using namespace pf::feeds::testing;

namespace {

TEST(Detect, RealSamplesByContent) {
  const auto d = data();
  struct Case {
    std::filesystem::path path;
    Format format;
  };
  const Case cases[] = {
      {d / "almalinux-osv-database/sample/almalinux9_ALSA-2026:7896.json", Format::osv},
      {d / "almalinux-osv-database/sample", Format::osv_directory},
      {d / "almalinux-osv-database/advisories-full.tar.xz", Format::osv_archive},
      {d / "vuls-data-update/pkg/fetch/debian/osv/testdata/fixtures/all.zip", Format::osv_archive},
      {d / "vunnel/tests/unit/providers/debian/test-fixtures/input/debian.json",
       Format::debian_tracker},
      {d / "cisa-kev/known_exploited_vulnerabilities.json", Format::kev},
      {d / "claircore/enricher/epss/testdata/data.csv", Format::epss},
      {d / "vuls-data-update/pkg/fetch/epss/testdata/fixtures/epss_scores-2021-04-14.csv.gz",
       Format::epss},
      {d / "claircore/enricher/cvss/testdata/feed.json", Format::nvd},
      {d / "vuls-data-update/pkg/fetch/nvd/feed/cve/v2/testdata/fixtures/nvdcve-2.0-2021.json.gz",
       Format::nvd},
  };
  for (const auto& c : cases) {
    const auto got = detect_format(c.path);
    ASSERT_TRUE(got) << c.path << ": " << pf::to_string(got.error());
    EXPECT_EQ(format_name(*got), format_name(c.format)) << c.path;
  }
}

TEST(Detect, NameDoesNotDecide) {
  TempDir tmp;
  // A KEV catalog named like an OSV record, an OSV record named like a CSV.
  const auto kev = tmp.write("ALSA-1.json", read_file(data() / "claircore/enricher/kev/testdata/known_exploited_vulnerabilities.json"));
  EXPECT_EQ(detect_format(kev).value(), Format::kev);
  const auto osv = tmp.write("scores.csv", R"({"schema_version":"1.6.0","id":"DSA-1"})");
  EXPECT_EQ(detect_format(osv).value(), Format::osv);
  const auto junk = tmp.write("junk.json", R"({"hello":"world"})");
  const auto r = detect_format(junk);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unrecognised feed format"), std::string::npos);
  EXPECT_FALSE(detect_format(tmp.write("empty", "")));
}

TEST(Detect, ImportPathDispatches) {
  Collected got;
  const auto tracker = import_path(
      data() / "vunnel/tests/unit/providers/debian/test-fixtures/input/debian.json", {},
      got.advisory_sink(), got.cve_sink());
  ASSERT_TRUE(tracker) << pf::to_string(tracker.error());
  EXPECT_EQ(tracker->records, 7u);
  const auto epss = import_path(data() / "claircore/enricher/epss/testdata/data.csv", {},
                                got.advisory_sink(), got.cve_sink());
  ASSERT_TRUE(epss) << pf::to_string(epss.error());
  EXPECT_EQ(got.cves.size(), 29u);
  const auto zip = import_path(data() / "vuls-data-update/pkg/fetch/rocky/osv/testdata/fixtures/all.zip",
                               {}, got.advisory_sink(), got.cve_sink());
  ASSERT_TRUE(zip) << pf::to_string(zip.error());
  EXPECT_EQ(zip->records, 2u);

  // Red Hat CSAF/VEX goes to the CSAF importer.
  const auto csaf_file = data() / "claircore/rhel/vex/testdata/cve-2024-24786-simple.json";
  EXPECT_EQ(detect_format(csaf_file).value(), Format::csaf);
  const auto csaf = import_path(csaf_file, {}, got.advisory_sink(), got.cve_sink());
  ASSERT_TRUE(csaf) << pf::to_string(csaf.error());
  EXPECT_EQ(csaf->records, 1u);
  EXPECT_EQ(got.advisories.back().id, "CVE-2024-24786");
  EXPECT_EQ(got.advisories.back().source, "csaf");
}

}  // namespace
