// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::auth {

/// Host and token labels, sorted by key.
using Labels = std::map<std::string, std::string>;

/// Keys: `[a-z0-9][a-z0-9_.-]{0,62}`. Values: 0 to 63 characters of `[A-Za-z0-9_.-]`.
inline constexpr std::size_t kMaxLabelKey = 63;
inline constexpr std::size_t kMaxLabelValue = 63;
inline constexpr std::size_t kMaxLabels = 64;

/// Checks one key and value. Errors (invalid_input, where = `where`) name the label.
[[nodiscard]] Result<void> check_label(std::string_view key, std::string_view value,
                                       std::string_view where = "labels");

/// "key=value,key=value": no spaces, no empty items, every item with '=', no key twice, at most
/// kMaxLabels. The empty string is no labels. Errors (invalid_input, where = `where`) name the
/// label (its position and, when printable, its text up to 64 bytes) and what is wrong.
[[nodiscard]] Result<Labels> parse_labels(std::string_view text,
                                          std::string_view where = "labels");

/// "key=value,..." in key order; parse_labels reads it back to the same map.
[[nodiscard]] std::string format_labels(const Labels& labels);

}  // namespace pf::auth
