// SPDX-License-Identifier: Apache-2.0
// Checks that need the whole set of documents: references between documents and the stage
// graph of each chain.
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "internal.hpp"
#include "patchflow/cel/expr.hpp"
#include "patchflow/policy/document.hpp"

namespace pf::policy {
namespace {

std::string list_names(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

}  // namespace

Result<void> validate_set(const std::vector<Document>& all) {
  std::map<std::pair<DocKind, std::string>, const Document*> index;
  for (const auto& d : all) {
    auto [it, fresh] = index.emplace(std::pair{d.kind, d.name}, &d);
    if (!fresh) {
      return make_error(Errc::invalid_input,
                        std::string(doc_kind_name(d.kind)) + " " + d.name + " is defined twice (also at " +
                            it->second->where + ")",
                        d.where);
    }
  }
  auto find = [&](DocKind k, const std::string& name) -> const Document* {
    auto it = index.find({k, name});
    return it == index.end() ? nullptr : it->second;
  };
  // A Window document of maintenance/blackout kind (want_calendar false) or a calendar.
  auto window_ok = [&](const std::string& name, bool want_calendar) -> std::string {
    const Document* w = find(DocKind::window, name);
    if (w == nullptr) return "window \"" + name + "\" does not exist";
    const auto* spec_ptr = std::get_if<WindowDoc>(&w->spec);
    if (spec_ptr == nullptr) return "window \"" + name + "\" has no window spec";
    const auto& spec = *spec_ptr;
    if (want_calendar && !spec.calendar) return "window \"" + name + "\" is not a calendar (kind: calendar)";
    if (!want_calendar && !spec.window) return "window \"" + name + "\" is a calendar, not a maintenance or blackout window";
    return "";
  };

  for (const auto& d : all) {
    const bool consistent = (d.kind == DocKind::baseline && std::holds_alternative<Baseline>(d.spec)) ||
                            (d.kind == DocKind::group && std::holds_alternative<Group>(d.spec)) ||
                            (d.kind == DocKind::window && std::holds_alternative<WindowDoc>(d.spec)) ||
                            (d.kind == DocKind::chain && std::holds_alternative<Chain>(d.spec));
    if (!consistent) {
      return make_error(Errc::invalid_input,
                        std::string(doc_kind_name(d.kind)) + " " + d.name + ": spec of another kind", d.where);
    }
  }
  for (const auto& d : all) {
    const std::string who = (d.kind == DocKind::group ? "group " : "chain ") + d.name + ": ";
    auto fail = [&](const std::string& message, const std::string& where) {
      return make_error(Errc::invalid_input, who + message, where.empty() ? d.where : where);
    };
    if (d.kind == DocKind::group) {
      for (const auto& w : std::get<Group>(d.spec).windows) {
        if (auto e = window_ok(w, false); !e.empty()) return fail(e, d.where);
      }
      continue;
    }
    if (d.kind != DocKind::chain) continue;
    const auto& c = std::get<Chain>(d.spec);
    if (find(DocKind::baseline, c.baseline) == nullptr) {
      return fail("baseline \"" + c.baseline + "\" does not exist", d.where);
    }
    for (const auto& w : c.windows) {
      if (auto e = window_ok(w, false); !e.empty()) return fail(e, d.where);
    }
    if (!c.calendar.empty()) {
      if (auto e = window_ok(c.calendar, true); !e.empty()) return fail("calendar: " + e, d.where);
    }
    std::map<std::string, const Stage*> stages;
    std::vector<std::string> names;
    for (const auto& s : c.stages) {
      if (!stages.emplace(s.name, &s).second) return fail("stage \"" + s.name + "\" defined twice", s.where);
      names.push_back(s.name);
    }
    for (const auto& s : c.stages) {
      const std::string sw = "stage " + s.name + ": ";
      if (!s.targets.group.empty() && find(DocKind::group, s.targets.group) == nullptr) {
        return fail(sw + "group \"" + s.targets.group + "\" does not exist", s.where);
      }
      for (const auto& a : s.after) {
        if (!stages.contains(a)) {
          return fail(sw + "after names unknown stage \"" + a + "\" (stages: " + list_names(names) + ")", s.where);
        }
        if (a == s.name) return fail(sw + "a stage cannot come after itself", s.where);
      }
    }
    // Cycles: depth-first search with colours.
    std::map<std::string, int> colour;  // 0 new, 1 on the path, 2 done
    std::vector<std::string> path;
    std::function<std::string(const std::string&)> dfs = [&](const std::string& n) -> std::string {
      colour[n] = 1;
      path.push_back(n);
      for (const auto& a : stages.at(n)->after) {
        if (colour[a] == 1) {
          std::string cycle;
          auto it = std::find(path.begin(), path.end(), a);
          for (; it != path.end(); ++it) cycle += *it + " → ";
          return cycle + a;
        }
        if (colour[a] == 0) {
          if (auto found = dfs(a); !found.empty()) return found;
        }
      }
      path.pop_back();
      colour[n] = 2;
      return "";
    };
    for (const auto& s : c.stages) {
      if (colour[s.name] != 0) continue;
      path.clear();
      if (auto cycle = dfs(s.name); !cycle.empty()) {
        return fail("stage " + s.name + ": the stages' after lists form a cycle (" + cycle + ")", s.where);
      }
    }
    // Gates read only stages that finish before: the transitive closure of after.
    for (const auto& s : c.stages) {
      if (s.when.empty()) continue;
      std::set<std::string> before;
      std::vector<std::string> todo(s.after.begin(), s.after.end());
      while (!todo.empty()) {
        auto n = todo.back();
        todo.pop_back();
        if (!before.insert(n).second) continue;
        for (const auto& a : stages.at(n)->after) todo.push_back(a);
      }
      auto expr = cel::parse(s.when);
      if (!expr) return fail("stage " + s.name + ": when: " + expr.error().message, s.when_where);
      for (const auto& r : cel::referenced_stages(*expr)) {
        if (!before.contains(r)) {
          return fail("stage " + s.name + ": when reads stage \"" + r +
                          "\", which is not (transitively) in its after list (" +
                          list_names({before.begin(), before.end()}) + ")",
                      s.when_where.empty() ? s.where : s.when_where);
        }
      }
    }
  }
  return {};
}

}  // namespace pf::policy
