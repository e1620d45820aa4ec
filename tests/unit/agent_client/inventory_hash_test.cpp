// SPDX-License-Identifier: Apache-2.0
// The inventory hash: the same inventory in any order hashes alike; any field of any row
// changes it; the serialisation is length-prefixed, so moving bytes between fields changes it.
#include "patchflow/agent_client/inventory_hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <regex>
#include <set>

namespace {

using pf::agent_client::canonical_inventory;
using pf::agent_client::inventory_hash;
using pf::inventory::Package;
using pf::pkg::Update;

std::vector<Package> packages() {
  return {{"openssl", "amd64", "3.0.11-1~deb12u1", "openssl", "3.0.11-1~deb12u1"},
          {"libssl3", "amd64", "3.0.11-1~deb12u1", "openssl", "3.0.11-1~deb12u1"},
          {"bash", "amd64", "5.2.15-2+b2", "bash", "5.2.15-2"},
          {"tzdata", "all", "2024a-0+deb12u1", "tzdata", "2024a-0+deb12u1"}};
}

std::vector<Update> updates() {
  Update a;
  a.name = "openssl";
  a.arch = "amd64";
  a.installed = "3.0.11-1~deb12u1";
  a.candidate = "3.0.11-1~deb12u2";
  a.origin = "bookworm-security";
  a.security = true;
  a.advisories = {"DSA-5532-1", "DLA-1-1"};
  Update b;
  b.name = "tzdata";
  b.arch = "all";
  b.installed = "2024a-0+deb12u1";
  b.candidate = "2024b-0+deb12u1";
  b.origin = "bookworm-updates";
  b.held_reason = "held by apt-mark";
  return {a, b};
}

TEST(AgentClientInventoryHash, IsSha256InTheWireFormat) {
  const std::string h = inventory_hash(packages(), updates());
  EXPECT_TRUE(std::regex_match(h, std::regex("sha256:[0-9a-f]{64}"))) << h;
  EXPECT_EQ(h, inventory_hash(packages(), updates())) << "deterministic";
  // The empty inventory has a hash of its own, different from any non-empty one.
  EXPECT_NE(inventory_hash({}, {}), h);
  EXPECT_NE(inventory_hash({}, {}), inventory_hash(packages(), {}));
}

TEST(AgentClientInventoryHash, IsStableUnderReordering) {
  const std::string expected = inventory_hash(packages(), updates());
  std::mt19937 rng(42);
  for (int i = 0; i < 20; ++i) {
    auto p = packages();
    auto u = updates();
    std::shuffle(p.begin(), p.end(), rng);
    std::shuffle(u.begin(), u.end(), rng);
    for (auto& up : u) std::shuffle(up.advisories.begin(), up.advisories.end(), rng);
    EXPECT_EQ(inventory_hash(p, u), expected) << "shuffle " << i;
  }
}

TEST(AgentClientInventoryHash, ChangesWithEveryUploadedField) {
  const std::string base = inventory_hash(packages(), updates());
  std::set<std::string> seen{base};
  const std::vector<std::function<void(Package&)>> package_edits = {
      [](Package& p) { p.name += "x"; },
      [](Package& p) { p.arch = "i386"; },
      [](Package& p) { p.version += "+b1"; },
      [](Package& p) { p.source_name += "-src"; },
      [](Package& p) { p.source_version += "+1"; },
  };
  for (std::size_t i = 0; i < package_edits.size(); ++i) {
    auto p = packages();
    package_edits[i](p[1]);
    const auto h = inventory_hash(p, updates());
    EXPECT_TRUE(seen.insert(h).second) << "package edit " << i << " did not change the hash";
  }
  const std::vector<std::function<void(Update&)>> update_edits = {
      [](Update& u) { u.name += "x"; },
      [](Update& u) { u.arch = "i386"; },
      [](Update& u) { u.installed += "~1"; },
      [](Update& u) { u.candidate += "~1"; },
      [](Update& u) { u.origin = "bookworm"; },
      [](Update& u) { u.security = !u.security; },
      [](Update& u) { u.advisories.push_back("DSA-9999-1"); },
      [](Update& u) { u.advisories[0] = "DSA-5532-2"; },
      [](Update& u) { u.held_reason = "kept back"; },
  };
  for (std::size_t i = 0; i < update_edits.size(); ++i) {
    auto u = updates();
    update_edits[i](u[0]);
    const auto h = inventory_hash(packages(), u);
    EXPECT_TRUE(seen.insert(h).second) << "update edit " << i << " did not change the hash";
  }
  // A row more or less changes it too, even a duplicate.
  auto more = packages();
  more.push_back(more[0]);
  EXPECT_TRUE(seen.insert(inventory_hash(more, updates())).second);
  auto fewer = updates();
  fewer.pop_back();
  EXPECT_TRUE(seen.insert(inventory_hash(packages(), fewer)).second);
}

TEST(AgentClientInventoryHash, FieldBoundariesAndSectionsCannotBeConfused) {
  // "ab" + "c" and "a" + "bc" would collide without the length prefixes.
  const Package p1{"ab", "c", "1", "", ""};
  const Package p2{"a", "bc", "1", "", ""};
  EXPECT_NE(inventory_hash({p1}, {}), inventory_hash({p2}, {}));
  // A separator inside a value does not forge another record.
  const Package tricky{"a\n1:b", "", "1", "", ""};
  EXPECT_NE(inventory_hash({tricky}, {}), inventory_hash({{"a", "", "1", "", ""}}, {}));
  // Advisories moved between two updates change the hash.
  auto u = updates();
  auto v = updates();
  v[1].advisories.push_back(v[0].advisories.back());
  v[0].advisories.pop_back();
  EXPECT_NE(inventory_hash({}, u), inventory_hash({}, v));
  // The serialisation is the documented one.
  const std::string text = canonical_inventory({{"n", "all", "1.0", "s", "1.0"}}, {});
  EXPECT_EQ(text, "patchflow-inventory-v1\npackages 1\n1:n3:all3:1.01:s3:1.0\nupdates 0\n");
}

}  // namespace
