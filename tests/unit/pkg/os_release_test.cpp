// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg/os_release.hpp"

#include <gtest/gtest.h>

#include <string>

#include "patchflow/testing/temp_dir.hpp"

namespace pkg = pf::pkg;

namespace {

struct Distro {
  const char* what;
  const char* text;
  const char* ecosystem;
  const char* pretty_name;
};

class OsReleaseDistro : public ::testing::TestWithParam<Distro> {};

TEST_P(OsReleaseDistro, MapsToTheAdvisoryEcosystem) {
  const Distro& d = GetParam();
  auto r = pkg::parse_os_release(d.text, "os-release");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->ecosystem, d.ecosystem);
  EXPECT_EQ(r->pretty_name, d.pretty_name);
}

// Shortened versions of what each distribution ships (the fields that matter, in their quoting).
INSTANTIATE_TEST_SUITE_P(
    Samples, OsReleaseDistro,
    ::testing::Values(
        Distro{"debian12",
               "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
               "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\n"
               "ID=debian\nHOME_URL=\"https://www.debian.org/\"\n",
               "Debian:12", "Debian GNU/Linux 12 (bookworm)"},
        Distro{"ubuntu2204",
               "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\n"
               "VERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nID=ubuntu\n"
               "ID_LIKE=debian\nUBUNTU_CODENAME=jammy\n",
               "Ubuntu:22.04:LTS", "Ubuntu 22.04.3 LTS"},
        Distro{"ubuntu2310",
               "PRETTY_NAME=\"Ubuntu 23.10\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"23.10\"\n"
               "VERSION=\"23.10 (Mantic Minotaur)\"\nID=ubuntu\nID_LIKE=debian\n",
               "Ubuntu:23.10", "Ubuntu 23.10"},
        Distro{"almalinux93",
               "NAME=\"AlmaLinux\"\nVERSION=\"9.3 (Shamrock Pampas Cat)\"\nID=\"almalinux\"\n"
               "ID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPLATFORM_ID=\"platform:el9\"\n"
               "PRETTY_NAME=\"AlmaLinux 9.3 (Shamrock Pampas Cat)\"\nANSI_COLOR=\"0;34\"\n",
               "AlmaLinux:9", "AlmaLinux 9.3 (Shamrock Pampas Cat)"},
        Distro{"rocky92",
               "NAME=\"Rocky Linux\"\nVERSION=\"9.2 (Blue Onyx)\"\nID=\"rocky\"\n"
               "ID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.2\"\n"
               "PRETTY_NAME=\"Rocky Linux 9.2 (Blue Onyx)\"\n",
               "Rocky Linux:9", "Rocky Linux 9.2 (Blue Onyx)"},
        Distro{"rhel93",
               "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.3 (Plow)\"\nID=\"rhel\"\n"
               "ID_LIKE=\"fedora\"\nVERSION_ID=\"9.3\"\n"
               "PRETTY_NAME=\"Red Hat Enterprise Linux 9.3 (Plow)\"\n",
               "Red Hat:9", "Red Hat Enterprise Linux 9.3 (Plow)"},
        Distro{"rhel810",
               "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"8.10 (Ootpa)\"\nID=\"rhel\"\n"
               "VERSION_ID=\"8.10\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 8.10 (Ootpa)\"\n",
               "Red Hat:8", "Red Hat Enterprise Linux 8.10 (Ootpa)"},
        Distro{
            "centos7",
            "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\n"
            "VERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n",
            "CentOS:7", "CentOS Linux 7 (Core)"},
        Distro{"centos_stream9",
               "NAME=\"CentOS Stream\"\nVERSION=\"9\"\nID=\"centos\"\nVERSION_ID=\"9\"\n"
               "PRETTY_NAME=\"CentOS Stream 9\"\n",
               "CentOS:9", "CentOS Stream 9"},
        Distro{"fedora39",
               "NAME=\"Fedora Linux\"\nVERSION=\"39 (Container Image)\"\nID=fedora\n"
               "VERSION_ID=39\nPRETTY_NAME=\"Fedora Linux 39 (Container Image)\"\n",
               "Fedora:39", "Fedora Linux 39 (Container Image)"},
        Distro{"oracle93",
               "NAME=\"Oracle Linux Server\"\nVERSION=\"9.3\"\nID=\"ol\"\nID_LIKE=\"fedora\"\n"
               "VARIANT=\"Server\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Oracle Linux Server 9.3\"\n",
               "Oracle Linux:9", "Oracle Linux Server 9.3"},
        Distro{"amzn2023",
               "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nID_LIKE=\"fedora\"\n"
               "VERSION_ID=\"2023\"\nPRETTY_NAME=\"Amazon Linux 2023\"\n",
               "Amazon Linux:2023", "Amazon Linux 2023"},
        Distro{"amzn2",
               "NAME=\"Amazon Linux\"\nVERSION=\"2\"\nID=\"amzn\"\nID_LIKE=\"centos rhel fedora\"\n"
               "VERSION_ID=\"2\"\nPRETTY_NAME=\"Amazon Linux 2\"\n",
               "Amazon Linux:2", "Amazon Linux 2"}),
    [](const ::testing::TestParamInfo<Distro>& param_info) {
      return std::string(param_info.param.what);
    });

