// SPDX-License-Identifier: Apache-2.0
// Import throughput of the feed importers, in MB/s of (decompressed) document bytes:
//   - OSV: the whole AlmaLinux database (5,680 advisories, ~36 MB of JSON) as an unpacked
//     directory, as a zip laid out like OSV's all.zip, and as the tar.xz it is shipped in;
//   - NVD CVE API 2.0 JSON and the Debian tracker JSON, each a real sample replicated to ~64 MB.
// The inputs are built once in a temporary directory that is removed at exit.
#include <archive.h>
#include <archive_entry.h>
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "patchflow/feeds/feeds.hpp"
#include "patchflow/testing/data.hpp"

namespace fs = std::filesystem;
using namespace pf::feeds;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

/// The inputs, built on first use.
class Inputs {
 public:
  static Inputs& get() {
    static Inputs inputs;
    return inputs;
  }
  Inputs(const Inputs&) = delete;
  Inputs& operator=(const Inputs&) = delete;
  ~Inputs() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  const fs::path& alma_tar_xz() const { return tar_xz_; }
  const fs::path& alma_dir() {
    if (dir_.empty()) unpack();
    return dir_;
  }
  const fs::path& alma_zip() {
    if (zip_.empty()) unpack();
    return zip_;
  }
  const fs::path& nvd() {
    if (nvd_.empty()) {
      nvd_ = root_ / "nvd.json";
      replicate_nvd();
    }
    return nvd_;
  }
  const fs::path& tracker() {
    if (tracker_.empty()) {
      tracker_ = root_ / "tracker.json";
      replicate_tracker();
    }
    return tracker_;
  }

 private:
  Inputs() {
    std::random_device rd;
    root_ = fs::temp_directory_path() / ("pf-feeds-bench-" + std::to_string(rd()));
    fs::create_directories(root_);
    tar_xz_ = pf::testing::shared_data_dir() / "almalinux-osv-database/advisories-full.tar.xz";
  }

  // Unpacks the tar.xz into a directory and writes the same entries into a zip.
  void unpack() {
    dir_ = root_ / "alma";
    zip_ = root_ / "all.zip";
    archive* in = archive_read_new();
    archive_read_support_format_tar(in);
    archive_read_support_filter_xz(in);
    if (archive_read_open_filename(in, tar_xz_.c_str(), 1 << 16) != ARCHIVE_OK) {
      throw std::runtime_error("cannot open " + tar_xz_.string());
    }
    archive* out = archive_write_new();
    archive_write_set_format_zip(out);
    archive_write_open_filename(out, zip_.c_str());
    archive_entry* entry = nullptr;
    std::vector<char> buffer(1 << 16);
    while (archive_read_next_header(in, &entry) == ARCHIVE_OK) {
      if (archive_entry_filetype(entry) != AE_IFREG) continue;
      std::string content;
      for (la_ssize_t n; (n = archive_read_data(in, buffer.data(), buffer.size())) > 0;) {
        content.append(buffer.data(), static_cast<std::size_t>(n));
      }
      const std::string name = archive_entry_pathname(entry);
      write_file(dir_ / name, content);
      archive_entry* z = archive_entry_new();
      archive_entry_set_pathname(z, name.c_str());
      archive_entry_set_size(z, static_cast<la_int64_t>(content.size()));
      archive_entry_set_filetype(z, AE_IFREG);
      archive_entry_set_perm(z, 0644);
      archive_write_header(out, z);
      archive_write_data(out, content.data(), content.size());
      archive_entry_free(z);
    }
    archive_read_free(in);
    archive_write_close(out);
    archive_write_free(out);
  }

  // Repeats the elements of a JSON document's top-level array "vulnerabilities" to ~64 MB.
  void replicate_nvd() {
    const std::string sample =
        read_file(pf::testing::shared_data_dir() / "claircore/enricher/cvss/testdata/feed.json");
    const std::size_t key = sample.find("\"vulnerabilities\"");
    const std::size_t open = sample.find('[', key);
    const std::size_t close = sample.rfind(']');
    const std::string items = sample.substr(open + 1, close - open - 1);
    std::string doc = sample.substr(0, open + 1);
    const std::size_t copies = (64u << 20) / items.size() + 1;
    doc.reserve(copies * (items.size() + 1) + 64);
    for (std::size_t i = 0; i < copies; ++i) {
      if (i > 0) doc += ',';
      doc += items;
    }
    doc += sample.substr(close);
    write_file(nvd_, doc);
  }

