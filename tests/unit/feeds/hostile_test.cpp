// SPDX-License-Identifier: Apache-2.0
// Hostile input: every importer rejects it with the file and the position, and never crashes.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "support.hpp"

using namespace pf::feeds;
using namespace pf::feeds::testing;

namespace {

const std::filesystem::path kSample =
    "almalinux-osv-database/sample/almalinux9_ALSA-2026:7896.json";

void write_gzip(const std::filesystem::path& path, std::string_view content) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = static_cast<unsigned>(std::min<std::size_t>(content.size() - done, 1u << 20));
    ASSERT_EQ(gzwrite(gz, content.data() + done, n), static_cast<int>(n));
    done += n;
  }
  ASSERT_EQ(gzclose(gz), Z_OK);
}

/// Rewrites the uncompressed size of `entry` in the zip's local and central headers; returns
/// how many headers were changed.
int understate_size(std::string& zip, std::string_view entry, std::uint32_t size) {
  auto u16 = [&](std::size_t at) {
    return static_cast<std::size_t>(static_cast<unsigned char>(zip[at])) |
           static_cast<std::size_t>(static_cast<unsigned char>(zip[at + 1])) << 8;
  };
  auto put32 = [&](std::size_t at) {
    for (int i = 0; i < 4; ++i) zip[at + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  };
  int changed = 0;
  for (std::size_t at = 0; at + 46 < zip.size(); ++at) {
    if (zip.compare(at, 4, "PK\x03\x04") == 0 &&
        zip.compare(at + 30, entry.size(), entry) == 0 && u16(at + 26) == entry.size()) {
      put32(at + 22);
      ++changed;
    } else if (zip.compare(at, 4, "PK\x01\x02") == 0 &&
               zip.compare(at + 46, entry.size(), entry) == 0 && u16(at + 28) == entry.size()) {
      put32(at + 24);
      ++changed;
    }
  }
  return changed;
}

pf::Result<ImportStats> osv(std::string_view bytes, const ImportOptions& options = {}) {
  return import_osv_bytes(bytes, "doc.json", options,
                          [](pf::advisories::Advisory&&, const RecordNotes&) { return true; });
}

TEST(Hostile, TruncatedJson) {
  const std::string full = read_file(data() / kSample);
  TempDir tmp;
  const auto cut = tmp.write("cut.json", std::string_view(full).substr(0, full.size() / 2));
  Collected got;
  EXPECT_TRUE(fails_with(import_osv(cut, {}, got.advisory_sink()), "truncated", "cut.json:"));
  EXPECT_TRUE(got.advisories.empty());  // nothing delivered for a broken document
  // Every proper prefix of a small document fails, none crashes.
  const std::string doc = R"({"id":"A-1","affected":[{"package":{"ecosystem":"Debian:12","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-1"}]}]}]})";
  ASSERT_TRUE(osv(doc));
  for (std::size_t n = 0; n < doc.size(); ++n) {
    const auto r = osv(std::string_view(doc).substr(0, n));
    ASSERT_FALSE(r) << n;
    EXPECT_TRUE(r.error().where.starts_with("doc.json:1:")) << r.error().where;
  }
}

TEST(Hostile, WrongTypesNameTheJsonPath) {
  EXPECT_TRUE(fails_with(osv(R"({"id":"A","affected":{}})"),
                         "expected affected to be an array, found an object",
                         "doc.json:1:22 (byte 21) at $.affected"));
  EXPECT_TRUE(fails_with(osv(R"({"id":5})"), "expected id to be a string, found a number",
                         "doc.json:1:7 (byte 6) at $.id"));
  EXPECT_TRUE(fails_with(
      osv("{\"id\":\"A\",\n \"affected\":[{\"package\":{\"name\":\"x\"},\n \"ranges\":[{\"events\":[{\"fixed\":1}]}]}]}"),
      "expected an event version to be a string, found a number",
      "doc.json:3:32 (byte 80) at $.affected[0].ranges[0].events[0].fixed"));
  EXPECT_TRUE(fails_with(osv(R"({"id":"A","published":"yesterday"})"),
                         "published is not an RFC 3339 time", "$.published"));
  EXPECT_TRUE(fails_with(osv(R"(["id"])"), "expected the OSV document to be an object", "doc.json:1:1"));
  EXPECT_TRUE(fails_with(osv(R"({"summary":"no id"})"), "has no id", "doc.json"));
}

TEST(Hostile, HundredMegabyteString) {
  std::string doc = R"({"id":"A","details":")";
  doc.append(100u << 20, 'a');
  doc += "\"}";
  TempDir tmp;
  const auto file = tmp.write("big.json", doc);
  Collected got;
  EXPECT_TRUE(fails_with(import_osv(file, {}, got.advisory_sink()),
                         "string longer than the limit of 1048576 bytes",
                         "big.json:1:22 (byte 21) at $.details"));
  EXPECT_TRUE(fails_with(
      import_kev_bytes(R"({"vulnerabilities":[{"cveID":")" + std::string(100u << 20, '9') + "\"}]}",
                       "kev.json", {}, got.cve_sink()),
      "string longer than", "kev.json:1:31 (byte 30) at $.vulnerabilities[0].cveID"));
}

