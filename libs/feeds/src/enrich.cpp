// SPDX-License-Identifier: Apache-2.0
// Enrichment feeds into CveInfo: CISA KEV (JSON), EPSS (CSV), NVD CVE API 2.0 (JSON).
#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include "common.hpp"

namespace pf::feeds::detail {
namespace {

namespace adv = pf::advisories;

bool is_date(std::string_view text) {
  std::int64_t ignored = 0;
  return text.size() == 10 && parse_rfc3339(text, ignored);
}

// ---- KEV ----------------------------------------------------------------------------------

void import_kev_document(ByteSource& source, const std::string& name, const Limits& limits,
                         const CveSink& sink, ImportStats& stats) {
  JsonReader r(source, name, limits);
  Delivery delivery(limits, stats);
  bool found = false;
  r.begin_object("the KEV catalog");
  while (r.next_key()) {
    if (r.text() != "vulnerabilities") {
      r.skip();
      continue;
    }
    found = true;
    r.begin_array("vulnerabilities");
    while (r.next_element()) {
      r.begin_object("vulnerabilities[]");
      const std::string where = r.where();
      adv::CveInfo info;
      info.kev = true;
      std::string ransomware;
      while (r.next_key()) {
        const std::string_view key = r.text();
        if (key == "cveID") {
          info.id = r.string("cveID");
          if (!is_cve_id(info.id)) r.error("cveID is not a CVE id: '" + info.id.substr(0, 64) + "'");
        } else if (key == "dateAdded") {
          info.kev_date_added = r.string("dateAdded");
          if (!is_date(info.kev_date_added)) {
            r.error("dateAdded is not a YYYY-MM-DD date: '" + info.kev_date_added.substr(0, 64) +
                    "'");
          }
        } else if (key == "knownRansomwareCampaignUse") {
          r.optional_string("knownRansomwareCampaignUse", ransomware);
        } else {
          r.skip();
        }
      }
      if (info.id.empty()) r.error("KEV entry without cveID");
      info.kev_ransomware = ransomware == "Known";
      delivery.cve(sink, std::move(info), where);
    }
  }
  r.finish();
  if (!found) {
    fail(Errc::invalid_input, "no \"vulnerabilities\" array: not a CISA KEV catalog", name);
  }
  ++stats.files;
  stats.bytes += source.delivered();
}

// ---- NVD ----------------------------------------------------------------------------------

struct Metric {
  int rank{-1};  // primary * 10 + version rank; -1 = none
  double score{0};
  std::string vector;
};

void read_metrics(JsonReader& r, std::string_view what, int version_rank, Metric& best) {
  if (r.peek() == Tok::null) {
    r.next();
    return;
  }
  r.begin_array(what);
  while (r.next_element()) {
    r.begin_object(what);
    bool primary = false;
    bool has_score = false;
    double score = 0;
    std::string vector;
    while (r.next_key()) {
      const std::string_view key = r.text();
      if (key == "type") {
        primary = r.string("metric type") == "Primary";
      } else if (key == "cvssData") {
        r.begin_object("cvssData");
        while (r.next_key()) {
          const std::string_view field = r.text();
          if (field == "baseScore") {
            score = r.number("baseScore");
            if (!(score >= 0.0 && score <= 10.0)) r.error("baseScore outside 0..10");
            has_score = true;
          } else if (field == "vectorString") {
            vector = r.string("vectorString");
          } else {
            r.skip();
          }
        }
      } else {
        r.skip();
      }
    }
    if (!has_score) r.error("CVSS metric without cvssData.baseScore");
    const int rank = (primary ? 10 : 0) + version_rank;
    if (rank > best.rank) best = Metric{rank, score, std::move(vector)};
  }
}

void read_nvd_item(JsonReader& r, adv::CveInfo& info) {
  r.begin_object("vulnerabilities[]");
  Metric v3;
  Metric v4;
  while (r.next_key()) {
    if (r.text() != "cve") {
      r.skip();
      continue;
    }
    r.begin_object("cve");
    while (r.next_key()) {
      const std::string_view key = r.text();
      if (key == "id") {
        info.id = r.string("cve.id");
        if (!is_cve_id(info.id)) r.error("cve.id is not a CVE id: '" + info.id.substr(0, 64) + "'");
      } else if (key == "metrics") {
        r.begin_object("cve.metrics");
        while (r.next_key()) {
          const std::string_view kind = r.text();
          if (kind == "cvssMetricV31") {
            read_metrics(r, "cvssMetricV31", 2, v3);
          } else if (kind == "cvssMetricV30") {
            read_metrics(r, "cvssMetricV30", 1, v3);
          } else if (kind == "cvssMetricV40") {
            read_metrics(r, "cvssMetricV40", 1, v4);
          } else {
            r.skip();  // cvssMetricV2 and future versions
          }
        }
      } else {
        r.skip();
      }
    }
  }
  if (info.id.empty()) r.error("NVD vulnerability without cve.id");
  if (v3.rank >= 0) {
    info.cvss3_score = v3.score;
    info.cvss3_vector = std::move(v3.vector);
  }
  if (v4.rank >= 0) {
    info.cvss4_score = v4.score;
    info.cvss4_vector = std::move(v4.vector);
  }
}

void import_nvd_document(ByteSource& source, const std::string& name, const Limits& limits,
                         const CveSink& sink, ImportStats& stats) {
  JsonReader r(source, name, limits);
  Delivery delivery(limits, stats);
  bool found = false;
  r.begin_object("the NVD document");
  while (r.next_key()) {
    if (r.text() != "vulnerabilities") {
      r.skip();
      continue;
    }
    found = true;
    r.begin_array("vulnerabilities");
    while (r.next_element()) {
      adv::CveInfo info;
      read_nvd_item(r, info);
      delivery.cve(sink, std::move(info), r.where());
    }
  }
  r.finish();
  if (!found) fail(Errc::invalid_input, "no \"vulnerabilities\" array: not an NVD CVE API 2.0 document", name);
  ++stats.files;
  stats.bytes += source.delivered();
}

// ---- EPSS ---------------------------------------------------------------------------------

/// Lines of a text document, each bounded, with its number and offset.
class LineReader {
 public:
  LineReader(ByteSource& source, std::string name, std::uint64_t max_line)
      : source_(source), name_(std::move(name)), max_line_(max_line), buffer_(64 * 1024) {}

