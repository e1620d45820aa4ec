// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/schedule/zone.hpp"

namespace pf::schedule {

/// Bounds: holidays listed, business days added at once.
inline constexpr std::size_t kMaxHolidays = 2000;
inline constexpr int kMaxBusinessDays = 366;

/// Which local dates are business days in a zone.
struct Calendar {
  Zone zone;
  std::vector<std::chrono::weekday> weekend{std::chrono::Saturday, std::chrono::Sunday};
  std::vector<std::chrono::year_month_day> holidays;
};

/// Whether a local date is neither a weekend day nor a holiday.
[[nodiscard]] bool is_business_day(const Calendar& calendar, std::chrono::year_month_day date);

/// The instant n business days after t (soak periods, docs/windows.md): the n-th business day
/// after t's local date, at t's local time of day (resolved like a window start: a time in a
/// DST gap moves past the gap, a repeated time takes its first occurrence). n = 0 gives t.
/// t on a weekend or holiday counts from the following days all the same. Errors: n outside
/// 0..kMaxBusinessDays, a week without business days, too many holidays, or t outside years
/// 1900..2399.
[[nodiscard]] Result<std::chrono::sys_seconds> add_business_days(const Calendar& calendar,
                                                                 std::chrono::sys_seconds t,
                                                                 int n);

}  // namespace pf::schedule
