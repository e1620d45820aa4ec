// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg_dnf/dnf_output.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <set>
#include <utility>

namespace pf::pkg::dnf {

namespace {

// Bounds on what one parse keeps: dnf's output is untrusted text of any length.
constexpr std::size_t kMaxItems = 100000;
constexpr std::size_t kMaxDetail = 2000;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::vector<std::string_view> tokens_of(std::string_view line) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_arch_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}
bool is_token_char(char c) {
  return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
}

std::string bounded(std::string s) {
  if (s.size() > kMaxDetail) {
    s.resize(kMaxDetail);
    s += "...";
  }
  return s;
}

// The text between `prefix` and `suffix` when `line` has exactly that shape.
std::optional<std::string_view> between(std::string_view line, std::string_view prefix,
                                        std::string_view suffix) {
  if (!line.starts_with(prefix) || line.size() < prefix.size() + suffix.size() ||
      !line.ends_with(suffix))
    return std::nullopt;
  auto inner = line.substr(prefix.size(), line.size() - prefix.size() - suffix.size());
  if (inner.empty()) return std::nullopt;
  return inner;
}

std::string name_of(std::string_view nevra_or_name) {
  if (auto n = parse_nevra(nevra_or_name)) return n->name;
  return std::string(nevra_or_name);
}

}  // namespace

std::string normalize_evr(std::string_view version) {
  auto colon = version.find(':');
  if (colon == std::string_view::npos) return std::string(version);
  auto epoch = version.substr(0, colon);
  // Only digits make an epoch: "0-0:1" has none (its release holds the ':').
  if (!std::all_of(epoch.begin(), epoch.end(), is_digit)) return std::string(version);
  while (epoch.size() > 1 && epoch.front() == '0') epoch.remove_prefix(1);
  if (epoch.empty() || epoch == "0") return std::string(version.substr(colon + 1));
  return std::string(epoch) + ":" + std::string(version.substr(colon + 1));
}

Result<Nevra> parse_nevra(std::string_view text) {
  auto bad = [&](const char* why) {
    return make_error(Errc::invalid_input,
                      "'" + std::string(text.substr(0, 200)) + "' is not NAME-[E:]V-R.ARCH: " + why,
                      "nevra");
  };
  if (!all_of(text, is_token_char)) return bad("empty or white space");
  auto dot = text.rfind('.');
  if (dot == std::string_view::npos) return bad("no .ARCH");
  auto arch = text.substr(dot + 1);
  if (!all_of(arch, is_arch_char)) return bad("invalid ARCH");
  auto nevr = text.substr(0, dot);
  auto rel_dash = nevr.rfind('-');
  if (rel_dash == std::string_view::npos || rel_dash + 1 == nevr.size()) return bad("no RELEASE");
  auto ver_dash = nevr.rfind('-', rel_dash == 0 ? 0 : rel_dash - 1);
  if (rel_dash == 0 || ver_dash == std::string_view::npos || ver_dash == 0 ||
      ver_dash + 1 == rel_dash)
    return bad("no NAME or VERSION");
  auto ev = nevr.substr(ver_dash + 1, rel_dash - ver_dash - 1);
  if (auto colon = ev.find(':'); colon != std::string_view::npos) {
    if (!all_of(ev.substr(0, colon), is_digit) || colon + 1 == ev.size())
      return bad("invalid EPOCH");
    if (ev.find(':', colon + 1) != std::string_view::npos) return bad("':' in VERSION");
  }
  Nevra n;
  n.name = std::string(nevr.substr(0, ver_dash));
  n.version = normalize_evr(nevr.substr(ver_dash + 1));
  n.arch = std::string(arch);
  return n;
}

