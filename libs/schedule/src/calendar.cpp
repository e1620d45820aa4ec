// SPDX-License-Identifier: Apache-2.0
// Business days for soak periods (docs/windows.md, "Business days").
#include "patchflow/schedule/calendar.hpp"

#include <algorithm>

#include "detail.hpp"

namespace pf::schedule {

using namespace std::chrono;

bool is_business_day(const Calendar& calendar, year_month_day date) {
  const weekday wd{sys_days{date}};
  if (std::find(calendar.weekend.begin(), calendar.weekend.end(), wd) != calendar.weekend.end()) {
    return false;
  }
  return std::find(calendar.holidays.begin(), calendar.holidays.end(), date) ==
         calendar.holidays.end();
}

Result<sys_seconds> add_business_days(const Calendar& calendar, sys_seconds t, int n) {
  if (!detail::in_range(t)) return detail::out_of_range("add_business_days");
  if (n < 0 || n > kMaxBusinessDays) {
    return make_error(Errc::invalid_input,
                      "business days must be 0 to " + std::to_string(kMaxBusinessDays) +
                          ", found " + std::to_string(n),
                      "business_days");
  }
  if (calendar.holidays.size() > kMaxHolidays) {
    return make_error(Errc::invalid_input,
                      "more than " + std::to_string(kMaxHolidays) + " holidays", "holidays");
  }
  bool any_workday = false;
  for (unsigned i = 0; i < 7; ++i) {
    const weekday wd{i};
    if (std::find(calendar.weekend.begin(), calendar.weekend.end(), wd) == calendar.weekend.end()) {
      any_workday = true;
    }
  }
  if (!any_workday) {
    return make_error(Errc::invalid_input, "every day of the week is a weekend day", "weekend");
  }
  if (n == 0) return t;
  const auto [day, time] = detail::split(calendar.zone.to_local(t));
  local_days d = day;
  // Each week has a business day, so n of them lie within n weeks plus the holidays.
  const auto limit = static_cast<long>(n) * 7 + static_cast<long>(calendar.holidays.size()) + 7;
  int counted = 0;
  for (long step = 0; step < limit && counted < n; ++step) {
    d += days{1};
    if (is_business_day(calendar, year_month_day{d})) ++counted;
  }
  if (counted < n) {
    return make_error(Errc::invalid_input, "no " + std::to_string(n) + " business days found",
                      "business_days");
  }
  const sys_seconds out = calendar.zone.to_sys(d + time);
  if (!detail::in_range(out)) return detail::out_of_range("add_business_days");
  return out;
}

}  // namespace pf::schedule
