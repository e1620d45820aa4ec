// SPDX-License-Identifier: Apache-2.0
#include "report_json.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

namespace pf::agent_cli {

namespace {

using nlohmann::json;

std::string na(const std::string& name, const std::string& arch) {
  return arch.empty() ? name : name + ":" + arch;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

// Left-aligned columns for a small table.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<std::size_t> w(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

}  // namespace

std::string updates_json(const std::vector<pkg::Update>& updates) {
  json list = json::array();
  for (const auto& u : updates)
    list.push_back({{"name", u.name},
                    {"arch", u.arch},
                    {"installed", u.installed},
                    {"candidate", u.candidate},
                    {"origin", u.origin},
                    {"security", u.security},
                    {"advisories", u.advisories},
                    {"severity", u.severity},
                    {"held_back", u.held_back},
                    {"held_reason", u.held_reason}});
  return json{{"updates", list}}.dump();
}

std::string plan_json(const pkg::Plan& plan) {
  json changes = json::array(), skipped = json::array();
  for (const auto& c : plan.changes)
    changes.push_back({{"name", c.name},
                       {"arch", c.arch},
                       {"from", c.from},
                       {"to", c.to},
                       {"action", pkg::action_name(c.action)},
                       {"selected", c.selected}});
  for (const auto& s : plan.skipped)
    skipped.push_back({{"name", s.name},
                       {"arch", s.arch},
                       {"reason", pkg::reason_name(s.reason)},
                       {"detail", s.detail}});
  return json{{"changes", changes}, {"skipped", skipped}}.dump();
}

std::string report_json(const pkg::ApplyReport& report, std::string_view selection) {
  json packages = json::array();
  for (const auto& p : report.packages)
    packages.push_back({{"name", p.name},
                        {"arch", p.arch},
                        {"before", p.before},
                        {"after", p.after},
                        {"wanted", p.wanted},
                        {"state", p.state},
                        {"status", pkg::status_name(p.status)},
                        {"reason", pkg::reason_name(p.reason)},
                        {"detail", p.detail}});
  json out{{"selection", selection},
           {"outcome", pkg::outcome_name(report.outcome)},
           {"packages", packages},
           {"commands", report.commands},
           {"exit_code", report.exit_code},
           {"output_tail", report.output_tail},
           {"warnings", report.warnings},
           {"consistent", report.consistent},
           {"audit", report.audit}};
  if (report.error)
    out["error"] = {{"code", errc_name(report.error->code)},
                    {"message", report.error->message},
                    {"where", report.error->where}};
  return out.dump();
}

void print_updates(std::ostream& out, const std::vector<pkg::Update>& updates) {
  if (updates.empty()) {
    out << "no updates available\n";
    return;
  }
  std::vector<std::vector<std::string>> rows{
      {"PACKAGE", "INSTALLED", "CANDIDATE", "ORIGIN", "SECURITY", "ADVISORIES", "NOTE"}};
  for (const auto& u : updates) {
    std::string adv;
    for (const auto& a : u.advisories) adv += (adv.empty() ? "" : ",") + a;
    rows.push_back({na(u.name, u.arch), u.installed, u.candidate, or_dash(u.origin),
                    u.security ? "yes" : "no", or_dash(adv),
                    u.held_back ? "held back: " + u.held_reason : ""});
  }
  print_table(out, rows);
}

void print_plan(std::ostream& out, const pkg::Plan& plan) {
  if (plan.changes.empty()) out << "nothing would change\n";
  std::vector<std::vector<std::string>> rows{{"ACTION", "PACKAGE", "FROM", "TO", ""}};
  for (const auto& c : plan.changes)
    rows.push_back({std::string(pkg::action_name(c.action)), na(c.name, c.arch), or_dash(c.from),
                    or_dash(c.to), c.selected ? "" : "(pulled in)"});
  if (!plan.changes.empty()) print_table(out, rows);
  for (const auto& s : plan.skipped)
    out << "not applicable: " << na(s.name, s.arch) << ": " << pkg::reason_name(s.reason)
        << (s.detail.empty() ? "" : " (" + s.detail + ")") << "\n";
}

void print_report(std::ostream& out, const pkg::ApplyReport& report) {
  std::vector<std::vector<std::string>> rows{{"PACKAGE", "BEFORE", "AFTER", "STATUS", "REASON"}};
  for (const auto& p : report.packages) {
    std::string reason = p.reason == pkg::Reason::none ? "" : std::string(pkg::reason_name(p.reason));
    if (!p.state.empty()) reason += (reason.empty() ? "" : ", ") + std::string("state ") + p.state;
    if (!p.detail.empty()) reason += (reason.empty() ? "" : ": ") + p.detail;
    rows.push_back({na(p.name, p.arch), or_dash(p.before), or_dash(p.after),
                    std::string(pkg::status_name(p.status)), reason});
  }
  if (!report.packages.empty()) print_table(out, rows);
  for (const auto& w : report.warnings) out << "warning: " << w << "\n";
  if (report.error) out << "error: " << to_string(*report.error) << "\n";
  if (!report.consistent) out << "package database NOT consistent:\n" << report.audit << "\n";
  out << "outcome: " << pkg::outcome_name(report.outcome) << "\n";
}

Result<pkg::ApplyReport> parse_report_json(std::string_view text, std::string_view name) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return make_error(Errc::invalid_input, "not a JSON object (expected a report written by "
                                           "'patchflow-agent apply --report-file')",
                      std::string(name));
  auto it = doc.find("packages");
  if (it == doc.end() || !it->is_array())
    return make_error(Errc::invalid_input, "missing array", std::string(name) + ": $.packages");
  pkg::ApplyReport report;
  std::size_t i = 0;
  for (const auto& p : *it) {
    std::string where = std::string(name) + ": $.packages[" + std::to_string(i++) + "]";
    if (!p.is_object()) return make_error(Errc::invalid_input, "expected an object", where);
    pkg::PackageResult r;
    for (auto [key, field] : {std::pair{"name", &r.name}, std::pair{"arch", &r.arch},
                              std::pair{"before", &r.before}, std::pair{"after", &r.after},
                              std::pair{"state", &r.state}}) {
      auto f = p.find(key);
      if (f == p.end() || !f->is_string())
        return make_error(Errc::invalid_input, std::string("expected a string '") + key + "'",
                          where);
      *field = f->get<std::string>();
    }
    if (r.name.empty()) return make_error(Errc::invalid_input, "empty package name", where);
    report.packages.push_back(std::move(r));
  }
  return report;
}

}  // namespace pf::agent_cli
