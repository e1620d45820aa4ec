// SPDX-License-Identifier: Apache-2.0
// `patchflow lab fixture` builds what a YAML file describes: checked with dpkg-deb, dpkg,
// apt-get, rpm, dnf and the pf::pkg readers on the packages, repositories and roots it made.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lab_cli_fixture.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg/rpm_db.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class LabFixture : public pf::lab::testing::LabCliTest {
 protected:
  // The package of `name` in an inventory (empty when absent).
  static pf::inventory::Package find(const std::vector<pf::inventory::Package>& packages,
                                     const std::string& name) {
    auto it = std::find_if(packages.begin(), packages.end(),
                           [&](const auto& p) { return p.name == name; });
    return it == packages.end() ? pf::inventory::Package{} : *it;
  }

  std::vector<pf::inventory::Package> dpkg_installed(const fs::path& root) {
    auto r = pf::pkg::read_dpkg_status(pf::pkg::dpkg_status_path(root));
    EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
    return r.value_or(std::vector<pf::inventory::Package>{});
  }

  std::vector<pf::inventory::Package> rpm_installed(const fs::path& root) {
    pf::pkg::RpmQueryOptions options;
    options.rpm = require("rpm", "rpm");
    auto r = pf::pkg::read_rpm_database(root, options);
    EXPECT_TRUE(r) << (r ? "" : pf::to_string(r.error()));
    return r.value_or(std::vector<pf::inventory::Package>{});
  }

  // `dpkg-deb ARGS deb` (its output, or the failure).
  std::string dpkg_deb(std::vector<std::string> args, const fs::path& deb) {
    args.insert(args.begin(), require("dpkg-deb", "dpkg"));
    args.push_back(deb.string());
    auto r = run(std::move(args));
    return r.ok() ? r.out : describe(r);
  }

  // `rpm -qp ARGS rpm_file`.
  std::string rpm_qp(std::vector<std::string> args, const fs::path& rpm) {
    args.insert(args.begin(), {require("rpm", "rpm"), "-qp"});
    args.push_back(rpm.string());
    auto r = run(std::move(args));
    return r.ok() ? r.out : describe(r);
  }

  // `dnf --installroot=R ... args` with the root's own repository files and rpm database
  // (HOME/.rpmmacros: Debian's rpm keeps its database elsewhere by default).
  pf::process::Outcome dnf(const fs::path& root, std::vector<std::string> args) {
    const fs::path home = dir_ / "dnf-home";
    write(home / ".rpmmacros", std::string("%_dbpath ") + pf::lab::kRpmDbPath + "\n");
    write(home / "dnf.conf", "[main]\n");
    std::vector<std::string> argv = {require("dnf", "dnf"),
                                     "--installroot=" + root.string(),
                                     "--config=" + (home / "dnf.conf").string(),
                                     "--setopt=reposdir=" + (root / "etc/yum.repos.d").string(),
                                     "--releasever=lab",
                                     "--noplugins",
                                     "-q"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(std::move(argv), {"HOME=" + home.string()});
  }

  // apt-get update, then a simulated upgrade: its "Inst ..." lines.
  std::string simulated_upgrade(const fs::path& root) {
    auto update = apt_get(root, {"update"});
    EXPECT_TRUE(update.ok()) << describe(update);
    EXPECT_EQ(update.err.find("/etc/apt/sources.list.d/"), std::string::npos)
        << "the host's apt configuration leaked in: " << update.err;
    auto sim = apt_get(root, {"-s", "upgrade"});
    EXPECT_TRUE(sim.ok()) << describe(sim);
    return sim.out;
  }
};

constexpr const char* kDebWorld = R"(debs:
  - name: pf-lib
    version: 1:2.0-1
    source_name: pf-src
    source_version: 1:2.0-0.1
    files:
      - {path: /usr/lib/pf-lib/VERSION, content: "2.0\n"}
  - name: pf-web
    version: 1.0-1
    depends: [pf-lib (>= 1:2.0)]
    conffiles:
      /etc/pf-web.conf: "listen 80\n"
    files:
      - {path: /usr/sbin/pf-web, mode: 0755, content: "#!/bin/sh\necho 1.0\n"}
    preinst: echo preinst "$1" >> "$DPKG_ROOT/scripts.log"
    postinst: echo postinst "$1" >> "$DPKG_ROOT/scripts.log"
    prerm: echo prerm "$1" >> "$DPKG_ROOT/scripts.log"
    postrm: echo postrm "$1" >> "$DPKG_ROOT/scripts.log"
  - name: pf-web
    version: 1.1-1
    maintainer: Lab Admin <admin@lab.invalid>
    description: the lab web server
    section: httpd
    priority: important
    depends: [pf-lib (>= 1:2.0)]
    pre_depends: [pf-lib]
    conflicts: [pf-old-web]
    breaks: [pf-plugin (<< 1.0)]
    provides: [httpd]
    replaces: [pf-old-web]
    conffiles:
      /etc/pf-web.conf: "listen 8080\n"
