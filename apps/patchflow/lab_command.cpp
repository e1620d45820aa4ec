// SPDX-License-Identifier: Apache-2.0
// patchflow lab fixture: one YAML file describing .deb/.rpm packages, apt/rpm repositories and
// package roots, built with libs/lab and the real packaging tools (docs/lab-fixtures.md).
#include "lab_command.hpp"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "command.hpp"
#include "lab_fleet.hpp"
#include "patchflow/core/versions.hpp"
#include "patchflow/lab/deb.hpp"
#include "patchflow/lab/rpm.hpp"
#include "patchflow/lab/tools.hpp"

namespace pf::cli {
namespace {

namespace fs = std::filesystem;

// Bounds on the input. Aliases let a small file name the same node many times, so what is read
// is counted too, not only the file's size.
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{1} << 20;
constexpr std::size_t kMaxPackages = 500;  // debs, rpms
constexpr std::size_t kMaxDirs = 100;      // apt_repos, rpm_repos, roots
constexpr std::size_t kMaxItems = 1000;    // any list inside a package, repository or root
constexpr std::size_t kMaxNodes = 200000;  // YAML nodes read, aliases counted each time
constexpr std::size_t kMaxTextBytes = std::size_t{32} << 20;  // all strings read, together

struct DebEntry {
  lab::DebSpec spec;
  std::string where;
  fs::path file;  // set once built
};

struct RpmEntry {
  lab::RpmSpec spec;
  std::string where;
  fs::path file;  // set once built

  [[nodiscard]] std::string nvr() const {
    return spec.name + "-" + spec.version + "-" + spec.release;
  }
  [[nodiscard]] std::string file_name() const { return nvr() + "." + spec.arch + ".rpm"; }
};

struct AptRepoEntry {
  fs::path dir;
  lab::AptRepoSpec spec;
  std::vector<std::size_t> debs;
  std::string where;
  lab::AptRepo built;
};

struct RpmRepoEntry {
  fs::path dir;
  std::vector<std::size_t> rpms;
  std::vector<lab::Advisory> advisories;
  std::string where;
  lab::RpmRepo built;
};

enum class Family { deb, rpm };

struct RootEntry {
  fs::path dir;
  Family family{Family::deb};
  std::string architecture;          // deb roots; empty: the host's
  std::vector<std::size_t> install;  // indexes into debs or rpms, by family
  std::vector<std::size_t> repos;    // indexes into apt_repos or rpm_repos, by family
  std::optional<std::string> os_release;
  std::string where;
};

struct Fixture {
  fs::path out;
  std::vector<DebEntry> debs;
  std::vector<RpmEntry> rpms;
  std::vector<AptRepoEntry> apt_repos;
  std::vector<RpmRepoEntry> rpm_repos;
  std::vector<RootEntry> roots;

  [[nodiscard]] fs::path debs_dir() const { return out / "debs"; }
  [[nodiscard]] fs::path rpms_dir() const { return out / "rpms"; }
};

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

// "1 deb", "2 debs"; `many` when the plural is not one + "s".
std::string count(std::size_t n, const std::string& one, std::string many = {}) {
  if (many.empty()) many = one + "s";
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

bool one_line(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos;
}

bool all_of(std::string_view s, std::string_view extra, bool upper = true) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (upper && c >= 'A' && c <= 'Z') ||
           extra.find(c) != std::string_view::npos;
  });
}

// dpkg's package name rule: two or more of [a-z0-9+.-], starting with a letter or digit.
bool is_deb_name(std::string_view s) {
  return s.size() >= 2 && all_of(s, "+-.", false) && s.front() != '+' && s.front() != '-' &&
         s.front() != '.';
}

bool is_deb_arch(std::string_view s) {
  return all_of(s, "-", false);
}

// What rpmbuild accepts in Name, and in Version and Release (no '-').
bool is_rpm_name(std::string_view s) {
  return all_of(s, "._+-") && s.front() != '-';
}
bool is_rpm_version(std::string_view s) {
  return all_of(s, "._+~^");
}

// An absolute, normalised path inside a package, which dpkg and rpm %files can both hold.
std::optional<std::string> package_path_problem(std::string_view path) {
  if (path.size() < 2 || path.front() != '/') return "must be absolute, e.g. /etc/pf-web.conf";
  if (path.back() == '/') return "must name a file, not end with '/'";
  if (path.find_first_of(" \t\r\n\"%\\") != std::string_view::npos) {
    return "may not hold white space, '\"', '%' or '\\'";
  }
  std::string_view rest = path.substr(1);
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return "may not have empty, '.' or '..' parts";
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return std::nullopt;
}

// "0644", "644" and "0o644" are all octal.
std::optional<unsigned> parse_mode(std::string_view s) {
  if (s.starts_with("0o")) s.remove_prefix(2);
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned mode = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if (mode > 07777) return std::nullopt;
  return mode;
}

bool is_date_time(std::string_view s) {
  // YYYY-MM-DD HH:MM:SS
  static constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd";
  if (s.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool digit = s[i] >= '0' && s[i] <= '9';
    if (kShape[i] == 'd' ? !digit : s[i] != kShape[i]) return false;
  }
  return true;
}

bool is_cve(std::string_view s) {
  if (!s.starts_with("CVE-") || s.size() < 13 || s.size() > 24 || s[8] != '-') return false;
  for (std::size_t i = 4; i < s.size(); ++i) {
    if (i != 8 && (s[i] < '0' || s[i] > '9')) return false;
  }
  return true;
}

// A path under `out` is shown relative to it, others as they are.
std::string shown(const fs::path& p, const fs::path& out) {
  const auto rel = p.lexically_relative(out);
  return !rel.empty() && *rel.begin() != ".." ? rel.string() : p.string();
}

// True when one path is the other or lies inside it.
bool overlaps(const fs::path& a, const fs::path& b) {
  auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return ia == a.end() || ib == b.end();
}

// Reads the YAML file into a Fixture, checking everything that can be checked before a tool
// runs. Every error names FILE:line:col and the key path ("debs[2].version").
class Loader {
 public:
  Loader(std::string file, fs::path out) : file_(std::move(file)) { fixture_.out = std::move(out); }

  Result<Fixture> load(const std::string& text) {
    try {
      std::vector<YAML::Node> docs = YAML::LoadAll(text);
      if (docs.empty() || docs[0].IsNull()) {
        return make_error(Errc::invalid_input,
                          "the file is empty: expected a mapping with debs, rpms, apt_repos, "
                          "rpm_repos and roots",
                          file_);
      }
      if (docs.size() > 1) {
        return fail(docs[1], "",
                    "expected one YAML document, found " + std::to_string(docs.size()) +
                        " (remove the '---')");
      }
      if (auto ok = top(docs[0]); !ok) return tl::unexpected(ok.error());
    } catch (const YAML::Exception& e) {
      return make_error(Errc::invalid_input, "invalid YAML: " + e.msg, at(e.mark));
    }
    return std::move(fixture_);
  }

 private:
  using FieldFn = std::function<Result<void>(const std::string& key, const YAML::Node& value,
                                             const std::string& path)>;

  [[nodiscard]] std::string at(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.line < 0) return file_;
    return file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  [[nodiscard]] std::string where(const YAML::Node& n) const { return at(n.Mark()); }

