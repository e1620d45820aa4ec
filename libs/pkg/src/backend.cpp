// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg/backend.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "patchflow/pkg/backend_support.hpp"

namespace pf::pkg {

namespace {

constexpr std::size_t kMaxSelectionItems = 10000;
constexpr std::size_t kMaxItemLength = 512;

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

// Package names of both families: letters, digits and + - . _ (dpkg allows a subset of these,
// rpm a superset that we do not need). Advisory ids also use ':'.
bool valid_name(std::string_view s, bool advisory) {
  if (s.empty() || s.size() > kMaxItemLength) return false;
  return std::all_of(s.begin(), s.end(), [advisory](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.' || c == '_' || (advisory && c == ':');
  });
}

bool valid_version(std::string_view s) {
  if (s.empty() || s.size() > kMaxItemLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.' || c == '_' || c == ':' || c == '~' || c == '^';
  });
}

// "name" or "name:arch" (an arch never contains ':').
Result<PackageRef> parse_name_arch(std::string_view item, std::string_view where) {
  PackageRef ref;
  auto colon = item.find(':');
  ref.name = std::string(item.substr(0, colon));
  if (colon != std::string_view::npos) ref.arch = std::string(item.substr(colon + 1));
  if (!valid_name(ref.name, false))
    return make_error(Errc::invalid_input,
                      "'" + std::string(item) + "' is not a package name (letters, digits, + - . _)",
                      std::string(where));
  if (colon != std::string_view::npos && !valid_name(ref.arch, false))
    return make_error(Errc::invalid_input,
                      "'" + std::string(item) + "' has an invalid architecture after ':'",
                      std::string(where));
  return ref;
}

std::string key_of(const std::string& name, const std::string& arch) {
  return arch.empty() ? name : name + ":" + arch;
}

}  // namespace

Result<Selection> parse_selection(std::string_view text) {
  Selection sel;
  if (text == "all") return sel;
  if (text == "security") {
    sel.kind = Selection::Kind::security;
    return sel;
  }
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return make_error(Errc::invalid_input,
                      "unknown selection '" + std::string(text) +
                          "': expected all, security, packages:A,B, advisories:ID,... or "
                          "exact:NAME=VERSION,...",
                      "selection");
  auto kind = text.substr(0, colon);
  auto rest = text.substr(colon + 1);
  if (rest.empty())
    return make_error(Errc::invalid_input, "'" + std::string(kind) + ":' names nothing",
                      "selection");
  auto items = split(rest, ',');
  if (items.size() > kMaxSelectionItems)
    return make_error(Errc::invalid_input,
                      "more than " + std::to_string(kMaxSelectionItems) + " items", "selection");
  std::size_t index = 0;
  for (auto item : items) {
    ++index;
    std::string where = "selection item " + std::to_string(index);
    if (item.empty()) return make_error(Errc::invalid_input, "empty item", where);
    if (kind == "packages") {
      sel.kind = Selection::Kind::packages;
      auto ref = parse_name_arch(item, where);
      if (!ref) return tl::unexpected(ref.error());
      sel.names.push_back(key_of(ref->name, ref->arch));
    } else if (kind == "advisories") {
      sel.kind = Selection::Kind::advisories;
      if (!valid_name(item, true))
        return make_error(Errc::invalid_input,
                          "'" + std::string(item) + "' is not an advisory id", where);
      sel.names.emplace_back(item);
    } else if (kind == "exact") {
      sel.kind = Selection::Kind::exact;
      auto eq = item.find('=');
      if (eq == std::string_view::npos)
        return make_error(Errc::invalid_input,
                          "'" + std::string(item) + "' lacks '=VERSION' (exact:NAME[:ARCH]=VERSION)",
                          where);
      auto ref = parse_name_arch(item.substr(0, eq), where);
      if (!ref) return tl::unexpected(ref.error());
      ref->version = std::string(item.substr(eq + 1));
      if (!valid_version(ref->version))
        return make_error(Errc::invalid_input,
                          "'" + ref->version + "' is not a package version", where);
      sel.exact.push_back(std::move(*ref));
    } else {
      return make_error(Errc::invalid_input,
                        "unknown selection kind '" + std::string(kind) +
                            "': expected packages, advisories or exact",
                        "selection");
    }
  }
  return sel;
}