  // Repeats the tracker sample's packages under new names to ~64 MB.
  void replicate_tracker() {
    const std::string sample = read_file(
        pf::testing::shared_data_dir() /
        "vunnel/tests/unit/providers/debian/test-fixtures/input/debian.json");
    const std::size_t open = sample.find('{');
    const std::size_t close = sample.rfind('}');
    const std::string body = sample.substr(open + 1, close - open - 1);  // "pkg": {...}, ...
    std::string doc = "{";
    const std::size_t copies = (64u << 20) / body.size() + 1;
    for (std::size_t i = 0; i < copies; ++i) {
      if (i > 0) doc += ',';
      // Rename the packages of this copy: "name" → "name-<i>" for the top-level keys only.
      std::string copy = body;
      int depth = 0;
      for (std::size_t p = 0; p < copy.size(); ++p) {
        const char c = copy[p];
        if (c == '"') {
          const std::size_t end = copy.find('"', p + 1);
          if (depth == 0) {
            std::string suffix(1, '-');  // (not "-" + to_string: g++ 12 -Wrestrict false positive)
            suffix += std::to_string(i);
            copy.insert(end, suffix);
            p = end + suffix.size();
          } else {
            // Skip strings (they contain no escaped quotes followed by braces in this sample).
            std::size_t q = p + 1;
            while (q < copy.size() && copy[q] != '"') q += copy[q] == '\\' ? 2 : 1;
            p = q;
          }
        } else if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          --depth;
        }
      }
      doc += copy;
    }
    doc += "}";
    write_file(tracker_, doc);
  }

  fs::path root_;
  fs::path tar_xz_;
  fs::path dir_;
  fs::path zip_;
  fs::path nvd_;
  fs::path tracker_;
};

template <class Import>
void run(benchmark::State& state, const fs::path& input, Import import) {
  std::uint64_t bytes = 0;
  std::uint64_t records = 0;
  for (auto _ : state) {
    const auto stats = import(input);
    if (!stats) {
      state.SkipWithError(pf::to_string(stats.error()).c_str());
      return;
    }
    bytes += stats->bytes;
    records += stats->records;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["MB_per_iter"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations()) / 1e6;
}

const AdvisorySink kAdvisories = [](pf::advisories::Advisory&& a, const RecordNotes&) {
  benchmark::DoNotOptimize(a.affected.data());
  return true;
};
const CveSink kCves = [](pf::advisories::CveInfo&& c) {
  benchmark::DoNotOptimize(c.id.data());
  return true;
};

void BM_OsvDirectory(benchmark::State& state) {
  run(state, Inputs::get().alma_dir(),
      [](const fs::path& p) { return import_osv(p, {}, kAdvisories); });
}
void BM_OsvZip(benchmark::State& state) {
  run(state, Inputs::get().alma_zip(),
      [](const fs::path& p) { return import_osv(p, {}, kAdvisories); });
}
void BM_OsvTarXz(benchmark::State& state) {
  run(state, Inputs::get().alma_tar_xz(),
      [](const fs::path& p) { return import_osv(p, {}, kAdvisories); });
}
void BM_NvdJson(benchmark::State& state) {
  run(state, Inputs::get().nvd(), [](const fs::path& p) { return import_nvd(p, {}, kCves); });
}
void BM_DebianTrackerJson(benchmark::State& state) {
  run(state, Inputs::get().tracker(),
      [](const fs::path& p) { return import_debian_tracker(p, {}, kAdvisories); });
}

BENCHMARK(BM_OsvDirectory)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_OsvZip)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_OsvTarXz)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_NvdJson)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_DebianTrackerJson)->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
