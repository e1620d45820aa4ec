// SPDX-License-Identifier: Apache-2.0
#include "metrics.hpp"

#include <cstdio>

namespace pf::server {
namespace {

// Label values escape '\', '"' and newlines (exposition format).
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t v) {
  out += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
  out += "# TYPE " + std::string(name) + " counter\n";
  out += std::string(name) + " " + std::to_string(v) + "\n";
}

}  // namespace

void Metrics::request(std::string_view route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
  auto& h = durations_[std::string(route)];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render() const {
  std::string out;
  counter(out, "patchflow_checkins_total", "Agent check-ins committed to the store.", checkins_);
  counter(out, "patchflow_checkin_batches_total",
          "Group commits of check-ins (one transaction each).", checkin_batches_);
  counter(out, "patchflow_inventories_total", "Inventories uploaded by agents.", inventories_);
  counter(out, "patchflow_inventories_changed_total",
          "Uploaded inventories that differed from the stored one.", inventories_changed_);
  counter(out, "patchflow_enrollments_total", "Hosts enrolled.", enrollments_);
  counter(out, "patchflow_logins_total", "Password logins that succeeded.", logins_ok_);
  counter(out, "patchflow_logins_refused_total", "Password logins refused.", logins_refused_);
  counter(out, "patchflow_store_errors_total", "Store calls that failed for the store's sake.",
          store_errors_);
  std::lock_guard lock(mutex_);
  out += "# HELP patchflow_api_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE patchflow_api_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "patchflow_api_requests_total{route=\"" + label(key.first) + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP patchflow_api_request_duration_seconds Time to answer a request, by route.\n";
  out += "# TYPE patchflow_api_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations_) {
    const std::string r = label(route);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out += "patchflow_api_request_duration_seconds_bucket{route=\"" + r + "\",le=\"" +
             number(kBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    out += "patchflow_api_request_duration_seconds_bucket{route=\"" + r + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "patchflow_api_request_duration_seconds_sum{route=\"" + r + "\"} " + number(h.sum) +
           "\n";
    out += "patchflow_api_request_duration_seconds_count{route=\"" + r + "\"} " +
           std::to_string(h.count) + "\n";
  }
  return out;
}

}  // namespace pf::server