Result<std::string> nevra_spec(std::string_view name, std::string_view version,
                               std::string_view arch) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_input,
                      "'" + std::string(version) + "' for " + std::string(name) + ": " + why,
                      std::string(name));
  };
  if (!all_of(name, is_token_char)) return bad("invalid package name");
  std::string_view epoch = "0";
  std::string_view vr = version;
  if (auto colon = version.find(':'); colon != std::string_view::npos) {
    epoch = version.substr(0, colon);
    vr = version.substr(colon + 1);
    if (!all_of(epoch, is_digit)) return bad("the epoch before ':' is not a number");
  }
  auto dash = vr.rfind('-');
  if (!all_of(vr, is_token_char) || dash == std::string_view::npos || dash == 0 ||
      dash + 1 == vr.size() || vr.find(':') != std::string_view::npos)
    return bad("an rpm version is [EPOCH:]VERSION-RELEASE");
  if (!arch.empty() && !all_of(arch, is_arch_char)) return bad("invalid architecture");
  std::string spec = std::string(name) + "-" + std::string(epoch) + ":" + std::string(vr);
  if (!arch.empty()) spec += "." + std::string(arch);
  return spec;
}

namespace {

struct Section {
  bool known{false};
  Action action{Action::install};
  bool dependency{false};
  bool skipped{false};
  Reason skip_reason{Reason::none};
};

Section section_of(std::string_view header) {
  struct Entry {
    std::string_view text;
    Section section;
  };
  static const std::array<Entry, 13> kSections{{
      {"Installing", {true, Action::install, false, false, Reason::none}},
      {"Upgrading", {true, Action::upgrade, false, false, Reason::none}},
      {"Reinstalling", {true, Action::reinstall, false, false, Reason::none}},
      {"Downgrading", {true, Action::downgrade, false, false, Reason::none}},
      {"Installing group/module packages", {true, Action::install, false, false, Reason::none}},
      {"Installing group packages", {true, Action::install, false, false, Reason::none}},
      {"Installing dependencies", {true, Action::install, true, false, Reason::none}},
      {"Installing weak dependencies", {true, Action::install, true, false, Reason::none}},
      {"Removing", {true, Action::remove, false, false, Reason::none}},
      {"Removing dependent packages", {true, Action::remove, true, false, Reason::none}},
      {"Removing unused dependencies", {true, Action::remove, true, false, Reason::none}},
      {"Skipping packages with conflicts", {true, Action::upgrade, false, true, Reason::conflict}},
      {"Skipping packages with broken dependencies",
       {true, Action::upgrade, false, true, Reason::dependency}},
  }};
  for (const auto& e : kSections)
    if (header == e.text) return e.section;
  if (header == "Skipping packages with broken dependencies or part of a group")
    return {true, Action::upgrade, false, true, Reason::dependency};
  return {};
}

bool is_rule(std::string_view line) {
  return line.size() >= 3 && std::all_of(line.begin(), line.end(), [](char c) { return c == '='; });
}

// "5.9 k", "12 M", "123": the size column, alone on a line when the repository id overflowed.
bool is_size(const std::vector<std::string_view>& t) {
  if (t.empty() || t.size() > 2) return false;
  if (!std::all_of(t[0].begin(), t[0].end(), [](char c) { return is_digit(c) || c == '.'; }))
    return false;
  return t.size() == 1 || t[1].size() == 1;
}

}  // namespace

