// SPDX-License-Identifier: Apache-2.0
// Evaluation. Values are borrowed from the activation and the tree where possible (a Ref), so
// that `stages.db.hosts.all(...)` walks the hosts without copying them. Work is bounded by a
// step budget (nodes visited, elements and bytes built); once spent, evaluation stops.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ast.hpp"
#include "patchflow/cel/expr.hpp"

namespace pf::cel {

namespace {

struct Ref {
  const Value* ptr{nullptr};
  Value owned;
  [[nodiscard]] const Value& get() const { return ptr != nullptr ? *ptr : owned; }
  [[nodiscard]] Value take() && { return ptr != nullptr ? *ptr : std::move(owned); }
};

Ref borrow(const Value& v) { return Ref{&v, {}}; }
Ref own(Value v) { return Ref{nullptr, std::move(v)}; }

using R = tl::expected<Ref, Error>;

// -1, 0, 1, or 2 when unordered (NaN).
int compare_int_double(std::int64_t i, double d) {
  if (std::isnan(d)) return 2;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  const double t = std::trunc(d);
  const auto ti = static_cast<std::int64_t>(t);
  if (i != ti) return i < ti ? -1 : 1;
  const double frac = d - t;
  return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

// Numeric ordering of two numbers; nullopt if either is not a number.
std::optional<int> compare_numbers(const Value& a, const Value& b) {
  if (const auto* ai = a.as_int()) {
    if (const auto* bi = b.as_int()) return *ai < *bi ? -1 : *ai > *bi ? 1 : 0;
    if (const auto* bd = b.as_double()) return compare_int_double(*ai, *bd);
  } else if (const auto* ad = a.as_double()) {
    if (const auto* bd = b.as_double()) {
      if (std::isnan(*ad) || std::isnan(*bd)) return 2;
      return *ad < *bd ? -1 : *ad > *bd ? 1 : 0;
    }
    if (const auto* bi = b.as_int()) {
      const int c = compare_int_double(*bi, *ad);
      return c == 2 ? 2 : -c;
    }
  }
  return std::nullopt;
}

// The language's ==: numbers by value across int and double, deep on lists and maps, false
// across other kinds.
bool equal(const Value& a, const Value& b) {
  if (auto c = compare_numbers(a, b)) return *c == 0;
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.as_bool() && b.as_bool()) return *a.as_bool() == *b.as_bool();
  if (a.as_string() && b.as_string()) return *a.as_string() == *b.as_string();
  if (a.as_list() && b.as_list()) {
    const auto& x = *a.as_list();
    const auto& y = *b.as_list();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!equal(x[i], y[i])) return false;
    return true;
  }
  if (a.as_map() && b.as_map()) {
    const auto& x = *a.as_map();
    const auto& y = *b.as_map();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      const auto it = y.find(k);
      if (it == y.end() || !equal(v, it->second)) return false;
    }
    return true;
  }
  return false;
}

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

class Evaluator {
 public:
  Evaluator(const std::string& source, const Activation& activation, std::uint64_t budget)
      : source_(source), activation_(activation), budget_(budget) {}

  /// A macro node whose deciding element (the first false of all(), the first true of
  /// exists()) is recorded in witness.
  const Node* watch{nullptr};
  std::optional<std::size_t> witness;

  R eval(const Node& n) {
    if (auto spent = charge(n, 1); !spent) return tl::unexpected(spent.error());
    switch (n.kind) {
      case NodeKind::literal: return borrow(n.value);
      case NodeKind::ident: return ident(n);
      case NodeKind::select: return select(n);
      case NodeKind::index: return index(n);
      case NodeKind::call: return call(n);
      case NodeKind::macro: return macro(n);
      case NodeKind::unary: return unary(n);
      case NodeKind::binary: return binary(n);
      case NodeKind::logic: return logic(n);
      case NodeKind::list: return list(n);
    }
    return fail(n, "unknown expression");
  }

  [[nodiscard]] std::uint64_t used() const noexcept { return used_; }

  std::string text(const Node& n) const {
    if (n.end <= n.begin || n.end > source_.size()) return {};
    return source_.substr(n.begin, n.end - n.begin);
  }

 private:
  static Unexpected fail(const Node& n, std::string message) {
    return make_error(Errc::invalid_input, std::move(message), where_of(n));
  }

