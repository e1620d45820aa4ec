// SPDX-License-Identifier: Apache-2.0
#include "patchflow/core/versions.hpp"

#include <string>

namespace pf::versions {

Result<Scheme> scheme_from_name(std::string_view name) {
  if (name == "deb") return Scheme::deb;
  if (name == "rpm") return Scheme::rpm;
  return make_error(Errc::invalid_input,
                    "unknown version scheme '" + std::string(name) + "' (expected deb or rpm)",
                    "scheme");
}

std::string_view scheme_name(Scheme scheme) noexcept {
  return scheme == Scheme::deb ? "deb" : "rpm";
}

Result<void> validate(Scheme scheme, std::string_view text, Check check) {
  if (scheme == Scheme::deb) {
    auto v = parse_deb(text, check);
    if (!v) return Unexpected(std::move(v.error()));
    return {};
  }
  auto v = parse_rpm_evr(text, check);
  if (!v) return Unexpected(std::move(v.error()));
  return {};
}

Result<int> compare(Scheme scheme, std::string_view a, std::string_view b) {
  return scheme == Scheme::deb ? compare_deb(a, b) : compare_rpm_evr(a, b);
}

}  // namespace pf::versions
