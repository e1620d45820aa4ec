// SPDX-License-Identifier: Apache-2.0
#include "common.hpp"

#include <algorithm>

namespace pf::feeds::detail {
namespace {

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& value) noexcept {
  if (pos + count > text.size()) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

bool leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

bool parse_rfc3339(std::string_view t, std::int64_t& seconds) noexcept {
  int y, mo, d, h = 0, mi = 0, s = 0;
  if (!digits(t, 0, 4, y) || t.size() < 10 || t[4] != '-' || !digits(t, 5, 2, mo) ||
      t[7] != '-' || !digits(t, 8, 2, d)) {
    return false;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0)) return false;
  std::size_t p = 10;
  std::int64_t offset = 0;
  if (p < t.size()) {
    if (t[p] != 'T' && t[p] != 't' && t[p] != ' ') return false;
    if (!digits(t, p + 1, 2, h) || t.size() < p + 9 || t[p + 3] != ':' ||
        !digits(t, p + 4, 2, mi) || t[p + 6] != ':' || !digits(t, p + 7, 2, s)) {
      return false;
    }
    if (h > 23 || mi > 59 || s > 60) return false;  // 60: a leap second
    p += 9;
    if (p < t.size() && t[p] == '.') {
      ++p;
      const std::size_t start = p;
      while (p < t.size() && t[p] >= '0' && t[p] <= '9') ++p;
      if (p == start) return false;
    }
    if (p < t.size()) {
      if (t[p] == 'Z' || t[p] == 'z') {
        ++p;
      } else if (t[p] == '+' || t[p] == '-') {
        int oh, om;
        if (!digits(t, p + 1, 2, oh) || t.size() < p + 6 || t[p + 3] != ':' ||
            !digits(t, p + 4, 2, om) || oh > 23 || om > 59) {
          return false;
        }
        offset = (oh * 3600 + om * 60) * (t[p] == '+' ? 1 : -1);
        p += 6;
      } else {
        return false;
      }
    }
    if (p != t.size()) return false;
  }
  seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  return true;
}

bool is_cve_id(std::string_view t) noexcept {
  if (t.size() < 13 || t.size() > 32 || t.substr(0, 4) != "CVE-" || t[8] != '-') return false;
  for (std::size_t i = 4; i < t.size(); ++i) {
    if (i == 8) continue;
    if (t[i] < '0' || t[i] > '9') return false;
  }
  return true;
}

void add_unique(std::vector<std::string>& list, std::string_view value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.emplace_back(value);
}

advisories::Severity severity_word(std::string_view word) {
  while (!word.empty() && (word.back() == '*' || word.back() == ' ')) word.remove_suffix(1);
  while (!word.empty() && word.front() == ' ') word.remove_prefix(1);
  auto severity = advisories::severity_from_name(word);
  return severity ? *severity : advisories::Severity::unknown;
}

void Delivery::count(const std::string& where) {
  if (stats_.records >= limits_.max_records) {
    fail(Errc::invalid_input,
         "more records than the limit of " + std::to_string(limits_.max_records), where);
  }
  ++stats_.records;
}

void Delivery::advisory(const AdvisorySink& sink, advisories::Advisory&& advisory,
                        const RecordNotes& notes, const std::string& where) {
  if (!sink) fail(Errc::invalid_input, "this input holds advisories, but no advisory sink was given", where);
  count(where);
  if (!sink(std::move(advisory), notes)) {
    fail(Errc::interrupted, "the import was stopped by its caller", where);
  }
}

void Delivery::cve(const CveSink& sink, advisories::CveInfo&& info, const std::string& where) {
  if (!sink) fail(Errc::invalid_input, "this input holds CVE enrichment, but no CVE sink was given", where);
  count(where);
  if (!sink(std::move(info))) fail(Errc::interrupted, "the import was stopped by its caller", where);
}

std::unique_ptr<ByteSource> open_document(const std::filesystem::path& path,
                                          std::uint64_t limit) {
  return decoded_source(open_file(path), path.string(), limit, "document");
}

std::unique_ptr<ByteSource> open_document(std::string_view data, std::string_view name,
                                          std::uint64_t limit) {
  return decoded_source(memory_source(data), std::string(name), limit, "document");
}

}  // namespace pf::feeds::detail
