// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for parse_schedule and parse_duration. Besides "no crash, no sanitizer
// report": an error is invalid_input with a message and a column inside the text (+1); a
// schedule that parses has a canonical text that parses back to an equal schedule and is a
// fixed point; a duration that parses is within bounds and its text parses back equal.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "patchflow/schedule/window.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto schedule = pf::schedule::parse_schedule(input);
  if (!schedule) {
    require(schedule.error().code == pf::Errc::invalid_input);
    require(!schedule.error().message.empty());
    require(schedule.error().where.starts_with("column "));
    const auto column = std::stoul(schedule.error().where.substr(7));
    require(column >= 1 && column <= std::min(input.size(), pf::schedule::kMaxScheduleText) + 1);
  } else {
    require(input.size() <= pf::schedule::kMaxScheduleText);
    const std::string canonical = pf::schedule::to_string(*schedule);
    auto again = pf::schedule::parse_schedule(canonical);
    require(again.has_value());
    require(*again == *schedule);
    require(pf::schedule::to_string(*again) == canonical);
  }
  auto duration = pf::schedule::parse_duration(input);
  if (duration) {
    require(*duration >= pf::schedule::kMinDuration && *duration <= pf::schedule::kMaxDuration);
    auto again = pf::schedule::parse_duration(pf::schedule::format_duration(*duration));
    require(again.has_value() && *again == *duration);
  } else {
    require(duration.error().where == "duration");
  }
  return 0;
}
