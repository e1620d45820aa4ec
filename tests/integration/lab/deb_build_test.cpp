// SPDX-License-Identifier: Apache-2.0
// build_deb and build_apt_repo against the real dpkg-deb and apt-ftparchive.
#include <gtest/gtest.h>

#include "lab_fixture.hpp"
#include "patchflow/lab/deb.hpp"

namespace fs = std::filesystem;
namespace lab = pf::lab;

namespace {

class DebBuild : public lab::testing::LabTest {};

lab::DebSpec full_spec() {
  lab::DebSpec s;
  s.name = "pf-demo";
  s.version = "2:1.4~rc1-3+deb12u1";
  s.depends = {"libc6 (>= 2.36)", "pf-base | pf-base-alt"};
  s.pre_depends = {"dpkg (>= 1.20)"};
  s.conflicts = {"pf-old"};
  s.provides = {"pf-virtual"};
  s.conffiles = {{"/etc/pf-demo/demo.conf", "answer = 42\n"}};
  s.files = {{"/usr/share/pf-demo/README", "hello\n", 0644},
             {"/usr/bin/pf-demo", "#!/bin/sh\necho demo\n", 0755}};
  s.postinst = "exit 0\n";
  s.source_name = "pf-demo-src";
  s.source_version = "2:1.4~rc1-3";
  return s;
}

TEST_F(DebBuild, ControlFieldsAndContentsAreWhatWasAskedFor) {
  const std::string dpkg_deb = require("dpkg-deb", "dpkg");
  auto deb = lab::build_deb(full_spec(), dir_ / "out");
  ASSERT_TRUE(deb) << pf::to_string(deb.error());
  EXPECT_EQ(deb->filename().string(), "pf-demo_1.4~rc1-3+deb12u1_all.deb");
  EXPECT_FALSE(fs::exists(dir_ / "out" / ".pf-demo_1.4~rc1-3+deb12u1_all.staging"))
      << "the staging tree is removed";

  auto field = [&](const std::string& name) {
    auto r = run({dpkg_deb, "--field", deb->string(), name});
    EXPECT_TRUE(r.ok()) << describe(r);
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  };
  EXPECT_EQ(field("Package"), "pf-demo");
  EXPECT_EQ(field("Version"), "2:1.4~rc1-3+deb12u1");
  EXPECT_EQ(field("Architecture"), "all");
  EXPECT_EQ(field("Depends"), "libc6 (>= 2.36), pf-base | pf-base-alt");
  EXPECT_EQ(field("Pre-Depends"), "dpkg (>= 1.20)");
  EXPECT_EQ(field("Conflicts"), "pf-old");
  EXPECT_EQ(field("Provides"), "pf-virtual");
  EXPECT_EQ(field("Source"), "pf-demo-src (2:1.4~rc1-3)");

  auto info = run({dpkg_deb, "--info", deb->string()});
  ASSERT_TRUE(info.ok()) << describe(info);
  EXPECT_NE(info.out.find(" conffiles"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(" postinst"), std::string::npos) << info.out;
  auto conffiles = run({dpkg_deb, "--info", deb->string(), "conffiles"});
  ASSERT_TRUE(conffiles.ok()) << describe(conffiles);
  EXPECT_EQ(conffiles.out, "/etc/pf-demo/demo.conf\n");

  auto contents = run({dpkg_deb, "--contents", deb->string()});
  ASSERT_TRUE(contents.ok()) << describe(contents);
  EXPECT_NE(contents.out.find("-rw-r--r-- root/root         6 "), std::string::npos)
      << contents.out;
  EXPECT_NE(contents.out.find("./usr/share/pf-demo/README"), std::string::npos);
  EXPECT_NE(contents.out.find("-rwxr-xr-x root/root"), std::string::npos) << contents.out;
  EXPECT_NE(contents.out.find("./usr/bin/pf-demo"), std::string::npos);
  EXPECT_NE(contents.out.find("./etc/pf-demo/demo.conf"), std::string::npos);
}

TEST_F(DebBuild, InvalidDescriptionsAreClearErrors) {
  auto bad = [&](auto mutate) {
    auto s = full_spec();
    mutate(s);
    return lab::build_deb(s, dir_ / "out");
  };
  auto v = bad([](lab::DebSpec& s) { s.version = "1.0-"; });
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, pf::Errc::invalid_input);
  EXPECT_NE(v.error().message.find("version '1.0-'"), std::string::npos) << v.error().message;

  auto strict = bad([](lab::DebSpec& s) { s.version = "a1.0"; });
  ASSERT_FALSE(strict) << "strict parsing rejects a version not starting with a digit";

  auto spaced = bad([](lab::DebSpec& s) { s.version = "1.0-1 "; });
  ASSERT_FALSE(spaced) << "a version with white space around it is refused";
  EXPECT_EQ(spaced.error().where, "version");

  auto n = bad([](lab::DebSpec& s) { s.name = "Pf_Demo"; });
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().where, "name");

