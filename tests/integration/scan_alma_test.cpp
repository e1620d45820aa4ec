// SPDX-License-Identifier: Apache-2.0
// `patchflow scan` with real data: the complete AlmaLinux OSV database (5,680 advisories, as
// published) against a real rpm database holding packages with real AlmaLinux 9 names and
// versions (versions that AlmaLinux shipped: each is the fixed version of some advisory). The
// expected findings are worked out independently here: the advisories are read with a plain
// JSON parser and the versions compared with librpm's rpmverCmp.
#include <gtest/gtest.h>
#include <rpm/rpmver.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "patchflow/testing/data.hpp"
#include "pkg/tools.hpp"
#include "patchflow/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using pf::testing::describe;
using pf::testing::run_tool;

namespace {

struct Installed {
  const char* name;
  const char* epoch;  // "" for none
  const char* version;
  const char* release;
};

// Real AlmaLinux 9 builds. openssl-libs, sudo, bash: the fixed versions of ALSA-2022:6224,
// ALSA-2023:0282 and ALSA-2023:0340, so those advisories no longer apply but later ones do.
constexpr Installed kInstalled[] = {
    {"openssl-libs", "1", "3.0.1", "41.el9_0"}, {"sudo", "", "1.9.5p2", "7.el9_1.1"},
    {"curl", "", "7.76.1", "19.el9"},           {"libcurl", "", "7.76.1", "19.el9"},
    {"bash", "", "5.1.8", "6.el9_1"},           {"zlib", "", "1.2.11", "31.el9"},
    {"glibc", "", "2.34", "60.el9"},
};

std::string evr(const Installed& p) {
  std::string s = *p.epoch != '\0' ? std::string(p.epoch) + ":" : std::string();
  return s + p.version + "-" + p.release;
}

int rpm_compare(const std::string& a, const std::string& b) {
  rpmver va = rpmverParse(a.c_str());
  rpmver vb = rpmverParse(b.c_str());
  const int r = rpmverCmp(va, vb);
  rpmverFree(va);
  rpmverFree(vb);
  return r;
}

// OSV ranges, read the simple way: each introduced opens, each fixed closes (exclusive),
// each last_affected closes (inclusive).
bool affected(const nlohmann::json& events, const std::string& version) {
  bool in = false;
  bool hit = false;
  for (const auto& e : events) {
    if (e.contains("introduced")) {
      const std::string v = e["introduced"];
      in = v == "0" || rpm_compare(version, v) >= 0;
    } else if (e.contains("fixed")) {
      if (in && rpm_compare(version, e["fixed"].get<std::string>()) < 0) hit = true;
      in = false;
    } else if (e.contains("last_affected")) {
      if (in && rpm_compare(version, e["last_affected"].get<std::string>()) <= 0) hit = true;
      in = false;
    }
  }
  return hit || in;
}

class AlmaScan : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string rpm = pf::testing::find_in_path("rpm");
    const std::string rpmbuild = pf::testing::find_in_path("rpmbuild");
    ASSERT_FALSE(rpm.empty() || rpmbuild.empty())
        << "rpm and rpmbuild are needed (Debian package 'rpm', installed by scripts/setup)";
    root_ = dir_.path() / "root";
    fs::create_directories(root_ / "etc");
    std::ofstream(root_ / "etc" / "os-release")
        << "NAME=\"AlmaLinux\"\nVERSION=\"9.0 (Emerald Puma)\"\nID=\"almalinux\"\n"
           "VERSION_ID=\"9.0\"\nPRETTY_NAME=\"AlmaLinux 9.0 (Emerald Puma)\"\n";
    auto init = run_tool({rpm, "--root", root_.string(), "--dbpath", "/var/lib/rpm", "--initdb"});
    ASSERT_TRUE(init.ok()) << describe(init);
    std::vector<std::string> argv{rpm, "--root", root_.string(), "--dbpath", "/var/lib/rpm",
                                  "-i", "--nodeps", "--justdb"};
    for (const auto& p : kInstalled) {
      std::string spec = std::string("Name: ") + p.name + "\nVersion: " + p.version +
                         "\nRelease: " + p.release + "\n" +
                         (*p.epoch != '\0' ? std::string("Epoch: ") + p.epoch + "\n" : "") +
                         "Summary: stand-in for the AlmaLinux package\nLicense: MIT\n"
                         "BuildArch: noarch\n%description\nTest.\n%files\n";
      const fs::path spec_file = dir_.write(std::string("specs/") + p.name + ".spec", spec);
      const fs::path top = dir_.path() / "rpmbuild";
      auto built =
          run_tool({rpmbuild, "-bb", "--define", "_topdir " + top.string(), spec_file.string()});
      ASSERT_TRUE(built.ok()) << "rpmbuild " << p.name << ": " << describe(built);
    }
    for (const auto& e : fs::recursive_directory_iterator(dir_.path() / "rpmbuild" / "RPMS")) {
      if (e.path().extension() == ".rpm") argv.push_back(e.path().string());
    }
    auto installed = run_tool(argv);
    ASSERT_TRUE(installed.ok()) << describe(installed);
  }

  pf::testing::TempDir dir_;
  fs::path root_;
};

