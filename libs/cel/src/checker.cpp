// SPDX-License-Identifier: Apache-2.0
// Static checking against an Env. CEL's rules where they matter: arithmetic needs operands of
// one type (int with int, double with double), comparisons accept int with double, equality
// needs comparable types. `dyn` (the element of an empty list) is accepted everywhere.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ast.hpp"
#include "patchflow/cel/expr.hpp"

namespace pf::cel {

namespace {

bool numeric(const Type& t) { return t.kind == TypeKind::integer || t.kind == TypeKind::floating; }
bool is_dyn(const Type& t) { return t.kind == TypeKind::dyn; }

// Whether values of a and b may be compared with ==.
bool comparable(const Type& a, const Type& b) {
  if (is_dyn(a) || is_dyn(b) || a.kind == TypeKind::null || b.kind == TypeKind::null) return true;
  if (numeric(a) && numeric(b)) return true;
  if (a.kind != b.kind) return false;
  if (a.kind == TypeKind::object) return a.name == b.name;
  for (std::size_t i = 0; i < a.params.size() && i < b.params.size(); ++i)
    if (!comparable(a.params[i], b.params[i])) return false;
  return true;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out.empty() ? "none" : out;
}

class Checker {
 public:
  explicit Checker(const Env& env) : env_(env) {}