  Result<void> charge(const Node& n, std::uint64_t steps) {
    if (exhausted_ || steps > budget_ - used_) {
      exhausted_ = true;
      return fail(n, "evaluation needs more than " + std::to_string(budget_) + " steps");
    }
    used_ += steps;
    return {};
  }

  R ident(const Node& n) {
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it)
      if (it->first == n.name) return borrow(*it->second);
    const auto it = activation_.find(n.name);
    if (it == activation_.end()) return fail(n, "no value for variable '" + n.name + "'");
    return borrow(it->second);
  }

  // The message for a key missing from the map that `base` evaluated to.
  std::string missing_key(const Node& base, const std::string& key) {
    if (base.kind == NodeKind::select && base.name == "post") {
      auto host = eval(*base.args[0]);
      if (host) {
        if (const auto* m = host->get().as_map()) {
          const auto it = m->find("name");
          if (it != m->end() && it->second.as_string() != nullptr)
            return "no post step '" + key + "' on host '" + *it->second.as_string() + "'";
        }
      }
      return "no post step '" + key + "'";
    }
    return "no key '" + key + "' in " + text(base);
  }

  R member(const Node& n, const Node& base_node, Ref base, const std::string& key) {
    const Value::Map* m = base.get().as_map();
    if (m == nullptr)
      return fail(n, "cannot select '" + key + "' of a " + base.get().kind_name());
    const auto it = m->find(key);
    if (it == m->end()) return fail(n, missing_key(base_node, key));
    if (base.ptr != nullptr) return borrow(it->second);
    return own(std::move(base.owned.as_map()->find(key)->second));
  }

  R select(const Node& n) {
    auto base = eval(*n.args[0]);
    if (!base) return base;
    return member(n, *n.args[0], std::move(*base), n.name);
  }

  R index(const Node& n) {
    auto base = eval(*n.args[0]);
    if (!base) return base;
    auto idx = eval(*n.args[1]);
    if (!idx) return idx;
    const Value& key = idx->get();
    if (const auto* l = base->get().as_list()) {
      std::optional<std::int64_t> i;
      if (const auto* k = key.as_int()) i = *k;
      if (!i) return fail(n, std::string("a list index must be an int, found ") + key.kind_name());
      if (*i < 0 || static_cast<std::uint64_t>(*i) >= l->size())
        return fail(n, "index " + std::to_string(*i) + " out of range (size " +
                           std::to_string(l->size()) + ")");
      const auto u = static_cast<std::size_t>(*i);
      if (base->ptr != nullptr) return borrow((*l)[u]);
      return own(std::move((*base->owned.as_list())[u]));
    }
    if (base->get().as_map() != nullptr) {
      const auto* k = key.as_string();
      if (k == nullptr)
        return fail(n, std::string("a map key must be a string, found ") + key.kind_name());
      const std::string copy = *k;
      return member(n, *n.args[0], std::move(*base), copy);
    }
    return fail(n, std::string("cannot index a ") + base->get().kind_name());
  }

  R call(const Node& n) {
    const std::size_t given = n.method ? n.args.size() - 1 : n.args.size();
    if (n.name == "size" && given == (n.method ? 0u : 1u)) {
      auto v = eval(*n.args[0]);
      if (!v) return v;
      const Value& x = v->get();
      if (const auto* l = x.as_list()) return own(Value(static_cast<std::int64_t>(l->size())));
      if (const auto* m = x.as_map()) return own(Value(static_cast<std::int64_t>(m->size())));
      if (const auto* s = x.as_string())
        return own(Value(static_cast<std::int64_t>(code_points(*s))));
      return fail(n, std::string("size() needs a list, a map or a string, found ") + x.kind_name());
    }
    if (!n.method && (n.name == "int" || n.name == "double") && given == 1) {
      auto v = eval(*n.args[0]);
      if (!v) return v;
      const Value& x = v->get();
      if (n.name == "double") {
        if (const auto* i = x.as_int()) return own(Value(static_cast<double>(*i)));
        if (const auto* d = x.as_double()) return own(Value(*d));
        return fail(n, std::string("double() needs a number, found ") + x.kind_name());
      }
      if (const auto* i = x.as_int()) return own(Value(*i));
      if (const auto* d = x.as_double()) {
        if (!(*d > -9223372036854775809.0 && *d < 9223372036854775808.0))
          return fail(n, "int() of " + x.to_string() + " is out of range");
        return own(Value(static_cast<std::int64_t>(*d)));
      }
      return fail(n, std::string("int() needs a number, found ") + x.kind_name());
    }
    return fail(n, "no function " + n.name + "() with " + std::to_string(given) + " arguments");
  }

  R macro(const Node& n) {
    auto range = eval(*n.args[0]);
    if (!range) return range;
    // The elements: a list's items, or a map's keys (as string values).
    std::vector<Value> keys;
    const Value::List* items = range->get().as_list();
    if (items == nullptr) {
      const auto* m = range->get().as_map();
      if (m == nullptr)
        return fail(n, n.name + "() applies to a list or a map, found " + range->get().kind_name());
      if (auto c = charge(n, m->size()); !c) return tl::unexpected(c.error());
      for (const auto& [k, v] : *m) keys.emplace_back(k);
    }
    const std::size_t count = items != nullptr ? items->size() : keys.size();
    const auto element = [&](std::size_t i) -> const Value& {
      return items != nullptr ? (*items)[i] : keys[i];
    };
    const bool all = n.name == "all";
    const bool filter = n.name == "filter";
    std::optional<Error> first_error;
    Value::List kept;
    for (std::size_t i = 0; i < count; ++i) {
      if (auto c = charge(n, 1); !c) return tl::unexpected(c.error());
      scope_.emplace_back(n.var, &element(i));
      auto p = eval(*n.args[1]);
      scope_.pop_back();
      if (exhausted_) return p ? fail(n, "evaluation budget spent") : p;
      std::optional<bool> b;
      if (p) {
        if (const bool* pb = p->get().as_bool()) b = *pb;
      }
      if (!b) {
        Error e = p ? Error{Errc::invalid_input,
                            "the condition of " + n.name + "() gave " +
                                p->get().kind_name() + ", not bool",
                            where_of(*n.args[1])}
                    : p.error();
        if (filter) return tl::unexpected(std::move(e));
        if (!first_error) first_error = std::move(e);
        continue;
      }
      if (filter) {
        if (*b) {
          if (auto c = charge(n, 1); !c) return tl::unexpected(c.error());
          kept.push_back(element(i));
        }
        continue;
      }
      if (*b != all) {  // all(): a false decides; exists(): a true decides
        if (&n == watch) witness = i;
        return own(Value(!all));
      }
    }
    if (filter) return own(Value(std::move(kept)));
    if (first_error) return tl::unexpected(std::move(*first_error));
    return own(Value(all));
  }

  R unary(const Node& n) {
    auto v = eval(*n.args[0]);
    if (!v) return v;
    const Value& x = v->get();
    if (n.name == "!") {
      if (const bool* b = x.as_bool()) return own(Value(!*b));
      return fail(n, std::string("operator '!' needs a bool, found ") + x.kind_name());
    }
    if (const auto* i = x.as_int()) {
      if (*i == std::numeric_limits<std::int64_t>::min()) return fail(n, "integer overflow in '-'");
      return own(Value(-*i));
    }
    if (const auto* d = x.as_double()) return own(Value(-*d));
    return fail(n, std::string("operator '-' needs a number, found ") + x.kind_name());
  }

  R arithmetic(const Node& n, const Value& a, const Value& b) {
    const std::string& op = n.name;
    const auto* ai = a.as_int();
    const auto* bi = b.as_int();
    if (ai != nullptr && bi != nullptr) {
      std::int64_t r = 0;
      bool overflow = false;
      if (op == "+") overflow = __builtin_add_overflow(*ai, *bi, &r);
      else if (op == "-") overflow = __builtin_sub_overflow(*ai, *bi, &r);
      else if (op == "*") overflow = __builtin_mul_overflow(*ai, *bi, &r);
      else {
        if (*bi == 0) return fail(n, op == "/" ? "division by zero" : "modulus by zero");
        if (*bi == -1 && *ai == std::numeric_limits<std::int64_t>::min()) {
          if (op == "%") return own(Value(std::int64_t{0}));
          overflow = true;
        } else {
          r = op == "/" ? *ai / *bi : *ai % *bi;
        }
      }
      if (overflow) return fail(n, "integer overflow in '" + op + "'");
      return own(Value(r));
    }
    const auto* ad = a.as_double();
    const auto* bd = b.as_double();
    if (ad != nullptr && bd != nullptr && op != "%") {
      if (op == "+") return own(Value(*ad + *bd));
      if (op == "-") return own(Value(*ad - *bd));
      if (op == "*") return own(Value(*ad * *bd));
      if (*bd == 0) return fail(n, "division by zero");
      return own(Value(*ad / *bd));
    }
    if (op == "+") {
      if (a.as_string() && b.as_string()) {
        if (auto c = charge(n, a.as_string()->size() + b.as_string()->size()); !c)
          return tl::unexpected(c.error());
        return own(Value(*a.as_string() + *b.as_string()));
      }
      if (a.as_list() && b.as_list()) {
        if (auto c = charge(n, a.as_list()->size() + b.as_list()->size()); !c)
          return tl::unexpected(c.error());
        Value::List out = *a.as_list();
        out.insert(out.end(), b.as_list()->begin(), b.as_list()->end());
        return own(Value(std::move(out)));
      }
    }
    return fail(n, "no operator '" + op + "' for " + a.kind_name() + " and " + b.kind_name());
  }

  R binary(const Node& n) {
    auto av = eval(*n.args[0]);
    if (!av) return av;
    auto bv = eval(*n.args[1]);
    if (!bv) return bv;
    const Value& a = av->get();
    const Value& b = bv->get();
    const std::string& op = n.name;
    if (op == "==" || op == "!=") {
      if (auto c = charge(n, 1); !c) return tl::unexpected(c.error());
      return own(Value(equal(a, b) == (op == "==")));
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      std::optional<int> c = compare_numbers(a, b);
      if (!c && a.as_string() && b.as_string()) {
        const int s = a.as_string()->compare(*b.as_string());
        c = s < 0 ? -1 : s > 0 ? 1 : 0;
      }
      if (!c && a.as_bool() && b.as_bool())
        c = static_cast<int>(*a.as_bool()) - static_cast<int>(*b.as_bool());
      if (!c)
        return fail(n, "cannot compare " + std::string(a.kind_name()) + " with " + b.kind_name() +
                           " using '" + op + "'");
      if (*c == 2) return own(Value(false));
      const bool r = op == "<" ? *c < 0 : op == "<=" ? *c <= 0 : op == ">" ? *c > 0 : *c >= 0;
      return own(Value(r));
    }
    if (op == "in") {
      if (const auto* l = b.as_list()) {
        if (auto c = charge(n, l->size()); !c) return tl::unexpected(c.error());
        for (const auto& e : *l)
          if (equal(a, e)) return own(Value(true));
        return own(Value(false));
      }
      if (const auto* m = b.as_map()) {
        const auto* k = a.as_string();
        return own(Value(k != nullptr && m->find(*k) != m->end()));
      }
      return fail(n, std::string("'in' needs a list or a map on its right, found ") + b.kind_name());
    }
    return arithmetic(n, a, b);
  }

  // CEL's commutative && and ||: a deciding term (false for &&, true for ||) wins over errors
  // in the other terms; terms after a deciding one are not evaluated.
  R logic(const Node& n) {
    const bool decider = n.name == "||";
    std::optional<Error> first_error;
    for (const auto& term : n.args) {
      auto v = eval(*term);
      if (exhausted_) return v ? fail(n, "evaluation budget spent") : v;
      if (v) {
        if (const bool* b = v->get().as_bool()) {
          if (*b == decider) return own(Value(decider));
          continue;
        }
        if (!first_error)
          first_error = Error{Errc::invalid_input,
                              "operand of '" + n.name + "' is " + v->get().kind_name() +
                                  ", not bool",
                              where_of(*term)};
        continue;
      }
      if (!first_error) first_error = v.error();
    }
    if (first_error) return tl::unexpected(std::move(*first_error));
    return own(Value(!decider));
  }

  R list(const Node& n) {
    if (auto c = charge(n, n.args.size()); !c) return tl::unexpected(c.error());
    Value::List out;
    out.reserve(n.args.size());
    for (const auto& e : n.args) {
      auto v = eval(*e);
      if (!v) return v;
      out.push_back(std::move(*v).take());
    }
    return own(Value(std::move(out)));
  }

  const std::string& source_;
  const Activation& activation_;
  std::uint64_t budget_;
  std::uint64_t used_{0};
  bool exhausted_{false};
  std::vector<std::pair<std::string, const Value*>> scope_;
};

