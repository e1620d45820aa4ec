// SPDX-License-Identifier: Apache-2.0
// `patchflow lab fixture` refuses bad input with FILE:line:col and what was expected, bounds its
// input, and leaves nothing half-built behind when a build step fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "lab_cli_fixture.hpp"

namespace fs = std::filesystem;

namespace {

using LabFixtureErrors = pf::lab::testing::LabCliTest;

struct Invalid {
  const char* name;
  const char* yaml;
  const char* where;    // "fixture.yaml:L:C: "
  const char* message;  // a part of the message after it
};

// Each is refused before anything is built: exit 2, the place and the reason on stderr.
const Invalid kInvalid[] = {
    {"bad_yaml_indentation", "debs:\n  - name: pf-a\n    version: 1.0-1\n   depends: [x]\n",
     "fixture.yaml:4:4: ", "invalid YAML: end of sequence not found"},
    {"bad_yaml_flow", "debs:\n  - name: pf-a\n    version: 1.0-1\n    depends: [x]]\n",
     "fixture.yaml:4:17: ", "invalid YAML: illegal flow end"},
    {"unknown_key", "debs:\n  - name: pf-a\n    version: 1.0-1\n    colour: red\n",
     "fixture.yaml:4:5: ",
     "debs[0]: unknown key 'colour' (expected name, version, architecture, maintainer"},
    {"unknown_top_level_key", "debs: []\npackages: []\n", "fixture.yaml:2:1: ",
     "unknown key 'packages' (expected debs, rpms, apt_repos, rpm_repos, roots)"},
    {"key_twice", "debs:\n  - name: pf-a\n    version: 1.0-1\n    name: pf-b\n",
     "fixture.yaml:4:5: ", "debs[0]: key 'name' given twice"},
    {"missing_version", "debs:\n  - name: pf-a\n",
     "fixture.yaml:2:5: ", "debs[0]: missing key 'version'"},
    {"undefined_deb_version",
     "debs:\n  - {name: pf-a, version: 1.0-1}\napt_repos:\n  - dir: repo\n"
     "    packages: [pf-a=2.0-1]\n",
     "fixture.yaml:5:16: ",
     "apt_repos[0].packages[0]: 'pf-a=2.0-1' is not defined (versions of pf-a under debs: "
     "1.0-1)"},
    {"undefined_deb",
     "debs:\n  - {name: pf-a, version: 1.0-1}\nroots:\n  - dir: r\n"
     "    family: deb\n    install: [pf-a=1.0-1, pf-zz=1.0]\n",
     "fixture.yaml:6:27: ",
     "roots[0].install[1]: 'pf-zz=1.0' is not defined: no deb named 'pf-zz' under debs"},
    {"deb_reference_without_version",
     "debs:\n  - {name: pf-a, version: 1.0-1}\napt_repos:\n  - {dir: repo, packages: [pf-a]}\n",
     "fixture.yaml:4:28: ",
     "apt_repos[0].packages[0]: expected NAME=VERSION of a deb defined under debs (e.g. "
     "pf-web=1.0-1), got 'pf-a'"},
    {"undefined_rpm_in_advisory",
     "rpms:\n  - {name: pf-a, version: \"1.0\"}\nrpm_repos:\n  - dir: repo\n"
     "    advisories:\n      - id: PFSA-1\n        issued: 2026-01-01\n"
     "        packages: [pf-a-1.0-2]\n",
     "fixture.yaml:8:20: ",
     "rpm_repos[0].advisories[0].packages[0]: 'pf-a-1.0-2' is not defined (rpms of that name: "
     "pf-a-1.0-1)"},
    {"undefined_apt_repo_dir",
     "apt_repos:\n  - dir: repo\nroots:\n  - {dir: r, family: deb, sources: [repo2]}\n",
     "fixture.yaml:4:37: ",
     "roots[0].sources[0]: 'repo2' is not the dir of one of the apt_repos (repo)"},
    {"invalid_deb_version", "debs:\n  - name: pf-a\n    version: a1.0\n",
     "fixture.yaml:3:14: ", "debs[0].version: 'a1.0' is not a valid Debian version"},
    {"deb_version_with_white_space", "debs:\n  - name: pf-a\n    version: \"1.0-1 \"\n",
     "fixture.yaml:3:14: ", "debs[0].version: '1.0-1 ' is not a valid Debian version: white space"},
    {"invalid_source_version",
     "debs:\n  - name: pf-a\n    version: 1.0-1\n    source_version: 1.0-\n",
     "fixture.yaml:4:21: ", "debs[0].source_version: '1.0-' is not a valid Debian version"},
    {"invalid_rpm_version", "rpms:\n  - name: pf-a\n    version: 1.0-1\n",
     "fixture.yaml:3:14: ", "rpms[0].version: '1.0-1' is not a valid rpm version"},
    {"invalid_rpm_epoch", "rpms:\n  - {name: pf-a, version: \"1\", epoch: -1}\n",
     "fixture.yaml:2:39: ", "rpms[0].epoch: expected a number from 0 to 999999999"},
    {"invalid_deb_name", "debs:\n  - name: PF_A\n    version: 1.0-1\n",
     "fixture.yaml:2:11: ", "debs[0].name: 'PF_A' is not a Debian package name"},
    {"relative_file_path",
     "debs:\n  - name: pf-a\n    version: 1.0-1\n    files:\n      - {path: usr/x}\n",
     "fixture.yaml:5:16: ", "debs[0].files[0].path: 'usr/x' must be absolute"},
    {"bad_mode",
     "debs:\n  - name: pf-a\n    version: 1.0-1\n    files:\n      - {path: /x, mode: 0999}\n",
     "fixture.yaml:5:26: ",
     "debs[0].files[0].mode: expected an octal mode such as 0644 or 0755, got '0999'"},
    {"conffile_outside_etc",
     "debs:\n  - name: pf-a\n    version: 1.0-1\n    conffiles:\n      /usr/x: y\n",
     "fixture.yaml:5:7: ", "debs[0].conffiles: '/usr/x': conffiles belong under /etc/"},
    {"relation_with_comma",
     "debs:\n  - name: pf-a\n    version: 1.0-1\n    depends: [\"pf-b, pf-c\"]\n",
     "fixture.yaml:4:15: ", "debs[0].depends[0]: one relation per item, without ','"},
    {"script_without_text", "debs:\n  - name: pf-a\n    version: 1.0-1\n    postinst: []\n",
     "fixture.yaml:4:15: ", "debs[0].postinst: expected a string, got a list"},
    {"same_deb_twice",
     "debs:\n  - {name: pf-a, version: 1.0-1}\n  - {name: pf-a, version: 1:1.0-1}\n",
     "fixture.yaml:3:5: ",
     "debs[1]: pf-a 1:1.0-1 (all) would be the same .deb file as debs[0] at "},
    {"deb_root_with_rpm_repos", "roots:\n  - dir: r\n    family: deb\n    repos: [x]\n",
     "fixture.yaml:4:12: ",
     "roots[0].repos: a deb root takes 'sources' (apt_repos dirs), not 'repos'"},
    {"unknown_family", "roots:\n  - dir: r\n    family: suse\n",
     "fixture.yaml:3:13: ", "roots[0].family: expected deb or rpm, got 'suse'"},
    {"overlapping_dirs", "apt_repos:\n  - dir: r\nroots:\n  - dir: r/x\n    family: deb\n",
     "fixture.yaml:4:10: ", "roots[0].dir: r/x is, or overlaps, r (named at "},
    {"dir_going_up", "roots:\n  - dir: ../x\n    family: deb\n",
     "fixture.yaml:2:10: ", "roots[0].dir: '../x': a relative directory may not go up with '..'"},
    {"advisory_without_issued",
     "rpms:\n  - {name: pf-a, version: \"1\"}\nrpm_repos:\n  - dir: repo\n"
     "    advisories:\n      - {id: PFSA-1, packages: [pf-a-1-1]}\n",
     "fixture.yaml:6:9: ", "rpm_repos[0].advisories[0]: missing key 'issued'"},
    {"bad_cve",
     "rpms:\n  - {name: pf-a, version: \"1\"}\nrpm_repos:\n  - dir: repo\n"
     "    advisories:\n      - {id: PFSA-1, issued: 2026-01-01, cves: [CVE-26-1], packages: "
     "[pf-a-1-1]}\n",
     "fixture.yaml:6:49: ",
     "rpm_repos[0].advisories[0].cves[0]: expected CVE-YYYY-NNNN, got 'CVE-26-1'"},
    {"two_documents", "debs: []\n---\nrpms: []\n",
     "fixture.yaml:3:1: ", "expected one YAML document, found 2"},
    {"list_expected", "debs: {}\n", "fixture.yaml:1:7: ", "debs: expected a list, got a mapping"},
    {"nothing_to_build", "debs: []\n", "fixture.yaml:1:1: ", "nothing to build"},
};

void PrintTo(const Invalid& c, std::ostream* os) {
  *os << c.name;
}

class InvalidFixture : public pf::lab::testing::LabCliTest,
                       public ::testing::WithParamInterface<Invalid> {};

TEST_P(InvalidFixture, IsRefusedWithWhereAndWhatWasExpected) {
  const auto& c = GetParam();
  auto r = fixture(c.yaml);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("patchflow: error: " + (dir_ / c.where).string() + c.message),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(out())) << "nothing is built from an invalid file";
}

