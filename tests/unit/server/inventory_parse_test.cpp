// SPDX-License-Identifier: Apache-2.0
// parse_inventory, the streaming reader of PUT /agent/v1/inventory: the rows it gives, its
// errors (message and field, as the integration tests and agents see them), and agreement
// with the document-based reference on generated and damaged bodies.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "inventory_parse.hpp"
#include "inventory_reference.hpp"

namespace pf::server {
namespace {

using testing::compare;
using testing::reference_parse_inventory;

TEST(InventoryParse, ReadsRowsAndIgnoresUnknownFields) {
  const std::string body = R"({
    "agent": {"name": "x", "list": [1, {"hash": 5}]},
    "hash": "sha256:1",
    "packages": [
      {"name": "bash", "version": "5.2-1", "arch": "amd64", "source": "bash",
       "source_version": "5.2-1", "extra": {"name": 7, "version": [null]}},
      {"version": "1.0", "name": "zlib1g", "arch": null}
    ],
    "updates": [
      {"name": "bash", "candidate": "5.2-2", "installed": "5.2-1", "arch": "amd64",
       "origin": "Debian-Security", "security": true, "advisories": ["DSA-1", "DSA-2"],
       "held_reason": "", "future": [[["deep"]]]},
      {"name": "zlib1g", "candidate": "1.1", "security": null, "advisories": null}
    ],
    "trailing": null})";
  auto r = parse_inventory(body);
  ASSERT_TRUE(r) << r.error().message << " @ " << r.error().field;
  EXPECT_EQ(r->hash, "sha256:1");
  ASSERT_EQ(r->packages.size(), 2U);
  EXPECT_EQ(r->packages[0].name, "bash");
  EXPECT_EQ(r->packages[0].version, "5.2-1");
  EXPECT_EQ(r->packages[0].arch, "amd64");
  EXPECT_EQ(r->packages[0].source_name, "bash");
  EXPECT_EQ(r->packages[0].source_version, "5.2-1");
  EXPECT_EQ(r->packages[1].name, "zlib1g");
  EXPECT_EQ(r->packages[1].arch, "");
  ASSERT_EQ(r->updates.size(), 2U);
  EXPECT_EQ(r->updates[0].candidate_version, "5.2-2");
  EXPECT_EQ(r->updates[0].installed_version, "5.2-1");
  EXPECT_EQ(r->updates[0].origin, "Debian-Security");
  EXPECT_TRUE(r->updates[0].security);
  EXPECT_EQ(r->updates[0].advisories, (std::vector<std::string>{"DSA-1", "DSA-2"}));
  EXPECT_FALSE(r->updates[1].security);
  EXPECT_TRUE(r->updates[1].advisories.empty());
  EXPECT_EQ(compare(r, reference_parse_inventory(body)), "");
}

