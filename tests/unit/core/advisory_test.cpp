// SPDX-License-Identifier: Apache-2.0
#include "patchflow/core/advisory.hpp"

#include <gtest/gtest.h>

namespace a = pf::advisories;

namespace {

TEST(Advisory, SeverityWordsOfEveryVendorMapToOneScale) {
  EXPECT_EQ(a::severity_from_name("Important").value(), a::Severity::high);
  EXPECT_EQ(a::severity_from_name("moderate").value(), a::Severity::medium);
  EXPECT_EQ(a::severity_from_name("unimportant").value(), a::Severity::negligible);
  EXPECT_EQ(a::severity_from_name("not yet assigned").value(), a::Severity::unknown);
  EXPECT_EQ(a::severity_from_name("CRITICAL").value(), a::Severity::critical);
  auto bad = a::severity_from_name("severe");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "severity");
  for (auto s : {a::Severity::unknown, a::Severity::negligible, a::Severity::low,
                 a::Severity::medium, a::Severity::high, a::Severity::critical}) {
    EXPECT_EQ(a::severity_from_name(a::severity_name(s)).value(), s);
  }
}

TEST(Advisory, EcosystemChoosesTheVersionScheme) {
  EXPECT_EQ(a::scheme_for_ecosystem("Debian:12").value(), pf::versions::Scheme::deb);
  EXPECT_EQ(a::scheme_for_ecosystem("Ubuntu:22.04:LTS").value(), pf::versions::Scheme::deb);
  EXPECT_EQ(a::scheme_for_ecosystem("AlmaLinux:9").value(), pf::versions::Scheme::rpm);
  EXPECT_EQ(a::scheme_for_ecosystem("Rocky Linux:9").value(), pf::versions::Scheme::rpm);
  EXPECT_EQ(a::scheme_for_ecosystem("Red Hat").value(), pf::versions::Scheme::rpm);
  auto unknown = a::scheme_for_ecosystem("npm");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().where, "ecosystem");
}

TEST(Advisory, FixedVersionIsTheFirstFixedEvent) {
  a::Affected none{.ecosystem = "Debian:12", .package = "openssl"};
  none.events = {{a::EventType::introduced, "0"}};
  EXPECT_FALSE(none.fixed_version());
  a::Affected fixed = none;
  fixed.events.push_back({a::EventType::fixed, "3.0.11-1~deb12u2"});
  EXPECT_EQ(fixed.fixed_version().value(), "3.0.11-1~deb12u2");
}

}  // namespace
