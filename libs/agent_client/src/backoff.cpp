// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent_client/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace pf::agent_client {

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap)
    : base_(std::max(base, std::chrono::milliseconds(1))),
      cap_(std::max(cap, base_)),
      rng_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::ceiling(std::uint32_t failures) const {
  if (failures == 0) return std::chrono::milliseconds(0);
  // Doubling stops once past the cap, so the shift never overflows.
  std::chrono::milliseconds c = base_;
  for (std::uint32_t i = 1; i < failures && c < cap_; ++i) c *= 2;
  return std::min(c, cap_);
}

std::chrono::milliseconds Backoff::next(double unit) {
  if (failures_ < UINT32_MAX) ++failures_;
  if (!(unit >= 0.0)) unit = 0.0;  // also NaN
  if (unit >= 1.0) unit = std::nextafter(1.0, 0.0);
  const auto top = static_cast<double>(ceiling(failures_).count());
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::floor(unit * (top + 1.0))));
}

std::chrono::milliseconds Backoff::next() {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return next(unit(rng_));
}

}  // namespace pf::agent_client