TEST(Hostile, HundredThousandLevelsOfNesting) {
  // Under a key the importer skips, so only the depth limit stops it: the 64th level fails.
  const std::string deep =
      R"({"id":"A","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_TRUE(fails_with(osv(deep), "nested deeper than the limit of 64 levels",
                         "doc.json:1:78 (byte 77) at $.x"));
  Collected got;
  EXPECT_TRUE(fails_with(
      import_debian_tracker_bytes(R"({"p":{"CVE-2024-1":{"scope":)" + std::string(100000, '['),
                                  "t.json", {}, got.advisory_sink()),
      "nested deeper", "t.json:1:"));
  EXPECT_TRUE(fails_with(import_nvd_bytes(std::string(100000, '['), "n.json", {}, got.cve_sink()),
                         "expected the NVD document to be an object, found an array", "n.json:1:1"));
}

TEST(Hostile, ZipBombEntryStopsAtTheLimit) {
  TempDir tmp;
  const auto zip = tmp.path() / "bomb.zip";
  std::string payload = "{\"id\":\"A\"";
  payload.append(200u << 20, ' ');  // valid JSON white space: only the size limit stops it
  payload += "}";
  // The sizes in the zip's headers lie (100 bytes): the limit is enforced while decompressing.
  write_zip(zip, {{"all/ok.json", R"({"id":"OK-1"})"}, {"all/bomb.json", payload}});
  std::string bytes = read_file(zip);
  ASSERT_EQ(understate_size(bytes, "all/bomb.json", 100), 2);  // local and central headers
  { std::ofstream(zip, std::ios::binary | std::ios::trunc) << bytes; }
  EXPECT_LT(std::filesystem::file_size(zip), 1u << 20);  // 200 MB in well under 1 MB

  Collected got;
  EXPECT_TRUE(fails_with(import_osv(zip, {}, got.advisory_sink()),
                         "archive entry exceeds the limit of 67108864 bytes after decompression",
                         "bomb.zip!all/bomb.json (byte 67108864)"));
  EXPECT_EQ(got.advisories.size(), 1u);  // delivered before the bomb; the Result says failure

  // A declared size over the limit is refused before decompressing anything.
  const auto declared = tmp.path() / "declared.zip";
  write_zip(declared, {{"all/bomb.json", payload}});
  EXPECT_TRUE(fails_with(import_osv(declared, {}, got.advisory_sink()),
                         "declares 209715210 bytes, which exceeds the limit of 67108864 bytes",
                         "declared.zip!all/bomb.json"));

  ImportOptions small;
  small.limits.max_entry_bytes = 1u << 20;
  EXPECT_TRUE(fails_with(import_osv(zip, small, got.advisory_sink()), "exceeds the limit of 1048576",
                         "bomb.zip!all/bomb.json"));
  // From memory, too.
  EXPECT_TRUE(fails_with(import_osv_archive_bytes(bytes, "mem.zip", small, got.advisory_sink()),
                         "exceeds the limit of 1048576", "mem.zip!all/bomb.json"));

  // A gzip bomb as a single document.
  const auto gz = tmp.path() / "bomb.json.gz";
  write_gzip(gz, payload);
  small.limits.max_document_bytes = 8u << 20;
  EXPECT_TRUE(fails_with(import_osv(gz, small, got.advisory_sink()),
                         "document exceeds the limit of 8388608 bytes", "bomb.json.gz"));
}

TEST(Hostile, ArchiveEntriesReachingOutside) {
  TempDir tmp;
  Collected got;
  for (const char* name : {"../../etc/passwd", "all/../../x.json", "/etc/passwd.json"}) {
    SCOPED_TRACE(name);
    const auto zip = tmp.path() / "evil.zip";
    write_zip(zip, {{"all/ok.json", R"({"id":"OK-1"})"}, {name, "root:x:0:0::/root:/bin/sh\n"}});
    EXPECT_TRUE(fails_with(import_osv(zip, {}, got.advisory_sink()), "contains '..'",
                           std::string("evil.zip!") + name));
  }
}

