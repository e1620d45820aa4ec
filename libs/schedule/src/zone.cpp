// SPDX-License-Identifier: Apache-2.0
// Zone: a thin layer over date/tz as Debian builds it (USE_OS_TZDB=1, reading
// /usr/share/zoneinfo). date reports an unknown zone or an unreadable database by throwing;
// both are caught here and become errors.
#include "patchflow/schedule/zone.hpp"

#include <date/tz.h>

#include <exception>

namespace pf::schedule {
namespace {

constexpr std::size_t kMaxZoneName = 64;

const date::time_zone* tz_of(const void* p) { return static_cast<const date::time_zone*>(p); }

bool plausible_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxZoneName) return false;
  if (name.front() == '/' || name.find("..") != std::string_view::npos) return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  return true;
}

std::string shown(std::string_view name) {
  std::string out;
  for (const char c : name.substr(0, kMaxZoneName)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (name.size() > kMaxZoneName) out += "...";
  return out;
}

}  // namespace

Result<Zone> Zone::find(std::string_view name) {
  if (!plausible_name(name)) {
    return make_error(Errc::invalid_input,
                      "expected an IANA time zone name such as Europe/Berlin, found '" +
                          shown(name) + "'",
                      "zone");
  }
  Zone zone;
  try {
    zone.tz_ = date::locate_zone(name);
  } catch (const std::exception& e) {
    return make_error(Errc::invalid_input,
                      "unknown time zone '" + std::string(name) +
                          "' (not in the system time-zone database /usr/share/zoneinfo)",
                      "zone");
  }
  zone.name_ = std::string(name);
  return zone;
}

std::chrono::local_seconds Zone::to_local(std::chrono::sys_seconds t) const {
  if (tz_ == nullptr) return std::chrono::local_seconds{t.time_since_epoch()};
  const auto info = tz_of(tz_)->get_info(date::sys_seconds{t.time_since_epoch()});
  return std::chrono::local_seconds{t.time_since_epoch() + info.offset};
}

std::chrono::sys_seconds Zone::to_sys(std::chrono::local_seconds t) const {
  if (tz_ == nullptr) return std::chrono::sys_seconds{t.time_since_epoch()};
  const auto info = tz_of(tz_)->get_info(date::local_seconds{t.time_since_epoch()});
  if (info.result == date::local_info::nonexistent) {
    // The gap: the wall clock jumps from first.end's local time to a later one. The first
    // valid instant after the gap is the transition itself.
    return std::chrono::sys_seconds{info.first.end.time_since_epoch()};
  }
  // unique, or ambiguous (first occurrence: the offset in force before the transition).
  return std::chrono::sys_seconds{t.time_since_epoch() - info.first.offset};
}

std::string Zone::abbreviation(std::chrono::sys_seconds t) const {
  if (tz_ == nullptr) return "UTC";
  return tz_of(tz_)->get_info(date::sys_seconds{t.time_since_epoch()}).abbrev;
}

}  // namespace pf::schedule
