// SPDX-License-Identifier: Apache-2.0
#include "patchflow/lab/rpm.hpp"

#include <elf.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <fstream>
#include <string_view>
#include <system_error>

#include "patchflow/lab/tools.hpp"
#include "patchflow/pkg/backend.hpp"
#include "patchflow/pkg_dnf/dnf_backend.hpp"
#include "validate.hpp"

namespace pf::lab {

namespace fs = std::filesystem;

namespace {

bool is_rpm_token(std::string_view s, std::string_view extra) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

struct Staging {
  fs::path dir;
  ~Staging() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

std::string octal(unsigned mode) {
  std::string s;
  for (int shift = 9; shift >= 0; shift -= 3) s += static_cast<char>('0' + ((mode >> shift) & 7));
  return s;
}

}  // namespace

Result<fs::path> build_rpm(const RpmSpec& spec, const fs::path& out_dir) {
  if (!is_rpm_token(spec.name, "._+-") || spec.name.front() == '-') {
    return make_error(Errc::invalid_input,
                      "package name '" + spec.name + "' must be [A-Za-z0-9._+-]+", "name");
  }
  if (!is_rpm_token(spec.version, "._+~^")) {
    return make_error(Errc::invalid_input,
                      "version '" + spec.version + "' must be [A-Za-z0-9._+~^]+ (no '-')",
                      "version");
  }
  if (!is_rpm_token(spec.release, "._+~^")) {
    return make_error(Errc::invalid_input,
                      "release '" + spec.release + "' must be [A-Za-z0-9._+~^]+ (no '-')",
                      "release");
  }
  if (!is_rpm_token(spec.arch, "_")) {
    return make_error(Errc::invalid_input, "arch '" + spec.arch + "' is invalid", "arch");
  }
  for (const auto& [value, field] :
       {std::pair{&spec.summary, "summary"}, std::pair{&spec.license, "license"}}) {
    if (value->empty() || !single_line(*value)) {
      return make_error(Errc::invalid_input, "must be one non-empty line", field);
    }
  }
  for (const auto& [items, field] :
       {std::pair{&spec.requires_, "requires"}, std::pair{&spec.provides, "provides"},
        std::pair{&spec.conflicts, "conflicts"}, std::pair{&spec.obsoletes, "obsoletes"}}) {
    for (const auto& i : *items) {
      if (i.empty() || !single_line(i) || i.find('%') != std::string::npos) {
        return make_error(Errc::invalid_input, "'" + i + "' must be one line without '%'", field);
      }
    }
  }
  for (const auto& f : spec.files) {
    if (auto ok = check_package_path(f.path, "files"); !ok) return tl::unexpected(ok.error());
  }
  auto rpmbuild = find_tool("rpmbuild", "rpm");
  if (!rpmbuild) return tl::unexpected(rpmbuild.error());

  std::error_code ec;
  const fs::path abs_out = fs::absolute(out_dir, ec);
  fs::create_directories(abs_out, ec);
  if (ec) return make_error(Errc::io, "cannot create output directory: " + ec.message(), abs_out);
  const std::string nvra = spec.name + "-" + spec.version + "-" + spec.release + "." + spec.arch;
  Staging top{abs_out / ("." + nvra + ".rpmbuild")};
  fs::remove_all(top.dir, ec);
  const fs::path tree = top.dir / "SOURCES" / "tree";
  fs::create_directories(tree, ec);
  if (ec) return make_error(Errc::io, "cannot create staging tree: " + ec.message(), tree);

  std::string s =
      "Name: " + spec.name + "\nVersion: " + spec.version + "\nRelease: " + spec.release + "\n";
  if (spec.epoch) s += "Epoch: " + std::to_string(*spec.epoch) + "\n";
  s += "Summary: " + spec.summary + "\nLicense: " + spec.license + "\nBuildArch: " + spec.arch +
       "\n";
  for (const auto& [items, tag] :
       {std::pair{&spec.requires_, "Requires"}, std::pair{&spec.provides, "Provides"},
        std::pair{&spec.conflicts, "Conflicts"}, std::pair{&spec.obsoletes, "Obsoletes"}}) {
    for (const auto& i : *items) s += std::string(tag) + ": " + i + "\n";
  }
  s += "%description\n" + spec.summary + "\n";
  s += "%install\nmkdir -p %{buildroot}\ncp -a %{_sourcedir}/tree/. %{buildroot}/\n";
  s += "%files\n";
  for (const auto& f : spec.files) {
    s += "%attr(" + octal(f.mode & 07777) + ",root,root) " + f.path + "\n";
    if (auto ok = write_file(tree / f.path.substr(1), f.content, fs::perms(f.mode & 07777)); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  for (const auto& [script, section] :
       {std::pair{&spec.pre, "%pre"}, std::pair{&spec.post, "%post"},
        std::pair{&spec.preun, "%preun"}, std::pair{&spec.postun, "%postun"}}) {
    if (!script->has_value()) continue;
    s += std::string(section) + "\n" + **script;
    if (!s.ends_with('\n')) s += '\n';
  }
  const fs::path spec_file = top.dir / (spec.name + ".spec");
  if (auto ok = write_file(spec_file, s); !ok) return tl::unexpected(ok.error());

  auto built = run_checked({*rpmbuild, "-bb", "--define", "_topdir " + top.dir.string(), "--define",
                            "_build_id_links none", spec_file.string()});
  if (!built) return tl::unexpected(built.error());
  const fs::path produced = top.dir / "RPMS" / spec.arch / (nvra + ".rpm");
  const fs::path rpm = abs_out / (nvra + ".rpm");
  fs::rename(produced, rpm, ec);
  if (ec) {
    return make_error(Errc::backend_failed, "rpmbuild did not produce it: " + ec.message(),
                      produced);
  }
  return rpm;
}

std::vector<std::string> rpm_args(const fs::path& root) {
  return {"rpm", "--root", fs::absolute(root).string(), "--dbpath", kRpmDbPath};
}

namespace {

// The lab's dnf configuration: RHEL's choices (best, no skipping of unavailable repositories),
// without signatures (lab packages are unsigned) and without weak dependencies.
constexpr const char* kDnfConf =
    "# patchflow lab root: dnf runs on it with HOME=<dnf_home> (%_dbpath) and --installroot\n"
    "[main]\n"
    "gpgcheck=0\n"
    "installonly_limit=3\n"
    "clean_requirements_on_remove=True\n"
    "best=True\n"
    "skip_if_unavailable=False\n"
    "install_weak_deps=False\n";

// Applets a scriptlet commonly calls, linked to busybox in R/bin.
constexpr std::array<const char*, 48> kApplets{
    "sh",       "ash",  "sleep", "echo",  "printf", "mkdir",     "rmdir",    "touch",
    "cat",      "rm",   "cp",    "mv",    "ln",     "ls",        "chmod",    "chown",
    "test",     "[",    "true",  "false", "sed",    "grep",      "awk",      "head",
    "tail",     "wc",   "env",   "dd",    "sync",   "mktemp",    "dirname",  "basename",
    "readlink", "tr",   "cut",   "id",    "date",   "stat",      "df",       "find",
    "xargs",    "sort", "uniq",  "tee",   "kill",   "fallocate", "truncate", "expr"};

// True when `file` is an ELF executable without a program interpreter (statically linked):
// a dynamically linked busybox cannot run chrooted into a root without its libraries.
Result<bool> is_static_elf(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  Elf64_Ehdr eh{};
  in.read(reinterpret_cast<char*>(&eh), sizeof(eh));
  if (!in || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    return make_error(Errc::invalid_input, "not a 64-bit ELF executable", file.string());
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 4096)
    return make_error(Errc::invalid_input, "unexpected ELF program headers", file.string());
  in.seekg(static_cast<std::streamoff>(eh.e_phoff));
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.read(reinterpret_cast<char*>(&ph), sizeof(ph));
    if (!in) return make_error(Errc::invalid_input, "truncated ELF program headers", file.string());
    if (ph.p_type == PT_INTERP) return false;
  }
  return true;
}

Result<void> add_shell(const fs::path& root) {
  auto busybox = find_tool("busybox", "busybox-static");
  if (!busybox) return tl::unexpected(busybox.error());
  auto is_static = is_static_elf(*busybox);
  if (!is_static) return tl::unexpected(is_static.error());
  if (!*is_static)
    return make_error(Errc::not_found,
                      *busybox +
                          " is dynamically linked and cannot run chrooted into a package root: "
                          "install the Debian package 'busybox-static'",
                      *busybox);
  std::error_code ec;
  const fs::path bin = root / "bin";
  fs::create_directories(bin, ec);
  if (ec) return make_error(Errc::io, "cannot create directory: " + ec.message(), bin);
  fs::copy_file(*busybox, bin / "busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return make_error(Errc::io, "cannot copy busybox: " + ec.message(), bin / "busybox");
  fs::permissions(bin / "busybox", fs::perms(0755), fs::perm_options::replace, ec);
  for (const char* applet : kApplets) {
    fs::remove(bin / applet, ec);
    fs::create_symlink("busybox", bin / applet, ec);
    if (ec) return make_error(Errc::io, "cannot link applet: " + ec.message(), bin / applet);
  }
  // busybox has no bash applet; its ash runs the simple scripts that "-p /bin/bash" names.
  if (auto w =
          write_file(bin / "bash", "#!/bin/sh\nexec /bin/busybox ash \"$@\"\n", fs::perms(0755));
      !w)
    return w;
  for (const char* dir : {"tmp", "var/tmp"}) {
    fs::create_directories(root / dir, ec);
    fs::permissions(root / dir, fs::perms(01777), fs::perm_options::replace, ec);
  }

  // The package that tells rpm and dnf that /bin/sh exists, built where nothing else lives.
  std::string tmpl = (fs::temp_directory_path() / "pf-lab-base-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return make_error(Errc::io, "cannot create a temporary directory", tmpl);
  Staging staging{tmpl};
  RpmSpec base;
  base.name = "pf-lab-base";
  base.version = "1";
  base.release = "1";
  base.summary = "patchflow lab root base: a busybox shell as /bin/sh";
  base.provides = {"/bin/sh", "/bin/bash"};
  auto rpm = build_rpm(base, staging.dir);
  if (!rpm) return tl::unexpected(rpm.error());
  return install_rpms(root, {*rpm});
}

}  // namespace

fs::path dnf_home(const fs::path& root) {
  return fs::absolute(root) / "var/lib/pf-lab/dnf-home";
}

std::vector<std::string> dnf_args(const fs::path& root) {
  pkg::BackendOptions options;
  options.root = fs::absolute(root);
  options.releasever = "lab";
  return pkg::dnf::root_dnf_args(options, dnf_home(root));
}

std::vector<std::string> dnf_env(const fs::path& root) {
  pkg::BackendOptions options;
  options.root = fs::absolute(root);
  return pkg::dnf::root_dnf_env(options, dnf_home(root));
}

Result<void> make_rpm_root(const fs::path& root, const RpmRootOptions& options) {
  auto rpm = find_tool("rpm", "rpm");
  if (!rpm) return tl::unexpected(rpm.error());
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return make_error(Errc::io, "cannot create root: " + ec.message(), root);
  auto argv = rpm_args(root);
  argv[0] = *rpm;
  argv.push_back("--initdb");
  auto r = run_checked(std::move(argv));
  if (!r) return tl::unexpected(r.error());
  fs::create_directories(root / "etc/yum.repos.d", ec);
  if (ec) return make_error(Errc::io, "cannot create directory: " + ec.message(), root);
  if (auto w = write_file(root / "etc/dnf/dnf.conf", kDnfConf); !w) return w;
  if (auto w = pkg::dnf::write_dnf_home(dnf_home(root), kRpmDbPath); !w) return w;
  if (options.scriptlets) return add_shell(root);
  return {};
}

Result<void> install_rpms(const fs::path& root, const std::vector<fs::path>& rpms) {
  auto rpm = find_tool("rpm", "rpm");
  if (!rpm) return tl::unexpected(rpm.error());
  auto argv = rpm_args(root);
  argv[0] = *rpm;
  argv.push_back("-U");
  argv.push_back("--nodeps");
  for (const auto& p : rpms) argv.push_back(p.string());
  auto r = run_checked(std::move(argv));
  if (!r) return tl::unexpected(r.error());
  return {};
}

namespace {

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string attr(const char* name, std::string_view value) {
  return std::string(" ") + name + "=\"" + xml_escape(value) + "\"";
}

}  // namespace

std::string updateinfo_xml(const std::vector<Advisory>& advisories) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n";
  for (const auto& a : advisories) {
    x += "  <update" + attr("from", "lab@patchflow.invalid") + attr("status", "stable") +
         attr("type", a.type) + attr("version", "1") + ">\n";
    x += "    <id>" + xml_escape(a.id) + "</id>\n";
    x += "    <title>" + xml_escape(a.title) + "</title>\n";
    if (!a.severity.empty()) x += "    <severity>" + xml_escape(a.severity) + "</severity>\n";
    x += "    <issued" + attr("date", a.issued) + "/>\n";
    x += "    <description>" + xml_escape(a.description) + "</description>\n";
    x += "    <references>\n";
    for (const auto& cve : a.cves) {
      x += "      <reference" + attr("href", "https://www.cve.org/CVERecord?id=" + cve) +
           attr("id", cve) + attr("type", "cve") + attr("title", cve) + "/>\n";
    }
    x += "    </references>\n    <pkglist>\n      <collection" + attr("short", "pf-lab") +
         ">\n        <name>pf-lab</name>\n";
    for (const auto& p : a.packages) {
      x += "        <package" + attr("name", p.name) + attr("epoch", std::to_string(p.epoch)) +
           attr("version", p.version) + attr("release", p.release) + attr("arch", p.arch) +
           attr("src", "") + ">\n          <filename>" + xml_escape(p.filename) +
           "</filename>\n        </package>\n";
    }
    x += "      </collection>\n    </pkglist>\n  </update>\n";
  }
  return x + "</updates>\n";
}

Result<RpmRepo> build_rpm_repo(const std::vector<fs::path>& rpms, const fs::path& dir,
                               const std::vector<Advisory>& advisories) {
  for (const auto& a : advisories) {
    if (a.id.empty() || !single_line(a.id) || !single_line(a.type) || a.type.empty()) {
      return make_error(Errc::invalid_input, "an advisory needs a one-line id and type",
                        "advisory " + a.id);
    }
  }
  auto createrepo = find_tool("createrepo_c", "createrepo-c");
  if (!createrepo) return tl::unexpected(createrepo.error());
  auto modifyrepo = find_tool("modifyrepo_c", "createrepo-c");
  if (!modifyrepo) return tl::unexpected(modifyrepo.error());

  std::error_code ec;
  const fs::path abs_dir = fs::absolute(dir, ec);
  fs::create_directories(abs_dir, ec);
  if (ec)
    return make_error(Errc::io, "cannot create repository directory: " + ec.message(), abs_dir);
  for (const auto& rpm : rpms) {
    fs::copy_file(rpm, abs_dir / rpm.filename(), fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(Errc::io, "cannot copy into the repository: " + ec.message(), rpm);
  }
  auto made = run_checked({*createrepo, "--no-database", abs_dir.string()});
  if (!made) return tl::unexpected(made.error());
  if (!advisories.empty()) {
    const fs::path staging = abs_dir / ".updateinfo";
    const fs::path xml = staging / "updateinfo.xml";
    if (auto ok = write_file(xml, updateinfo_xml(advisories)); !ok)
      return tl::unexpected(ok.error());
    auto added = run_checked(
        {*modifyrepo, "--mdtype=updateinfo", xml.string(), (abs_dir / "repodata").string()});
    fs::remove_all(staging, ec);
    if (!added) return tl::unexpected(added.error());
  }
  return RpmRepo{abs_dir, "[pf-lab]\nname=patchflow lab\nbaseurl=file://" + abs_dir.string() +
                              "\nenabled=1\ngpgcheck=0\n"};
}

}  // namespace pf::lab
