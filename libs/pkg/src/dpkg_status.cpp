// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg/dpkg_status.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>

#include "files.hpp"
#include "patchflow/core/versions.hpp"

namespace pf::pkg {

namespace {

using detail::at;
using detail::is_blank;
using detail::trim_blanks;

// The fields this reader uses; every other field is only checked for shape and bounds.
enum class Field { package, status, version, architecture, source, count };
constexpr std::array<std::string_view, static_cast<std::size_t>(Field::count)> kFieldNames{
    "Package", "Status", "Version", "Architecture", "Source"};

constexpr std::array<std::string_view, 5> kWants{"unknown", "install", "hold", "deinstall",
                                                 "purge"};
constexpr std::array<std::string_view, 4> kFlags{"ok", "reinstreq", "hold", "hold-reinstreq"};
constexpr std::array<std::string_view, 8> kStates{
    "not-installed",   "config-files",     "half-installed",   "unpacked",
    "half-configured", "triggers-awaited", "triggers-pending", "installed"};

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

template <std::size_t N>
bool one_of(std::string_view word, const std::array<std::string_view, N>& words) noexcept {
  for (auto w : words) {
    if (w == word) return true;
  }
  return false;
}

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// dpkg's rule for package names: an alphanumeric first, then alphanumerics and "+-.".
// ('_' is also accepted: old status files and vcpkg's carry it.)
bool valid_package_name(std::string_view name) noexcept {
  if (name.empty() || !is_alnum(name.front())) return false;
  for (char c : name) {
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

bool valid_arch(std::string_view arch) noexcept {
  if (arch.empty()) return false;
  for (char c : arch) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

struct Value {
  std::string_view text;
  std::size_t line{0};  // 0: absent
};

struct Paragraph {
  std::size_t first_line{0};
  std::array<Value, static_cast<std::size_t>(Field::count)> fields{};

  [[nodiscard]] const Value& get(Field f) const { return fields[static_cast<std::size_t>(f)]; }
};

// What the parser collects: the installed packages (parse_dpkg_status) or a record of every
// paragraph whatever its state (parse_dpkg_records).
enum class Mode { installed, records };

class StatusParser {
 public:
  StatusParser(std::string_view text, std::string_view name, const DpkgLimits& limits,
               Mode mode = Mode::installed)
      : text_(text), name_(name), limits_(limits), mode_(mode) {}

  [[nodiscard]] std::vector<DpkgRecord> take_records() { return std::move(records_); }

  Result<std::vector<inventory::Package>> run() {
    if (text_.size() > limits_.max_file_size) {
      return fail(detail::line_of(text_, limits_.max_file_size),
                  "the input is larger than the limit of " + std::to_string(limits_.max_file_size) +
                      " bytes");
    }
    std::size_t pos = 0;
    std::size_t line = 0;
    std::optional<Field> current;  // the field that continuation lines extend
    std::string_view current_name;
    std::size_t current_size = 0;
    bool in_paragraph = false;
    Paragraph para;
    while (pos < text_.size()) {
      ++line;
      const std::size_t nl = text_.find('\n', pos);
      const std::size_t end = nl == std::string_view::npos ? text_.size() : nl;
      const std::string_view l = text_.substr(pos, end - pos);
      if (l.size() > limits_.max_field_size) {
        return fail(line, "line is " + std::to_string(l.size()) +
                              " bytes long, more than the limit of " +
                              std::to_string(limits_.max_field_size));
      }
      for (std::size_t i = 0; i < l.size(); ++i) {
        const auto c = static_cast<unsigned char>(l[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
          return fail(line, "control byte " + detail::byte_name(c) + " at column " +
                                std::to_string(i + 1) +
                                (c == '\r' ? " (CRLF line ends are not dpkg's)"
                                           : " (binary data is not a status file)"));
        }
      }
      if (nl == std::string_view::npos) {
        return fail(line, "the last line has no newline: the file is truncated");
      }
      pos = nl + 1;

      if (l.empty()) {
        if (in_paragraph) {
          if (auto done = finish(para); !done) return tl::unexpected(done.error());
          in_paragraph = false;
          para = Paragraph{};
          current.reset();
        }
        continue;
      }
      if (is_blank(l.front())) {
        const bool only_blanks = trim_blanks(l).empty();
        if (!in_paragraph) {
          if (only_blanks) continue;
          return fail(line, "continuation line outside a paragraph");
        }
        current_size += l.size() + 1;
        if (current_size > limits_.max_field_size) {
          return fail(line, "field '" + std::string(current_name) +
                                "' is longer than the limit of " +
                                std::to_string(limits_.max_field_size) + " bytes");
        }
        if (current && !only_blanks) {
          return fail(line, "field '" +
                                std::string(kFieldNames[static_cast<std::size_t>(*current)]) +
                                "' continues on this line; it must be one line");
        }
        continue;
      }
      const std::size_t colon = l.find(':');
      if (colon == std::string_view::npos) {
        return fail(line,
                    "expected 'Field: value' or a continuation line starting with a "
                    "space (is the paragraph cut short?)");
      }
      const std::string_view field_name = l.substr(0, colon);
      if (field_name.empty()) return fail(line, "empty field name before ':'");
      for (char c : field_name) {
        if (is_blank(c)) {
          return fail(line, "field name '" + std::string(field_name) + "' contains white space");
        }
      }
      if (!in_paragraph) {
        in_paragraph = true;
        para.first_line = line;
      }
      current_name = field_name;
      current_size = l.size();
      current.reset();
      for (std::size_t f = 0; f < kFieldNames.size(); ++f) {
        if (!iequals(field_name, kFieldNames[f])) continue;
        Value& v = para.fields[f];
        if (v.line != 0) {
          return fail(line, "field '" + std::string(kFieldNames[f]) +
                                "' given twice (first at line " + std::to_string(v.line) + ")");
        }
        v = Value{trim_blanks(l.substr(colon + 1)), line};
        current = static_cast<Field>(f);
        break;
      }
    }
    if (in_paragraph) {
      if (auto done = finish(para); !done) return tl::unexpected(done.error());
    }
    return std::move(packages_);
  }

 private:
  Unexpected fail(std::size_t line, std::string message) const {
    return make_error(Errc::invalid_input, std::move(message), at(name_, line));
  }

  Result<void> finish(const Paragraph& para) {
    const Value& package = para.get(Field::package);
    if (package.line == 0) {
      return fail(para.first_line, "the paragraph starting here has no Package field");
    }
    if (!valid_package_name(package.text)) {
      return fail(package.line, "invalid package name '" + std::string(package.text) + "'");
    }
    const std::string pkg(package.text);
    const Value& status = para.get(Field::status);
    if (status.line == 0) {
      return fail(para.first_line,
                  "package '" + pkg + "' has no Status field (is this a dpkg status file?)");
    }
    std::array<std::string_view, 3> words{};
    std::size_t count = 0;
    std::string_view rest = status.text;
    while (!rest.empty()) {
      std::size_t n = 0;
      while (n < rest.size() && !is_blank(rest[n])) ++n;
      if (count == words.size()) {
        count = words.size() + 1;
        break;
      }
      words[count++] = rest.substr(0, n);
      rest = trim_blanks(rest.substr(n));
    }
    if (count != 3) {
      return fail(status.line, "package '" + pkg + "': Status '" + std::string(status.text) +
                                   "' is not three words (want, flag, state)");
    }
    if (!one_of(words[0], kWants) || !one_of(words[1], kFlags) || !one_of(words[2], kStates)) {
      return fail(status.line,
                  "package '" + pkg + "': unknown Status '" + std::string(status.text) + "'");
    }
    if (mode_ == Mode::records) return record(para, pkg, words);
    if (words[2] != "installed") return {};

    const Value& version = para.get(Field::version);
    if (version.line == 0 || version.text.empty()) {
      return fail(para.first_line, "installed package '" + pkg + "' has no Version");
    }
    if (auto v = versions::parse_deb(version.text); !v) {
      return fail(version.line, "package '" + pkg + "': invalid version '" +
                                    std::string(version.text) + "': " + v.error().message);
    }
    const Value& arch = para.get(Field::architecture);
    if (arch.line == 0 || arch.text.empty()) {
      return fail(para.first_line, "installed package '" + pkg + "' has no Architecture");
    }
    if (!valid_arch(arch.text)) {
      return fail(arch.line,
                  "package '" + pkg + "': invalid architecture '" + std::string(arch.text) + "'");
    }

    inventory::Package out;
    out.name = pkg;
    out.arch = std::string(arch.text);
    out.version = std::string(version.text);
    out.source_name = pkg;
    out.source_version = out.version;
    if (const Value& source = para.get(Field::source); source.line != 0) {
      if (auto ok = parse_source(source, pkg, out); !ok) return ok;
    }
    if (!seen_.insert(out.name + ':' + out.arch).second) {
      return fail(package.line,
                  "package '" + pkg + "' for architecture '" + out.arch + "' is installed twice");
    }
    packages_.push_back(std::move(out));
    return {};
  }

  // parse_dpkg_records: every paragraph. Version and Architecture are required only of an
  // installed package: dpkg may not know them yet for one that is half-installed or gone.
  Result<void> record(const Paragraph& para, const std::string& pkg,
                      const std::array<std::string_view, 3>& words) {
    const bool installed = words[2] == "installed";
    const Value& version = para.get(Field::version);
    if (installed && (version.line == 0 || version.text.empty())) {
      return fail(para.first_line, "installed package '" + pkg + "' has no Version");
    }
    if (version.line != 0 && !version.text.empty()) {
      if (auto v = versions::parse_deb(version.text); !v) {
        return fail(version.line, "package '" + pkg + "': invalid version '" +
                                      std::string(version.text) + "': " + v.error().message);
      }
    }
    const Value& arch = para.get(Field::architecture);
    if (installed && (arch.line == 0 || arch.text.empty())) {
      return fail(para.first_line, "installed package '" + pkg + "' has no Architecture");
    }
    if (arch.line != 0 && !arch.text.empty() && !valid_arch(arch.text)) {
      return fail(arch.line,
                  "package '" + pkg + "': invalid architecture '" + std::string(arch.text) + "'");
    }
    DpkgRecord r;
    r.name = pkg;
    r.arch = std::string(arch.text);
    r.version = std::string(version.text);
    r.want = std::string(words[0]);
    r.flag = std::string(words[1]);
    r.state = std::string(words[2]);
    if (!seen_.insert(r.name + ':' + r.arch).second) {
      return fail(para.get(Field::package).line,
                  "package '" + pkg + "' for architecture '" + r.arch + "' is given twice");
    }
    records_.push_back(std::move(r));
    return {};
  }

  // "name" or "name (version)".
  Result<void> parse_source(const Value& source, const std::string& pkg,
                            inventory::Package& out) const {
    std::string_view text = source.text;
    std::size_t n = 0;
    while (n < text.size() && !is_blank(text[n]) && text[n] != '(') ++n;
    const std::string_view name = text.substr(0, n);
    const std::string_view rest = trim_blanks(text.substr(n));
    auto bad = [&](std::string why) {
      return fail(source.line,
                  "package '" + pkg + "': Source '" + std::string(text) + "': " + std::move(why));
    };
    if (!valid_package_name(name)) return bad("invalid source package name");
    out.source_name = std::string(name);
    if (rest.empty()) return {};
    if (rest.front() != '(' || rest.back() != ')') {
      return bad("expected 'name' or 'name (version)'");
    }
    const std::string_view version = trim_blanks(rest.substr(1, rest.size() - 2));
    if (version.empty()) return bad("empty version in parentheses");
    if (auto v = versions::parse_deb(version); !v) {
      return bad("invalid version: " + v.error().message);
    }
    out.source_version = std::string(version);
    return {};
  }

  std::string_view text_;
  std::string_view name_;
  DpkgLimits limits_;
  Mode mode_;
  std::vector<inventory::Package> packages_;
  std::vector<DpkgRecord> records_;
  std::unordered_set<std::string> seen_;
};

}  // namespace

std::filesystem::path dpkg_status_path(const std::filesystem::path& root) {
  return root / "var/lib/dpkg/status";
}

Result<std::vector<inventory::Package>> parse_dpkg_status(std::string_view text,
                                                          std::string_view name,
                                                          const DpkgLimits& limits) {
  return StatusParser(text, name, limits).run();
}

Result<std::vector<inventory::Package>> read_dpkg_status(const std::filesystem::path& file,
                                                         const DpkgLimits& limits) {
  auto data = detail::read_at_most(file, limits.max_file_size);
  if (!data) return tl::unexpected(data.error());
  return parse_dpkg_status(*data, file.string(), limits);
}

Result<std::vector<DpkgRecord>> parse_dpkg_records(std::string_view text, std::string_view name,
                                                   const DpkgLimits& limits) {
  StatusParser parser(text, name, limits, Mode::records);
  if (auto ok = parser.run(); !ok) return tl::unexpected(ok.error());
  return parser.take_records();
}

std::filesystem::path dpkg_admin_dir(const std::filesystem::path& root) {
  return root / "var/lib/dpkg";
}

Result<DpkgDatabase> read_dpkg_database(const std::filesystem::path& admin_dir,
                                        const DpkgLimits& limits) {
  namespace fs = std::filesystem;
  const auto read_records = [&](const fs::path& file) -> Result<std::vector<DpkgRecord>> {
    auto data = detail::read_at_most(file, limits.max_file_size);
    if (!data) return tl::unexpected(data.error());
    return parse_dpkg_records(*data, file.string(), limits);
  };
  auto status = read_records(admin_dir / "status");
  if (!status) return tl::unexpected(status.error());

  // dpkg writes each change to updates/<number> before merging it into status; a run that
  // was killed leaves them there, and dpkg applies them in numeric order when it next starts.
  // Only names made of digits count ("tmp.i" is an entry still being written).
  std::vector<fs::path> journal;
  std::error_code ec;
  const fs::path updates = admin_dir / "updates";
  if (fs::is_directory(updates, ec)) {
    for (auto it = fs::directory_iterator(updates, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      const std::string n = it->path().filename().string();
      if (n.empty() || n.size() > 10 ||
          !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      if (journal.size() >= limits.max_journal_files) {
        return make_error(Errc::invalid_input,
                          "more than " + std::to_string(limits.max_journal_files) +
                              " journal files: not a dpkg database we can read",
                          updates.string());
      }
      journal.push_back(it->path());
    }
    if (ec) {
      return make_error(Errc::io, "cannot list the dpkg journal: " + ec.message(),
                        updates.string());
    }
  }
  std::sort(journal.begin(), journal.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoull(a.filename().string()) < std::stoull(b.filename().string());
  });

  std::map<std::pair<std::string, std::string>, DpkgRecord> merged;
  for (auto& r : *status) merged[{r.name, r.arch}] = std::move(r);
  for (const auto& file : journal) {
    auto records = read_records(file);
    if (!records) return tl::unexpected(records.error());
    for (auto& r : *records) merged[{r.name, r.arch}] = std::move(r);
  }

  DpkgDatabase db;
  db.journal_files = journal.size();
  for (auto& [key, r] : merged) {
    if (r.state == "not-installed" || r.state == "config-files") continue;
    DbEntry e{r.name, r.arch, r.version, r.state == "installed" ? std::string() : r.state};
    if (r.want == "hold") db.held.push_back(e);
    db.packages.push_back(std::move(e));
  }
  return db;
}

}  // namespace pf::pkg
