// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the readers of dnf 4 output (the transaction table, resolver problems,
// run failures, argument notes, repoquery and updateinfo lines, repository failures, NEVRAs),
// all fed the same input, parse_nevra also each line. Besides "no crash, no sanitizer report,
// no leak": an error is backend_failed (invalid_input for parse_nevra) with a message and a
// `where` naming a line inside the input; a parsed NEVRA has a name, an "[E:]V-R" version
// without a 0 epoch and an arch of letters, digits and '_', and reads back the same from
// NAME-VERSION.ARCH; table rows have a name, an architecture, an rpm version and a repository,
// and are skipped exactly when they carry a skip reason; repoquery and updateinfo return one
// entry per non-blank line; names, arguments and repository ids are kept once; details are
// bounded.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patchflow/pkg_dnf/dnf_output.hpp"

namespace {

namespace dnf = pf::pkg::dnf;
using pf::pkg::Reason;

void require(bool ok) {
  if (!ok) std::abort();
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// One token: non-empty, no byte <= 0x20 and no DEL.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

// A white-space separated word: non-empty, no blank and no line end.
bool is_word(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (is_space(c) || c == '\n') return false;
  return true;
}

bool is_arch(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

bool blank(std::string_view line) {
  for (char c : line)
    if (!is_space(c)) return false;
  return true;
}

// An error's `where` is "<prefix><N>" with N a line of the input.
void check_error(const pf::Error& e, pf::Errc code, std::string_view prefix, std::size_t lines) {
  require(e.code == code);
  require(!e.message.empty());
  require(std::string_view(e.where).starts_with(prefix));
  const std::string digits = e.where.substr(prefix.size());
  require(!digits.empty() && digits.size() < 10);
  for (char c : digits) require(c >= '0' && c <= '9');
  const unsigned long n = std::strtoul(digits.c_str(), nullptr, 10);
  require(n >= 1 && n <= lines);
}

// "[E:]V-R" as the readers return it: a release after the last '-', no epoch of 0.
void check_evr(std::string_view v) {
  require(is_token(v));
  const auto dash = v.rfind('-');
  require(dash != std::string_view::npos && dash > 0 && dash + 1 < v.size());
  require(!v.starts_with("0:"));
}

void check_nevra(const dnf::Nevra& n) {
  require(is_token(n.name));
  require(is_arch(n.arch));
  check_evr(n.version);
  // The parts read back the same.
  auto again = dnf::parse_nevra(n.name + "-" + n.version + "." + n.arch);
  require(again.has_value());
  require(again->name == n.name && again->version == n.version && again->arch == n.arch);
}

// A detail is the text it names, cut to about 2000 bytes.
void check_detail(std::string_view detail) {
  require(detail.size() <= 2003);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto lines = lines_of(input);
  const std::size_t line_count = lines.size() + 1;  // a line number may point past the last '\n'
  std::size_t non_blank = 0;
  for (auto l : lines) non_blank += blank(l) ? 0 : 1;

  for (auto line : lines) {
    auto n = dnf::parse_nevra(line);
    if (n) {
      check_nevra(*n);
    } else {
      require(n.error().code == pf::Errc::invalid_input);
      require(!n.error().message.empty());
      require(n.error().where == "nevra");
    }
  }

  if (auto rows = dnf::parse_transaction_table(input); rows) {
    for (const auto& r : *rows) {
      require(is_word(r.name));
      require(is_arch(r.arch));
      require(is_word(r.version) && r.version.find('-') != std::string::npos);
      require(is_word(r.repo));
      require(r.skipped == (r.skip_reason != Reason::none));
      for (const auto& nevra : r.replacing) require(is_word(nevra));
    }
  } else {
    check_error(rows.error(), pf::Errc::backend_failed, "dnf output line ", line_count);
  }

  for (const auto& p : dnf::parse_problems(input)) {
    require(p.reason == Reason::dependency || p.reason == Reason::conflict ||
            p.reason == Reason::held);
    require(!p.detail.empty());
    check_detail(p.detail);
    std::set<std::string> names;
    for (const auto& name : p.packages) {
      require(is_token(name));
      require(names.insert(name).second);
    }
  }

  auto failures = dnf::parse_run_failures(input);
  for (std::size_t i = 0; i < failures.size(); ++i) {
    require(!failures[i].detail.empty());
    check_detail(failures[i].detail);
    for (std::size_t j = 0; j < i; ++j) {
      require(failures[i].kind != failures[j].kind || failures[i].package != failures[j].package);
    }
  }

  std::set<std::string> arguments;
  for (const auto& n : dnf::parse_argument_notes(input)) {
    require(!n.argument.empty() && n.argument.find('\n') == std::string::npos);
    require(n.reason != Reason::none);
    require(!n.detail.empty());
    check_detail(n.detail);
    require(arguments.insert(n.argument).second);
  }

  if (auto available = dnf::parse_repoquery(input); available) {
    require(available->size() == non_blank);
    for (const auto& a : *available) {
      require(is_token(a.name));
      require(is_arch(a.arch));
      check_evr(a.version);
      require(is_token(a.repo));
    }
  } else {
    check_error(available.error(), pf::Errc::backend_failed, "dnf repoquery line ", line_count);
  }

  if (auto list = dnf::parse_updateinfo_list(input); list) {
    require(list->size() == non_blank);
    for (const auto& a : *list) {
      require(is_word(a.id));
      require(is_word(a.type));
      if (!a.severity.empty()) require(a.type == "security");
      check_nevra(a.package);
    }
  } else {
    check_error(list.error(), pf::Errc::backend_failed, "dnf updateinfo line ", line_count);
  }

  for (const auto& info : dnf::parse_updateinfo_info(input)) {
    require(info.id.find('\n') == std::string::npos);
  }

  std::set<std::string> ids;
  for (const auto& f : dnf::parse_repo_failures(input)) {
    require(!f.id.empty());
    require(!f.message.empty());
    check_detail(f.message);
    require(ids.insert(f.id).second);
  }
  return 0;
}