  [[nodiscard]] Unexpected fail(const YAML::Node& n, const std::string& path,
                                const std::string& message) const {
    return make_error(Errc::invalid_input, path.empty() ? message : path + ": " + message,
                      where(n));
  }

  static std::string kind(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Null:
        return "nothing";
      case YAML::NodeType::Scalar:
        return "'" + n.Scalar().substr(0, 40) + "'";
      case YAML::NodeType::Sequence:
        return "a list";
      case YAML::NodeType::Map:
        return "a mapping";
      default:
        return "an undefined node";
    }
  }

  Result<void> visit(const YAML::Node& n) {
    if (++nodes_ > kMaxNodes) {
      return fail(n, "",
                  "the file holds more than " + std::to_string(kMaxNodes) +
                      " YAML nodes (aliases counted each time they are used)");
    }
    return {};
  }

  // Calls fn for each key of the mapping `n`; a key not in `allowed`, a key given twice and a
  // missing `required` key are errors.
  Result<void> fields(const YAML::Node& n, const std::string& path,
                      const std::vector<std::string_view>& allowed,
                      const std::vector<std::string_view>& required, const FieldFn& fn) {
    std::vector<std::string> names(allowed.begin(), allowed.end());
    if (auto ok = visit(n); !ok) return ok;
    if (!n.IsMap()) {
      return fail(n, path, "expected a mapping with keys " + join(names) + ", got " + kind(n));
    }
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (auto ok = visit(kv.first); !ok) return ok;
      if (!kv.first.IsScalar()) {
        return fail(kv.first, path, "expected a key, got " + kind(kv.first));
      }
      const std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return fail(kv.first, path,
                    "unknown key '" + key.substr(0, 40) + "' (expected " + join(names) + ")");
      }
      if (!seen.insert(key).second) return fail(kv.first, path, "key '" + key + "' given twice");
      if (auto ok = fn(key, kv.second, path.empty() ? key : path + "." + key); !ok) return ok;
    }
    for (const auto& r : required) {
      if (!seen.contains(std::string(r))) {
        return fail(n, path, "missing key '" + std::string(r) + "'");
      }
    }
    return {};
  }

  Result<std::string> text(const YAML::Node& n, const std::string& path) {
    if (auto ok = visit(n); !ok) return tl::unexpected(ok.error());
    if (!n.IsScalar()) return fail(n, path, "expected a string, got " + kind(n));
    bytes_ += n.Scalar().size();
    if (bytes_ > kMaxTextBytes) {
      return fail(n, path,
                  "the strings of the file add up to more than " +
                      std::to_string(kMaxTextBytes >> 20) +
                      " MiB (aliases counted each time they are used)");
    }
    return n.Scalar();
  }

  // One non-empty line.
  Result<std::string> line(const YAML::Node& n, const std::string& path) {
    auto s = text(n, path);
    if (!s) return s;
    if (s->empty() || !one_line(*s)) return fail(n, path, "expected one non-empty line");
    return s;
  }

  Result<void> list(const YAML::Node& n, const std::string& path, std::size_t max,
                    const std::function<Result<void>(const YAML::Node&, const std::string&)>& fn) {
    if (auto ok = visit(n); !ok) return ok;
    if (!n.IsSequence()) return fail(n, path, "expected a list, got " + kind(n));
    if (n.size() > max) {
      return fail(n, path,
                  "more than " + std::to_string(max) + " items (" + std::to_string(n.size()) + ")");
    }
    std::size_t i = 0;
    for (const auto& item : n) {
      if (auto ok = fn(item, path + "[" + std::to_string(i++) + "]"); !ok) return ok;
    }
    return {};
  }

  Result<std::vector<std::string>> lines(const YAML::Node& n, const std::string& path) {
    std::vector<std::string> out;
    auto ok = list(n, path, kMaxItems, [&](const YAML::Node& item, const std::string& p) {
      auto s = line(item, p);
      if (!s) return Result<void>(tl::unexpected(s.error()));
      out.push_back(std::move(*s));
      return Result<void>{};
    });
    if (!ok) return tl::unexpected(ok.error());
    return out;
  }

  // Relation fields: "pf-lib (>= 1.0)" for deb (no ','), "pf-lib >= 1.0" for rpm (no '%').
  Result<std::vector<std::string>> relations(const YAML::Node& n, const std::string& path,
                                             char forbidden) {
    auto items = lines(n, path);
    if (!items) return items;
    for (std::size_t i = 0; i < items->size(); ++i) {
      if ((*items)[i].find(forbidden) != std::string::npos) {
        return fail(n[i], path + "[" + std::to_string(i) + "]",
                    std::string("one relation per item, without '") + forbidden + "'");
      }
    }
    return items;
  }

  Result<std::optional<std::string>> script(const YAML::Node& n, const std::string& path) {
    auto s = text(n, path);
    if (!s) return tl::unexpected(s.error());
    if (s->empty()) return fail(n, path, "a script may not be empty (leave the key out)");
    return std::optional<std::string>(std::move(*s));
  }

  Result<void> check_path(const YAML::Node& n, const std::string& path, const std::string& file,
                          std::set<std::string>& seen) {
    if (auto why = package_path_problem(file)) return fail(n, path, "'" + file + "' " + *why);
    if (!seen.insert(file).second) return fail(n, path, "'" + file + "' is listed twice");
    return {};
  }

  Result<std::vector<lab::PackageFile>> files(const YAML::Node& n, const std::string& path,
                                              std::set<std::string>& seen) {
    std::vector<lab::PackageFile> out;
    auto ok = list(n, path, kMaxItems, [&](const YAML::Node& item, const std::string& p) {
      lab::PackageFile f;
      return fields(item, p, {"path", "content", "mode"}, {"path"},
                    [&](const std::string& key, const YAML::Node& v,
                        const std::string& kp) -> Result<void> {
                      auto s = text(v, kp);
                      if (!s) return tl::unexpected(s.error());
                      if (key == "path") {
                        if (auto c = check_path(v, kp, *s, seen); !c) return c;
                        f.path = *s;
                      } else if (key == "content") {
                        f.content = *s;
                      } else {
                        auto mode = parse_mode(*s);
                        if (!mode) {
                          return fail(v, kp,
                                      "expected an octal mode such as 0644 or 0755, got '" +
                                          s->substr(0, 20) + "'");
                        }
                        f.mode = *mode;
                      }
                      return {};
                    })
          .map([&] { out.push_back(std::move(f)); });
    });
    if (!ok) return tl::unexpected(ok.error());
    return out;
  }

  Result<void> deb(const YAML::Node& n, const std::string& path) {
    DebEntry d;
    d.where = where(n);
    std::set<std::string> paths;
    auto& s = d.spec;
    auto ok = fields(
        n, path,
        {"name",     "version",     "architecture",  "maintainer", "description", "section",
         "priority", "depends",     "pre_depends",   "conflicts",  "breaks",      "provides",
         "replaces", "conffiles",   "files",         "preinst",    "postinst",    "prerm",
         "postrm",   "source_name", "source_version"},
        {"name", "version"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) -> Result<void> {
          const std::map<std::string, std::string*> strings = {
              {"name", &s.name},
              {"version", &s.version},
              {"architecture", &s.architecture},
              {"maintainer", &s.maintainer},
              {"description", &s.description},
              {"section", &s.section},
              {"priority", &s.priority},
              {"source_name", &s.source_name},
              {"source_version", &s.source_version}};
          const std::map<std::string, std::vector<std::string>*> rels = {
              {"depends", &s.depends}, {"pre_depends", &s.pre_depends}, {"conflicts", &s.conflicts},
              {"breaks", &s.breaks},   {"provides", &s.provides},       {"replaces", &s.replaces}};
          const std::map<std::string, std::optional<std::string>*> scripts = {
              {"preinst", &s.preinst},
              {"postinst", &s.postinst},
              {"prerm", &s.prerm},
              {"postrm", &s.postrm}};
          if (auto it = strings.find(key); it != strings.end()) {
            auto l = line(v, p);
            if (!l) return tl::unexpected(l.error());
            if ((key == "name" || key == "source_name") && !is_deb_name(*l)) {
              return fail(v, p,
                          "'" + *l +
                              "' is not a Debian package name (2 or more of a-z 0-9 + - ., "
                              "starting with a letter or digit)");
            }
            if (key == "version" || key == "source_version") {
              // parse_deb ignores surrounding white space; the control file and the .deb's
              // name would keep it.
              if (l->find_first_of(" \t") != std::string::npos) {
                return fail(v, p, "'" + *l + "' is not a valid Debian version: white space");
              }
              auto parsed = versions::parse_deb(*l, versions::Check::strict);
              if (!parsed) {
                return fail(
                    v, p,
                    "'" + *l + "' is not a valid Debian version: " + to_string(parsed.error()));
              }
            }
            if (key == "architecture" && !is_deb_arch(*l)) {
              return fail(v, p, "'" + *l + "' is not a Debian architecture (a-z 0-9 -)");
            }
            *it->second = std::move(*l);
          } else if (auto r = rels.find(key); r != rels.end()) {
            auto items = relations(v, p, ',');
            if (!items) return tl::unexpected(items.error());
            *r->second = std::move(*items);
          } else if (auto sc = scripts.find(key); sc != scripts.end()) {
            auto body = script(v, p);
            if (!body) return tl::unexpected(body.error());
            *sc->second = std::move(*body);
          } else if (key == "files") {
            auto f = files(v, p, paths);
            if (!f) return tl::unexpected(f.error());
            for (const auto& file : *f) {
              if (file.path == "/DEBIAN" || file.path.starts_with("/DEBIAN/")) {
                return fail(v, p, "'" + file.path + "': nothing may be shipped under /DEBIAN");
              }
            }
            s.files = std::move(*f);
          } else if (key == "conffiles") {
            if (auto ok2 = visit(v); !ok2) return ok2;
            if (!v.IsMap()) {
              return fail(v, p, "expected a mapping of path to content, got " + kind(v));
            }
            if (v.size() > kMaxItems) {
              return fail(v, p, "more than " + std::to_string(kMaxItems) + " conffiles");
            }
            for (const auto& kv : v) {
              auto file = text(kv.first, p);
              if (!file) return tl::unexpected(file.error());
              if (auto c = check_path(kv.first, p, *file, paths); !c) return c;
              if (!file->starts_with("/etc/")) {
                return fail(kv.first, p, "'" + *file + "': conffiles belong under /etc/");
              }
              auto content = text(kv.second, p + "[" + *file + "]");
              if (!content) return tl::unexpected(content.error());
              s.conffiles[*file] = std::move(*content);
            }
          }
          return {};
        });
    if (!ok) return ok;
    for (std::size_t i = 0; i < fixture_.debs.size(); ++i) {
      const auto& o = fixture_.debs[i].spec;
      if (o.name == s.name && o.architecture == s.architecture &&
          strip_epoch(o.version) == strip_epoch(s.version)) {
        return fail(n, path,
                    s.name + " " + s.version + " (" + s.architecture +
                        ") would be the same .deb file as debs[" + std::to_string(i) + "] at " +
                        fixture_.debs[i].where);
      }
    }
    fixture_.debs.push_back(std::move(d));
    return {};
  }

  static std::string strip_epoch(const std::string& v) {
    const auto colon = v.find(':');
    return colon == std::string::npos ? v : v.substr(colon + 1);
  }

  Result<void> rpm(const YAML::Node& n, const std::string& path) {
    RpmEntry r;
    r.where = where(n);
    std::set<std::string> paths;
    auto& s = r.spec;
    auto ok = fields(
        n, path,
        {"name", "epoch", "version", "release", "arch", "summary", "license", "requires",
         "provides", "conflicts", "obsoletes", "files", "pre", "post", "preun", "postun"},
        {"name", "version"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) -> Result<void> {
          const std::map<std::string, std::string*> strings = {
              {"name", &s.name}, {"version", &s.version}, {"release", &s.release},
              {"arch", &s.arch}, {"summary", &s.summary}, {"license", &s.license}};
          const std::map<std::string, std::vector<std::string>*> rels = {
              {"requires", &s.requires_},
              {"provides", &s.provides},
              {"conflicts", &s.conflicts},
              {"obsoletes", &s.obsoletes}};
          const std::map<std::string, std::optional<std::string>*> scripts = {
              {"pre", &s.pre}, {"post", &s.post}, {"preun", &s.preun}, {"postun", &s.postun}};
          if (auto it = strings.find(key); it != strings.end()) {
            auto l = line(v, p);
            if (!l) return tl::unexpected(l.error());
            if (key == "name" && !is_rpm_name(*l)) {
              return fail(v, p, "'" + *l + "' is not an rpm package name (A-Z a-z 0-9 . _ + -)");
            }
            if ((key == "version" || key == "release") && !is_rpm_version(*l)) {
              return fail(v, p,
                          "'" + *l + "' is not a valid rpm " + key +
                              " (A-Z a-z 0-9 . _ + ~ ^, no '-' or ':'; the epoch is its "
                              "own key)");
            }
            if (key == "arch" && !all_of(*l, "_")) {
              return fail(v, p, "'" + *l + "' is not an rpm architecture");
            }
            *it->second = std::move(*l);
          } else if (key == "epoch") {
            auto l = line(v, p);
            if (!l) return tl::unexpected(l.error());
            if (l->size() > 9 || l->find_first_not_of("0123456789") != std::string::npos) {
              return fail(v, p, "expected a number from 0 to 999999999, got '" + *l + "'");
            }
            s.epoch = static_cast<std::uint32_t>(std::stoul(*l));
          } else if (auto rl = rels.find(key); rl != rels.end()) {
            auto items = relations(v, p, '%');
            if (!items) return tl::unexpected(items.error());
            *rl->second = std::move(*items);
          } else if (auto sc = scripts.find(key); sc != scripts.end()) {
            auto body = script(v, p);
            if (!body) return tl::unexpected(body.error());
            *sc->second = std::move(*body);
          } else if (key == "files") {
            auto f = files(v, p, paths);
            if (!f) return tl::unexpected(f.error());
            s.files = std::move(*f);
          }
          return {};
        });
    if (!ok) return ok;
    for (std::size_t i = 0; i < fixture_.rpms.size(); ++i) {
      if (fixture_.rpms[i].file_name() == r.file_name()) {
        return fail(n, path,
                    r.file_name() + " is defined twice (first at " + fixture_.rpms[i].where + ")");
      }
    }
    fixture_.rpms.push_back(std::move(r));
    return {};
  }

  // "name=version" or "name:arch=version", naming one of the debs.
  Result<std::size_t> deb_ref(const YAML::Node& n, const std::string& path) {
    auto ref = line(n, path);
    if (!ref) return tl::unexpected(ref.error());
    const auto eq = ref->find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == ref->size()) {
      return fail(n, path,
                  "expected NAME=VERSION of a deb defined under debs (e.g. pf-web=1.0-1), "
                  "got '" +
                      *ref + "'");
    }
    std::string name = ref->substr(0, eq);
    const std::string version = ref->substr(eq + 1);
    std::string arch;
    if (const auto colon = name.find(':'); colon != std::string::npos) {
      arch = name.substr(colon + 1);
      name.resize(colon);
    }
    std::vector<std::size_t> hits;
    std::vector<std::string> versions_of_name;
    for (std::size_t i = 0; i < fixture_.debs.size(); ++i) {
      const auto& s = fixture_.debs[i].spec;
      if (s.name != name || (!arch.empty() && s.architecture != arch)) continue;
      versions_of_name.push_back(s.version + (arch.empty() ? "" : ":" + s.architecture));
      if (s.version == version) hits.push_back(i);
    }
    if (hits.size() == 1) return hits[0];
    if (hits.size() > 1) {
      return fail(n, path,
                  "'" + *ref + "' is defined for several architectures: write " + name +
                      ":ARCH=" + version);
    }
    if (versions_of_name.empty()) {
      return fail(n, path,
                  "'" + *ref + "' is not defined: no deb named '" + name +
                      (arch.empty() ? "" : "' for architecture '" + arch) + "' under debs");
    }
    return fail(n, path,
                "'" + *ref + "' is not defined (versions of " + name +
                    " under debs: " + join(versions_of_name) + ")");
  }

  // "name-version-release" (optionally "name-epoch:version-release" or with ".arch").
  Result<std::size_t> rpm_ref(const YAML::Node& n, const std::string& path) {
    auto ref = line(n, path);
    if (!ref) return tl::unexpected(ref.error());
    std::vector<std::size_t> hits;
    std::vector<std::string> near;
    for (std::size_t i = 0; i < fixture_.rpms.size(); ++i) {
      const auto& r = fixture_.rpms[i];
      const std::string evr = (r.spec.epoch ? std::to_string(*r.spec.epoch) + ":" : "") +
                              r.spec.version + "-" + r.spec.release;
      const std::string nevr = r.spec.name + "-" + evr;
      if (*ref == r.nvr() || *ref == nevr || *ref == r.nvr() + "." + r.spec.arch ||
          *ref == nevr + "." + r.spec.arch) {
        hits.push_back(i);
      } else if (ref->starts_with(r.spec.name + "-")) {
        near.push_back(r.nvr());
      }
    }
    if (hits.size() == 1) return hits[0];
    if (hits.size() > 1) {
      return fail(n, path, "'" + *ref + "' is defined for several architectures: add .ARCH");
    }
    if (!near.empty()) {
      return fail(n, path, "'" + *ref + "' is not defined (rpms of that name: " + join(near) + ")");
    }
    return fail(n, path,
                "'" + *ref +
                    "' is not defined: expected NAME-VERSION-RELEASE of an rpm "
                    "defined under rpms (e.g. pf-web-1.0-1)");
  }

  // A directory of the output: relative ones are under --out.
  Result<fs::path> dir(const YAML::Node& n, const std::string& path) {
    auto s = line(n, path);
    if (!s) return tl::unexpected(s.error());
    fs::path p(*s);
    if (p.is_relative()) {
      for (const auto& part : p) {
        if (part == "..") {
          return fail(n, path, "'" + *s + "': a relative directory may not go up with '..'");
        }
      }
      p = fixture_.out / p;
    }
    p = p.lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    // p == out, or out lies inside p: p is emptied on failure, so it may not hold --out.
    const bool holds_out =
        std::mismatch(p.begin(), p.end(), fixture_.out.begin(), fixture_.out.end()).first ==
        p.end();
    if (p == p.root_path() || holds_out) {
      return fail(n, path,
                  "'" + *s + "' would be " + p.string() +
                      ", which holds --out: name a directory of its own");
    }
    return p;
  }

  // Every output directory must be distinct from the others and not inside one of them: each
  // is emptied as a whole when a build fails.
  Result<void> claim(const fs::path& d, const YAML::Node& n, const std::string& path) {
    for (const auto& [other, other_where] : claimed_) {
      if (overlaps(d, other)) {
        return fail(n, path,
                    shown(d, fixture_.out) + " is, or overlaps, " + shown(other, fixture_.out) +
                        " (named at " + other_where + ")");
      }
    }
    claimed_.emplace_back(d, where(n));
    return {};
  }

  Result<void> apt_repo(const YAML::Node& n, const std::string& path) {
    AptRepoEntry r;
    r.where = where(n);
    std::optional<YAML::Node> archs_node;
    auto ok = fields(
        n, path, {"dir", "layout", "suite", "component", "architectures", "packages"}, {"dir"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) -> Result<void> {
          if (key == "dir") {
            auto d = dir(v, p);
            if (!d) return tl::unexpected(d.error());
            r.dir = *d;
            return claim(r.dir, v, p);
          }
          if (key == "packages") {
            std::set<std::size_t> seen;
            return list(v, p, kMaxItems, [&](const YAML::Node& item, const std::string& ip) {
              auto i = deb_ref(item, ip);
              if (!i) return Result<void>(tl::unexpected(i.error()));
              if (!seen.insert(*i).second) return Result<void>(fail(item, ip, "listed twice"));
              r.debs.push_back(*i);
              return Result<void>{};
            });
          }
          if (key == "architectures") {
            auto items = lines(v, p);
            if (!items) return tl::unexpected(items.error());
            for (const auto& a : *items) {
              if (!is_deb_arch(a) || a == "all") {
                return fail(v, p,
                            "'" + a + "' is not a binary-index architecture (amd64, arm64...)");
              }
            }
            r.spec.architectures = std::move(*items);
            archs_node = v;
            return {};
          }
          auto l = line(v, p);
          if (!l) return tl::unexpected(l.error());
          if (key == "layout") {
            if (*l != "flat" && *l != "dists") {
              return fail(v, p, "expected flat or dists, got '" + *l + "'");
            }
            r.spec.layout = *l == "flat" ? lab::RepoLayout::flat : lab::RepoLayout::dists;
            return {};
          }
          if (!all_of(*l, "._-")) return fail(v, p, "'" + *l + "' must be [A-Za-z0-9._-]+");
          (key == "suite" ? r.spec.suite : r.spec.component) = *l;
          return {};
        });
    if (!ok) return ok;
    if (archs_node && r.spec.layout == lab::RepoLayout::flat) {
      return fail(*archs_node, path + ".architectures",
                  "only a dists layout has per-architecture indexes (add layout: dists)");
    }
    fixture_.apt_repos.push_back(std::move(r));
    return {};
  }

  Result<void> advisory(const YAML::Node& n, const std::string& path, lab::Advisory& a) {
    bool has_description = false;
    bool has_title = false;
    return fields(n, path,
                  {"id", "type", "title", "severity", "issued", "description", "cves", "packages"},
                  {"id", "issued", "packages"},
                  [&](const std::string& key, const YAML::Node& v,
                      const std::string& p) -> Result<void> {
                    if (key == "packages") {
                      if (v.IsSequence() && v.size() == 0) {
                        return fail(v, p, "expected at least one");
                      }
                      return list(v, p, kMaxItems,
                                  [&](const YAML::Node& item, const std::string& ip) {
                                    auto i = rpm_ref(item, ip);
                                    if (!i) return Result<void>(tl::unexpected(i.error()));
                                    const auto& r = fixture_.rpms[*i];
                                    a.packages.push_back({.name = r.spec.name,
                                                          .epoch = r.spec.epoch.value_or(0),
                                                          .version = r.spec.version,
                                                          .release = r.spec.release,
                                                          .arch = r.spec.arch,
                                                          .filename = r.file_name()});
                                    return Result<void>{};
                                  });
                    }
                    if (key == "cves") {
                      auto items = lines(v, p);
                      if (!items) return tl::unexpected(items.error());
                      for (std::size_t i = 0; i < items->size(); ++i) {
                        if (!is_cve((*items)[i])) {
                          return fail(v[i], p + "[" + std::to_string(i) + "]",
                                      "expected CVE-YYYY-NNNN, got '" + (*items)[i] + "'");
                        }
                      }
                      a.cves = std::move(*items);
                      return {};
                    }
                    if (key == "description") {
                      auto t = text(v, p);
                      if (!t) return tl::unexpected(t.error());
                      a.description = std::move(*t);
                      has_description = true;
                      return {};
                    }
                    auto l = line(v, p);
                    if (!l) return tl::unexpected(l.error());
                    if (key == "id") {
                      if (!all_of(*l, ":._-")) {
                        return fail(v, p, "'" + *l + "' must be [A-Za-z0-9:._-]+");
                      }
                      a.id = *l;
                    } else if (key == "type") {
                      if (*l != "security" && *l != "bugfix" && *l != "enhancement" &&
                          *l != "newpackage") {
                        return fail(v, p,
                                    "expected security, bugfix, enhancement or newpackage, "
                                    "got '" +
                                        *l + "'");
                      }
                      a.type = *l;
                    } else if (key == "title") {
                      a.title = *l;
                      has_title = true;
                    } else if (key == "severity") {
                      a.severity = *l;
                    } else if (key == "issued") {
                      if (l->size() == 10) *l += " 00:00:00";
                      if (!is_date_time(*l)) {
                        return fail(v, p,
                                    "expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, got '" + *l + "'");
                      }
                      a.issued = *l;
                    }
                    return {};
                  })
        .map([&] {
          if (!has_title) a.title = a.id;
          if (!has_description) a.description = a.title;
        });
  }

  Result<void> rpm_repo(const YAML::Node& n, const std::string& path) {
    RpmRepoEntry r;
    r.where = where(n);
    auto ok = fields(
        n, path, {"dir", "packages", "advisories"}, {"dir"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) -> Result<void> {
          if (key == "dir") {
            auto d = dir(v, p);
            if (!d) return tl::unexpected(d.error());
            r.dir = *d;
            return claim(r.dir, v, p);
          }
          if (key == "packages") {
            std::set<std::size_t> seen;
            return list(v, p, kMaxItems, [&](const YAML::Node& item, const std::string& ip) {
              auto i = rpm_ref(item, ip);
              if (!i) return Result<void>(tl::unexpected(i.error()));
              if (!seen.insert(*i).second) return Result<void>(fail(item, ip, "listed twice"));
              r.rpms.push_back(*i);
              return Result<void>{};
            });
          }
          std::set<std::string> ids;
          return list(v, p, kMaxItems, [&](const YAML::Node& item, const std::string& ip) {
            lab::Advisory a;
            if (auto ok2 = advisory(item, ip, a); !ok2) return ok2;
            if (!ids.insert(a.id).second) {
              return Result<void>(fail(item, ip, "advisory " + a.id + " is given twice"));
            }
            r.advisories.push_back(std::move(a));
            return Result<void>{};
          });
        });
    if (!ok) return ok;
    fixture_.rpm_repos.push_back(std::move(r));
    return {};
  }

  // A repository named by its dir, as written in apt_repos or rpm_repos.
  template <class Repo>
  Result<std::size_t> repo_ref(const YAML::Node& n, const std::string& path,
                               const std::vector<Repo>& repos, const char* section) {
    auto d = dir(n, path);
    if (!d) return tl::unexpected(d.error());
    for (std::size_t i = 0; i < repos.size(); ++i) {
      if (repos[i].dir == *d) return i;
    }
    std::vector<std::string> known;
    for (const auto& r : repos) known.push_back(r.dir.lexically_relative(fixture_.out).string());
    return fail(n, path,
                "'" + n.Scalar() + "' is not the dir of one of the " + section +
                    (known.empty() ? " (there are none)" : " (" + join(known) + ")"));
  }

  Result<void> root(const YAML::Node& n, const std::string& path) {
    RootEntry r;
    r.where = where(n);
    std::map<std::string, std::pair<YAML::Node, std::string>> later;
    std::string family;
    auto ok = fields(
        n, path, {"dir", "family", "architecture", "install", "sources", "repos", "os_release"},
        {"dir", "family"},
        [&](const std::string& key, const YAML::Node& v, const std::string& p) -> Result<void> {
          if (key == "dir") {
            auto d = dir(v, p);
            if (!d) return tl::unexpected(d.error());
            r.dir = *d;
            return claim(r.dir, v, p);
          }
          if (key == "family") {
            auto l = line(v, p);
            if (!l) return tl::unexpected(l.error());
            if (*l != "deb" && *l != "rpm") {
              return fail(v, p, "expected deb or rpm, got '" + *l + "'");
            }
            family = *l;
            r.family = family == "deb" ? Family::deb : Family::rpm;
            return {};
          }
          if (key == "os_release") {
            auto t = text(v, p);
            if (!t) return tl::unexpected(t.error());
            if (!t->empty() && !t->ends_with('\n')) *t += '\n';
            r.os_release = std::move(*t);
            return {};
          }
          // install, sources, repos and architecture depend on the family: read them after.
          later.emplace(key, std::pair{v, p});
          return {};
        });
    if (!ok) return ok;
    const bool deb_root = r.family == Family::deb;
    for (const auto& [key, node_path] : later) {
      const auto& [v, p] = node_path;
      if (key == "sources" && !deb_root) {
        return fail(v, p, "an rpm root takes 'repos' (rpm_repos dirs), not 'sources'");
      }
      if (key == "repos" && deb_root) {
        return fail(v, p, "a deb root takes 'sources' (apt_repos dirs), not 'repos'");
      }
      if (key == "architecture") {
        if (!deb_root) return fail(v, p, "only deb roots take an architecture");
        auto l = line(v, p);
        if (!l) return tl::unexpected(l.error());
        if (!is_deb_arch(*l) || *l == "all") {
          return fail(v, p, "'" + *l + "' is not a dpkg architecture (amd64, arm64...)");
        }
        r.architecture = *l;
      } else if (key == "install") {
        std::map<std::string, std::string> names;  // name:arch → the reference
        auto listed = list(v, p, kMaxItems, [&](const YAML::Node& item, const std::string& ip) {
          auto i = deb_root ? deb_ref(item, ip) : rpm_ref(item, ip);
          if (!i) return Result<void>(tl::unexpected(i.error()));
          const std::string name =
              deb_root ? fixture_.debs[*i].spec.name + ":" + fixture_.debs[*i].spec.architecture
                       : fixture_.rpms[*i].spec.name + "." + fixture_.rpms[*i].spec.arch;
          if (auto [it, fresh] = names.emplace(name, item.Scalar()); !fresh) {
            return Result<void>(
                fail(item, ip, "installs " + name + " a second time (also " + it->second + ")"));
          }
          r.install.push_back(*i);
          return Result<void>{};
        });
        if (!listed) return listed;
      } else {
        std::set<std::size_t> seen;
        auto listed = list(v, p, kMaxItems, [&](const YAML::Node& item, const std::string& ip) {
          auto i = deb_root ? repo_ref(item, ip, fixture_.apt_repos, "apt_repos")
                            : repo_ref(item, ip, fixture_.rpm_repos, "rpm_repos");
          if (!i) return Result<void>(tl::unexpected(i.error()));
          if (!seen.insert(*i).second) return Result<void>(fail(item, ip, "listed twice"));
          r.repos.push_back(*i);
          return Result<void>{};
        });
        if (!listed) return listed;
      }
    }
    fixture_.roots.push_back(std::move(r));
    return {};
  }

  Result<void> top(const YAML::Node& doc) {
    std::map<std::string, std::pair<YAML::Node, std::string>> sections;
    auto ok = fields(doc, "", {"debs", "rpms", "apt_repos", "rpm_repos", "roots"}, {},
                     [&](const std::string& key, const YAML::Node& v, const std::string& p) {
                       sections.emplace(key, std::pair{v, p});
                       return Result<void>{};
                     });
    if (!ok) return ok;
    // Packages first: repositories and roots refer to them, and roots to repositories.
    struct Section {
      const char* key;
      std::size_t max;
      Result<void> (Loader::*parse)(const YAML::Node&, const std::string&);
    };
    static const Section kOrder[] = {{"debs", kMaxPackages, &Loader::deb},
                                     {"rpms", kMaxPackages, &Loader::rpm},
                                     {"apt_repos", kMaxDirs, &Loader::apt_repo},
                                     {"rpm_repos", kMaxDirs, &Loader::rpm_repo},
                                     {"roots", kMaxDirs, &Loader::root}};
    for (const auto& section : kOrder) {
      auto it = sections.find(section.key);
      if (it == sections.end()) continue;
      const auto& [v, p] = it->second;
      if (auto listed = list(v, p, section.max,
                             [&](const YAML::Node& item, const std::string& ip) {
                               return (this->*section.parse)(item, ip);
                             });
          !listed) {
        return listed;
      }
      // The package directories are output directories like the others.
      if (section.key == std::string_view("debs") && !fixture_.debs.empty()) {
        if (auto c = claim(fixture_.debs_dir(), v, p); !c) return c;
      }
      if (section.key == std::string_view("rpms") && !fixture_.rpms.empty()) {
        if (auto c = claim(fixture_.rpms_dir(), v, p); !c) return c;
      }
    }
    if (fixture_.debs.empty() && fixture_.rpms.empty() && fixture_.apt_repos.empty() &&
        fixture_.rpm_repos.empty() && fixture_.roots.empty()) {
      return fail(doc, "",
                  "nothing to build: debs, rpms, apt_repos, rpm_repos and roots are all "
                  "empty or absent");
    }
    return {};
  }

  std::string file_;
  Fixture fixture_;
  std::size_t nodes_{0};
  std::size_t bytes_{0};
  std::vector<std::pair<fs::path, std::string>> claimed_;
};