TEST(OsRelease, ReturnsIdentityFields) {
  auto r = pkg::parse_os_release(
      "ID=ubuntu\nVERSION_ID=22.04\nVERSION='22.04.4 LTS (Jammy Jellyfish)'\n"
      "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->id, "ubuntu");
  EXPECT_EQ(r->version_id, "22.04");
  EXPECT_EQ(r->version, "22.04.4 LTS (Jammy Jellyfish)");
  EXPECT_EQ(r->pretty_name, "Ubuntu 22.04.4 LTS");
  EXPECT_EQ(r->ecosystem, "Ubuntu:22.04:LTS");
  EXPECT_TRUE(r->file.empty());
}

TEST(OsRelease, ShellQuoting) {
  auto r = pkg::parse_os_release_fields(
      "# comment\n"
      "\n"
      "  A=plain\n"
      "B='single \"quoted\" $HOME \\n'\n"
      "C=\"double \\\"escaped\\\" \\$HOME \\\\ \\` \\x\"\n"
      "D=con\"cat\"'en'ated\n"
      "E=\n"
      "F=\"\"\n"
      "G=back\\ slash\n"
      "H=trailing   \n"
      "I=value # a comment after blanks\n"
      "J=\"two\\\nlines\"\n"
      "K=\"kept\nnewline\"\n"
      "L=a#b\n"
      "M=last",
      "os-release");
  ASSERT_TRUE(r) << pf::to_string(r.error());
  const std::vector<std::pair<std::string, std::string>> expected{
      {"A", "plain"},
      {"B", "single \"quoted\" $HOME \\n"},
      {"C", "double \"escaped\" $HOME \\ ` \\x"},
      {"D", "concatenated"},
      {"E", ""},
      {"F", ""},
      {"G", "back slash"},
      {"H", "trailing"},
      {"I", "value"},
      {"J", "twolines"},
      {"K", "kept\nnewline"},
      {"L", "a#b"},
      {"M", "last"},
  };
  EXPECT_EQ(*r, expected);
  // A later assignment wins, as in a shell.
  auto twice = pkg::parse_os_release("ID=fedora\nVERSION_ID=38\nVERSION_ID=39\n");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->ecosystem, "Fedora:39");
}

struct BadOs {
  const char* what;
  const char* text;
  const char* where;
  const char* message_part;
};

class OsReleaseMalformed : public ::testing::TestWithParam<BadOs> {};

TEST_P(OsReleaseMalformed, ClearError) {
  const BadOs& bad = GetParam();
  auto r = pkg::parse_os_release(bad.text, "/etc/os-release");
  ASSERT_FALSE(r) << bad.what;
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(r.error().where, bad.where) << r.error().message;
  EXPECT_NE(r.error().message.find(bad.message_part), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OsReleaseMalformed,
    ::testing::Values(
        BadOs{"unknown_id", "ID=gentoo\nVERSION_ID=2.14\n", "/etc/os-release",
              "unknown distribution ID 'gentoo'"},
        BadOs{"debian_sid_without_version_id", "ID=debian\nPRETTY_NAME=\"Debian trixie/sid\"\n",
              "/etc/os-release", "no VERSION_ID for ID 'debian'"},
        BadOs{"version_id_not_a_number", "ID=ubuntu\nVERSION_ID=\"jammy\"\n", "/etc/os-release",
              "VERSION_ID 'jammy'"},
        BadOs{"no_id", "VERSION_ID=12\n", "/etc/os-release", "no ID"},
        BadOs{"unterminated_double_quote", "ID=debian\nNAME=\"Debian\nVERSION_ID=12\n",
              "/etc/os-release:2", "unterminated double quote in the value of NAME"},
        BadOs{"unterminated_single_quote", "ID='debian\n", "/etc/os-release:1",
              "unterminated single quote"},
        BadOs{"unquoted_space", "ID=debian\nNAME=Debian GNU/Linux\n", "/etc/os-release:2",
              "unquoted white space in the value of NAME"},
        BadOs{"command_substitution", "ID=$(rm -rf /)\n", "/etc/os-release:1", "unquoted '$'"},
        BadOs{"expansion_in_double_quotes", "ID=\"$ID\"\n", "/etc/os-release:1", "unescaped '$'"},
        BadOs{"no_equals", "ID=debian\nVERSION_ID 12\n", "/etc/os-release:2", "expected KEY=VALUE"},
        BadOs{"invalid_key", "ID=debian\n1KEY=x\n", "/etc/os-release:2", "invalid key '1KEY'"},
        BadOs{"control_byte", "ID=deb\x01ian\n", "/etc/os-release:1", "control byte 0x01"},
        BadOs{"backslash_at_end", "ID=debian\\", "/etc/os-release:1", "backslash at the end"}),
    [](const ::testing::TestParamInfo<BadOs>& param_info) {
      return std::string(param_info.param.what);
    });

TEST(OsRelease, TooLarge) {
  const std::string big = "ID=debian\nVERSION_ID=12\n" + std::string(70000, '#') + "\n";
  auto r = pkg::parse_os_release(big, "os-release");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "os-release:3");
  EXPECT_NE(r.error().message.find("larger than"), std::string::npos);
}