TEST(Hostile, EmptyAndNonUtf8Files) {
  TempDir tmp;
  Collected got;
  const auto empty = tmp.write("empty.json", "");
  EXPECT_TRUE(fails_with(import_osv(empty, {}, got.advisory_sink()), "empty document",
                         "empty.json:1:1 (byte 0)"));
  EXPECT_TRUE(fails_with(import_debian_tracker(empty, {}, got.advisory_sink()), "empty document",
                         "empty.json:1:1"));
  EXPECT_TRUE(fails_with(import_kev(empty, {}, got.cve_sink()), "empty document", "empty.json"));
  EXPECT_TRUE(fails_with(import_nvd(empty, {}, got.cve_sink()), "empty document", "empty.json"));
  EXPECT_TRUE(fails_with(import_epss(empty, {}, got.cve_sink()), "empty document", "empty.json"));

  const auto latin1 = tmp.write("latin1.json", "{\"id\":\"caf\xE9\"}");
  EXPECT_TRUE(fails_with(import_osv(latin1, {}, got.advisory_sink()), "invalid UTF-8",
                         "latin1.json:1:"));
  const auto utf16 = tmp.write("utf16.json", std::string("\xFF\xFE{\0\"\0", 6));
  EXPECT_TRUE(fails_with(import_osv(utf16, {}, got.advisory_sink()), "not UTF-8",
                         "utf16.json:1:1 (byte 0)"));
  EXPECT_TRUE(fails_with(osv("{\"id\":\"\xC0\xAF\"}"), "invalid UTF-8", "doc.json:1:8"));
  EXPECT_TRUE(fails_with(osv("{\"id\":\"\xED\xA0\x80\"}"), "invalid UTF-8", "doc.json:1:"));
  EXPECT_TRUE(fails_with(osv(R"({"id":"\udc00"})"), "lone low surrogate", "doc.json:1:"));
  EXPECT_TRUE(fails_with(osv("{\"id\":\"a\nb\"}"), "unescaped control character", "doc.json:1:9"));
  EXPECT_TRUE(fails_with(import_epss_bytes("cve,epss\nCVE-2024-0001,0.\xFF\n", "e.csv", {},
                                           got.cve_sink()),
                         "epss is not a number", "e.csv:2:15"));
}

TEST(Hostile, OtherMalformedInput) {
  EXPECT_TRUE(fails_with(osv(R"({"id":"A"} x)"), "after the end of the JSON document",
                         "doc.json:1:12"));
  EXPECT_TRUE(fails_with(osv(R"({"id":"A","x":1e999})"), "number out of range", "doc.json:1:15 (byte 14) at $.x"));
  EXPECT_TRUE(fails_with(osv(R"({"id":"A","x":01})"), "expected ',' or '}'", "doc.json:1:16"));
  EXPECT_TRUE(fails_with(osv(R"({"id":"A",})"), "expected a string key", "doc.json:1:11"));
  EXPECT_TRUE(fails_with(osv(R"({"id":"A" "x":1})"), "expected ',' or '}'", "doc.json:1:11"));
  EXPECT_TRUE(fails_with(osv(R"({"id":tru})"), "invalid literal", "doc.json:1:10"));

  TempDir tmp;
  Collected got;
  const auto fake = tmp.write("fake.zip", std::string("PK\x03\x04garbage-not-a-zip", 21));
  EXPECT_TRUE(fails_with(import_osv(fake, {}, got.advisory_sink()), "archive", "fake.zip"));

  // A truncated gzip stream.
  const auto gz = tmp.path() / "doc.json.gz";
  write_gzip(gz, read_file(data() / kSample));
  const std::string bytes = read_file(gz);
  const auto cut = tmp.write("cut.json.gz", std::string_view(bytes).substr(0, bytes.size() / 2));
  EXPECT_TRUE(fails_with(import_osv(cut, {}, got.advisory_sink()), "truncated gzip stream",
                         "cut.json.gz"));
  // The intact one imports.
  EXPECT_TRUE(import_osv(gz, {}, got.advisory_sink()));

  ImportOptions few;
  few.limits.max_records = 2;
  EXPECT_TRUE(fails_with(import_kev(data() / "cisa-kev/known_exploited_vulnerabilities.json", few,
                                    got.cve_sink()),
                         "more records than the limit of 2", "known_exploited_vulnerabilities.json:"));
  EXPECT_TRUE(fails_with(import_osv(data() / "does-not-exist.json", {}, got.advisory_sink()),
                         "no such file", "does-not-exist.json"));
}

TEST(Hostile, NoSinkForTheKindOfRecord) {
  const auto r = import_path(data() / "cisa-kev/known_exploited_vulnerabilities.json", {},
                             [](pf::advisories::Advisory&&, const RecordNotes&) { return true; },
                             {});
  EXPECT_TRUE(fails_with(r, "no CVE sink", "known_exploited_vulnerabilities.json"));
}

}  // namespace
