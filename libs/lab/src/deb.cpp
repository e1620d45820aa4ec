// SPDX-License-Identifier: Apache-2.0
#include "patchflow/lab/deb.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <system_error>

#include "patchflow/core/versions.hpp"
#include "patchflow/lab/tools.hpp"
#include "patchflow/pkg_apt/apt_backend.hpp"
#include "validate.hpp"

namespace pf::lab {

namespace fs = std::filesystem;

namespace {

bool is_deb_name(std::string_view s) {
  if (s.size() < 2) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '+' || c == '-' || c == '.'; });
}

bool is_arch(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

Result<void> check_relations(const std::vector<std::string>& items, const char* field) {
  for (const auto& i : items) {
    if (i.empty() || !single_line(i) || i.find(',') != std::string::npos) {
      return make_error(Errc::invalid_input,
                        "a relation must be one non-empty line without ',' (got '" + i + "')",
                        field);
    }
  }
  return {};
}

std::string script_text(const std::string& text) {
  return text.starts_with("#!") ? text : "#!/bin/sh\n" + text;
}

Result<std::string> host_arch() {
  auto dpkg = find_tool("dpkg", "dpkg");
  if (!dpkg) return tl::unexpected(dpkg.error());
  auto r = run_checked({*dpkg, "--print-architecture"});
  if (!r) return tl::unexpected(r.error());
  std::string a = r->out;
  while (!a.empty() && (a.back() == '\n' || a.back() == ' ')) a.pop_back();
  return a;
}

// A staging directory that is removed when it goes out of scope.
struct Staging {
  fs::path dir;
  ~Staging() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

}  // namespace

Result<fs::path> build_deb(const DebSpec& spec, const fs::path& out_dir) {
  if (!is_deb_name(spec.name)) {
    return make_error(Errc::invalid_input,
                      "package name '" + spec.name +
                          "' must be at least 2 of [a-z0-9+.-], starting with [a-z0-9]",
                      "name");
  }
  // dpkg trims blanks around a version; the file name and the repository index would not.
  for (const std::string* v : {&spec.version, &spec.source_version}) {
    if (!v->empty() && (std::isspace(static_cast<unsigned char>(v->front())) != 0 ||
                        std::isspace(static_cast<unsigned char>(v->back())) != 0)) {
      return make_error(Errc::invalid_input,
                        "version '" + *v + "' has white space around it",
                        v == &spec.version ? "version" : "source_version");
    }
  }
  auto parsed = versions::parse_deb(spec.version, versions::Check::strict);
  if (!parsed) {
    return make_error(Errc::invalid_input,
                      "version '" + spec.version + "': " + parsed.error().message,
                      "version " + parsed.error().where);
  }
  if (!is_arch(spec.architecture)) {
    return make_error(Errc::invalid_input, "architecture '" + spec.architecture + "' is invalid",
                      "architecture");
  }
  if (!spec.source_version.empty()) {
    auto sv = versions::parse_deb(spec.source_version, versions::Check::strict);
    if (!sv) {
      return make_error(Errc::invalid_input,
                        "source version '" + spec.source_version + "': " + sv.error().message,
                        "source_version");
    }
  }
  if (!spec.source_name.empty() && !is_deb_name(spec.source_name)) {
    return make_error(Errc::invalid_input, "source name '" + spec.source_name + "' is invalid",
                      "source_name");
  }
  for (const auto& [value, field] :
       {std::pair{&spec.maintainer, "maintainer"}, std::pair{&spec.description, "description"},
        std::pair{&spec.section, "section"}, std::pair{&spec.priority, "priority"}}) {
    if (value->empty() || !single_line(*value)) {
      return make_error(Errc::invalid_input, "must be one non-empty line", field);
    }
  }
  for (const auto& [items, field] :
       {std::pair{&spec.depends, "depends"}, std::pair{&spec.pre_depends, "pre_depends"},
        std::pair{&spec.conflicts, "conflicts"}, std::pair{&spec.breaks, "breaks"},
        std::pair{&spec.provides, "provides"}, std::pair{&spec.replaces, "replaces"}}) {
    if (auto ok = check_relations(*items, field); !ok) return tl::unexpected(ok.error());
  }
  for (const auto& f : spec.files) {
    if (auto ok = check_package_path(f.path, "files"); !ok) return tl::unexpected(ok.error());
    if (f.path == "/DEBIAN" || f.path.starts_with("/DEBIAN/")) {
      return make_error(Errc::invalid_input, "a file may not live under /DEBIAN", f.path);
    }
  }
  for (const auto& [path, content] : spec.conffiles) {
    if (auto ok = check_package_path(path, "conffiles"); !ok) return tl::unexpected(ok.error());
    if (!path.starts_with("/etc/")) {
      return make_error(Errc::invalid_input, "conffiles belong under /etc", path);
    }
  }

  auto dpkg_deb = find_tool("dpkg-deb", "dpkg");
  if (!dpkg_deb) return tl::unexpected(dpkg_deb.error());

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return make_error(Errc::io, "cannot create output directory: " + ec.message(), out_dir);
  const std::string file_version = spec.version.substr(
      spec.version.find(':') == std::string::npos ? 0 : spec.version.find(':') + 1);
  const std::string base = spec.name + "_" + file_version + "_" + spec.architecture;
  Staging staging{out_dir / ("." + base + ".staging")};
  fs::remove_all(staging.dir, ec);
  const fs::path debian = staging.dir / "DEBIAN";
  fs::create_directories(debian, ec);
  if (ec) return make_error(Errc::io, "cannot create staging tree: " + ec.message(), debian);
  fs::permissions(staging.dir, fs::perms(0755), ec);
  fs::permissions(debian, fs::perms(0755), ec);

  std::string control = "Package: " + spec.name + "\nVersion: " + spec.version +
                        "\nArchitecture: " + spec.architecture +
                        "\nMaintainer: " + spec.maintainer + "\n";
  if (!spec.source_name.empty()) {
    control += "Source: " + spec.source_name;
    if (!spec.source_version.empty() && spec.source_version != spec.version) {
      control += " (" + spec.source_version + ")";
    }
    control += "\n";
  }
  control += "Section: " + spec.section + "\nPriority: " + spec.priority + "\n";
  for (const auto& [items, field] :
       {std::pair{&spec.pre_depends, "Pre-Depends"}, std::pair{&spec.depends, "Depends"},
        std::pair{&spec.conflicts, "Conflicts"}, std::pair{&spec.breaks, "Breaks"},
        std::pair{&spec.provides, "Provides"}, std::pair{&spec.replaces, "Replaces"}}) {
    if (!items->empty()) control += std::string(field) + ": " + join(*items) + "\n";
  }
  control += "Description: " + spec.description + "\n";
  if (auto ok = write_file(debian / "control", control); !ok) return tl::unexpected(ok.error());

  if (!spec.conffiles.empty()) {
    std::string list;
    for (const auto& [path, content] : spec.conffiles) {
      list += path + "\n";
      if (auto ok = write_file(staging.dir / path.substr(1), content); !ok) {
        return tl::unexpected(ok.error());
      }
    }
    if (auto ok = write_file(debian / "conffiles", list); !ok) return tl::unexpected(ok.error());
  }
  for (const auto& [script, name] :
       {std::pair{&spec.preinst, "preinst"}, std::pair{&spec.postinst, "postinst"},
        std::pair{&spec.prerm, "prerm"}, std::pair{&spec.postrm, "postrm"}}) {
    if (!script->has_value()) continue;
    if (auto ok = write_file(debian / name, script_text(**script), fs::perms(0755)); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  for (const auto& f : spec.files) {
    if (auto ok = write_file(staging.dir / f.path.substr(1), f.content, fs::perms(f.mode & 07777));
        !ok) {
      return tl::unexpected(ok.error());
    }
  }
  // Directories created on the way get 0755 whatever the umask.
  for (auto it = fs::recursive_directory_iterator(staging.dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory()) fs::permissions(it->path(), fs::perms(0755), ec);
  }

  const fs::path deb = out_dir / (base + ".deb");
  auto built =
      run_checked({*dpkg_deb, "--build", "--root-owner-group", staging.dir.string(), deb.string()});
  if (!built) return tl::unexpected(built.error());
  return deb;
}

Result<AptRepo> build_apt_repo(const std::vector<fs::path>& debs, const fs::path& dir,
                               const AptRepoSpec& spec) {
  for (const auto& [value, field] :
       {std::pair{&spec.suite, "suite"}, std::pair{&spec.component, "component"}}) {
    if (value->empty() || !std::all_of(value->begin(), value->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
        })) {
      return make_error(Errc::invalid_input, "'" + *value + "' must be [A-Za-z0-9._-]+", field);
    }
  }
  auto ftparchive = find_tool("apt-ftparchive", "apt-utils");
  if (!ftparchive) return tl::unexpected(ftparchive.error());
  auto gzip = find_tool("gzip", "gzip");
  if (!gzip) return tl::unexpected(gzip.error());

  std::error_code ec;
  const fs::path abs_dir = fs::absolute(dir, ec);
  const fs::path pool =
      spec.layout == RepoLayout::flat ? abs_dir : abs_dir / "pool" / spec.component;
  fs::create_directories(pool, ec);
  if (ec) return make_error(Errc::io, "cannot create repository directory: " + ec.message(), pool);
  for (const auto& deb : debs) {
    fs::copy_file(deb, pool / deb.filename(), fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(Errc::io, "cannot copy into the repository: " + ec.message(), deb);
  }

  const auto index = [&](const fs::path& packages_dir,
                         std::vector<std::string> argv) -> Result<void> {
    auto r = run_checked(std::move(argv), {}, abs_dir.string());
    if (!r) return tl::unexpected(r.error());
    const fs::path packages = packages_dir / "Packages";
    if (auto ok = write_file(packages, r->out); !ok) return ok;
    auto z = run_checked({*gzip, "-9", "-n", "-k", "-f", packages.string()});
    if (!z) return tl::unexpected(z.error());
    return {};
  };
  const std::string suite_opt = "APT::FTPArchive::Release::Suite=" + spec.suite;
  const std::string codename_opt = "APT::FTPArchive::Release::Codename=" + spec.suite;

  AptRepo repo{abs_dir, {}};
  if (spec.layout == RepoLayout::flat) {
    fs::remove(abs_dir / "Release", ec);
    if (auto ok = index(abs_dir, {*ftparchive, "packages", "."}); !ok) {
      return tl::unexpected(ok.error());
    }
    auto rel = run_checked({*ftparchive, "-o", suite_opt, "-o", codename_opt, "release", "."}, {},
                           abs_dir.string());
    if (!rel) return tl::unexpected(rel.error());
    if (auto ok = write_file(abs_dir / "Release", rel->out); !ok) return tl::unexpected(ok.error());
    repo.source_line = "deb [trusted=yes] file:" + abs_dir.string() + " ./";
    return repo;
  }

  std::vector<std::string> archs = spec.architectures;
  if (archs.empty()) {
    auto a = host_arch();
    if (!a) return tl::unexpected(a.error());
    archs.push_back(*a);
  }
  std::string arch_list;
  for (const auto& a : archs) {
    if (!is_arch(a) || a == "all") {
      return make_error(Errc::invalid_input, "'" + a + "' is not a binary index architecture",
                        "architectures");
    }
    arch_list += (arch_list.empty() ? "" : " ") + a;
    const fs::path bin = abs_dir / "dists" / spec.suite / spec.component / ("binary-" + a);
    if (auto ok = index(bin, {*ftparchive, "--arch", a, "packages", "pool/" + spec.component});
        !ok) {
      return tl::unexpected(ok.error());
    }
  }
  const fs::path suite_dir = abs_dir / "dists" / spec.suite;
  fs::remove(suite_dir / "Release", ec);
  auto rel = run_checked(
      {*ftparchive, "-o", suite_opt, "-o", codename_opt, "-o",
       "APT::FTPArchive::Release::Components=" + spec.component, "-o",
       "APT::FTPArchive::Release::Architectures=" + arch_list, "release", "dists/" + spec.suite},
      {}, abs_dir.string());
  if (!rel) return tl::unexpected(rel.error());
  if (auto ok = write_file(suite_dir / "Release", rel->out); !ok) return tl::unexpected(ok.error());
  repo.source_line =
      "deb [trusted=yes] file:" + abs_dir.string() + " " + spec.suite + " " + spec.component;
  return repo;
}

std::vector<std::string> dpkg_args(const fs::path& root) {
  return pkg::apt::root_dpkg_args(fs::absolute(root));
}

namespace {

std::string apt_conf(const fs::path& root, const std::string& arch) {
  const std::string r = root.string();
  std::string c = "Dir \"" + r + "/\";\n";
  c += "Dir::State::status \"" + r + "/var/lib/dpkg/status\";\n";
  c += "APT::Architecture \"" + arch + "\";\n";
  c += "APT::Architectures { \"" + arch + "\"; };\n";
  c += "APT::Sandbox::User \"root\";\n";
  c += "Dpkg::Use-Pty \"0\";\n";
  c += "DPkg::Options { \"--root=" + r +
       "\"; \"--force-not-root\"; \"--force-bad-path\"; "
       "\"--force-script-chrootless\"; \"--log=" +
       r + "/var/log/dpkg.log\"; };\n";
  return c;
}

}  // namespace

Result<void> make_dpkg_root(const fs::path& root, const std::string& arch_in) {
  std::string arch = arch_in;
  if (arch.empty()) {
    auto a = host_arch();
    if (!a) return tl::unexpected(a.error());
    arch = *a;
  }
  if (!is_arch(arch)) {
    return make_error(Errc::invalid_input, "architecture '" + arch + "' is invalid", "arch");
  }
  std::error_code ec;
  const fs::path abs_root = fs::absolute(root, ec);
  for (const char* d :
       {"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
        "var/lib/dpkg/alternatives", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial",
        "var/log/apt", "etc/apt/sources.list.d", "etc/apt/apt.conf.d", "etc/apt/preferences.d",
        "etc/apt/trusted.gpg.d", "etc/dpkg/dpkg.cfg.d", "tmp"}) {
    fs::create_directories(abs_root / d, ec);
    if (ec) return make_error(Errc::io, "cannot create directory: " + ec.message(), abs_root / d);
  }
  for (const char* f : {"var/lib/dpkg/status", "var/lib/dpkg/available"}) {
    if (fs::exists(abs_root / f)) continue;
    if (auto ok = write_file(abs_root / f, ""); !ok) return ok;
  }
  if (auto ok = write_file(abs_root / "etc/apt/apt.conf", apt_conf(abs_root, arch)); !ok) {
    return ok;
  }
  if (!fs::exists(abs_root / "etc/apt/sources.list")) {
    if (auto ok = write_file(abs_root / "etc/apt/sources.list", ""); !ok) return ok;
  }
  return {};
}

Result<void> install_debs(const fs::path& root, const std::vector<fs::path>& debs) {
  auto dpkg = find_tool("dpkg", "dpkg");
  if (!dpkg) return tl::unexpected(dpkg.error());
  auto argv = dpkg_args(fs::absolute(root));
  argv[0] = *dpkg;
  argv.push_back("-i");
  for (const auto& d : debs) argv.push_back(d.string());
  auto r = run_checked(std::move(argv));
  if (!r) return tl::unexpected(r.error());
  return {};
}

std::vector<std::string> apt_args(const fs::path& root) {
  return pkg::apt::root_apt_args(fs::absolute(root));
}

std::vector<std::string> apt_env(const fs::path& root) {
  return pkg::apt::root_apt_env(fs::absolute(root));
}

Result<void> set_apt_sources(const fs::path& root, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) {
    if (!single_line(l)) return make_error(Errc::invalid_input, "a source is one line", l);
    text += l + "\n";
  }
  return write_file(root / "etc/apt/sources.list", text);
}

}  // namespace pf::lab