// Builds a loaded Fixture step by step. Every output directory is checked to be absent or
// empty first, so that on failure all of them can be removed again (unless kept for debugging).
class Builder {
 public:
  explicit Builder(Fixture& f) : f_(f) {}

  // The output directories, each absent or empty; they are created now.
  Result<void> prepare() {
    std::vector<fs::path> dirs;
    if (!f_.debs.empty()) dirs.push_back(f_.debs_dir());
    if (!f_.rpms.empty()) dirs.push_back(f_.rpms_dir());
    for (const auto& r : f_.apt_repos) dirs.push_back(r.dir);
    for (const auto& r : f_.rpm_repos) dirs.push_back(r.dir);
    for (const auto& r : f_.roots) dirs.push_back(r.dir);
    // All are checked before any is created: a refusal leaves nothing behind.
    std::vector<bool> existed;
    for (const auto& d : dirs) {
      std::error_code ec;
      const auto st = fs::symlink_status(d, ec);
      existed.push_back(fs::exists(st));
      if (!existed.back()) continue;
      if (!fs::is_directory(st)) {
        return make_error(Errc::conflict, "exists and is not a directory", d.string());
      }
      if (!fs::is_empty(d, ec)) {
        return make_error(Errc::conflict,
                          "exists and is not empty: remove it or choose another --out", d.string());
      }
    }
    for (std::size_t i = 0; i < dirs.size(); ++i) {
      const auto& d = dirs[i];
      targets_.push_back({d, existed[i]});
      if (existed[i]) continue;
      // Remember the ancestors made here, to remove them again on failure.
      std::error_code ec;
      for (fs::path p = d.parent_path(); !p.empty() && p != p.parent_path() && !fs::exists(p, ec);
           p = p.parent_path()) {
        parents_.push_back(p);
      }
      fs::create_directories(d, ec);
      if (ec) return make_error(Errc::io, "cannot create: " + ec.message(), d.string());
    }
    return {};
  }