std::string to_string(const Selection& selection) {
  std::string out;
  auto join = [&out](const std::vector<std::string>& items) {
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  };
  switch (selection.kind) {
    case Selection::Kind::all: return "all";
    case Selection::Kind::security: return "security";
    case Selection::Kind::packages:
      out = "packages:";
      join(selection.names);
      return out;
    case Selection::Kind::advisories:
      out = "advisories:";
      join(selection.names);
      return out;
    case Selection::Kind::exact:
      out = "exact:";
      for (std::size_t i = 0; i < selection.exact.size(); ++i) {
        const auto& r = selection.exact[i];
        out += (i ? "," : "") + key_of(r.name, r.arch) + "=" + r.version;
      }
      return out;
  }
  return out;
}

std::string_view reason_name(Reason reason) noexcept {
  switch (reason) {
    case Reason::none: return "none";
    case Reason::held: return "held";
    case Reason::kept_back: return "kept_back";
    case Reason::conflict: return "conflict";
    case Reason::dependency: return "dependency";
    case Reason::conffile: return "conffile";
    case Reason::not_in_repository: return "not_in_repository";
    case Reason::not_installed: return "not_installed";
    case Reason::no_space: return "no_space";
    case Reason::script_failed: return "script_failed";
    case Reason::tool_failed: return "tool_failed";
    case Reason::up_to_date: return "up_to_date";
  }
  return "unknown";
}

std::string_view action_name(Action action) noexcept {
  switch (action) {
    case Action::install: return "install";
    case Action::upgrade: return "upgrade";
    case Action::downgrade: return "downgrade";
    case Action::remove: return "remove";
    case Action::reinstall: return "reinstall";
  }
  return "unknown";
}

std::string_view status_name(PackageResult::Status status) noexcept {
  switch (status) {
    case PackageResult::Status::applied: return "applied";
    case PackageResult::Status::not_applied: return "not_applied";
    case PackageResult::Status::failed: return "failed";
    case PackageResult::Status::extra: return "extra";
  }
  return "unknown";
}

std::string_view outcome_name(ApplyOutcome outcome) noexcept {
  switch (outcome) {
    case ApplyOutcome::applied: return "applied";
    case ApplyOutcome::applied_reboot_required: return "applied_reboot_required";
    case ApplyOutcome::nothing_to_do: return "nothing_to_do";
    case ApplyOutcome::not_applied: return "not_applied";
    case ApplyOutcome::resolve_failed: return "resolve_failed";
    case ApplyOutcome::install_failed: return "install_failed";
  }
  return "unknown";
}

std::vector<PackageRef> rollback_targets(const ApplyReport& report) {
  std::vector<PackageRef> targets;
  for (const auto& p : report.packages) {
    if (p.before == p.after && p.state.empty()) continue;
    targets.push_back({p.name, p.arch, p.before});
  }
  return targets;
}

