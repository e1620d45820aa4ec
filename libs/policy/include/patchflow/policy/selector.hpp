// SPDX-License-Identifier: Apache-2.0
// Label selectors (docs/policy.md): comma-separated terms k=v, k!=v, k in (a,b), k notin (a,b),
// k (has the label), !k (has not).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::policy {

inline constexpr std::size_t kMaxSelectorText = 1024;
inline constexpr std::size_t kMaxSelectorTerms = 32;
inline constexpr std::size_t kMaxSelectorValues = 64;  ///< values of one in/notin

struct SelectorTerm {
  enum class Op { eq, ne, in, notin, exists, not_exists } op{Op::eq};
  std::string key;
  std::vector<std::string> values;  ///< one for eq/ne, sorted and unique for in/notin
  friend bool operator==(const SelectorTerm&, const SelectorTerm&) = default;
};

/// All terms must match (AND). An empty selector matches every label set.
struct Selector {
  std::vector<SelectorTerm> terms;
  friend bool operator==(const Selector&, const Selector&) = default;
};

/// Parses a selector. Keys [a-z0-9][a-z0-9_.-]{0,62}, values up to 63 of [A-Za-z0-9_.-]
/// (the host label rules). Errors: invalid_input, where = "column N" (1-based, bytes).
[[nodiscard]] Result<Selector> parse_selector(std::string_view text);

/// The canonical text: parse_selector(to_string(s)) == s.
[[nodiscard]] std::string to_string(const Selector& selector);

/// Kubernetes semantics: k!=v and k notin (...) also match hosts without the label k.
[[nodiscard]] bool matches(const Selector& selector,
                           const std::map<std::string, std::string>& labels);

}  // namespace pf::policy
