// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent/services.hpp"

#include <array>
#include <system_error>

#include "files.hpp"
#include "patchflow/common/process.hpp"

namespace pf::agent {

namespace {

bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

// The next white-space separated token of `rest`, removed from it with the blanks before it.
std::string_view next_token(std::string_view& rest) noexcept {
  std::size_t i = 0;
  while (i < rest.size() && is_blank(rest[i])) ++i;
  const std::size_t start = i;
  while (i < rest.size() && !is_blank(rest[i])) ++i;
  const std::string_view token = rest.substr(start, i - start);
  rest.remove_prefix(i);
  return token;
}

Result<std::vector<ServiceUnit>> list_units(const ServicesOptions& options,
                                            std::vector<std::string> selection) {
  process::Spec spec;
  spec.argv = {options.systemctl, "list-units"};
  spec.argv.insert(spec.argv.end(), selection.begin(), selection.end());
  spec.argv.insert(spec.argv.end(), {"--all", "--plain", "--no-legend", "--no-pager"});
  // No colours or hyperlinks, whatever the caller's environment says.
  spec.env = {"SYSTEMD_COLORS=0", "SYSTEMD_URLIFY=0"};
  spec.timeout = options.timeout;
  spec.max_capture = options.max_output;
  std::string what = options.systemctl + " list-units";
  for (const auto& s : selection) what += " " + s;
  auto run = detail::run_tool(std::move(spec), what);
  if (!run) return tl::unexpected(run.error());
  return parse_systemctl_units(run->out, what, options.limits);
}

}  // namespace

Result<std::vector<ServiceUnit>> parse_systemctl_units(std::string_view text, std::string_view name,
                                                       const UnitListLimits& limits) {
  std::vector<ServiceUnit> units;
  std::size_t pos = 0;
  std::size_t line = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view l = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (l.size() > limits.max_line) {
      return make_error(Errc::invalid_input,
                        "line longer than " + std::to_string(limits.max_line) + " bytes",
                        detail::at(name, line));
    }
    l = detail::trim(l);
    if (l.empty()) continue;
    if (detail::find_control(l) != std::string_view::npos) {
      return make_error(Errc::invalid_input, "control byte in line", detail::at(name, line));
    }
    std::string_view rest = l;
    std::string_view unit = next_token(rest);
    if (unit == "\xe2\x97\x8f" || unit == "*") unit = next_token(rest);  // U+25CF bullet
    const std::string_view load = next_token(rest);
    const std::string_view active = next_token(rest);
    const std::string_view sub = next_token(rest);
    if (sub.empty()) {
      return make_error(Errc::invalid_input,
                        "expected UNIT LOAD ACTIVE SUB [DESCRIPTION], got '" +
                            std::string(l.substr(0, 200)) + "'",
                        detail::at(name, line));
    }
    if (units.size() >= limits.max_units) {
      return make_error(Errc::invalid_input,
                        "more than " + std::to_string(limits.max_units) + " units",
                        detail::at(name, line));
    }
    units.push_back({std::string(unit), std::string(load), std::string(active), std::string(sub),
                     std::string(detail::trim(rest))});
  }
  return units;
}

bool systemd_running(const std::filesystem::path& root, const std::filesystem::path& marker_dir) {
  if (!detail::is_host_root(root)) return false;
  std::error_code ec;
  return std::filesystem::is_directory(marker_dir, ec);
}

Result<ServiceState> collect_services(const ServicesOptions& options) {
  ServiceState state;
  if (!detail::is_host_root(options.root)) {
    state.status =
        "systemd: not running (the root " + options.root.string() + " is not this machine's /)";
    return state;
  }
  if (!systemd_running(options.root, options.marker_dir)) {
    state.status = "systemd: not running (no directory " + options.marker_dir.string() + ")";
    return state;
  }
  state.systemd_running = true;
  state.status = "systemd: running";
  auto services = list_units(options, {"--type=service"});
  if (!services) return tl::unexpected(services.error());
  state.services = std::move(*services);
  auto failed = list_units(options, {"--state=failed"});
  if (!failed) return tl::unexpected(failed.error());
  state.failed = std::move(*failed);
  return state;
}

}  // namespace pf::agent