INSTANTIATE_TEST_SUITE_P(LabFixture, InvalidFixture, ::testing::ValuesIn(kInvalid),
                         [](const auto& test) { return std::string(test.param.name); });

TEST_F(LabFixtureErrors, MissingAndEmptyFilesAreUsageErrors) {
  auto missing = patchflow({"lab", "fixture", "-f", (dir_ / "absent.yaml").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("absent.yaml: no such file"), std::string::npos) << missing.err;
  auto empty = fixture("");
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("fixture.yaml: the file is empty"), std::string::npos) << empty.err;
  auto no_file = patchflow({"lab", "fixture"});
  EXPECT_EQ(no_file.exit_code, 2);
  EXPECT_NE(no_file.err.find("--file is required"), std::string::npos) << no_file.err;
}

TEST_F(LabFixtureErrors, InputIsBounded) {
  // The file itself.
  std::string big = "debs:\n  - {name: pf-a, version: 1.0-1}\n";
  big += "#" + std::string(std::size_t{1} << 20, 'x') + "\n";
  auto too_big = fixture(big);
  EXPECT_EQ(too_big.exit_code, 2);
  EXPECT_NE(too_big.err.find("fixture.yaml: the file is larger than 1 MiB"), std::string::npos)
      << too_big.err;

  // A list.
  std::string many = "debs:\n";
  for (int i = 0; i < 501; ++i) many += "  - {name: pf-" + std::to_string(i) + ", version: '1'}\n";
  auto too_many = fixture(many);
  EXPECT_EQ(too_many.exit_code, 2);
  EXPECT_NE(too_many.err.find("fixture.yaml:2:3: debs: more than 500 items (501)"),
            std::string::npos)
      << too_many.err;

  // Aliases: a small file that names one long list hundreds of times.
  std::string aliases = "debs:\n  - name: pf-0\n    version: '1'\n    depends: &d [";
  for (int i = 0; i < 1000; ++i) aliases += std::string(i ? ", " : "") + "x";
  aliases += "]\n";
  for (int i = 1; i < 300; ++i) {
    aliases += "  - {name: pf-" + std::to_string(i) + ", version: '1', depends: *d}\n";
  }
  ASSERT_LT(aliases.size(), 20000u);
  auto bomb = fixture(aliases);
  EXPECT_EQ(bomb.exit_code, 2);
  EXPECT_NE(bomb.err.find("more than 200000 YAML nodes (aliases counted each time they are used)"),
            std::string::npos)
      << bomb.err;
  EXPECT_FALSE(fs::exists(out()));
}