TEST_F(AlmaScan, FindingsAreExactlyTheAdvisoriesWhoseFixIsNewer) {
  const fs::path db = pf::testing::shared_data_dir() / "almalinux-osv-database" /
                      "advisories-full.tar.xz";
  // The expectation, from the unpacked database.
  const fs::path unpacked = dir_.path() / "alma";
  fs::create_directories(unpacked);
  auto tar = run_tool({"tar", "-xJf", db.string(), "-C", unpacked.string()});
  ASSERT_TRUE(tar.ok()) << describe(tar);
  std::set<std::pair<std::string, std::string>> expected;
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(unpacked)) {
    if (e.path().extension() != ".json") continue;
    ++files;
    std::ifstream in(e.path());
    const auto doc = nlohmann::json::parse(in);
    for (const auto& a : doc["affected"]) {
      if (a["package"]["ecosystem"] != "AlmaLinux:9") continue;
      for (const auto& p : kInstalled) {
        if (a["package"]["name"] != p.name) continue;
        for (const auto& r : a["ranges"]) {
          if (r["type"] == "ECOSYSTEM" && affected(r["events"], evr(p))) {
            expected.emplace(doc["id"].get<std::string>(), p.name);
          }
        }
      }
    }
  }
  ASSERT_EQ(files, 5680u);
  ASSERT_GE(expected.size(), 40u);

  auto scan = run_tool({PF_PATCHFLOW_BIN, "scan", "--root", root_.string(), "--feed",
                        db.string(), "--format", "json", "--host", "alma9-test"});
  ASSERT_EQ(scan.exit_code, 0) << describe(scan);
  const auto findings = nlohmann::json::parse(scan.out);
  std::set<std::pair<std::string, std::string>> got;
  for (const auto& f : findings) {
    got.emplace(f["advisory"].get<std::string>(), f["package"].get<std::string>());
    EXPECT_EQ(f["ecosystem"], "AlmaLinux:9");
  }
  EXPECT_EQ(got, expected);

  // Checked by hand in the database: openssl-libs 1:3.0.1-41.el9_0 is what ALSA-2022:6224
  // fixed, so that one no longer applies and ALSA-2022:7288 (fixed in 1:3.0.1-43.el9_0) does;
  // bash 5.1.8-6.el9_1 is ALSA-2023:0340's fix, bash's only advisory.
  EXPECT_FALSE(got.contains({"ALSA-2022:6224", "openssl-libs"}));
  EXPECT_TRUE(got.contains({"ALSA-2022:7288", "openssl-libs"}));
  EXPECT_TRUE(got.contains({"ALSA-2022:7314", "zlib"}));
  for (const auto& f : findings) {
    EXPECT_NE(f["package"], "bash");
    if (f["advisory"] == "ALSA-2022:7288") {
      EXPECT_EQ(f["installed"], "1:3.0.1-41.el9_0");
      EXPECT_EQ(f["fixed"], "1:3.0.1-43.el9_0");
    }
  }
}

}  // namespace
