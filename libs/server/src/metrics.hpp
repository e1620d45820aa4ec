// SPDX-License-Identifier: Apache-2.0
// The server's Prometheus metrics (text exposition format 0.0.4). Private to libs/server.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace pf::server {

class Metrics {
 public:
  /// Upper bounds of the request-duration histogram, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

  void request(std::string_view route, int status, double seconds);
  void checkins(std::uint64_t n) { checkins_ += n; }
  void checkin_batch() { ++checkin_batches_; }
  void inventory(bool changed) {
    ++inventories_;
    if (changed) ++inventories_changed_;
  }
  void store_error() { ++store_errors_; }
  void enrollment() { ++enrollments_; }
  void login(bool ok) { ++(ok ? logins_ok_ : logins_refused_); }

  [[nodiscard]] std::uint64_t checkins_total() const { return checkins_; }

  /// The exposition text.
  [[nodiscard]] std::string render() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count{0};
    double sum{0};
  };

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
  std::atomic<std::uint64_t> checkins_{0};
  std::atomic<std::uint64_t> checkin_batches_{0};
  std::atomic<std::uint64_t> inventories_{0};
  std::atomic<std::uint64_t> inventories_changed_{0};
  std::atomic<std::uint64_t> store_errors_{0};
  std::atomic<std::uint64_t> enrollments_{0};
  std::atomic<std::uint64_t> logins_ok_{0};
  std::atomic<std::uint64_t> logins_refused_{0};
};

}  // namespace pf::server