bool is_operand_worth_showing(const Node& n) {
  return n.kind != NodeKind::literal && n.kind != NodeKind::list;
}

// The values behind a term's outcome: its operands, or the deciding element of a macro.
// `left` is the step budget the explanation has left; each evaluation here spends from it.
std::string detail_of(const Node& term, const std::string& source, const Activation& activation,
                      std::uint64_t& left) {
  std::vector<const Node*> operands;
  if (term.kind == NodeKind::binary || term.kind == NodeKind::unary) {
    for (const auto& a : term.args)
      if (is_operand_worth_showing(*a)) operands.push_back(a.get());
  } else if (term.kind == NodeKind::macro) {
    Evaluator ev(source, activation, left);
    ev.watch = &term;
    auto r = ev.eval(term);
    auto range = r && ev.witness ? ev.eval(*term.args[0]) : r;
    left -= ev.used();
    if (!r || !ev.witness || !range) return {};
    const std::size_t i = *ev.witness;
    const std::string head = term.var + " = " + ev.text(*term.args[0]);
    if (const auto* l = range->get().as_list(); l != nullptr && i < l->size()) {
      std::string out = head + "[" + std::to_string(i) + "]";
      if (const auto* m = (*l)[i].as_map()) {
        const auto it = m->find("name");
        if (it != m->end() && it->second.as_string() != nullptr)
          out += " " + it->second.to_string(60);
      } else {
        out += " = " + (*l)[i].to_string(60);
      }
      return out;
    }
    if (const auto* m = range->get().as_map(); m != nullptr && i < m->size()) {
      auto it = m->begin();
      std::advance(it, static_cast<std::ptrdiff_t>(i));
      return term.var + " = " + Value(it->first).to_string(60);
    }
    return {};
  }
  std::string out;
  for (const Node* op : operands) {
    Evaluator ev(source, activation, left);
    auto v = ev.eval(*op);
    left -= ev.used();
    const std::string shown = v ? v->get().to_string(60) : "error: " + v.error().message;
    if (!out.empty()) out += ", ";
    out += operands.size() == 1 ? shown : ev.text(*op) + " = " + shown;
  }
  return out;
}

}  // namespace

