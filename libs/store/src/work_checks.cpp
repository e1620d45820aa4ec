// SPDX-License-Identifier: Apache-2.0
// The checks every FindingStore and RunStore backend applies, and the finding-page cursor.
#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

#include "patchflow/store/finding_store.hpp"
#include "patchflow/store/run_store.hpp"

namespace pf::store {
namespace {

Unexpected invalid(std::string message, std::string where) {
  return make_error(Errc::invalid_input, std::move(message), std::move(where));
}

bool is_id(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

Result<void> check_text(std::string_view value, std::size_t max, const std::string& where,
                        bool required) {
  if (required && value.empty()) return invalid(where + " is empty", where);
  if (value.size() > max) {
    return invalid(where + " longer than " + std::to_string(max) + " bytes", where);
  }
  if (value.find('\0') != std::string_view::npos) {
    return invalid(where + " contains a NUL byte", where);
  }
  return {};
}

// Cursor fields are joined by this byte, which no id, package name or arch holds, and the
// whole is hex-encoded so that it travels in a query string as it is.
constexpr char kSep = '\x1f';

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = digit(text[i]);
    const int lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

std::string findings_state(std::string_view inventory_hash, std::string_view generation) {
  return std::string(inventory_hash) + ":" + std::string(generation);
}

Result<void> validate_finding_rows(std::span<const FindingRow> rows) {
  if (rows.size() > kMaxFindingsPerHost) {
    return invalid("more than " + std::to_string(kMaxFindingsPerHost) + " findings", "findings");
  }
  std::set<std::tuple<std::string_view, std::string_view, std::string_view>> seen;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const std::string at = "findings[" + std::to_string(i) + "]";
    if (auto ok = check_text(r.advisory_id, kMaxFactField, at + ".advisory_id", true); !ok) return ok;
    if (auto ok = check_text(r.package, kMaxFactField, at + ".package", true); !ok) return ok;
    if (auto ok = check_text(r.arch, kMaxFactField, at + ".arch", false); !ok) return ok;
    if (auto ok = check_text(r.installed_version, kMaxFactField, at + ".installed_version", false);
        !ok) {
      return ok;
    }
    if (auto ok = check_text(r.fixed_version, kMaxFactField, at + ".fixed_version", false); !ok) {
      return ok;
    }
    if (auto ok = check_text(r.detail, 256 * 1024, at + ".detail", false); !ok) return ok;
    if (r.severity < 0 || r.severity > 16) return invalid("severity out of range", at + ".severity");
    if (r.risk_milli < 0 || r.risk_milli > 1000000000) {
      return invalid("risk out of range", at + ".risk_milli");
    }
    if (!seen.emplace(r.advisory_id, r.package, r.arch).second) {
      return invalid("the same advisory, package and arch twice", at);
    }
  }
  return {};
}

Result<void> validate_finding_query(const FindingQuery& q) {
  if (q.limit < 1 || q.limit > kMaxPageSize) {
    return invalid("limit must be 1.." + std::to_string(kMaxPageSize), "limit");
  }
  if (!q.cursor.empty()) {
    if (auto c = parse_finding_cursor(q.cursor); !c) return Unexpected(c.error());
  }
  if (auto ok = check_text(q.host_id, 64, "host_id", false); !ok) return ok;
  if (auto ok = check_text(q.advisory_id, kMaxFactField, "advisory_id", false); !ok) return ok;
  if (auto ok = check_text(q.package, kMaxFactField, "package", false); !ok) return ok;
  return validate_labels(q.labels);
}

std::string finding_cursor(const StoredFinding& last) {
  std::string raw = std::to_string(last.row.risk_milli);
  for (const auto* part : {&last.host_id, &last.row.advisory_id, &last.row.package, &last.row.arch}) {
    raw += kSep;
    raw += *part;
  }
  return hex(raw);
}

Result<FindingCursor> parse_finding_cursor(std::string_view text) {
  auto bad = [] { return invalid("not a cursor returned by this listing", "cursor"); };
  if (text.size() > 8192) return bad();
  auto raw = unhex(text);
  if (!raw) return bad();
  std::vector<std::string> parts;
  std::size_t at = 0;
  for (;;) {
    const auto sep = raw->find(kSep, at);
    parts.push_back(raw->substr(at, sep == std::string::npos ? std::string::npos : sep - at));
    if (sep == std::string::npos) break;
    at = sep + 1;
  }
  if (parts.size() != 5) return bad();
  FindingCursor c;
  const auto& n = parts[0];
  const auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), c.risk_milli);
  if (n.empty() || ec != std::errc() || ptr != n.data() + n.size()) return bad();
  for (const auto& p : parts) {
    if (p.find('\0') != std::string::npos) return bad();
  }
  c.host_id = parts[1];
  c.advisory_id = parts[2];
  c.package = parts[3];
  c.arch = parts[4];
  return c;
}