apt_repos:
  - {dir: repo, packages: [pf-lib=1:2.0-1, pf-web=1.1-1]}
roots:
  - dir: roots/web-1
    family: deb
    install: [pf-lib=1:2.0-1, pf-web=1.0-1]
    sources: [repo]
)";

TEST_F(LabFixture, DebsRepositoryAndARootThatAptCanUpgrade) {
  auto r = fixture(kDebWorld, {"--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto doc = json::parse(r.out);
  ASSERT_EQ(doc["debs"].size(), 3u) << r.out;
  for (const auto& d : doc["debs"]) EXPECT_TRUE(fs::exists(d["file"].get<std::string>())) << d;
  const fs::path lib = out() / "debs/pf-lib_2.0-1_all.deb";
  const fs::path web1 = out() / "debs/pf-web_1.0-1_all.deb";
  const fs::path web2 = out() / "debs/pf-web_1.1-1_all.deb";
  EXPECT_EQ(doc["debs"][0]["file"], lib.string()) << "the epoch is not part of the file name";
  EXPECT_EQ(doc["apt_repos"][0]["source_line"],
            "deb [trusted=yes] file:" + (out() / "repo").string() + " ./");
  EXPECT_EQ(doc["roots"][0]["dir"], (out() / "roots/web-1").string());
  EXPECT_EQ(doc["roots"][0]["installed"], json({"pf-lib=1:2.0-1", "pf-web=1.0-1"}));
  // Progress on stderr, one line per step.
  EXPECT_NE(r.err.find("building deb pf-lib 1:2.0-1 (1/5)\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("building deb pf-web 1.1-1 (3/5)\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("indexing apt repository repo (2 debs) (4/5)\n"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("making deb root roots/web-1 (2 packages to install, 1 source) (5/5)\n"),
            std::string::npos)
      << r.err;

  // Every field reaches the control file.
  const std::string control = dpkg_deb({"-f"}, web2);
  for (const char* field :
       {"Package: pf-web\n", "Version: 1.1-1\n", "Architecture: all\n",
        "Maintainer: Lab Admin <admin@lab.invalid>\n", "Section: httpd\n", "Priority: important\n",
        "Depends: pf-lib (>= 1:2.0)\n", "Pre-Depends: pf-lib\n", "Conflicts: pf-old-web\n",
        "Breaks: pf-plugin (<< 1.0)\n", "Provides: httpd\n", "Replaces: pf-old-web\n",
        "Description: the lab web server\n"}) {
    EXPECT_NE(control.find(field), std::string::npos) << field << " in\n" << control;
  }
  EXPECT_NE(dpkg_deb({"-f"}, lib).find("Source: pf-src (1:2.0-0.1)\n"), std::string::npos)
      << dpkg_deb({"-f"}, lib);
  EXPECT_NE(dpkg_deb({"-c"}, web1).find("-rwxr-xr-x root/root"), std::string::npos)
      << dpkg_deb({"-c"}, web1);
  auto conffiles = run({require("dpkg-deb", "dpkg"), "-I", web1.string(), "conffiles"});
  EXPECT_EQ(conffiles.out, "/etc/pf-web.conf\n") << describe(conffiles);
  auto postinst = run({require("dpkg-deb", "dpkg"), "-I", web1.string(), "postinst"});
  EXPECT_NE(postinst.out.find("echo postinst \"$1\""), std::string::npos) << describe(postinst);

  // The root: installed by dpkg, with the maintainer scripts run against it.
  const fs::path root = out() / "roots/web-1";
  auto status = dpkg_status_of(root, "pf-web");
  EXPECT_NE(status.out.find("Status: install ok installed\n"), std::string::npos)
      << describe(status);
  EXPECT_NE(status.out.find("Version: 1.0-1\n"), std::string::npos) << describe(status);
  const auto installed = dpkg_installed(root);
  EXPECT_EQ(installed.size(), 2u);
  EXPECT_EQ(find(installed, "pf-web").version, "1.0-1");
  EXPECT_EQ(find(installed, "pf-lib").source_name, "pf-src");
  EXPECT_EQ(find(installed, "pf-lib").source_version, "1:2.0-0.1");
  EXPECT_EQ(slurp(root / "scripts.log"), "preinst install\npostinst configure\n");
  EXPECT_EQ(slurp(root / "etc/pf-web.conf"), "listen 80\n");
  EXPECT_EQ(fs::status(root / "usr/sbin/pf-web").permissions() & fs::perms::all, fs::perms(0755));

  // apt sees the repository: pf-web 1.1-1 is the upgrade.
  const std::string sim = simulated_upgrade(root);
  EXPECT_NE(sim.find("Inst pf-web [1.0-1] (1.1-1"), std::string::npos) << sim;
  EXPECT_EQ(sim.find("Inst pf-lib"), std::string::npos) << "pf-lib is current: " << sim;
}

constexpr const char* kRpmWorld = R"(rpms:
  - name: pf-lib
    version: "2.0"
    release: 3.el9
    summary: lab library
    license: MIT
    files: [{path: /usr/lib/pf-lib/VERSION, content: "2.0\n"}]
  - name: pf-web
    epoch: 1
    version: "1.0"
    release: 1.el9
    requires: [pf-lib >= 2.0]
    provides: [webserver]
    conflicts: [pf-old-web]
    obsoletes: [pf-legacy-web < 1.0]
    files:
      - {path: /usr/sbin/pf-web, mode: 0755, content: "#!/bin/sh\necho 1.0\n"}
      - {path: /etc/pf-web.conf, content: "listen 80\n"}
  - name: pf-web
    epoch: 1
    version: "1.1"
    release: 1.el9
    requires: [pf-lib >= 2.0]
    files:
      - {path: /usr/sbin/pf-web, mode: 0755, content: "#!/bin/sh\necho 1.1\n"}
      - {path: /etc/pf-web.conf, content: "listen 80\n"}
  # Scriptlets are built, not installed: lab rpm roots have no shell to run them.
  - name: pf-tool
    version: "0.1"
    pre: echo pre-ran
    post: echo post-ran
    preun: echo preun-ran
    postun: echo postun-ran
rpm_repos:
  - dir: repo
    packages: [pf-lib-2.0-3.el9, pf-web-1.0-1.el9, pf-web-1:1.1-1.el9]
    advisories:
      - id: PFSA-2026:0007
        severity: Important
        title: pf-web fixes a path traversal
        issued: 2026-02-03 10:00:00
        cves: [CVE-2026-1234, CVE-2026-5678]
        packages: [pf-web-1.1-1.el9]
      - id: PFBA-2026:0002
        type: bugfix
        issued: 2026-02-04
        packages: [pf-lib-2.0-3.el9]
roots:
  - dir: alma
    family: rpm
    install: [pf-lib-2.0-3.el9, pf-web-1.0-1.el9]
    repos: [repo]
    os_release: "ID=almalinux\nVERSION_ID=\"9.4\""
)";

TEST_F(LabFixture, RpmsRepositoryWithUpdateinfoAndARootThatDnfCanUpdate) {
  // No --out: relative dirs are under the current directory.
  const fs::path work = dir_ / "work";
  fs::create_directories(work);
  write(dir_ / "rpm.yaml", kRpmWorld);
  auto r =
      patchflow({"lab", "fixture", "-f", (dir_ / "rpm.yaml").string(), "--json"}, work.string());
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto doc = json::parse(r.out);
  EXPECT_EQ(doc["out"], work.string());
  ASSERT_EQ(doc["rpms"].size(), 4u) << r.out;
  EXPECT_EQ(doc["rpms"][1]["epoch"], 1);
  EXPECT_TRUE(doc["rpms"][0]["epoch"].is_null());
  EXPECT_EQ(doc["rpm_repos"][0]["advisories"], json({"PFSA-2026:0007", "PFBA-2026:0002"}));
  EXPECT_EQ(doc["roots"][0]["repos"], json({(work / "repo").string()}));

  const fs::path rpms = work / "rpms";
  EXPECT_EQ(rpm_qp({"--qf", "%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}|%{SUMMARY}|%{LICENSE}"},
                   rpms / "pf-lib-2.0-3.el9.noarch.rpm"),
            "pf-lib|(none)|2.0|3.el9|noarch|lab library|MIT");
  const fs::path web1 = rpms / "pf-web-1.0-1.el9.noarch.rpm";
  EXPECT_EQ(rpm_qp({"--qf", "%{EPOCH}:%{VERSION}-%{RELEASE}"}, web1), "1:1.0-1.el9");
  EXPECT_NE(rpm_qp({"--requires"}, web1).find("pf-lib >= 2.0"), std::string::npos);
  EXPECT_NE(rpm_qp({"--provides"}, web1).find("webserver"), std::string::npos);
  EXPECT_NE(rpm_qp({"--conflicts"}, web1).find("pf-old-web"), std::string::npos);
  EXPECT_NE(rpm_qp({"--obsoletes"}, web1).find("pf-legacy-web < 1.0"), std::string::npos);
  EXPECT_NE(rpm_qp({"--qf", "[%{FILEMODES:perms} %{FILENAMES}\\n]"}, web1)
                .find("-rwxr-xr-x /usr/sbin/pf-web\n"),
            std::string::npos)
      << rpm_qp({"--qf", "[%{FILEMODES:perms} %{FILENAMES}\\n]"}, web1);
  const std::string scripts = rpm_qp({"--scripts"}, rpms / "pf-tool-0.1-1.noarch.rpm");
  for (const char* s : {"echo pre-ran", "echo post-ran", "echo preun-ran", "echo postun-ran"}) {
    EXPECT_NE(scripts.find(s), std::string::npos) << s << " in\n" << scripts;
  }

  // The root: rpm's database has what was installed; dnf finds the update and its advisory.
  const fs::path root = work / "alma";
  const auto installed = rpm_installed(root);
  EXPECT_EQ(find(installed, "pf-web").version, "1:1.0-1.el9");
  EXPECT_EQ(find(installed, "pf-tool").name, "") << "built, not installed";
  EXPECT_EQ(find(installed, "pf-lib").version, "2.0-3.el9");
  EXPECT_EQ(slurp(root / "etc/os-release"), "ID=almalinux\nVERSION_ID=\"9.4\"\n");
  EXPECT_NE(slurp(root / "etc/yum.repos.d/pf-lab.repo")
                .find("baseurl=file://" + (work / "repo").string() + "\n"),
            std::string::npos);
  auto list = dnf(root, {"updateinfo", "list"});
  ASSERT_TRUE(list.ok()) << describe(list);
  EXPECT_NE(list.out.find("PFSA-2026:0007 Important/Sec. pf-web-1:1.1-1.el9.noarch"),
            std::string::npos)
      << list.out;
  EXPECT_EQ(list.out.find("PFBA-2026:0002"), std::string::npos)
      << "pf-lib 2.0-3 is installed: its advisory does not apply\n"
      << list.out;
  auto info = dnf(root, {"updateinfo", "info", "PFSA-2026:0007"});
  EXPECT_NE(info.out.find("CVE-2026-1234"), std::string::npos) << describe(info);
  EXPECT_NE(info.out.find("2026-02-03 10:00:00"), std::string::npos) << describe(info);
  auto check = dnf(root, {"check-update"});
  EXPECT_EQ(check.exit_code, 100) << "dnf check-update: 100 when updates exist; "
                                  << describe(check);
  EXPECT_NE(check.out.find("pf-web.noarch"), std::string::npos) << check.out;
}

TEST_F(LabFixture, TheExampleFileBuildsADebianAndAnRpmWorld) {
  const fs::path example = fs::path(PF_SOURCE_DIR) / "examples" / "lab-fixture.yaml";
  auto r = patchflow({"lab", "fixture", "-f", example.string(), "--out", out().string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto doc = json::parse(r.out);
  EXPECT_EQ(doc["debs"].size(), 4u);
  EXPECT_EQ(doc["rpms"].size(), 3u);
  ASSERT_EQ(doc["apt_repos"].size(), 1u);
  EXPECT_EQ(doc["apt_repos"][0]["layout"], "dists");
  ASSERT_EQ(doc["rpm_repos"].size(), 1u);
  EXPECT_EQ(doc["rpm_repos"][0]["advisories"], json({"PFSA-2026:0001"}));
  ASSERT_EQ(doc["roots"].size(), 3u);
  EXPECT_NE(r.err.find("(12/12)\n"), std::string::npos) << r.err;

  // Debian: web-old is on 1.0 and apt offers 1.1 from the security suite; web-new is current.
  const fs::path old_root = out() / "roots/web-old";
  const fs::path new_root = out() / "roots/web-new";
  EXPECT_EQ(find(dpkg_installed(old_root), "pf-web").version, "1.0-1");
  EXPECT_EQ(find(dpkg_installed(new_root), "pf-web").version, "1.1-1");
  EXPECT_EQ(find(dpkg_installed(old_root), "pf-libweb").source_name, "pf-web-src");
  EXPECT_EQ(slurp(old_root / "etc/pf-web/pf-web.conf"), "listen 80\n");
  EXPECT_EQ(slurp(old_root / "var/lib/pf-web/postinst"), "configured \n");
  EXPECT_NE(slurp(old_root / "etc/os-release").find("VERSION_ID=\"12\""), std::string::npos);
  EXPECT_NE(slurp(old_root / "etc/apt/sources.list").find(" bookworm-security main"),
            std::string::npos);
  const std::string old_sim = simulated_upgrade(old_root);
  EXPECT_NE(old_sim.find("Inst pf-web [1.0-1] (1.1-1 "), std::string::npos) << old_sim;
  EXPECT_NE(old_sim.find("bookworm-security"), std::string::npos) << old_sim;
  const std::string new_sim = simulated_upgrade(new_root);
  EXPECT_NE(new_sim.find("0 upgraded"), std::string::npos) << new_sim;
  // pf-broken is in the repository; installing it fails in its postinst.
  auto broken = apt_get(new_root, {"-y", "install", "pf-broken"});
  EXPECT_FALSE(broken.ok()) << describe(broken);
  EXPECT_NE(broken.err.find("pf-broken: configuration failed"), std::string::npos)
      << describe(broken);
  auto status = dpkg_status_of(new_root, "pf-broken");
  EXPECT_NE(status.out.find("Status: install ok half-configured\n"), std::string::npos)
      << describe(status);

  // RPM: alma-web is on 1.0 and dnf names the security advisory for 1.1.
  const fs::path alma = out() / "roots/alma-web";
  EXPECT_EQ(find(rpm_installed(alma), "pf-web").version, "1.0-1.el9");
  EXPECT_NE(slurp(alma / "etc/os-release").find("ID=\"almalinux\""), std::string::npos);
  auto list = dnf(alma, {"updateinfo", "list"});
  ASSERT_TRUE(list.ok()) << describe(list);
  EXPECT_NE(list.out.find("PFSA-2026:0001 Important/Sec. pf-web-1.1-1.el9.noarch"),
            std::string::npos)
      << list.out;
}

// The example of docs/lab-fixtures.md (its "## Example" YAML block) builds as documented.
TEST_F(LabFixture, TheDocumentedExampleBuilds) {
  const std::string doc = slurp(fs::path(PF_SOURCE_DIR) / "docs" / "lab-fixtures.md");
  const std::string open = "## Example\n\n```yaml\n";
  const auto start = doc.find(open);
  ASSERT_NE(start, std::string::npos);
  const auto end = doc.find("```", start + open.size());
  auto r = fixture(doc.substr(start + open.size(), end - start - open.size()));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("built in " + out().string() +
                       ": 3 debs, 2 rpms, 1 apt repository, 1 rpm repository, 2 roots\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("making rpm root roots/alma-1 (1 package to install, 1 repository) (9/9)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(find(dpkg_installed(out() / "roots/web-1"), "pf-web").version, "1.0-1");
  const std::string sim = simulated_upgrade(out() / "roots/web-1");
  EXPECT_NE(sim.find("Inst pf-web [1.0-1] (1.1-1"), std::string::npos) << sim;
  EXPECT_EQ(find(rpm_installed(out() / "roots/alma-1"), "pf-web").version, "1.0-1.el9");
  auto list = dnf(out() / "roots/alma-1", {"updateinfo", "list"});
  EXPECT_NE(list.out.find("PFSA-2026:0001 Important/Sec. pf-web-1.1-1.el9.noarch"),
            std::string::npos)
      << describe(list);
}

}  // namespace
