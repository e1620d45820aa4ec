// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg_apt/apt_output.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace pf::pkg::apt {

namespace {

constexpr std::size_t kMaxDetail = 2048;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

// A token apt or dpkg printed as a package name: no blanks, no control bytes, bounded.
bool plausible_name(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) != 0x7f;
  });
}

void append_detail(std::string& detail, std::string_view more) {
  if (more.empty() || detail.size() >= kMaxDetail) return;
  if (!detail.empty()) detail += "; ";
  detail.append(more.substr(0, kMaxDetail - std::min(kMaxDetail, detail.size())));
}

// Records `hint` for `name` unless a more specific one is already there: dpkg often reports a
// package twice (the cause first, then "dependency problems - leaving unconfigured").
void note(std::map<std::string, Hint>& problems, const std::string& name, Hint hint) {
  auto it = problems.find(name);
  if (it == problems.end()) {
    problems.emplace(name, std::move(hint));
  } else if (it->second.reason == Reason::tool_failed && hint.reason != Reason::tool_failed) {
    it->second = std::move(hint);
  }
}

// The text between the first pair of single quotes after `from`, e.g. "'9.9-1'".
std::optional<std::string_view> quoted(std::string_view s, std::size_t from = 0) {
  auto open = s.find('\'', from);
  if (open == std::string_view::npos) return std::nullopt;
  auto close = s.find('\'', open + 1);
  if (close == std::string_view::npos) return std::nullopt;
  return s.substr(open + 1, close - open - 1);
}

std::vector<Listed> parse_listed(std::string_view line) {
  std::vector<Listed> out;
  line = trim(line);
  if (line.empty()) return out;
  auto paren = line.find(" (");
  if (paren != std::string_view::npos && line.back() == ')') {
    Listed l;
    l.name = std::string(line.substr(0, paren));
    auto inner = line.substr(paren + 2, line.size() - paren - 3);
    auto arrow = inner.find(" => ");
    if (arrow != std::string_view::npos) {
      l.from = std::string(trim(inner.substr(0, arrow)));
      l.to = std::string(trim(inner.substr(arrow + 4)));
    } else {
      l.to = std::string(trim(inner));
    }
    if (plausible_name(l.name)) out.push_back(std::move(l));
    return out;
  }
  // Without -V apt lists several names per line.
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    auto end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    auto name = line.substr(pos, end - pos);
    if (plausible_name(name)) out.push_back({std::string(name), {}, {}});
    pos = end;
  }
  return out;
}

// The package a dpkg "error processing archive" line names: its file name up to the first '_'
// (apt and dpkg-deb name archives NAME_VERSION_ARCH.deb).
std::string package_of_archive(std::string_view path) {
  auto slash = path.rfind('/');
  auto base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return std::string(base.substr(0, base.find('_')));
}

Reason classify_dpkg_block(std::string_view text, bool dependency_block) {
  if (contains(text, "No space left on device")) return Reason::no_space;
  if (contains(text, "conffile prompt")) return Reason::conffile;
  if (contains(text, "script subprocess returned error exit status") ||
      contains(text, "script subprocess was killed by signal") ||
      (contains(text, "subprocess") && contains(text, "script") &&
       contains(text, "returned error exit status")))
    return Reason::script_failed;
  if (dependency_block || contains(text, "dependency problems")) return Reason::dependency;
  if (contains(text, "conflicting packages") || contains(text, "conflicts with")) {
    return Reason::conflict;
  }
  return Reason::tool_failed;
}

enum class Section { none, kept, held, deferred, remove, other, unmet };

Section heading(std::string_view line) {
  static constexpr std::array<std::pair<std::string_view, Section>, 8> kHeadings{{
      {"The following packages have been kept back:", Section::kept},
      {"The following held packages will be changed:", Section::held},
      {"The following upgrades have been deferred due to phasing:", Section::deferred},
      {"The following packages will be REMOVED:", Section::remove},
      {"The following packages have unmet dependencies:", Section::unmet},
      // apt 3.0 spells its lists differently.
      {"Not upgrading:", Section::kept},
      {"Not upgrading yet due to phasing:", Section::deferred},
      {"REMOVING:", Section::remove},
  }};
  for (const auto& [text, section] : kHeadings) {
    if (line == text) return section;
  }
  if (!line.empty() && line.back() == ':' && line.front() != ' ') return Section::other;
  return Section::none;
}

}  // namespace