  Result<void> run() {
    total_ = f_.debs.size() + f_.rpms.size() + f_.apt_repos.size() + f_.rpm_repos.size() +
             f_.roots.size();
    for (auto& d : f_.debs) {
      auto ok = step("building deb " + d.spec.name + " " + d.spec.version, "", d.where, [&] {
        return lab::build_deb(d.spec, f_.debs_dir()).map([&](fs::path p) {
          d.file = std::move(p);
        });
      });
      if (!ok) return ok;
    }
    for (auto& r : f_.rpms) {
      auto ok = step("building rpm " + r.nvr() + "." + r.spec.arch, "", r.where, [&] {
        return lab::build_rpm(r.spec, f_.rpms_dir()).map([&](fs::path p) {
          r.file = std::move(p);
        });
      });
      if (!ok) return ok;
    }
    for (auto& repo : f_.apt_repos) {
      std::vector<fs::path> debs;
      for (auto i : repo.debs) debs.push_back(f_.debs[i].file);
      auto ok = step(
          "indexing apt repository " + show(repo.dir), count(debs.size(), "deb"), repo.where, [&] {
            return lab::build_apt_repo(debs, repo.dir, repo.spec).map([&](lab::AptRepo built) {
              repo.built = std::move(built);
            });
          });
      if (!ok) return ok;
    }
    for (auto& repo : f_.rpm_repos) {
      std::vector<fs::path> rpms;
      for (auto i : repo.rpms) rpms.push_back(f_.rpms[i].file);
      auto ok = step("indexing rpm repository " + show(repo.dir),
                     count(rpms.size(), "rpm") + ", " +
                         count(repo.advisories.size(), "advisory", "advisories"),
                     repo.where, [&] {
                       return lab::build_rpm_repo(rpms, repo.dir, repo.advisories)
                           .map([&](lab::RpmRepo built) { repo.built = std::move(built); });
                     });
      if (!ok) return ok;
    }
    for (auto& root : f_.roots) {
      const bool deb = root.family == Family::deb;
      auto ok = step(std::string("making ") + (deb ? "deb" : "rpm") + " root " + show(root.dir),
                     count(root.install.size(), "package") + " to install, " +
                         count(root.repos.size(), deb ? "source" : "repository",
                               deb ? "sources" : "repositories"),
                     root.where, [&] { return deb ? deb_root(root) : rpm_root(root); });
      if (!ok) return ok;
    }
    return {};
  }

