// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the parser, the JSON form and the set checks.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/policy/document.hpp"

#define PF_POLICY_CAT2(a, b) a##b
#define PF_POLICY_CAT(a, b) PF_POLICY_CAT2(a, b)
#define PF_TRY_ASSIGN_IMPL(r, target, expr)            \
  do {                                                 \
    auto r = (expr);                                   \
    if (!r) return tl::unexpected(r.error());          \
    target = std::move(*r);                            \
  } while (0)
#define PF_TRY_IMPL(r, expr)                           \
  do {                                                 \
    auto r = (expr);                                   \
    if (!r) return tl::unexpected(r.error());          \
  } while (0)
// Each use gets its own variable (__COUNTER__), so nested uses in lambdas do not shadow.
#define PF_TRY_ASSIGN(target, expr) PF_TRY_ASSIGN_IMPL(PF_POLICY_CAT(pf_try_r_, __COUNTER__), target, expr)
#define PF_TRY(expr) PF_TRY_IMPL(PF_POLICY_CAT(pf_try_r_, __COUNTER__), expr)

namespace pf::policy::detail {

inline constexpr std::int64_t kMaxSpanS = 3650LL * 86400;

/// "45s", "90m", "2h", "1d12h": parts <n><s|m|h|d>, total at most 3650 days; "0" when
/// allow_zero. Errors: message only (the caller adds the place).
[[nodiscard]] Result<std::chrono::seconds> parse_span(std::string_view text, bool allow_zero);
/// The largest whole unit: "7d", "36h", "90m", "45s", "0".
[[nodiscard]] std::string format_span(std::chrono::seconds s);

/// "3 business days", "2h", "" (none).
[[nodiscard]] std::string soak_text(const Soak& soak);
[[nodiscard]] Result<Soak> parse_soak(std::string_view text);

/// A job holding a stage's steps, retry, reboot policy and health, with placeholder identity
/// and times, for checking the steps with the jobs rules and for their JSON form.
[[nodiscard]] jobs::Job stage_job(const Stage& stage);

/// "2026-12-25"; parse checks the calendar date and years 1900..2399.
[[nodiscard]] std::string format_date(std::chrono::year_month_day d);
[[nodiscard]] Result<std::chrono::year_month_day> parse_date(std::string_view text);

/// "mon".."sun"; parse also takes full names, case-insensitive.
[[nodiscard]] std::string weekday_text(std::chrono::weekday d);
[[nodiscard]] Result<std::chrono::weekday> parse_weekday(std::string_view text);

[[nodiscard]] bool valid_label_key(std::string_view k) noexcept;
[[nodiscard]] bool valid_label_value(std::string_view v) noexcept;

}  // namespace pf::policy::detail