  bool next(std::string& line) {
    line.clear();
    if (eof_ && pos_ == end_) return false;
    start_ = base_ + pos_;
    ++number_;
    for (;;) {
      if (pos_ == end_) {
        base_ += end_;
        pos_ = 0;
        end_ = source_.read(buffer_.data(), buffer_.size());
        if (end_ == 0) {
          eof_ = true;
          if (line.empty()) return false;
          break;
        }
      }
      const char* begin = buffer_.data() + pos_;
      const void* nl = std::memchr(begin, '\n', end_ - pos_);
      const std::size_t n = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - begin)
                               : end_ - pos_;
      line.append(begin, n);
      pos_ += n;
      if (line.size() > max_line_) {
        error(0, "line longer than the limit of " + std::to_string(max_line_) + " bytes");
      }
      if (nl) {
        ++pos_;
        break;
      }
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  [[noreturn]] void error(std::size_t column, std::string message) const {
    fail(Errc::invalid_input, std::move(message),
         position_text(name_, number_, column + 1, start_ + column));
  }
  [[nodiscard]] std::uint64_t line_number() const noexcept { return number_; }

 private:
  ByteSource& source_;
  std::string name_;
  std::uint64_t max_line_;
  std::vector<char> buffer_;
  std::size_t pos_{0};
  std::size_t end_{0};
  std::uint64_t base_{0};
  std::uint64_t start_{0};
  std::uint64_t number_{0};
  bool eof_{false};
};

double probability(const LineReader& lines, std::string_view field, std::size_t column,
                   std::string_view what) {
  double value = 0;
  const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (field.empty() || ec != std::errc() || ptr != field.data() + field.size() ||
      !(value >= 0.0 && value <= 1.0)) {
    lines.error(column, std::string(what) + " is not a number between 0 and 1: '" +
                            std::string(field.substr(0, 32)) + "'");
  }
  return value;
}

void import_epss_document(ByteSource& source, const std::string& name, const Limits& limits,
                          const CveSink& sink, ImportStats& stats) {
  LineReader lines(source, name, std::min<std::uint64_t>(limits.max_string_bytes, 1u << 20));
  Delivery delivery(limits, stats);
  std::string line;
  if (!lines.next(line)) lines.error(0, "empty document: not an EPSS CSV file");
  if (line.starts_with('#')) {
    if (!line.starts_with("#model_version:")) {
      lines.error(0, "unrecognised EPSS comment line (expected #model_version:…,score_date:…)");
    }
    if (!lines.next(line)) lines.error(0, "EPSS file ends after its comment line");
  }
  bool percentile;
  if (line == "cve,epss,percentile") {
    percentile = true;
  } else if (line == "cve,epss") {
    percentile = false;
  } else {
    lines.error(0, "unrecognised EPSS header '" + line.substr(0, 64) +
                       "' (expected cve,epss,percentile or cve,epss)");
  }
  while (lines.next(line)) {
    if (line.empty()) continue;
    const std::size_t c1 = line.find(',');
    if (c1 == std::string::npos) lines.error(0, "expected cve,epss" + std::string(percentile ? ",percentile" : ""));
    const std::string_view view(line);
    const std::string_view id = view.substr(0, c1);
    if (!is_cve_id(id)) lines.error(0, "not a CVE id: '" + std::string(id.substr(0, 32)) + "'");
    std::size_t c2 = view.find(',', c1 + 1);
    adv::CveInfo info;
    info.id = id;
    if (percentile) {
      if (c2 == std::string::npos) lines.error(line.size(), "missing percentile column");
      if (view.find(',', c2 + 1) != std::string::npos) {
        lines.error(view.find(',', c2 + 1), "too many columns");
      }
      info.epss = probability(lines, view.substr(c1 + 1, c2 - c1 - 1), c1 + 1, "epss");
      info.epss_percentile = probability(lines, view.substr(c2 + 1), c2 + 1, "percentile");
    } else {
      if (c2 != std::string::npos) lines.error(c2, "too many columns");
      info.epss = probability(lines, view.substr(c1 + 1), c1 + 1, "epss");
    }
    delivery.cve(sink, std::move(info), name + ":" + std::to_string(lines.line_number()));
  }
  ++stats.files;
  stats.bytes += source.delivered();
}

template <class Import>
Result<ImportStats> from_file(const std::filesystem::path& path, const ImportOptions& options,
                              const CveSink& sink, Import import) {
  return guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    auto source = open_document(path, options.limits.max_document_bytes);
    import(*source, path.string(), options.limits, sink, stats);
    return stats;
  });
}

template <class Import>
Result<ImportStats> from_bytes(std::string_view data, std::string_view name,
                               const ImportOptions& options, const CveSink& sink, Import import) {
  return guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    auto source = open_document(data, name, options.limits.max_document_bytes);
    import(*source, std::string(name), options.limits, sink, stats);
    return stats;
  });
}

}  // namespace
}  // namespace pf::feeds::detail