constexpr const char* kBrokenRoot = R"(debs:
  - name: pf-ok
    version: 1.0-1
  - name: pf-broken
    version: 1.0-1
    postinst: |
      echo "pf-broken: cannot configure" >&2
      exit 1
apt_repos:
  - {dir: repo, packages: [pf-ok=1.0-1, pf-broken=1.0-1]}
roots:
  - dir: roots/broken
    family: deb
    install: [pf-ok=1.0-1, pf-broken=1.0-1]
)";

TEST_F(LabFixtureErrors, AFailingStepIsNamedAndNothingHalfBuiltIsLeft) {
  auto r = fixture(kBrokenRoot);
  EXPECT_EQ(r.exit_code, 4) << describe(r);
  EXPECT_NE(r.err.find("making deb root roots/broken (2 packages to install, 0 sources) (4/4)\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("patchflow: error: " + (dir_ / "fixture.yaml").string() +
                       ":12:5: step 4/4 failed, making deb root roots/broken: "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("pf-broken: cannot configure"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was kept"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "") << "no summary claims success";
  EXPECT_FALSE(fs::exists(out())) << "the debs, the repository and the root are removed";

  // --keep-failed leaves it for inspection: dpkg left pf-broken half-configured.
  auto kept = fixture(kBrokenRoot, {"--keep-failed", "--json"});
  EXPECT_EQ(kept.exit_code, 4) << describe(kept);
  EXPECT_EQ(kept.out, "");
  EXPECT_NE(kept.err.find("left in " + out().string() + " for inspection; it is incomplete"),
            std::string::npos)
      << kept.err;
  auto status = dpkg_status_of(out() / "roots/broken", "pf-broken");
  EXPECT_NE(status.out.find("Status: install ok half-configured\n"), std::string::npos)
      << describe(status);
  EXPECT_TRUE(fs::exists(out() / "repo/Packages"));

  // A directory that was there, empty, before the run is emptied again, not removed.
  fs::remove_all(out());
  fs::create_directories(out() / "roots/broken");
  auto again = fixture(kBrokenRoot);
  EXPECT_EQ(again.exit_code, 4) << describe(again);
  EXPECT_TRUE(fs::is_directory(out() / "roots/broken"));
  EXPECT_TRUE(fs::is_empty(out() / "roots/broken"));
  EXPECT_FALSE(fs::exists(out() / "debs"));
  EXPECT_FALSE(fs::exists(out() / "repo"));
}

TEST_F(LabFixtureErrors, OutputDirectoriesInTheWayAreRefusedAndLeftAlone) {
  write(out() / "repo/keep-me", "mine\n");
  fs::create_directories(out() / "roots/empty");
  const std::string yaml = R"(debs:
  - {name: pf-a, version: 1.0-1}
apt_repos:
  - {dir: repo, packages: [pf-a=1.0-1]}
roots:
  - {dir: roots/empty, family: deb}
)";
  auto r = fixture(yaml);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find((out() / "repo").string() +
                       ": exists and is not empty: remove it or choose another --out"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(slurp(out() / "repo/keep-me"), "mine\n");
  EXPECT_FALSE(fs::exists(out() / "debs")) << "refused before anything was created";

  // An empty directory is used.
  fs::remove_all(out() / "repo");
  auto ok = fixture(yaml);
  ASSERT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_TRUE(fs::exists(out() / "roots/empty/var/lib/dpkg/status"));
  EXPECT_NE(ok.out.find("built in " + out().string() +
                        ": 1 deb, 0 rpms, 1 apt repository, 0 rpm repositories, 1 root\n"),
            std::string::npos)
      << ok.out;
  auto again = fixture(yaml);
  EXPECT_EQ(again.exit_code, 2) << "a second run does not overwrite the first";
  EXPECT_TRUE(fs::exists(out() / "debs/pf-a_1.0-1_all.deb")) << "and leaves it alone";
}

TEST_F(LabFixtureErrors, HelpShowsTheFormatAndAnExample) {
  auto help = patchflow({"lab", "fixture", "--help"});
  EXPECT_EQ(help.exit_code, 0) << describe(help);
  for (const char* part : {"-f,--file", "--out", "--json", "--keep-failed", "Example", "apt_repos:",
                           "family: deb", "patchflow lab fixture -f", "docs/lab-fixtures.md"}) {
    EXPECT_NE(help.out.find(part), std::string::npos) << part << " in\n" << help.out;
  }
  auto lab = patchflow({"lab", "--help"});
  EXPECT_EQ(lab.exit_code, 0);
  EXPECT_NE(lab.out.find("fixture"), std::string::npos) << lab.out;
}

// The example in the help text is itself a valid fixture.
TEST_F(LabFixtureErrors, TheHelpExampleBuilds) {
  auto help = patchflow({"lab", "fixture", "--help"});
  const auto start = help.out.find("  debs:\n");
  const auto end = help.out.find("\n\n", start);
  ASSERT_NE(start, std::string::npos) << help.out;
  std::string yaml;
  for (std::size_t at = start; at < end;) {
    const auto nl = help.out.find('\n', at);
    yaml += help.out.substr(at + 2, nl - at - 2) + "\n";  // without the two-space indent
    at = nl + 1;
  }
  auto r = fixture(yaml);
  ASSERT_EQ(r.exit_code, 0) << yaml << describe(r);
  EXPECT_NE(slurp(out() / "web-1/etc/apt/sources.list").find("file:" + (out() / "repo").string()),
            std::string::npos);
  EXPECT_EQ(slurp(out() / "web-1/etc/pf-web.conf"), "port=80\n");
}

}  // namespace