// Runs.

namespace {
constexpr std::pair<RunState, std::string_view> kRunStates[] = {
    {RunState::queued, "queued"},       {RunState::delivered, "delivered"},
    {RunState::running, "running"},     {RunState::succeeded, "succeeded"},
    {RunState::failed, "failed"},       {RunState::skipped, "skipped"},
    {RunState::rolled_back, "rolled_back"}, {RunState::canceled, "canceled"},
};
}  // namespace

std::string_view to_string(RunState state) noexcept {
  for (const auto& [s, name] : kRunStates) {
    if (s == state) return name;
  }
  return "unknown";
}

std::optional<RunState> run_state_from(std::string_view name) noexcept {
  for (const auto& [s, n] : kRunStates) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool is_final(RunState state) noexcept {
  return state != RunState::queued && state != RunState::delivered && state != RunState::running;
}

Result<void> validate_run(const Run& run) {
  if (!is_id(run.id, 64)) return invalid("run id must be 1..64 of [A-Za-z0-9_-]", "id");
  if (!is_id(run.host_id, 64)) return invalid("host id must be 1..64 of [A-Za-z0-9_-]", "host_id");
  if (auto ok = check_text(run.job, 256, "job", true); !ok) return ok;
  if (auto ok = check_text(run.envelope, kMaxEnvelope, "envelope", true); !ok) return ok;
  if (auto ok = check_text(run.created_by, 256, "created_by", true); !ok) return ok;
  if (run.state != RunState::queued) return invalid("a new run is queued", "state");
  return {};
}

Result<void> validate_run_events(std::span<const RunEvent> events) {
  if (events.size() > static_cast<std::size_t>(kMaxRunEvents)) {
    return invalid("more than " + std::to_string(kMaxRunEvents) + " events", "events");
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    const std::string at = "events[" + std::to_string(i) + "]";
    if (e.event_id.empty() || e.event_id.size() > 128 ||
        !std::all_of(e.event_id.begin(), e.event_id.end(),
                     [](char c) { return c > ' ' && c < 127; })) {
      return invalid("event id must be 1..128 printable ASCII characters", at + ".id");
    }
    if (e.kind.empty() || e.kind.size() > 64 ||
        !std::all_of(e.kind.begin(), e.kind.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; })) {
      return invalid("kind must be 1..64 of [a-z_]", at + ".kind");
    }
    if (e.seq < 0) return invalid("seq must be >= 0", at + ".seq");
    if (auto ok = check_text(e.body, kMaxEventBody, at + ".body", true); !ok) return ok;
    if (e.state && (*e.state == RunState::queued || *e.state == RunState::delivered ||
                    *e.state == RunState::canceled)) {
      return invalid("an agent reports running or a final state", at + ".state");
    }
  }
  return {};
}

Result<void> validate_run_query(const RunQuery& q) {
  if (q.limit < 1 || q.limit > kMaxPageSize) {
    return invalid("limit must be 1.." + std::to_string(kMaxPageSize), "limit");
  }
  if (!q.host_id.empty() && !is_id(q.host_id, 64)) return invalid("not a host id", "host_id");
  if (!q.cursor.empty()) {
    const auto sep = q.cursor.find('.');
    if (sep == std::string::npos || q.cursor.size() > 128) {
      return invalid("not a cursor returned by this listing", "cursor");
    }
  }
  return {};
}

}  // namespace pf::store