  Result<Type> check(const Node& n) {
    switch (n.kind) {
      case NodeKind::literal: return literal(n.value);
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

 private:
  static Unexpected fail(const Node& n, std::string message) {
    return make_error(Errc::invalid_input, std::move(message), where_of(n));
  }

  static Type literal(const Value& v) {
    if (v.as_bool()) return Type::boolean();
    if (v.as_int()) return Type::integer();
    if (v.as_double()) return Type::floating();
    if (v.as_string()) return Type::string();
    return Type::null();
  }

  Result<Type> ident(const Node& n) {
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it)
      if (it->first == n.name) return it->second;
    if (const Type* t = env_.variable(n.name)) return *t;
    std::set<std::string> known;
    for (const auto& v : env_.variable_names()) known.insert(v);
    for (const auto& [name, type] : scope_) known.insert(name);
    return fail(n, "unknown variable '" + n.name + "' (known: " +
                       join({known.begin(), known.end()}) + ")");
  }

  Result<Type> field(const Node& n, const Type& base, const std::string& name) {
    if (is_dyn(base)) return Type::dyn();
    if (base.kind == TypeKind::map) {
      if (base.params[0].kind != TypeKind::string && !is_dyn(base.params[0]))
        return fail(n, "cannot select '" + name + "' of " + base.to_string() +
                           " (its keys are not strings)");
      return base.params[1];
    }
    if (base.kind != TypeKind::object)
      return fail(n, "cannot select field '" + name + "' of a value of type " + base.to_string());
    const ObjectType* object = env_.object(base.name);
    if (object == nullptr) return fail(n, "type " + base.name + " is not declared");
    const auto it = object->fields.find(name);
    if (it != object->fields.end()) return it->second;
    std::vector<std::string> known;
    for (const auto& [k, t] : object->fields) known.push_back(k);
    return fail(n, "unknown " + object->member_noun + " '" + name + "' of " + base.name +
                       " (known " + object->member_noun + "s: " + join(known) + ")");
  }

  Result<Type> select(const Node& n) {
    auto base = check(*n.args[0]);
    if (!base) return base;
    return field(n, *base, n.name);
  }

  Result<Type> index(const Node& n) {
    auto base = check(*n.args[0]);
    if (!base) return base;
    auto idx = check(*n.args[1]);
    if (!idx) return idx;
    switch (base->kind) {
      case TypeKind::dyn: return Type::dyn();
      case TypeKind::list:
        if (idx->kind != TypeKind::integer && !is_dyn(*idx))
          return fail(n, "a list index must be an int, found " + idx->to_string());
        return base->params[0];
      case TypeKind::map:
        if (!comparable(base->params[0], *idx) || numeric(*idx) != numeric(base->params[0]))
          return fail(n, "a key of " + base->to_string() + " must be " +
                             base->params[0].to_string() + ", found " + idx->to_string());
        return base->params[1];
      case TypeKind::object: {
        const Node& key = *n.args[1];
        if (key.kind != NodeKind::literal || key.value.as_string() == nullptr)
          return fail(n, "a value of type " + base->to_string() +
                             " can be indexed only with a string literal");
        return field(key, *base, *key.value.as_string());
      }
      default:
        return fail(n, "cannot index a value of type " + base->to_string());
    }
  }

  Result<Type> call(const Node& n) {
    const std::size_t given = n.method ? n.args.size() - 1 : n.args.size();
    if (n.name == "size") {
      const std::size_t want = n.method ? 0 : 1;
      if (given != want)
        return fail(n, std::string(n.method ? "x.size()" : "size()") + " takes " +
                           std::to_string(want) + " argument" + (want == 1 ? "" : "s") +
                           ", found " + std::to_string(given));
      auto t = check(*n.args[0]);
      if (!t) return t;
      if (t->kind != TypeKind::list && t->kind != TypeKind::map && t->kind != TypeKind::string &&
          !is_dyn(*t))
        return fail(n, "size() needs a list, a map or a string, found " + t->to_string());
      return Type::integer();
    }
    if (!n.method && (n.name == "int" || n.name == "double")) {
      if (given != 1)
        return fail(n, n.name + "() takes 1 argument, found " + std::to_string(given));
      auto t = check(*n.args[0]);
      if (!t) return t;
      if (!numeric(*t) && !is_dyn(*t))
        return fail(n, n.name + "() needs an int or a double, found " + t->to_string());
      return n.name == "int" ? Type::integer() : Type::floating();
    }
    if (n.method)
      return fail(n, "unknown method '" + n.name + "' (known methods: all, exists, filter, size)");
    return fail(n, "unknown function '" + n.name + "' (known functions: double, int, size)");
  }

  Result<Type> macro(const Node& n) {
    auto range = check(*n.args[0]);
    if (!range) return range;
    Type element;
    if (range->kind == TypeKind::list) {
      element = range->params[0];
    } else if (range->kind == TypeKind::map) {
      element = range->params[0];
    } else if (is_dyn(*range)) {
      element = Type::dyn();
    } else {
      return fail(n, n.name + "() applies to a list or a map, found " + range->to_string());
    }
    scope_.emplace_back(n.var, element);
    auto pred = check(*n.args[1]);
    scope_.pop_back();
    if (!pred) return pred;
    if (pred->kind != TypeKind::boolean && !is_dyn(*pred))
      return fail(*n.args[1], "the condition of " + n.name + "() must be bool, found " +
                                  pred->to_string());
    if (n.name == "filter") return Type::list(element);
    return Type::boolean();
  }

  Result<Type> unary(const Node& n) {
    auto t = check(*n.args[0]);
    if (!t) return t;
    if (n.name == "!") {
      if (t->kind != TypeKind::boolean && !is_dyn(*t))
        return fail(n, "operator '!' needs a bool, found " + t->to_string());
      return Type::boolean();
    }
    if (!numeric(*t) && !is_dyn(*t))
      return fail(n, "operator '-' needs an int or a double, found " + t->to_string());
    return *t;
  }

  Result<Type> binary(const Node& n) {
    auto a = check(*n.args[0]);
    if (!a) return a;
    auto b = check(*n.args[1]);
    if (!b) return b;
    const std::string& op = n.name;
    const std::string pair = a->to_string() + " and " + b->to_string();
    if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%") {
      if (is_dyn(*a)) return *b;
      if (is_dyn(*b)) return *a;
      if (a->kind == TypeKind::integer && b->kind == TypeKind::integer) return *a;
      if (op != "%" && a->kind == TypeKind::floating && b->kind == TypeKind::floating) return *a;
      if (op == "+" && a->kind == TypeKind::string && b->kind == TypeKind::string) return *a;
      if (op == "+" && a->kind == TypeKind::list && b->kind == TypeKind::list &&
          comparable(*a, *b))
        return is_dyn(a->params[0]) ? *b : *a;
      if (numeric(*a) && numeric(*b))
        return fail(n, "no operator '" + op + "' for " + pair +
                           " (arithmetic does not mix int and double: convert with double() or "
                           "int())");
      return fail(n, "no operator '" + op + "' for " + pair);
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      const bool ok = is_dyn(*a) || is_dyn(*b) || (numeric(*a) && numeric(*b)) ||
                      (a->kind == b->kind &&
                       (a->kind == TypeKind::string || a->kind == TypeKind::boolean));
      if (!ok) return fail(n, "cannot compare " + pair + " with '" + op + "'");
      return Type::boolean();
    }
    if (op == "==" || op == "!=") {
      if (!comparable(*a, *b)) return fail(n, "cannot compare " + pair + " with '" + op + "'");
      return Type::boolean();
    }
    // in
    if (is_dyn(*b)) return Type::boolean();
    if (b->kind != TypeKind::list && b->kind != TypeKind::map)
      return fail(n, "'in' needs a list or a map on its right, found " + b->to_string());
    if (!comparable(*a, b->params[0]))
      return fail(n, "'in' looks for " + a->to_string() + " in " + b->to_string());
    return Type::boolean();
  }