  // Removes what prepare() created and everything built into it; directories that were there
  // (empty) before are emptied again.
  void remove_all() {
    std::error_code ec;
    for (auto it = targets_.rbegin(); it != targets_.rend(); ++it) {
      if (!it->existed) {
        fs::remove_all(it->dir, ec);
        continue;
      }
      std::vector<fs::path> entries;
      for (const auto& e : fs::directory_iterator(it->dir, ec)) entries.push_back(e.path());
      for (const auto& e : entries) fs::remove_all(e, ec);
    }
    // Deepest first; fs::remove leaves a directory that is not empty.
    std::sort(parents_.begin(), parents_.end(),
              [](const fs::path& a, const fs::path& b) { return a.string() > b.string(); });
    for (const auto& p : parents_) fs::remove(p, ec);
  }

 private:
  struct Target {
    fs::path dir;
    bool existed;
  };

  [[nodiscard]] std::string show(const fs::path& p) const { return shown(p, f_.out); }

  // Runs one build step: "what (detail) (3/12)" on stderr; a failure names the step and where
  // in the file the thing it builds is defined.
  template <class F>
  Result<void> step(const std::string& what, const std::string& detail, const std::string& where,
                    F&& body) {
    ++done_;
    const std::string shown = detail.empty() ? what : what + " (" + detail + ")";
    std::fprintf(stderr, "%s (%zu/%zu)\n", shown.c_str(), done_, total_);
    std::fflush(stderr);
    Result<void> r = body();
    if (!r) {
      return make_error(r.error().code,
                        "step " + std::to_string(done_) + "/" + std::to_string(total_) +
                            " failed, " + what + ": " + to_string(r.error()),
                        where);
    }
    return r;
  }