namespace pf::feeds {

Result<ImportStats> import_kev(const std::filesystem::path& path, const ImportOptions& options,
                               const CveSink& on_cve) {
  return detail::from_file(path, options, on_cve, detail::import_kev_document);
}
Result<ImportStats> import_kev_bytes(std::string_view data, std::string_view name,
                                     const ImportOptions& options, const CveSink& on_cve) {
  return detail::from_bytes(data, name, options, on_cve, detail::import_kev_document);
}
Result<ImportStats> import_epss(const std::filesystem::path& path, const ImportOptions& options,
                                const CveSink& on_cve) {
  return detail::from_file(path, options, on_cve, detail::import_epss_document);
}
Result<ImportStats> import_epss_bytes(std::string_view data, std::string_view name,
                                      const ImportOptions& options, const CveSink& on_cve) {
  return detail::from_bytes(data, name, options, on_cve, detail::import_epss_document);
}
Result<ImportStats> import_nvd(const std::filesystem::path& path, const ImportOptions& options,
                               const CveSink& on_cve) {
  return detail::from_file(path, options, on_cve, detail::import_nvd_document);
}
Result<ImportStats> import_nvd_bytes(std::string_view data, std::string_view name,
                                     const ImportOptions& options, const CveSink& on_cve) {
  return detail::from_bytes(data, name, options, on_cve, detail::import_nvd_document);
}

}  // namespace pf::feeds
