// SPDX-License-Identifier: Apache-2.0
// The syntax tree (private). && and || are n-ary so that long conjunctions stay shallow and
// their terms are at hand for explanations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "patchflow/cel/expr.hpp"

namespace pf::cel {

enum class NodeKind {
  literal,  ///< value
  ident,    ///< name
  select,   ///< args[0].name
  index,    ///< args[0][args[1]]
  call,     ///< name(args...) (global) or args[0].name(args[1..]) (method == true)
  macro,    ///< args[0].name(var, args[1]): all, exists, filter
  unary,    ///< op args[0]: "!" or "-"
  binary,   ///< args[0] op args[1]: * / % + - < <= > >= == != in
  logic,    ///< args[0] op args[1] op ...: "&&" or "||"
  list,     ///< [args...]
};

struct Node {
  NodeKind kind{NodeKind::literal};
  std::string name;  ///< ident, field, function, macro, operator
  std::string var;   ///< macro variable
  bool method{false};
  Value value;
  std::vector<std::shared_ptr<const Node>> args;
  std::size_t begin{0};  ///< byte offsets of the node's text in the source
  std::size_t end{0};
  std::uint32_t line{1};
  std::uint32_t column{1};
  std::size_t depth{1};
};

using NodePtr = std::shared_ptr<const Node>;

/// "line:column" of a node.
inline std::string where_of(const Node& n) {
  return std::to_string(n.line) + ":" + std::to_string(n.column);
}

}  // namespace pf::cel