Result<std::vector<TransactionRow>> parse_transaction_table(std::string_view out) {
  std::vector<TransactionRow> rows;
  auto lines = lines_of(out);
  std::size_t i = 0;
  while (i < lines.size() && !is_rule(trim(lines[i]))) ++i;
  if (i == lines.size()) return rows;
  // The rule, the column header (two lines when it is wider than the terminal), the rule.
  ++i;
  while (i < lines.size() && !is_rule(trim(lines[i]))) ++i;
  ++i;
  Section section;
  std::vector<std::string_view> pending;
  std::size_t pending_line = 0;
  bool last_row_complete = false;
  auto fail = [&](std::size_t line, const std::string& why) {
    return make_error(Errc::backend_failed, "dnf transaction table: " + why,
                      "dnf output line " + std::to_string(line + 1));
  };
  for (; i < lines.size(); ++i) {
    std::string_view raw = lines[i];
    while (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string_view line = trim(raw);
    if (line.empty()) continue;
    if (!is_space(raw.front())) {
      if (!pending.empty() && section.known)
        return fail(pending_line, "a row ends before its repository column");
      pending.clear();
      last_row_complete = false;
      if (line.starts_with("(")) continue;  // "(add '--best --allowerasing' to ...)"
      if (line.ends_with(':')) {
        section = section_of(line.substr(0, line.size() - 1));
        continue;
      }
      break;  // "Transaction Summary", a rule, or anything after the table
    }
    auto tokens = tokens_of(line);
    if (pending.empty()) {
      if (tokens.front() == "replacing" && tokens.size() >= 3) {
        if (section.known && !rows.empty() && last_row_complete) {
          auto na = tokens[1];
          auto dot = na.rfind('.');
          if (dot == std::string_view::npos) return fail(i, "bad 'replacing' line");
          rows.back().replacing.push_back(std::string(na.substr(0, dot)) + "-" +
                                          std::string(tokens[2]) + "." +
                                          std::string(na.substr(dot + 1)));
        }
        continue;
      }
      if (last_row_complete && is_size(tokens)) continue;
      pending_line = i;
    }
    pending.insert(pending.end(), tokens.begin(), tokens.end());
    if (pending.size() < 4) {
      last_row_complete = false;
      continue;
    }
    if (section.known) {
      TransactionRow row;
      row.action = section.action;
      row.dependency = section.dependency;
      row.skipped = section.skipped;
      row.skip_reason = section.skip_reason;
      row.name = std::string(pending[0]);
      row.arch = std::string(pending[1]);
      if (!all_of(pending[1], is_arch_char))
        return fail(pending_line, "'" + row.arch + "' is not an architecture");
      if (pending[2].find('-') == std::string_view::npos)
        return fail(pending_line, "'" + std::string(pending[2]) + "' is not an rpm version");
      row.version = normalize_evr(pending[2]);
      row.repo = std::string(pending[3]);
      if (rows.size() >= kMaxItems) return fail(i, "too many rows");
      rows.push_back(std::move(row));
    }
    pending.clear();
    last_row_complete = true;
  }
  if (!pending.empty() && section.known) return fail(pending_line, "the output ends inside a row");
  return rows;
}

std::vector<ArgumentNote> parse_argument_notes(std::string_view text) {
  std::vector<ArgumentNote> notes;
  auto add = [&](std::string_view argument, Reason reason, std::string_view line) {
    for (auto& n : notes) {
      if (n.argument != argument) continue;
      if (n.reason == Reason::not_in_repository && reason != Reason::not_in_repository) {
        n.reason = reason;
        n.detail = bounded(std::string(line));
      }
      return;
    }
    if (notes.size() < kMaxItems)
      notes.push_back({std::string(argument), reason, bounded(std::string(line))});
  };
  for (auto raw : lines_of(text)) {
    auto line = trim(raw);
    struct Shape {
      std::string_view prefix, suffix;
      Reason reason;
    };
    static const std::array<Shape, 10> kShapes{{
        {"No match for argument: ", "", Reason::not_in_repository},
        {"All matches were filtered out by exclude filtering for argument: ", "", Reason::held},
        {"All matches were filtered out by modular filtering for argument: ", "",
         Reason::not_in_repository},
        {"All matches were installed from a different repository for argument: ", "",
         Reason::not_in_repository},
        {"Packages for argument ", " available, but not installed.", Reason::not_installed},
        {"The same or higher version of ", " is already installed, cannot update it.",
         Reason::up_to_date},
        {"No package ", " available.", Reason::not_in_repository},
        {"Package ", " available, but not installed.", Reason::not_installed},
        {"Package ", " is already installed.", Reason::up_to_date},
        {"Package ", " of lowest version already installed, cannot downgrade it.",
         Reason::up_to_date},
    }};
    for (const auto& s : kShapes) {
      auto arg = s.suffix.empty()
                     ? (line.starts_with(s.prefix) && line.size() > s.prefix.size()
                            ? std::optional<std::string_view>(line.substr(s.prefix.size()))
                            : std::nullopt)
                     : between(line, s.prefix, s.suffix);
      if (arg && tokens_of(*arg).size() == 1) {
        add(*arg, s.reason, line);
        break;
      }
    }
  }
  return notes;
}

std::vector<Problem> parse_problems(std::string_view text) {
  std::vector<Problem> problems;
  bool in_problem = false;
  std::set<std::string> seen;
  auto mention = [&](std::string_view part) {
    for (auto token : tokens_of(part)) {
      while (!token.empty() && (token.back() == ',' || token.back() == ';' || token.back() == ')'))
        token.remove_suffix(1);
      if (auto n = parse_nevra(token); n && seen.insert(n->name).second)
        problems.back().packages.push_back(n->name);
    }
    if (part.find(" conflicts with ") != std::string_view::npos ||
        part.find(" obsoletes ") != std::string_view::npos)
      problems.back().reason = Reason::conflict;
    else if (part.find("filtered out by exclude filtering") != std::string_view::npos &&
             problems.back().reason != Reason::conflict)
      problems.back().reason = Reason::held;
    auto& d = problems.back().detail;
    if (d.size() < kMaxDetail)
      d = bounded(d.empty() ? std::string(part) : d + "; " + std::string(part));
  };
  for (auto raw : lines_of(text)) {
    auto line = trim(raw);
    if (line.starts_with("Problem")) {
      auto colon = line.find(": ");
      auto label = line.substr(0, colon);
      bool numbered = label == "Problem" ||
                      (label.starts_with("Problem ") && all_of(label.substr(8), is_digit));
      if (colon != std::string_view::npos && numbered) {
        if (problems.size() >= kMaxItems) break;
        problems.emplace_back();
        seen.clear();
        in_problem = true;
        mention(line.substr(colon + 2));
        continue;
      }
    }
    if (in_problem && line.starts_with("- ")) {
      mention(line.substr(2));
      continue;
    }
    in_problem = false;
  }
  return problems;
}

std::vector<RunFailure> parse_run_failures(std::string_view text) {
  std::vector<RunFailure> failures;
  auto add = [&](RunFailure::Kind kind, std::string package, std::string_view detail) {
    for (auto& f : failures) {
      if (f.kind == kind && f.package == package) return;
    }
    if (failures.size() < kMaxItems)
      failures.push_back({kind, std::move(package), bounded(std::string(detail))});
  };
  // rpm's own lines come first in the output and carry the exit status: keep them as details.
  for (auto raw : lines_of(text)) {
    auto line = trim(raw);
    for (std::string_view prefix : {std::string_view("error: %"), std::string_view("warning: %")}) {
      if (!line.starts_with(prefix)) continue;
      auto open = line.find('(');
      auto close = line.find(") scriptlet failed");
      if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        continue;
      auto tag = line.substr(prefix.size(), open - prefix.size());
      auto kind = (tag == "prein" || tag == "pretrans") ? RunFailure::Kind::pre_scriptlet
                                                        : RunFailure::Kind::other_scriptlet;
      add(kind, name_of(line.substr(open + 1, close - open - 1)), line);
    }
    if (auto body = between(line, "Error in ", ""); body) {
      auto at = body->find(" scriptlet in rpm package ");
      if (at != std::string_view::npos) {
        auto type = body->substr(0, at);
        auto package =
            trim(body->substr(at + std::string_view(" scriptlet in rpm package ").size()));
        auto kind = (type == "PREIN" || type == "PRETRANS") ? RunFailure::Kind::pre_scriptlet
                                                            : RunFailure::Kind::other_scriptlet;
        if (!package.empty()) add(kind, name_of(package), line);
      }
    }
    if (line.starts_with("installing package ") &&
        line.find(" more space on the ") != std::string_view::npos) {
      auto rest = line.substr(std::string_view("installing package ").size());
      add(RunFailure::Kind::no_space, name_of(rest.substr(0, rest.find(' '))), line);
    } else if ((line.starts_with("At least ") &&
                line.find(" more space needed on the ") != std::string_view::npos) ||
               line.find("No space left on device") != std::string_view::npos) {
      add(RunFailure::Kind::no_space, "", line);
    }
    if (line.starts_with("file ")) {
      auto from = line.find(" from install of ");
      auto conflicts = line.find(" conflicts with file from package ");
      if (from != std::string_view::npos && conflicts != std::string_view::npos &&
          conflicts > from) {
        auto start = from + std::string_view(" from install of ").size();
        add(RunFailure::Kind::file_conflict, name_of(line.substr(start, conflicts - start)), line);
      }
    }
  }
  return failures;
}

std::string repoquery_format() {
  return "%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{repoid}";
}

Result<std::vector<Available>> parse_repoquery(std::string_view out) {
  std::vector<Available> result;
  std::size_t number = 0;
  for (auto raw : lines_of(out)) {
    ++number;
    auto line = trim(raw);
    if (line.empty()) continue;
    auto fail = [&](const std::string& why) {
      return make_error(Errc::backend_failed,
                        "dnf repoquery: " + why + ": '" + std::string(line.substr(0, 200)) + "'",
                        "dnf repoquery line " + std::to_string(number));
    };
    std::array<std::string_view, 6> f{};
    std::size_t count = 0, start = 0;
    while (true) {
      auto bar = line.find('|', start);
      if (count == f.size()) return fail("more than 6 fields");
      f[count++] = line.substr(start, bar == std::string_view::npos ? bar : bar - start);
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    if (count != f.size()) return fail("expected name|epoch|version|release|arch|repoid");
    for (auto field : f)
      if (!all_of(field, is_token_char)) return fail("an empty field or white space");
    if (!all_of(f[1], is_digit)) return fail("the epoch is not a number");
    if (f[2].find(':') != std::string_view::npos || f[3].find(':') != std::string_view::npos)
      return fail("':' in the version or release");
    if (!all_of(f[4], is_arch_char)) return fail("invalid architecture");
    if (result.size() >= kMaxItems) return fail("too many lines");
    result.push_back(
        {std::string(f[0]), std::string(f[4]),
         normalize_evr(std::string(f[1]) + ":" + std::string(f[2]) + "-" + std::string(f[3])),
         std::string(f[5])});
  }
  return result;
}

Result<std::vector<AdvisoryLine>> parse_updateinfo_list(std::string_view out) {
  std::vector<AdvisoryLine> result;
  std::size_t number = 0;
  for (auto raw : lines_of(out)) {
    ++number;
    if (trim(raw).empty()) continue;
    auto tokens = tokens_of(raw);
    AdvisoryLine a;
    if (raw.starts_with("i ")) {
      a.installed = true;
      tokens.erase(tokens.begin());
    }
    auto fail = [&](const std::string& why) {
      return make_error(
          Errc::backend_failed,
          "dnf updateinfo list: " + why + ": '" + std::string(raw.substr(0, 200)) + "'",
          "dnf updateinfo line " + std::to_string(number));
    };
    if (tokens.size() < 3) return fail("expected ID TYPE NEVRA");
    a.id = std::string(tokens[0]);
    auto label = tokens[1];
    if (label.ends_with("/Sec.")) {
      a.type = "security";
      auto severity = label.substr(0, label.size() - 5);
      if (severity != "Unknown") a.severity = std::string(severity);
    } else {
      a.type = std::string(label);
    }
    auto nevra = parse_nevra(tokens[2]);
    if (!nevra) return fail(nevra.error().message);
    a.package = std::move(*nevra);
    if (result.size() >= kMaxItems) return fail("too many lines");
    result.push_back(std::move(a));
  }
  return result;
}

std::vector<AdvisoryInfo> parse_updateinfo_info(std::string_view out) {
  std::vector<AdvisoryInfo> result;
  bool in_record = false;
  for (auto raw : lines_of(out)) {
    auto line = trim(raw);
    auto colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    auto key = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 2));
    if (key == "Update ID") {
      if (result.size() >= kMaxItems) break;
      result.push_back({std::string(value), {}, {}});
      in_record = true;
    } else if (in_record && key == "Type") {
      result.back().type = std::string(value);
    } else if (in_record && key == "Severity") {
      result.back().severity = std::string(value);
    }
  }
  return result;
}

