// SPDX-License-Identifier: Apache-2.0
// patchflow version compare: dpkg/rpm ordering from the command line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "command.hpp"
#include "patchflow/core/versions.hpp"

namespace pf::cli {
namespace {

namespace v = pf::versions;

constexpr std::size_t kMaxLine = 64 * 1024;

struct CompareOptions {
  std::string scheme = "deb";
  std::string batch;
  bool strict = false;
  std::vector<std::string> versions;
};

// Lenient parse for ordering; with --strict, also what dpkg only warns about.
Result<int> compare_checked(v::Scheme scheme, std::string_view a, std::string_view b,
                            bool strict, std::string* warning) {
  if (strict || warning != nullptr) {
    for (std::string_view s : {a, b}) {
      auto r = v::validate(scheme, s, v::Check::strict);
      if (r) continue;
      if (strict) return Unexpected(std::move(r.error()));
      if (warning != nullptr && v::validate(scheme, s, v::Check::lenient)) {
        if (!warning->empty()) *warning += '\n';
        *warning += "warning: " + to_string(r.error());
      }
    }
  }
  return v::compare(scheme, a, b);
}

// Reads one line of at most kMaxLine bytes; a longer line is consumed and flagged.
bool read_line(std::istream& in, std::string& line, bool& too_long) {
  line.clear();
  too_long = false;
  if (!in.good()) return false;
  bool any = false;
  char c;
  while (in.get(c)) {
    any = true;
    if (c == '\n') return true;
    if (line.size() < kMaxLine) {
      line.push_back(c);
    } else {
      too_long = true;
    }
  }
  return any;
}

int run_batch(const CompareOptions& opt, v::Scheme scheme) {
  std::unique_ptr<std::ifstream> file;
  std::istream* in = &std::cin;
  if (opt.batch != "-") {
    file = std::make_unique<std::ifstream>(opt.batch, std::ios::binary);
    if (!*file) {
      std::cerr << "patchflow: error: cannot open " << opt.batch << "\n";
      return kExitUsage;
    }
    in = file.get();
  }
  std::ios::sync_with_stdio(false);
  std::string line;
  std::string out;
  bool too_long = false;
  bool any_bad = false;
  std::size_t lineno = 0;
  while (read_line(*in, line, too_long)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (too_long) {
      out += "error: line " + std::to_string(lineno) + " is longer than " +
             std::to_string(kMaxLine) + " bytes\n";
      any_bad = true;
    } else if (line.empty() || line[0] == '#') {
      out += '\n';  // keeps output line N the answer to input line N
    } else {
      const auto tab = line.find('\t');
      if (tab == std::string::npos) {
        out += "error: line " + std::to_string(lineno) +
               ": expected two versions separated by a tab\n";
        any_bad = true;
      } else {
        std::string_view rest(line);
        rest.remove_prefix(tab + 1);
        // Further columns (an expected result, a note) are ignored.
        std::string_view b = rest.substr(0, rest.find('\t'));
        auto r = compare_checked(scheme, std::string_view(line).substr(0, tab), b, opt.strict,
                                 nullptr);
        if (r) {
          out += std::to_string(*r);
          out += '\n';
        } else {
          out += "error: line " + std::to_string(lineno) + ": " + to_string(r.error()) + "\n";
          any_bad = true;
        }
      }
    }
    if (out.size() > 1 << 16) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  if (file && file->bad()) {
    std::cerr << "patchflow: error: read error on " << opt.batch << "\n";
    return kExitUsage;
  }
  return any_bad ? kExitFound : kExitOk;
}

}  // namespace

void add_version_command(CLI::App& root, int& exit_code) {
  auto* version = root.add_subcommand("version", "Work with package version strings");
  version->require_subcommand(1);
  auto opt = std::make_shared<CompareOptions>();
  auto* cmp = version->add_subcommand(
      "compare",
      "Compare two versions as dpkg/apt (deb) or rpm/dnf (rpm) order them; prints -1, 0 or 1");
  cmp->add_option("--scheme", opt->scheme, "Version scheme")
      ->check(CLI::IsMember({"deb", "rpm"}))
      ->capture_default_str();
  cmp->add_option("--batch", opt->batch,
                  "Read 'A<TAB>B' lines from FILE ('-' for stdin); one result per line");
  cmp->add_flag("--strict", opt->strict,
                "Also reject what dpkg only warns about (no leading digit, characters outside "
                "the version alphabet); for rpm, what rpmbuild refuses");
  cmp->add_option("versions", opt->versions, "The two versions, A then B")->expected(0, 2);
  cmp->footer(R"(Examples:
  patchflow version compare --scheme deb 1:2.0-1 2.0~rc1-1        # prints 1
  patchflow version compare --scheme rpm 1.0^git1-1.el9 1.0-1.el9 # prints 1
  printf '1.0\t1.0-0\n' | patchflow version compare --scheme deb --batch -

Exit status: 0 compared; 1 some batch lines were bad (each says 'error: ...');
2 usage error or an invalid version.)");
  cmp->callback([opt, &exit_code] {
    const v::Scheme scheme = *v::scheme_from_name(opt->scheme);
    if (!opt->batch.empty()) {
      if (!opt->versions.empty()) {
        std::cerr << "patchflow: error: give either --batch or two versions, not both\n";
        exit_code = kExitUsage;
        return;
      }
      exit_code = run_batch(*opt, scheme);
      return;
    }
    if (opt->versions.size() != 2) {
      std::cerr << "patchflow: error: expected two versions (see --help)\n";
      exit_code = kExitUsage;
      return;
    }
    std::string warning;
    auto r = compare_checked(scheme, opt->versions[0], opt->versions[1], opt->strict, &warning);
    if (!warning.empty()) std::cerr << warning << "\n";
    if (!r) {
      std::cerr << "patchflow: error: " << to_string(r.error()) << "\n";
      exit_code = kExitUsage;
      return;
    }
    std::cout << *r << "\n";
    exit_code = kExitOk;
  });
}

}  // namespace pf::cli
