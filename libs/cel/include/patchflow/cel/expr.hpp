// SPDX-License-Identifier: Apache-2.0
// The condition language (docs/conditions.md): a subset of CEL. parse() reads an expression
// with bounded size and depth and errors carrying line:column; check() types it against an
// Env; evaluate() runs it on values; evaluate_explained() also shows the evaluated parts of the
// top-level && / || terms, for a stage blocked by its gate. Pure: no I/O, no side effects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/cel/types.hpp"
#include "patchflow/cel/value.hpp"
#include "patchflow/common/error.hpp"

namespace pf::cel {

inline constexpr std::size_t kMaxSourceBytes = 4096;  ///< an expression's text
inline constexpr std::size_t kMaxDepth = 32;          ///< nesting of the syntax tree
inline constexpr std::uint64_t kDefaultStepBudget = 10'000'000;  ///< evaluation work bound

struct Node;  // the syntax tree, private to the component

/// A parsed expression: immutable and cheap to copy (shares its tree).
class Expr {
 public:
  Expr();  ///< the expression `null`
  [[nodiscard]] const std::string& source() const noexcept { return *source_; }
  /// The tree fully parenthesized, for tests and debugging: "(a + (b * c))", "all(l, x, p)".
  [[nodiscard]] std::string debug_string() const;
  [[nodiscard]] const Node& root() const noexcept { return *root_; }

  Expr(std::shared_ptr<const std::string> source, std::shared_ptr<const Node> root)
      : source_(std::move(source)), root_(std::move(root)) {}

 private:
  std::shared_ptr<const std::string> source_;
  std::shared_ptr<const Node> root_;
};

/// Parses an expression. Errors: Errc::invalid_input, where = "line:column" (1-based, columns
/// count characters), message saying what was expected and what was found.
[[nodiscard]] Result<Expr> parse(std::string_view source);

/// The static type of an expression in `env`. Errors (invalid_input, where = line:column):
/// unknown variable / stage / field (listing the known ones), type mismatch, wrong arity.
[[nodiscard]] Result<Type> check(const Expr& expr, const Env& env);

/// check() and the type must be bool: what a stage gate needs.
[[nodiscard]] Result<void> check_condition(const Expr& expr, const Env& env);

/// The stage names an expression reads as `stages.NAME` (or stages['NAME']), sorted, unique.
[[nodiscard]] std::vector<std::string> referenced_stages(const Expr& expr);

struct EvalOptions {
  std::uint64_t step_budget{kDefaultStepBudget};  ///< nodes visited + elements/bytes built
};

/// Evaluates an expression. && and || follow CEL: `false && error` and `error && false` are
/// false, `true || error` and `error || true` are true; all()/exists() likewise. Any other
/// error (division by zero, missing map key, overflow, wrong operand kind) is the result, with
/// where = line:column of the failing part.
[[nodiscard]] Result<Value> evaluate(const Expr& expr, const Activation& activation,
                                     const EvalOptions& options = {});

/// One top-level term of an explained condition.
struct Term {
  std::string text;           ///< the term's source text
  std::optional<bool> value;  ///< its value when it evaluated to a bool
  std::string error;          ///< or the error it evaluated to (or "not bool: 3")
  std::string detail;         ///< the operands' values ("0.91"), or the first failing element
  /// "stages.app.success_ratio >= 0.95 → false (0.91)"
  [[nodiscard]] std::string to_string() const;
};

struct Explanation {
  Result<Value> result;
  std::string op;  ///< "&&", "||", or empty when the expression is a single term
  std::vector<Term> terms;
  /// One line per term.
  [[nodiscard]] std::string to_string() const;
};

/// evaluate(), and each top-level && / || term evaluated on its own (all of them, so that a
/// blocked gate shows every failing part). The result is the same as evaluate()'s.
[[nodiscard]] Explanation evaluate_explained(const Expr& expr, const Activation& activation,
                                             const EvalOptions& options = {});

}  // namespace pf::cel
