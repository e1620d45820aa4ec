// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::auth {

/// The longest duration parse_duration accepts: 10 years of 365 days.
inline constexpr std::chrono::seconds kMaxDuration{3650LL * 24 * 3600};

/// A positive whole number followed by one unit: s, m, h or d ("30s", "90m", "24h", "7d"), as
/// `patchflow tokens create --expires 24h` takes it. No sign, no space, no fraction, no
/// compound ("1h30m"); at most kMaxDuration. Errors (invalid_input, where = `where`) quote the
/// input (up to 64 bytes) and say what is wrong.
[[nodiscard]] Result<std::chrono::seconds> parse_duration(std::string_view text,
                                                          std::string_view where = "duration");

/// The shortest spelling parse_duration reads back to `d` (the largest unit that divides it):
/// 86400 s → "1d", 5400 s → "90m". `d` must be positive.
[[nodiscard]] std::string format_duration(std::chrono::seconds d);

}  // namespace pf::auth