TEST(InventoryParse, LastValueOfARepeatedKeyCounts) {
  auto r = parse_inventory(
      R"({"hash":5,"packages":[{"name":"old","version":"1"}],"hash":"h",)"
      R"("packages":[{"name":"a","version":"1","name":"b"}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->hash, "h");
  ASSERT_EQ(r->packages.size(), 1U);
  EXPECT_EQ(r->packages[0].name, "b");
  auto bad = parse_inventory(R"({"hash":"h","hash":[1]})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "expected a string, got an array");
}

struct Case {
  const char* body;
  const char* message;
  const char* field;
};

TEST(InventoryParse, ErrorsNameTheFieldInTheFixedOrder) {
  const Case cases[] = {
      {R"({"hash":"h",)", "", "body"},  // malformed: message checked by prefix below
      {R"([1,2])", "the body must be a JSON object", "body"},
      {R"("text")", "the body must be a JSON object", "body"},
      {R"({"packages":[]})", "missing", "hash"},
      {R"({"hash":null})", "missing", "hash"},
      {R"({"hash":""})", "empty", "hash"},
      {R"({"hash":{"a":1}})", "expected a string, got an object", "hash"},
      {R"({"hash":"a\u0000b"})", "contains a NUL", "hash"},
      // The hash is checked first wherever it stands.
      {R"({"packages":7,"hash":3})", "expected a string, got a number", "hash"},
      {R"({"hash":"h","packages":{}})", "expected an array", "packages"},
      {R"({"hash":"h","updates":"x"})", "expected an array", "updates"},
      {R"({"hash":"h","packages":[1]})", "expected an object", "packages[0]"},
      {R"({"hash":"h","packages":[{"name":"a","version":"1"},[]]})", "expected an object",
       "packages[1]"},
      {R"({"hash":"h","packages":[{"version":"1"}]})", "missing", "packages[0].name"},
      {R"({"hash":"h","packages":[{"name":"a"}]})", "missing", "packages[0].version"},
      {R"({"hash":"h","packages":[{"name":"a","version":1}]})", "expected a string, got a number",
       "packages[0].version"},
      // name is checked before version, whatever the order in the row.
      {R"({"hash":"h","packages":[{"version":true,"name":false}]})",
       "expected a string, got a boolean", "packages[0].name"},
      {R"({"hash":"h","packages":[{"name":"a","version":"1","arch":[]}]})",
       "expected a string, got an array", "packages[0].arch"},
      {R"({"hash":"h","packages":[{"name":"a","version":"1","source":"\u0000"}]})",
       "contains a NUL", "packages[0].source"},
      // Packages before updates, whatever the order of the keys.
      {R"({"hash":"h","updates":[5],"packages":[{"name":"a"}]})", "missing",
       "packages[0].version"},
      {R"({"hash":"h","updates":[{"name":"a"}]})", "missing", "updates[0].candidate"},
      {R"({"hash":"h","updates":[{"name":"a","candidate":"1","origin":2}]})",
       "expected a string, got a number", "updates[0].origin"},
      {R"({"hash":"h","updates":[{"name":"a","candidate":"1","security":"yes"}]})",
       "expected true or false, got a string", "updates[0].security"},
      {R"({"hash":"h","updates":[{"name":"a","candidate":"1","advisories":"DSA-1"}]})",
       "expected an array of strings, got a string", "updates[0].advisories"},
      {R"({"hash":"h","updates":[{"name":"a","candidate":"1","advisories":["a",{}]}]})",
       "expected a string", "updates[0].advisories[1]"},
      // The store's checks come last.
      {R"({"hash":"h","packages":[{"name":"","version":"1"}]})", "package without a name",
       "packages[0]"},
      {R"({"hash":"h","updates":[{"name":"a","candidate":"1","advisories":[""]}]})",
       "empty advisory id", "updates[0]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = parse_inventory(c.body);
    ASSERT_FALSE(r);
    if (std::string_view(c.message).empty()) {
      EXPECT_TRUE(r.error().message.starts_with("malformed JSON: parse error at line 1"))
          << r.error().message;
    } else {
      EXPECT_EQ(r.error().message, c.message);
    }
    EXPECT_EQ(r.error().field, c.field);
    EXPECT_EQ(compare(r, reference_parse_inventory(c.body)), "");
  }
}

TEST(InventoryParse, BoundsOnLengthsAndCounts) {
  const std::string long_text(store::kMaxFactField + 1, 'x');
  auto r = parse_inventory(R"({"hash":"h","packages":[{"name":"a","version":")" + long_text +
                           R"("}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "longer than 1024 bytes");
  EXPECT_EQ(r.error().field, "packages[0].version");

  r = parse_inventory(R"({"hash":"h","updates":[{"name":"a","candidate":"1","advisories":[")" +
                      long_text + R"("]}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "longer than 1024");
  EXPECT_EQ(r.error().field, "updates[0].advisories[0]");

  // 1001 advisories, the first of them bad: the count is what is refused.
  std::string many = R"({"hash":"h","updates":[{"name":"a","candidate":"1","advisories":[1)";
  for (int i = 0; i < 1000; ++i) many += R"(,"A")";
  many += "]}]}";
  r = parse_inventory(many);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "more than 1000 items");
  EXPECT_EQ(r.error().field, "updates[0].advisories");
  EXPECT_EQ(compare(r, reference_parse_inventory(many)), "");

  // One row more than the store takes, the first row already bad: the count wins.
  std::string rows = R"({"hash":"h","packages":[{})";
  rows.reserve(store::kMaxInventoryRows * 3 + 64);
  for (std::size_t i = 0; i < store::kMaxInventoryRows; ++i) rows += ",{}";
  rows += "]}";
  r = parse_inventory(rows);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "more than 200000 rows");
  EXPECT_EQ(r.error().field, "packages");
}