Result<Value> evaluate(const Expr& expr, const Activation& activation, const EvalOptions& options) {
  Evaluator ev(expr.source(), activation, options.step_budget);
  auto r = ev.eval(expr.root());
  if (!r) return tl::unexpected(r.error());
  return std::move(*r).take();
}

std::string Term::to_string() const {
  std::string out = text + " → ";
  if (value) out += *value ? "true" : "false";
  else out += "error: " + error;
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

std::string Explanation::to_string() const {
  std::string out;
  for (const auto& t : terms) {
    if (!out.empty()) out += '\n';
    out += t.to_string();
  }
  return out;
}

Explanation evaluate_explained(const Expr& expr, const Activation& activation,
                               const EvalOptions& options) {
  Explanation out{evaluate(expr, activation, options), {}, {}};
  const Node& root = expr.root();
  std::vector<const Node*> terms;
  if (root.kind == NodeKind::logic) {
    out.op = root.name;
    for (const auto& a : root.args) terms.push_back(a.get());
  } else {
    terms.push_back(&root);
  }
  // The terms and their details share one more budget of the same size.
  std::uint64_t left = options.step_budget;
  for (const Node* t : terms) {
    Evaluator ev(expr.source(), activation, left);
    Term term;
    term.text = ev.text(*t);
    auto v = ev.eval(*t);
    left -= ev.used();
    if (!v) {
      term.error = to_string(v.error());
    } else if (const bool* b = v->get().as_bool()) {
      term.value = *b;
    } else {
      term.error = "not a bool: " + v->get().to_string(60);
    }
    term.detail = detail_of(*t, expr.source(), activation, left);
    out.terms.push_back(std::move(term));
  }
  return out;
}

}  // namespace pf::cel