  Result<void> deb_root(const RootEntry& root) {
    if (auto ok = lab::make_dpkg_root(root.dir, root.architecture); !ok) return ok;
    if (!root.repos.empty()) {
      std::vector<std::string> lines;
      for (auto i : root.repos) lines.push_back(f_.apt_repos[i].built.source_line);
      if (auto ok = lab::set_apt_sources(root.dir, lines); !ok) return ok;
    }
    if (root.os_release) {
      if (auto ok = lab::write_file(root.dir / "etc/os-release", *root.os_release); !ok) return ok;
    }
    if (root.install.empty()) return {};
    // One dpkg run configures in dependency order, but cannot satisfy a Pre-Depends from a
    // package it is only unpacking ("pre-dependency problem"): then each package gets its own
    // run, in the order listed.
    const bool one_by_one =
        std::any_of(root.install.begin(), root.install.end(),
                    [&](std::size_t i) { return !f_.debs[i].spec.pre_depends.empty(); });
    std::vector<fs::path> debs;
    for (auto i : root.install) {
      debs.push_back(f_.debs[i].file);
      if (!one_by_one) continue;
      if (auto ok = lab::install_debs(root.dir, debs); !ok) return ok;
      debs.clear();
    }
    return debs.empty() ? Result<void>{} : lab::install_debs(root.dir, debs);
  }