std::vector<PackageResult> verify_run(const std::vector<DbEntry>& before,
                                      const std::vector<DbEntry>& after,
                                      const std::vector<Wanted>& wanted,
                                      const std::map<std::string, Hint>& hints) {
  using Key = std::pair<std::string, std::string>;
  std::map<Key, const DbEntry*> b, a;
  for (const auto& e : before) b[{e.name, e.arch}] = &e;
  for (const auto& e : after) a[{e.name, e.arch}] = &e;

  // The architectures a wanted package covers: the given one, or every one of that name seen in
  // either read (a package not installed anywhere keeps its empty arch).
  auto arches_of = [&](const Wanted& w) {
    std::set<std::string> arches;
    if (!w.arch.empty()) {
      arches.insert(w.arch);
      return arches;
    }
    for (const auto* m : {&b, &a})
      for (auto it = m->lower_bound({w.name, ""}); it != m->end() && it->first.first == w.name; ++it)
        arches.insert(it->first.second);
    if (arches.empty()) arches.insert("");
    return arches;
  };
  auto hint_for = [&](const std::string& name, const std::string& arch) -> const Hint* {
    if (auto it = hints.find(key_of(name, arch)); it != hints.end()) return &it->second;
    if (auto it = hints.find(name); it != hints.end()) return &it->second;
    return nullptr;
  };

  std::vector<PackageResult> results;
  std::set<Key> covered;
  for (const auto& w : wanted) {
    for (const auto& arch : arches_of(w)) {
      Key key{w.name, arch};
      if (!covered.insert(key).second) continue;
      PackageResult r;
      r.name = w.name;
      r.arch = arch;
      r.wanted = w.remove ? "" : w.version;
      const DbEntry* eb = b.count(key) ? b[key] : nullptr;
      const DbEntry* ea = a.count(key) ? a[key] : nullptr;
      if (eb) r.before = eb->version;
      if (ea) {
        r.after = ea->version;
        r.state = ea->state;
      }
      bool clean = !ea || ea->state.empty();
      bool reached = false;
      if (w.remove) {
        reached = ea == nullptr;
      } else if (ea && !w.version.empty()) {
        reached = ea->version == w.version;
      } else if (ea) {
        reached = !eb || eb->version != ea->version || !eb->state.empty();
      }
      if (!clean) {
        r.status = PackageResult::Status::failed;
      } else if (reached) {
        r.status = PackageResult::Status::applied;
      } else {
        r.status = PackageResult::Status::not_applied;
      }
      if (r.status != PackageResult::Status::applied) {
        if (const Hint* h = hint_for(w.name, arch)) {
          r.reason = h->reason;
          r.detail = h->detail;
        } else if (r.status == PackageResult::Status::not_applied && !w.remove && eb && ea &&
                   w.version.empty() && eb->version == ea->version) {
          r.reason = Reason::up_to_date;
        } else if (r.status == PackageResult::Status::not_applied && !w.remove && eb && ea &&
                   w.version == ea->version) {
          r.reason = Reason::up_to_date;
        }
      }
      results.push_back(std::move(r));
    }
  }

  std::set<Key> all;
  for (const auto& [k, v] : b) all.insert(k);
  for (const auto& [k, v] : a) all.insert(k);
  for (const auto& key : all) {
    if (covered.count(key)) continue;
    const DbEntry* eb = b.count(key) ? b[key] : nullptr;
    const DbEntry* ea = a.count(key) ? a[key] : nullptr;
    bool same = eb && ea && eb->version == ea->version && eb->state == ea->state;
    if (same) continue;
    PackageResult r;
    r.name = key.first;
    r.arch = key.second;
    r.status = PackageResult::Status::extra;
    if (eb) r.before = eb->version;
    if (ea) {
      r.after = ea->version;
      r.state = ea->state;
    }
    if (const Hint* h = hint_for(r.name, r.arch)) {
      r.reason = h->reason;
      r.detail = h->detail;
    }
    results.push_back(std::move(r));
  }
  return results;
}

ApplyOutcome summarize(const std::vector<PackageResult>& results, bool tool_failed,
                       bool reboot_required) {
  bool any_selected = false, all_up_to_date = true, any_missed = false, any_change = false;
  for (const auto& r : results) {
    if (r.before != r.after || !r.state.empty()) any_change = true;
    if (r.status == PackageResult::Status::extra) continue;
    any_selected = true;
    if (r.status != PackageResult::Status::not_applied || r.reason != Reason::up_to_date)
      all_up_to_date = false;
    if (r.status == PackageResult::Status::failed ||
        (r.status == PackageResult::Status::not_applied && r.reason != Reason::up_to_date))
      any_missed = true;
  }
  if (tool_failed) return any_change ? ApplyOutcome::install_failed : ApplyOutcome::resolve_failed;
  if (!any_selected || all_up_to_date) {
    if (!any_change) return ApplyOutcome::nothing_to_do;
  }
  if (any_missed) return ApplyOutcome::not_applied;
  if (!any_change) return ApplyOutcome::nothing_to_do;
  return reboot_required ? ApplyOutcome::applied_reboot_required : ApplyOutcome::applied;
}

std::string quote_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
    });
    if (plain) {
      out += arg;
      continue;
    }
    out += '\'';
    for (char c : arg) {
      if (c == '\'')
        out += "'\\''";
      else
        out += c;
    }
    out += '\'';
  }
  return out;
}

std::string tail_lines(std::string_view text, std::size_t max_lines, std::size_t max_bytes) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::size_t pos = text.size();
  std::size_t lines = 0;
  while (pos > 0 && lines < max_lines) {
    auto nl = text.rfind('\n', pos - 1);
    ++lines;
    if (nl == std::string_view::npos) {
      pos = 0;
      break;
    }
    pos = nl;
    if (lines == max_lines) {
      pos = nl + 1;
      break;
    }
  }
  auto tail = text.substr(pos);
  if (!tail.empty() && tail.front() == '\n') tail.remove_prefix(1);
  if (tail.size() > max_bytes) tail = tail.substr(tail.size() - max_bytes);
  return std::string(tail);
}

}  // namespace pf::pkg