  auto p = bad([](lab::DebSpec& s) { s.files.push_back({"/usr/../etc/x", "", 0644}); });
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().where, "files");

  auto c = bad([](lab::DebSpec& s) { s.conffiles = {{"/usr/share/x", ""}}; });
  ASSERT_FALSE(c);

  auto rel = bad([](lab::DebSpec& s) { s.depends = {"a, b"}; });
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().where, "depends");
  EXPECT_FALSE(fs::exists(dir_ / "out")) << "nothing is written for an invalid description";
}

TEST_F(DebBuild, FlatAndDistsRepositoriesHaveIndexes) {
  require("apt-ftparchive", "apt-utils");
  lab::DebSpec a;
  a.name = "pf-one";
  a.version = "1.0-1";
  auto deb = lab::build_deb(a, dir_ / "debs");
  ASSERT_TRUE(deb) << pf::to_string(deb.error());

  auto flat = lab::build_apt_repo({*deb}, dir_ / "flat");
  ASSERT_TRUE(flat) << pf::to_string(flat.error());
  EXPECT_EQ(flat->source_line, "deb [trusted=yes] file:" + (dir_ / "flat").string() + " ./");
  const std::string packages = slurp(dir_ / "flat/Packages");
  EXPECT_NE(packages.find("Package: pf-one\n"), std::string::npos) << packages;
  EXPECT_NE(packages.find("Filename: ./pf-one_1.0-1_all.deb\n"), std::string::npos) << packages;
  EXPECT_TRUE(fs::exists(dir_ / "flat/Packages.gz"));
  const std::string release = slurp(dir_ / "flat/Release");
  EXPECT_NE(release.find("Suite: stable\n"), std::string::npos) << release;
  EXPECT_NE(release.find(" Packages.gz\n"), std::string::npos) << release;

  auto dists = lab::build_apt_repo({*deb}, dir_ / "dists",
                                   {.layout = lab::RepoLayout::dists,
                                    .suite = "pf-test",
                                    .component = "main",
                                    .architectures = {"amd64"}});
  ASSERT_TRUE(dists) << pf::to_string(dists.error());
  EXPECT_EQ(dists->source_line,
            "deb [trusted=yes] file:" + (dir_ / "dists").string() + " pf-test main");
  const std::string dp = slurp(dir_ / "dists/dists/pf-test/main/binary-amd64/Packages");
  EXPECT_NE(dp.find("Filename: pool/main/pf-one_1.0-1_all.deb\n"), std::string::npos) << dp;
  const std::string dr = slurp(dir_ / "dists/dists/pf-test/Release");
  EXPECT_NE(dr.find("Components: main\n"), std::string::npos) << dr;
  EXPECT_NE(dr.find("Architectures: amd64\n"), std::string::npos) << dr;
  EXPECT_NE(dr.find(" main/binary-amd64/Packages.gz\n"), std::string::npos) << dr;
}

}  // namespace