TEST(InventoryParse, MalformedJsonWinsOverAnEarlierBadField) {
  const std::string body = R"({"hash":7,"packages":[{"name":1}], "updates": [})";
  auto r = parse_inventory(body);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("malformed JSON: parse error at line 1, column "))
      << r.error().message;
  EXPECT_EQ(r.error().field, "body");
  EXPECT_EQ(compare(r, reference_parse_inventory(body)), "");
  // A number beyond a double: malformed JSON (the document-based reader threw out_of_range).
  r = parse_inventory(R"({"hash":"h","x":1e999})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "malformed JSON: number overflow parsing '1e999'");
}

// Random bodies from the inventory's own vocabulary (keys, types, repeated keys, long and
// NUL-bearing strings, nesting), some of them cut or with a byte changed: the streaming reader
// and the reference agree on every one.
class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  std::string body() {
    std::string out;
    object(out, 0);
    const int damage = pick(10);
    if (damage == 0 && !out.empty()) out.resize(pick(static_cast<int>(out.size())));
    if (damage == 1 && !out.empty()) {
      out[static_cast<std::size_t>(pick(static_cast<int>(out.size())))] = "{}[],:\"0ax "[pick(12)];
    }
    return out;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  void value(std::string& out, int depth) {
    switch (pick(depth > 3 ? 7 : 9)) {
      case 0: out += "null"; break;
      case 1: out += pick(2) ? "true" : "false"; break;
      case 2: out += std::to_string(pick(1000) - 10); break;
      case 3: out += pick(2) ? "1.5" : "-0"; break;
      case 4: out += "\"\""; break;
      case 5: out += pick(20) == 0 ? "\"" + std::string(1025, 'v') + "\"" : "\"a\\u0000\""; break;
      case 6: out += "\"v" + std::to_string(pick(5)) + "\""; break;
      case 7: object(out, depth + 1); break;
      default: array(out, depth + 1); break;
    }
  }

  void array(std::string& out, int depth) {
    out += '[';
    const int n = pick(4);
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ',';
      if (pick(3) != 0) {
        object(out, depth + 1);
      } else {
        value(out, depth + 1);
      }
    }
    out += ']';
  }

  void object(std::string& out, int depth) {
    static const char* const kKeys[] = {
        "hash", "packages", "updates", "name", "arch", "version", "source", "source_version",
        "installed", "candidate", "origin", "held_reason", "security", "advisories", "x"};
    out += '{';
    const int n = pick(depth == 0 ? 6 : 7);
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ',';
      const char* key = kKeys[pick(15)];
      out += '"';
      out += key;
      out += "\":";
      if (pick(3) != 0 && depth < 4) {
        plausible(out, key, depth);
      } else {
        value(out, depth);
      }
    }
    out += '}';
  }

  void plausible(std::string& out, std::string_view key, int depth) {
    if (key == "packages" || key == "updates" || key == "advisories") {
      array(out, depth + 1);
    } else if (key == "security") {
      out += pick(2) ? "true" : "false";
    } else {
      out += "\"v" + std::to_string(pick(3)) + "\"";
    }
  }

  std::mt19937 rng_;
};

TEST(InventoryParse, AgreesWithTheDocumentReader) {
  Generator gen(20240605);
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string body = gen.body();
    const auto mine = parse_inventory(body);
    const auto ref = reference_parse_inventory(body);
    const std::string diff = compare(mine, ref);
    ASSERT_EQ(diff, "") << body;
    (mine ? accepted : refused)++;
  }
  // The generator reaches both outcomes (otherwise the comparison says little).
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace pf::server