std::vector<ReleaseInfo> parse_release_info(std::string_view text) {
  std::vector<ReleaseInfo> out;
  std::size_t pos = 0;
  while (pos <= text.size() && out.size() < 64) {
    auto comma = text.find(", ", pos);
    auto part =
        trim(text.substr(pos, comma == std::string_view::npos ? text.size() - pos : comma - pos));
    if (!part.empty()) {
      ReleaseInfo r;
      auto slash = part.find('/');
      std::string_view head = slash == std::string_view::npos ? part : part.substr(0, slash);
      if (slash != std::string_view::npos) r.archive = std::string(part.substr(slash + 1));
      auto colon = head.find(':');
      if (colon != std::string_view::npos) {
        r.label = std::string(head.substr(0, colon));
        auto rest = head.substr(colon + 1);
        if (slash != std::string_view::npos) {
          r.version = std::string(rest);
        } else {
          r.archive = std::string(rest);
        }
      } else if (slash != std::string_view::npos) {
        r.version = std::string(head);
      } else {
        r.archive = std::string(head);
      }
      out.push_back(std::move(r));
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 2;
  }
  return out;
}

bool is_security_release(const ReleaseInfo& release) noexcept {
  const std::string_view archive = release.archive;
  constexpr std::string_view kSuffix = "-security";
  if (archive.size() >= kSuffix.size() &&
      archive.substr(archive.size() - kSuffix.size()) == kSuffix)
    return true;
  return release.label.find("Security") != std::string::npos;
}

std::optional<SimAction> parse_sim_line(std::string_view line) {
  line = trim(line);
  SimAction a;
  if (starts_with(line, "Inst ")) {
    a.kind = SimAction::Kind::install;
  } else if (starts_with(line, "Remv ") || starts_with(line, "Purg ")) {
    a.kind = SimAction::Kind::remove;
  } else if (starts_with(line, "Conf ")) {
    a.kind = SimAction::Kind::configure;
  } else {
    return std::nullopt;
  }
  std::string_view rest = line.substr(5);
  auto space = rest.find(' ');
  auto name = rest.substr(0, space);
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!plausible_name(name) || !alnum(name.front())) return std::nullopt;
  a.name = std::string(name);
  rest = space == std::string_view::npos ? std::string_view{} : trim(rest.substr(space));
  if (starts_with(rest, "[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    a.from = std::string(rest.substr(1, close - 1));
    if (!plausible_name(a.from)) return std::nullopt;
    rest = trim(rest.substr(close + 1));
  }
  if (starts_with(rest, "(")) {
    auto close = rest.find(')');
    if (close == std::string_view::npos) return std::nullopt;
    auto inner = trim(rest.substr(1, close - 1));
    auto sp = inner.find(' ');
    a.to = std::string(inner.substr(0, sp));
    if (!plausible_name(a.to)) return std::nullopt;
    auto release = sp == std::string_view::npos ? std::string_view{} : trim(inner.substr(sp));
    if (!release.empty() && release.back() == ']') {
      auto open = release.rfind('[');
      if (open != std::string_view::npos) {
        a.arch = std::string(release.substr(open + 1, release.size() - open - 2));
        release = trim(release.substr(0, open));
      }
    }
    a.releases = parse_release_info(release);
  }
  if (a.kind != SimAction::Kind::remove && a.to.empty()) return std::nullopt;
  return a;
}

AptOutput parse_apt_output(std::string_view text) {
  AptOutput out;
  Section section = Section::none;
  std::string unmet_name;  // the package whose unmet-dependency lines are being read
  // The dpkg block being read: "dpkg: error processing ...:" and its indented lines.
  std::string block_name;
  std::string block_text;
  bool block_dependency = false;
  bool in_block = false;
  const auto close_block = [&] {
    if (!in_block) return;
    in_block = false;
    if (block_name.empty()) return;
    Hint h;
    h.reason = classify_dpkg_block(block_text, block_dependency);
    h.detail = "dpkg: " + block_text;
    note(out.problems, block_name, std::move(h));
  };

  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    std::string_view line = trim(raw);
    // dpkg's conffile question has no newline: its error follows on the same line
    // ("*** x.conf (Y/I/N/O/D/Z) [default=N] ? dpkg: error processing package x (--install):").
    if (auto at = line.find("dpkg: error processing "); at != std::string_view::npos && at > 0) {
      line = line.substr(at);
    }

    if (indented && in_block) {
      append_detail(block_text, line);
      continue;
    }
    close_block();
    if (indented && section != Section::none) {
      switch (section) {
        case Section::kept:
          for (auto& l : parse_listed(line)) out.kept_back.push_back(std::move(l));
          break;
        case Section::held:
          for (auto& l : parse_listed(line)) out.held_changed.push_back(std::move(l));
          break;
        case Section::deferred:
          for (auto& l : parse_listed(line)) out.deferred.push_back(std::move(l));
          break;
        case Section::remove:
          for (auto& l : parse_listed(line)) out.to_remove.push_back(std::move(l));
          break;
        case Section::unmet: {
          // " NAME : Depends: X but it is not installable", continued by deeper-indented
          // "Depends: Y ..." lines for the same package.
          auto sep = line.find(" : ");
          auto first_field = line.find(": ");
          std::string_view relation = line;
          if (sep != std::string_view::npos && sep < first_field) {
            unmet_name = std::string(line.substr(0, sep));
            relation = trim(line.substr(sep + 3));
          }
          if (unmet_name.empty() || !plausible_name(unmet_name)) break;
          Reason r = starts_with(relation, "Conflicts:") || starts_with(relation, "Breaks:")
                         ? Reason::conflict
                         : Reason::dependency;
          auto it = out.problems.find(unmet_name);
          if (it == out.problems.end()) {
            out.problems.emplace(unmet_name, Hint{r, std::string(relation.substr(0, kMaxDetail))});
          } else {
            append_detail(it->second.detail, relation);
          }
          break;
        }
        case Section::other:
        case Section::none:
          break;
      }
      continue;
    }
    section = Section::none;
    unmet_name.clear();
    if (line.empty()) continue;

    if (auto s = heading(line); s != Section::none && !starts_with(line, "dpkg:")) {
      section = s;
      continue;
    }
    if (auto a = parse_sim_line(line)) {
      if (a->kind != SimAction::Kind::configure) out.actions.push_back(std::move(*a));
      continue;
    }
    if (starts_with(line, "dpkg: error processing package ")) {
      auto rest = line.substr(31);
      in_block = true;
      block_dependency = false;
      block_text.clear();
      block_name = std::string(rest.substr(0, rest.find(' ')));
      if (!plausible_name(block_name)) block_name.clear();
      continue;
    }
    if (starts_with(line, "dpkg: error processing archive ")) {
      auto rest = line.substr(31);
      in_block = true;
      block_dependency = false;
      block_text.clear();
      block_name = package_of_archive(rest.substr(0, rest.find(" (")));
      if (!plausible_name(block_name)) block_name.clear();
      continue;
    }
    if (starts_with(line, "dpkg: dependency problems prevent configuration of ")) {
      auto rest = line.substr(51);
      in_block = true;
      block_dependency = true;
      block_text = "dependency problems prevent its configuration";
      if (!rest.empty() && rest.back() == ':') rest.remove_suffix(1);
      block_name = std::string(rest);
      if (!plausible_name(block_name)) block_name.clear();
      continue;
    }
    if (starts_with(line, "Preparing to unpack ") || starts_with(line, "Unpacking ") ||
        starts_with(line, "Setting up ") || starts_with(line, "Removing ") ||
        starts_with(line, "(Reading database") ||
        starts_with(line, "Selecting previously unselected package ")) {
      out.dpkg_ran = true;
      continue;
    }
    if (auto at = line.find(" is already the newest version ("); at != std::string_view::npos) {
      auto name = line.substr(0, at);
      if (plausible_name(name)) out.up_to_date.emplace_back(name);
      continue;
    }
    if (starts_with(line, "Skipping ") &&
        contains(line, ", it is not installed and only upgrades are requested")) {
      auto name = line.substr(9, line.find(',') - 9);
      if (plausible_name(name)) out.not_installed.emplace_back(name);
      continue;
    }
    if (starts_with(line, "E: ")) {
      std::string_view e = line.substr(3);
      out.errors.emplace_back(e.substr(0, kMaxDetail));
      if (starts_with(e, "Unable to locate package ")) {
        auto name = trim(e.substr(25));
        if (plausible_name(name)) {
          note(out.problems, std::string(name),
               {Reason::not_in_repository, "no repository offers it (" + std::string(e) + ")"});
        }
      } else if (starts_with(e, "Version '") && contains(e, "' was not found")) {
        auto version = quoted(e);
        auto name =
            quoted(e, e.find(" for ") == std::string_view::npos ? e.size() : e.find(" for "));
        if (version && name && plausible_name(*name)) {
          note(out.problems, std::string(*name),
               {Reason::not_in_repository, "version " + std::string(*version) +
                                               " is in no repository (" + std::string(e) + ")"});
        }
      } else if (starts_with(e, "Package '") && contains(e, "has no installation candidate")) {
        if (auto name = quoted(e); name && plausible_name(*name)) {
          note(out.problems, std::string(*name),
               {Reason::not_in_repository, "no repository offers it (" + std::string(e) + ")"});
        }
      } else if (starts_with(e, "Couldn't find any package by ")) {
        if (auto name = quoted(e); name && plausible_name(*name)) {
          note(out.problems, std::string(*name),
               {Reason::not_in_repository, "no repository offers it (" + std::string(e) + ")"});
        }
      } else if (contains(e, "Could not get lock") || contains(e, "Unable to acquire the dpkg") ||
                 contains(e, "Unable to lock")) {
        if (out.lock_error.empty()) out.lock_error = std::string(e.substr(0, kMaxDetail));
      } else if (contains(e, "dpkg was interrupted")) {
        out.interrupted = true;
      } else if (contains(e, "Packages need to be removed but remove is disabled")) {
        std::string removals;
        for (const auto& r : out.to_remove) removals += (removals.empty() ? "" : ", ") + r.name;
        out.general = Hint{Reason::kept_back, "needs the removal of " +
                                                  (removals.empty() ? "packages" : removals) +
                                                  ", and an upgrade never removes packages"};
      } else if (contains(e, "Held packages were changed")) {
        for (const auto& h : out.held_changed) {
          note(out.problems, h.name, {Reason::held, "held (apt-mark hold)"});
        }
        if (!out.general) out.general = Hint{Reason::held, std::string(e)};
      } else if (contains(e, "enough free space") || contains(e, "No space left on device")) {
        out.general = Hint{Reason::no_space, std::string(e)};
      } else if (contains(e, "Unable to correct problems") || contains(e, "Broken packages") ||
                 contains(e, "unmet dependencies")) {
        if (!out.general) out.general = Hint{Reason::dependency, std::string(e)};
      }
      continue;
    }
    if (contains(line, "No space left on device") && !out.general) {
      out.general = Hint{Reason::no_space, std::string(line.substr(0, kMaxDetail))};
    }
  }
  close_block();
  return out;
}