std::vector<RepoFailure> parse_repo_failures(std::string_view text) {
  std::vector<RepoFailure> failures;
  auto entry = [&](std::string_view id) -> RepoFailure* {
    for (auto& f : failures)
      if (f.id == id) return &f;
    if (failures.size() >= 1000) return nullptr;
    failures.push_back({std::string(id), {}, {}});
    return &failures.back();
  };
  auto quoted = [](std::string_view line,
                   std::string_view prefix) -> std::optional<std::string_view> {
    auto at = line.find(prefix);
    if (at == std::string_view::npos) return std::nullopt;
    auto rest = line.substr(at + prefix.size());
    auto end = rest.find('\'');
    if (end == std::string_view::npos || end == 0) return std::nullopt;
    return rest.substr(0, end);
  };
  RepoFailure* current = nullptr;
  for (auto raw : lines_of(text)) {
    auto line = trim(raw);
    if (auto id = quoted(line, "Errors during downloading metadata for repository '")) {
      current = entry(*id);
      continue;
    }
    if (current && line.starts_with("- ")) {
      if (current->message.empty()) current->message = bounded(std::string(line.substr(2)));
      if (current->url.empty()) {
        // "... for URL [...]": the URL is the token after " for " (an earlier one may be a
        // bare scheme, as in "Couldn't read a file:// file for file:///...").
        std::string_view candidate;
        auto tokens = tokens_of(line);
        for (std::size_t t = 0; t + 1 < tokens.size(); ++t)
          if (tokens[t] == "for" && tokens[t + 1].find("://") != std::string_view::npos &&
              !tokens[t + 1].ends_with("://"))
            candidate = tokens[t + 1];
        if (!candidate.empty()) {
          std::string url(candidate);
          for (std::string_view suffix : {"repodata/repomd.xml", "repomd.xml"}) {
            if (url.size() > suffix.size() && url.ends_with(suffix)) {
              url.resize(url.size() - suffix.size());
              break;
            }
          }
          current->url = url;
        }
      }
      continue;
    }
    current = nullptr;
    if (auto id = quoted(line, "Failed to download metadata for repo '")) {
      if (auto* f = entry(*id); f && f->message.empty()) {
        auto at = line.find("': ");
        f->message =
            bounded(std::string(at == std::string_view::npos ? line : line.substr(at + 3)));
      }
    } else if (auto cid = quoted(line, "Cache-only enabled but no cache for '")) {
      if (auto* f = entry(*cid); f && f->message.empty()) f->message = bounded(std::string(line));
    } else if (line.starts_with("Ignoring repositories: ")) {
      auto list = line.substr(std::string_view("Ignoring repositories: ").size());
      for (auto token : tokens_of(list)) {
        while (!token.empty() && token.back() == ',') token.remove_suffix(1);
        if (!token.empty()) entry(token);
      }
    }
  }
  for (auto& f : failures)
    if (f.message.empty()) f.message = "its metadata could not be downloaded";
  return failures;
}

}  // namespace pf::pkg::dnf