TEST(OsRelease, EcosystemForNamesTheValue) {
  EXPECT_EQ(pkg::ecosystem_for("debian", "11", "11 (bullseye)").value(), "Debian:11");
  EXPECT_EQ(pkg::ecosystem_for("ubuntu", "20.04", "20.04.6 LTS (Focal Fossa)").value(),
            "Ubuntu:20.04:LTS");
  EXPECT_EQ(pkg::ecosystem_for("almalinux", "8.9", "").value(), "AlmaLinux:8");
  auto e = pkg::ecosystem_for("Debian", "12", "");  // IDs are lower case
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("'Debian'"), std::string::npos);
  EXPECT_FALSE(pkg::ecosystem_for("rocky", "9.", ""));
  EXPECT_FALSE(pkg::ecosystem_for("rocky", ".9", ""));
  EXPECT_FALSE(pkg::ecosystem_for("rocky", "9..1", ""));
}

TEST(OsRelease, ReadFromARootFollowsLinksInsideTheRoot) {
  pf::testing::TempDir dir;
  const auto root = dir.path();
  // Debian's layout: a relative link; and an absolute one that must not reach the host's file.
  dir.write("usr/lib/os-release", "ID=fedora\nVERSION_ID=39\nPRETTY_NAME=\"Fedora 39\"\n");
  std::filesystem::create_directories(root / "etc");
  std::filesystem::create_symlink("/usr/lib/os-release", root / "etc/os-release");
  auto r = pkg::read_os_release(root);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->ecosystem, "Fedora:39");
  EXPECT_EQ(r->file, root / "usr/lib/os-release");

  std::filesystem::remove(root / "etc/os-release");
  std::filesystem::create_symlink("../../../../../usr/lib/os-release", root / "etc/os-release");
  r = pkg::read_os_release(root);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->file, root / "usr/lib/os-release");

  // No etc/os-release: the fallback.
  std::filesystem::remove(root / "etc/os-release");
  r = pkg::read_os_release(root);
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(r->ecosystem, "Fedora:39");

  // An error names the file.
  dir.write("etc/os-release", "ID=plan9\nVERSION_ID=4\n");
  r = pkg::read_os_release(root);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, (root / "etc/os-release").string());
  EXPECT_NE(r.error().message.find("'plan9'"), std::string::npos);
}

TEST(OsRelease, ReadFromARootErrors) {
  pf::testing::TempDir dir;
  auto none = pkg::read_os_release(dir.path());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, pf::Errc::not_found);
  EXPECT_EQ(none.error().where, dir.path().string());

  std::filesystem::create_directories(dir.path() / "etc");
  std::filesystem::create_symlink("os-release", dir.path() / "etc/os-release");
  auto loop = pkg::read_os_release(dir.path());
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message.find("symbolic links"), std::string::npos);

  // A dangling link in etc/ is as good as no file: the fallback is used.
  std::filesystem::remove(dir.path() / "etc/os-release");
  std::filesystem::create_symlink("/nowhere", dir.path() / "etc/os-release");
  dir.write("usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  auto fallback = pkg::read_os_release(dir.path());
  ASSERT_TRUE(fallback) << pf::to_string(fallback.error());
  EXPECT_EQ(fallback->ecosystem, "Debian:12");
}

}  // namespace