  Result<Type> logic(const Node& n) {
    for (const auto& term : n.args) {
      auto t = check(*term);
      if (!t) return t;
      if (t->kind != TypeKind::boolean && !is_dyn(*t))
        return fail(*term, "operand of '" + n.name + "' must be bool, found " + t->to_string());
    }
    return Type::boolean();
  }

  Result<Type> list(const Node& n) {
    Type element = Type::dyn();
    for (const auto& e : n.args) {
      auto t = check(*e);
      if (!t) return t;
      if (is_dyn(element)) {
        element = *t;
      } else if (!is_dyn(*t) && !(element == *t)) {
        return fail(*e, "list elements must have one type: found " + element.to_string() +
                            " and " + t->to_string());
      }
    }
    return Type::list(std::move(element));
  }

  const Env& env_;
  std::vector<std::pair<std::string, Type>> scope_;
};

void collect_stages(const Node& n, std::vector<std::string>& scope, std::set<std::string>& out) {
  const auto shadowed = [&](const std::string& name) {
    for (const auto& s : scope)
      if (s == name) return true;
    return false;
  };
  if (!n.args.empty() && n.args[0]->kind == NodeKind::ident && n.args[0]->name == "stages" &&
      !shadowed("stages")) {
    if (n.kind == NodeKind::select) out.insert(n.name);
    if (n.kind == NodeKind::index && n.args[1]->kind == NodeKind::literal &&
        n.args[1]->value.as_string() != nullptr)
      out.insert(*n.args[1]->value.as_string());
  }
  if (n.kind == NodeKind::macro) {
    collect_stages(*n.args[0], scope, out);
    scope.push_back(n.var);
    collect_stages(*n.args[1], scope, out);
    scope.pop_back();
    return;
  }
  for (const auto& a : n.args) collect_stages(*a, scope, out);
}

}  // namespace

Result<Type> check(const Expr& expr, const Env& env) {
  return Checker(env).check(expr.root());
}

Result<void> check_condition(const Expr& expr, const Env& env) {
  auto t = check(expr, env);
  if (!t) return tl::unexpected(t.error());
  if (t->kind != TypeKind::boolean && t->kind != TypeKind::dyn)
    return make_error(Errc::invalid_input, "a condition must be bool, found " + t->to_string(),
                      where_of(expr.root()));
  return {};
}

std::vector<std::string> referenced_stages(const Expr& expr) {
  std::vector<std::string> scope;
  std::set<std::string> out;
  collect_stages(expr.root(), scope, out);
  return {out.begin(), out.end()};
}

}  // namespace pf::cel