  Result<void> rpm_root(const RootEntry& root) {
    if (auto ok = lab::make_rpm_root(root.dir); !ok) return ok;
    if (!root.repos.empty()) {
      // Each repository gets its own id: build_rpm_repo names them all "pf-lab".
      std::string text;
      for (std::size_t k = 0; k < root.repos.size(); ++k) {
        std::string body = f_.rpm_repos[root.repos[k]].built.repo_file;
        if (k > 0 && body.starts_with("[pf-lab]")) {
          body.replace(0, 8, "[pf-lab-" + std::to_string(k + 1) + "]");
        }
        text += (text.empty() ? "" : "\n") + body;
      }
      if (auto ok = lab::write_file(root.dir / "etc/yum.repos.d/pf-lab.repo", text); !ok) return ok;
    }
    if (root.os_release) {
      if (auto ok = lab::write_file(root.dir / "etc/os-release", *root.os_release); !ok) return ok;
    }
    if (root.install.empty()) return {};
    std::vector<fs::path> rpms;
    for (auto i : root.install) rpms.push_back(f_.rpms[i].file);
    return lab::install_rpms(root.dir, rpms);
  }

  Fixture& f_;
  std::vector<Target> targets_;
  std::vector<fs::path> parents_;
  std::size_t done_{0};
  std::size_t total_{0};
};

std::string install_ref(const Fixture& f, const RootEntry& root, std::size_t i) {
  if (root.family == Family::deb) return f.debs[i].spec.name + "=" + f.debs[i].spec.version;
  return f.rpms[i].nvr();
}

nlohmann::json to_json(const Fixture& f) {
  using nlohmann::json;
  json doc = {{"out", f.out.string()}};
  json debs = json::array();
  for (const auto& d : f.debs) {
    debs.push_back({{"name", d.spec.name},
                    {"version", d.spec.version},
                    {"architecture", d.spec.architecture},
                    {"file", d.file.string()}});
  }
  json rpms = json::array();
  for (const auto& r : f.rpms) {
    rpms.push_back({{"name", r.spec.name},
                    {"epoch", r.spec.epoch ? json(*r.spec.epoch) : json(nullptr)},
                    {"version", r.spec.version},
                    {"release", r.spec.release},
                    {"arch", r.spec.arch},
                    {"file", r.file.string()}});
  }
  json apt_repos = json::array();
  for (const auto& r : f.apt_repos) {
    json packages = json::array();
    for (auto i : r.debs) packages.push_back(f.debs[i].spec.name + "=" + f.debs[i].spec.version);
    apt_repos.push_back({{"dir", r.dir.string()},
                         {"layout", r.spec.layout == lab::RepoLayout::flat ? "flat" : "dists"},
                         {"source_line", r.built.source_line},
                         {"packages", packages}});
  }
  json rpm_repos = json::array();
  for (const auto& r : f.rpm_repos) {
    json packages = json::array();
    for (auto i : r.rpms) packages.push_back(f.rpms[i].nvr());
    json advisories = json::array();
    for (const auto& a : r.advisories) advisories.push_back(a.id);
    rpm_repos.push_back({{"dir", r.dir.string()},
                         {"repo_file", r.built.repo_file},
                         {"packages", packages},
                         {"advisories", advisories}});
  }
  json roots = json::array();
  for (const auto& r : f.roots) {
    const bool deb = r.family == Family::deb;
    json installed = json::array();
    for (auto i : r.install) installed.push_back(install_ref(f, r, i));
    json repos = json::array();
    for (auto i : r.repos)
      repos.push_back((deb ? f.apt_repos[i].dir : f.rpm_repos[i].dir).string());
    roots.push_back({{"dir", r.dir.string()},
                     {"family", deb ? "deb" : "rpm"},
                     {"installed", installed},
                     {deb ? "sources" : "repos", repos}});
  }
  doc["debs"] = debs;
  doc["rpms"] = rpms;
  doc["apt_repos"] = apt_repos;
  doc["rpm_repos"] = rpm_repos;
  doc["roots"] = roots;
  return doc;
}

