// SPDX-License-Identifier: Apache-2.0
// JSON and text renderings of what the backends return (nlohmann/json stays in the .cpp).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/pkg/backend.hpp"

namespace pf::agent_cli {

[[nodiscard]] std::string updates_json(const std::vector<pkg::Update>& updates);
[[nodiscard]] std::string plan_json(const pkg::Plan& plan);
[[nodiscard]] std::string report_json(const pkg::ApplyReport& report, std::string_view selection);

void print_updates(std::ostream& out, const std::vector<pkg::Update>& updates);
void print_plan(std::ostream& out, const pkg::Plan& plan);
void print_report(std::ostream& out, const pkg::ApplyReport& report);

/// The packages of a report written by report_json (for rollback). Errors name the file and the
/// JSON path of what is wrong.
[[nodiscard]] Result<pkg::ApplyReport> parse_report_json(std::string_view text,
                                                         std::string_view name);

}  // namespace pf::agent_cli
