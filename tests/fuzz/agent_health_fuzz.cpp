// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the health baseline's untrusted text: snapshot_from_json (the journal's
// copy of a snapshot) with the default limits and with small ones, and parse_proc_net on the
// same bytes. Besides "no crash, no sanitizer report, no leak": an error is invalid_input with a
// message and a place; an accepted snapshot has sorted unique lists, strings and lists within
// the limits, unique non-empty probe names and latencies >= 0, and writing it and reading it
// back gives the same text; the small limits accept only what the default ones accept. Every
// socket parse_proc_net reports starts with its protocol and ends with a port.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/agent/health.hpp"

namespace {

namespace health = pf::agent::health;

void require(bool ok) {
  if (!ok) std::abort();
}

void check_list(const std::vector<std::string>& v, const health::JsonLimits& limits) {
  require(v.size() <= limits.max_items);
  require(std::is_sorted(v.begin(), v.end()));
  require(std::adjacent_find(v.begin(), v.end()) == v.end());
  for (const auto& s : v) require(!s.empty() && s.size() <= limits.max_string);
}

void check_snapshot(const health::Snapshot& s, const health::JsonLimits& limits) {
  require(s.taken_at.size() <= limits.max_string);
  check_list(s.listening, limits);
  check_list(s.services_running, limits);
  check_list(s.failed_units, limits);
  check_list(s.processes, limits);
  require(s.probes.size() <= limits.max_items);
  std::set<std::string> names;
  for (const auto& p : s.probes) {
    require(!p.name.empty() && p.name.size() <= limits.max_string);
    require(p.detail.size() <= limits.max_string);
    require(p.latency.count() >= 0);
    require(names.insert(p.name).second);
  }
  const std::string text = health::to_json(s);
  auto again = health::snapshot_from_json(text);
  require(again.has_value());
  require(health::to_json(*again) == text);
}

void check_error(const pf::Error& e) {
  require(e.code == pf::Errc::invalid_input);
  require(!e.message.empty());
  require(!e.where.empty());
}

void check_sockets(std::string_view input, std::string_view proto) {
  auto r = health::parse_proc_net(input, proto, "fuzz");
  if (!r) {
    check_error(r.error());
    require(r.error().where.starts_with("fuzz:"));
    return;
  }
  require(std::is_sorted(r->begin(), r->end()));
  for (const auto& s : *r) {
    require(s.starts_with(std::string(proto) + ":"));
    const auto colon = s.rfind(':');
    require(colon != std::string::npos && colon + 1 < s.size());
    for (char c : s.substr(colon + 1)) require(c >= '0' && c <= '9');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const health::JsonLimits defaults;
  health::JsonLimits small;
  small.max_bytes = 2048;
  small.max_depth = 3;
  small.max_items = 4;
  small.max_string = 16;
  auto all = health::snapshot_from_json(input, defaults);
  auto few = health::snapshot_from_json(input, small);
  if (all) {
    check_snapshot(*all, defaults);
  } else {
    check_error(all.error());
  }
  if (few) {
    check_snapshot(*few, small);
    require(all.has_value() && health::to_json(*all) == health::to_json(*few));
  } else {
    check_error(few.error());
  }
  for (std::string_view proto : {"tcp", "tcp6", "udp", "udp6"}) check_sockets(input, proto);
  return 0;
}