void print_summary(const Fixture& f) {
  const auto show = [&](const fs::path& p) { return shown(p, f.out); };
  std::printf("built in %s: %s, %s, %s, %s, %s\n", f.out.c_str(),
              count(f.debs.size(), "deb").c_str(), count(f.rpms.size(), "rpm").c_str(),
              count(f.apt_repos.size(), "apt repository", "apt repositories").c_str(),
              count(f.rpm_repos.size(), "rpm repository", "rpm repositories").c_str(),
              count(f.roots.size(), "root").c_str());
  for (const auto& d : f.debs) std::printf("  deb       %s\n", show(d.file).c_str());
  for (const auto& r : f.rpms) std::printf("  rpm       %s\n", show(r.file).c_str());
  for (const auto& r : f.apt_repos) {
    std::printf("  apt repo  %s (%s): %s\n", show(r.dir).c_str(),
                count(r.debs.size(), "deb").c_str(), r.built.source_line.c_str());
  }
  for (const auto& r : f.rpm_repos) {
    std::vector<std::string> ids;
    for (const auto& a : r.advisories) ids.push_back(a.id);
    std::printf("  rpm repo  %s (%s%s%s)\n", show(r.dir).c_str(),
                count(r.rpms.size(), "rpm").c_str(), ids.empty() ? "" : ", advisories ",
                join(ids).c_str());
  }
  for (const auto& r : f.roots) {
    std::vector<std::string> installed;
    for (auto i : r.install) installed.push_back(install_ref(f, r, i));
    std::printf("  %s root  %s: %s\n", r.family == Family::deb ? "deb" : "rpm", show(r.dir).c_str(),
                installed.empty() ? "nothing installed" : join(installed, " ").c_str());
  }
}

struct FixtureOptions {
  std::string file;
  std::string out = ".";
  bool json = false;
  bool keep_failed = false;
};

int exit_code_for(const Error& e) {
  return e.code == Errc::invalid_input || e.code == Errc::not_found || e.code == Errc::conflict
             ? kExitUsage
             : kExitInternal;
}

Result<std::string> read_input(const std::string& file) {
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (!fs::exists(st)) return make_error(Errc::not_found, "no such file", file);
  if (!fs::is_regular_file(st)) return make_error(Errc::invalid_input, "not a regular file", file);
  const auto size = fs::file_size(file, ec);
  if (ec) return make_error(Errc::io, "cannot read: " + ec.message(), file);
  if (size > kMaxFileBytes) {
    return make_error(Errc::invalid_input,
                      "the file is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB",
                      file);
  }
  std::ifstream in(file, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) {
    return make_error(Errc::io, "cannot read the file", file);
  }
  return text;
}

int run_fixture(const FixtureOptions& opt) {
  const auto fail = [](const Error& e) {
    std::cerr << "patchflow: error: " << to_string(e) << "\n";
    return exit_code_for(e);
  };
  auto text = read_input(opt.file);
  if (!text) return fail(text.error());
  std::error_code ec;
  const fs::path out = fs::absolute(opt.out, ec).lexically_normal();
  if (ec) return fail({Errc::invalid_input, "cannot use --out: " + ec.message(), opt.out});
  auto fixture = Loader(opt.file, out.has_filename() ? out : out.parent_path()).load(*text);
  if (!fixture) return fail(fixture.error());

  Builder builder(*fixture);
  if (auto ready = builder.prepare(); !ready) {
    builder.remove_all();
    return fail(ready.error());
  }
  if (auto built = builder.run(); !built) {
    const int code = fail(built.error());
    if (opt.keep_failed) {
      std::cerr << "patchflow: the partial build is left in " << fixture->out.string()
                << " for inspection; it is incomplete\n";
    } else {
      builder.remove_all();
      std::cerr << "patchflow: nothing was kept: what this run built is removed again\n";
    }
    return code;
  }
  if (opt.json) {
    std::cout << to_json(*fixture).dump(2) << "\n";
  } else {
    print_summary(*fixture);
  }
  return kExitOk;
}

}  // namespace

void add_lab_command(CLI::App& root, int& exit_code) {
  auto* lab_cmd = root.add_subcommand(
      "lab", "Package fixtures, and a local fleet of real agents (lab up / status / down)");
  lab_cmd->require_subcommand(1);
  add_lab_fleet_commands(*lab_cmd, exit_code);
  add_lab_clock_command(*lab_cmd, exit_code);
  auto opt = std::make_shared<FixtureOptions>();
  auto* fixture = lab_cmd->add_subcommand(
      "fixture", "Build the packages, repositories and package roots a YAML file describes");
  fixture->add_option("-f,--file", opt->file, "The fixture description (YAML)")->required();
  fixture->add_option("--out", opt->out, "Where relative dirs are built")->capture_default_str();
  fixture->add_flag("--json", opt->json, "Print what was built as JSON");
  fixture->add_flag("--keep-failed", opt->keep_failed,
                    "After a failed step, keep what was built so far (incomplete) for inspection");
  fixture->footer(
      R"(Packages go to OUT/debs and OUT/rpms; every other dir is named in the file (relative
dirs are under --out). Each output dir must be absent or empty. When a step fails, the
step and the line of its definition are named and everything this run built is removed.
The format, key by key: docs/lab-fixtures.md; a full example: examples/lab-fixture.yaml.

Example (pf-web 1.0 installed, 1.1 in the repository):
  debs:
    - {name: pf-web, version: 1.0-1, conffiles: {/etc/pf-web.conf: "port=80\n"}}
    - {name: pf-web, version: 1.1-1, conffiles: {/etc/pf-web.conf: "port=8080\n"}}
  apt_repos:
    - {dir: repo, packages: [pf-web=1.1-1]}
  roots:
    - {dir: web-1, family: deb, install: [pf-web=1.0-1], sources: [repo]}

  patchflow lab fixture -f web.yaml --out /tmp/lab

Exit status: 0 built; 2 invalid file (FILE:line:col names where), an output dir in the
way or a tool missing; 4 a build step failed.)");
  fixture->callback([opt, &exit_code] { exit_code = run_fixture(*opt); });
}

}  // namespace pf::cli
