// SPDX-License-Identifier: Apache-2.0
#include "patchflow/core/advisory.hpp"

#include <array>
#include <utility>

namespace pf::advisories {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view severity_name(Severity severity) noexcept {
  switch (severity) {
    case Severity::unknown: return "unknown";
    case Severity::negligible: return "negligible";
    case Severity::low: return "low";
    case Severity::medium: return "medium";
    case Severity::high: return "high";
    case Severity::critical: return "critical";
  }
  return "unknown";
}

Result<Severity> severity_from_name(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, Severity>, 14> kNames{{
      {"unknown", Severity::unknown},
      {"not yet assigned", Severity::unknown},
      {"unassigned", Severity::unknown},
      {"negligible", Severity::negligible},
      {"unimportant", Severity::negligible},
      {"none", Severity::negligible},
      {"low", Severity::low},
      {"medium", Severity::medium},
      {"moderate", Severity::medium},
      {"high", Severity::high},
      {"important", Severity::high},
      {"critical", Severity::critical},
      {"urgent", Severity::critical},
      {"end-of-life", Severity::unknown},
  }};
  for (const auto& [word, severity] : kNames) {
    if (iequals(name, word)) return severity;
  }
  return make_error(Errc::invalid_input,
                    "unknown severity '" + std::string(name) +
                        "' (expected unknown, negligible, low, medium, high or critical, or a "
                        "vendor word such as moderate, important, unimportant)",
                    "severity");
}

std::optional<std::string_view> Affected::fixed_version() const noexcept {
  for (const auto& e : events) {
    if (e.type == EventType::fixed) return std::string_view(e.version);
  }
  return std::nullopt;
}

Result<versions::Scheme> scheme_for_ecosystem(std::string_view ecosystem) {
  const std::string_view family = ecosystem.substr(0, ecosystem.find(':'));
  static constexpr std::array<std::string_view, 2> kDeb{"Debian", "Ubuntu"};
  static constexpr std::array<std::string_view, 12> kRpm{
      "AlmaLinux", "Rocky Linux", "Red Hat", "RHEL", "CentOS", "Fedora", "Oracle Linux",
      "Amazon Linux", "SUSE", "openSUSE", "Mageia", "openEuler"};
  for (auto name : kDeb) {
    if (iequals(family, name)) return versions::Scheme::deb;
  }
  for (auto name : kRpm) {
    if (iequals(family, name)) return versions::Scheme::rpm;
  }
  return make_error(Errc::invalid_input,
                    "unknown ecosystem '" + std::string(ecosystem) +
                        "': no version scheme is known for it (Debian and Ubuntu order as dpkg; "
                        "AlmaLinux, Rocky Linux, Red Hat and other RPM distributions as rpm)",
                    "ecosystem");
}

}  // namespace pf::advisories
