// SPDX-License-Identifier: Apache-2.0
#include "patchflow/lab/rpm.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <system_error>

#include "patchflow/lab/tools.hpp"
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

Result<void> make_rpm_root(const fs::path& root) {
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