std::vector<RepoFailure> parse_update_failures(std::string_view text) {
  std::vector<RepoFailure> out;
  // Whether `repository` is the entry's: the same, or a URL under the entry's (non-empty) URI.
  const auto same = [](const RepoFailure& f, std::string_view repository) {
    const std::string_view uri = std::string_view(f.repository).substr(0, f.repository.find(' '));
    return f.repository == repository || (!uri.empty() && starts_with(repository, uri));
  };
  const auto add = [&out, &same](std::string repository, std::string reason) {
    if (repository.empty()) return;  // "E: The repository '' ...": nothing to name
    for (auto& f : out) {
      if (same(f, repository)) {
        if (f.reason.empty()) f.reason = std::move(reason);
        return;
      }
    }
    if (out.size() < 64) out.push_back({std::move(repository), std::move(reason)});
  };
  std::size_t pos = 0;
  std::optional<std::size_t> pending;  // an Err: line whose reason is on the next line
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    const bool indented = !raw.empty() && raw.front() == ' ';
    std::string_view line = trim(raw);
    if (indented && pending) {
      if (out[*pending].reason.empty())
        out[*pending].reason = std::string(line.substr(0, kMaxDetail));
      pending.reset();
      continue;
    }
    pending.reset();
    if (starts_with(line, "Err:")) {
      // "Err:3 http://host/debian stable InRelease": the repository is URI and suite.
      auto sp = line.find(' ');
      if (sp == std::string_view::npos) continue;
      auto rest = trim(line.substr(sp + 1));
      auto uri_end = rest.find(' ');
      std::string repository(rest.substr(0, uri_end));
      if (uri_end != std::string_view::npos) {
        auto suite = trim(rest.substr(uri_end + 1));
        repository += " " + std::string(suite.substr(0, suite.find(' ')));
      }
      add(repository, {});
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (same(out[i], repository)) {
          pending = i;
          break;
        }
      }
      continue;
    }
    if ((starts_with(line, "W: ") || starts_with(line, "E: ")) &&
        contains(line, "Failed to fetch ")) {
      auto rest = line.substr(line.find("Failed to fetch ") + 16);
      auto sp = rest.find(' ');
      std::string url(rest.substr(0, sp));
      std::string reason = sp == std::string_view::npos ? "" : std::string(trim(rest.substr(sp)));
      add(url, reason.substr(0, kMaxDetail));
      continue;
    }
    if (starts_with(line, "E: The repository '") || starts_with(line, "W: The repository '")) {
      auto name = quoted(line);
      if (!name) continue;
      std::string repository(*name);
      for (std::string_view suffix : {" InRelease", " Release"}) {
        if (repository.size() > suffix.size() &&
            repository.compare(repository.size() - suffix.size(), suffix.size(), suffix) == 0) {
          repository.resize(repository.size() - suffix.size());
        }
      }
      if (starts_with(line, "W: ") && !contains(line, "not signed") &&
          !contains(line, "Release file")) {
        continue;
      }
      auto after = line.substr(line.find('\'', 19) + 1);
      add(repository, std::string(trim(after)).substr(0, kMaxDetail));
      continue;
    }
  }
  return out;
}

}  // namespace pf::pkg::apt
