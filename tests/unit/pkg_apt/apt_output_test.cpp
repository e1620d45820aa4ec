// SPDX-License-Identifier: Apache-2.0
// The apt-get/dpkg output readers, on text captured from real runs of apt 2.6 and dpkg 1.21
// (Debian 12) on lab roots; paths shortened.
#include "patchflow/pkg_apt/apt_output.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace pf::pkg::apt {
namespace {

// apt-get -s -V upgrade --with-new-pkgs: pf-held is held, pf-dep needs a package no repository
// has, pf-kb needs a package that conflicts with an installed one.
constexpr std::string_view kUpgrade = R"(Reading package lists...
Building dependency tree...
Calculating upgrade...
The following NEW packages will be installed:
   pf-lib (1.0-1)
The following packages have been kept back:
   pf-dep (1.0-1 => 2.0-1)
   pf-held (1.0-1 => 2.0-1)
   pf-kb (1.0-1 => 2.0-1)
The following packages will be upgraded:
   pf-app (1.0-1 => 2.0-1)
   pf-sec (1.0-1 => 1.0-2)
2 upgraded, 1 newly installed, 0 to remove and 3 not upgraded.
Inst pf-lib (1.0-1 stable [all])
Inst pf-app [1.0-1] (2.0-1 stable [all])
Inst pf-sec [1.0-1] (1.0-2 stable-security [all])
Conf pf-lib (1.0-1 stable [all])
Conf pf-app (2.0-1 stable [all])
Conf pf-sec (1.0-2 stable-security [all])
)";

TEST(AptOutput, SimulatedUpgradeActionsAndKeptBack) {
  auto o = parse_apt_output(kUpgrade);
  ASSERT_EQ(o.actions.size(), 3u) << "Conf lines are not actions";
  EXPECT_EQ(o.actions[0].name, "pf-lib");
  EXPECT_EQ(o.actions[0].from, "");
  EXPECT_EQ(o.actions[0].to, "1.0-1");
  EXPECT_EQ(o.actions[1].name, "pf-app");
  EXPECT_EQ(o.actions[1].from, "1.0-1");
  EXPECT_EQ(o.actions[1].to, "2.0-1");
  EXPECT_EQ(o.actions[1].arch, "all");
  ASSERT_EQ(o.actions[2].releases.size(), 1u);
  EXPECT_EQ(o.actions[2].releases[0].archive, "stable-security");
  EXPECT_TRUE(is_security_release(o.actions[2].releases[0]));
  EXPECT_FALSE(is_security_release(o.actions[1].releases[0]));
  ASSERT_EQ(o.kept_back.size(), 3u);
  EXPECT_EQ(o.kept_back[1].name, "pf-held");
  EXPECT_EQ(o.kept_back[1].from, "1.0-1");
  EXPECT_EQ(o.kept_back[1].to, "2.0-1");
  EXPECT_TRUE(o.errors.empty());
  EXPECT_TRUE(o.problems.empty());
  EXPECT_FALSE(o.dpkg_ran);
}

TEST(AptOutput, SimLinesOfEveryKind) {
  auto remove = parse_sim_line("Remv pf-old [1.0-1]");
  ASSERT_TRUE(remove);
  EXPECT_EQ(remove->kind, SimAction::Kind::remove);
  EXPECT_EQ(remove->from, "1.0-1");
  EXPECT_EQ(remove->to, "");
  auto purge = parse_sim_line("Purg pf-old [1.0-1]");
  ASSERT_TRUE(purge);
  EXPECT_EQ(purge->kind, SimAction::Kind::remove);
  // Debian's own repositories: label and version before the archive, several sources, a
  // foreign architecture, and apt's trailing "[]".
  auto real = parse_sim_line(
      "Inst libc6:i386 [2.36-9+deb12u3] (2.36-9+deb12u4 Debian:12.5/stable, "
      "Debian-Security:12/stable-security [i386]) []");
  ASSERT_TRUE(real);
  EXPECT_EQ(real->name, "libc6:i386");
  EXPECT_EQ(real->arch, "i386");
  EXPECT_EQ(real->from, "2.36-9+deb12u3");
  EXPECT_EQ(real->to, "2.36-9+deb12u4");
  ASSERT_EQ(real->releases.size(), 2u);
  EXPECT_EQ(real->releases[0].label, "Debian");
  EXPECT_EQ(real->releases[0].version, "12.5");
  EXPECT_EQ(real->releases[0].archive, "stable");
  EXPECT_EQ(real->releases[1].label, "Debian-Security");
  EXPECT_TRUE(is_security_release(real->releases[1]));
  // Ubuntu labels its security pocket "Ubuntu": the archive decides.
  auto ubuntu = parse_release_info("Ubuntu:22.04/jammy-security");
  ASSERT_EQ(ubuntu.size(), 1u);
  EXPECT_TRUE(is_security_release(ubuntu[0]));
  auto epoch = parse_sim_line("Inst pf-e [1:1.0-1] (2:0.9-1 stable [amd64])");
  ASSERT_TRUE(epoch);
  EXPECT_EQ(epoch->from, "1:1.0-1");
  EXPECT_EQ(epoch->to, "2:0.9-1");
  for (const char* bad : {"Inst", "Inst ", "Inst pf-x [1.0", "Inst pf-x (", "Inst pf-x",
                          "Installing pf-x", "Conf pf-x", "Remv"}) {
    EXPECT_FALSE(parse_sim_line(bad)) << bad;
  }
}

TEST(AptOutput, AlreadyNewestAndNotInstalled) {
  auto o = parse_apt_output(R"(Reading package lists...
Building dependency tree...
pf-tool is already the newest version (1.0-1).
Skipping pf-lib, it is not installed and only upgrades are requested.
The following NEW packages will be installed:
   pf-lib (1.0-1)
The following packages will be upgraded:
   pf-app (1.0-1 => 2.0-1)
1 upgraded, 1 newly installed, 0 to remove and 3 not upgraded.
Inst pf-lib (1.0-1 stable [all])
Inst pf-app [1.0-1] (2.0-1 stable [all])
Conf pf-lib (1.0-1 stable [all])
Conf pf-app (2.0-1 stable [all])
)");
  EXPECT_EQ(o.up_to_date, std::vector<std::string>{"pf-tool"});
  EXPECT_EQ(o.not_installed, std::vector<std::string>{"pf-lib"});
  EXPECT_EQ(o.actions.size(), 2u);
}

TEST(AptOutput, NotFoundNamesThePackage) {
  auto locate = parse_apt_output(
      "Reading package lists...\nBuilding dependency tree...\n"
      "E: Unable to locate package pf-nope\n");
  ASSERT_EQ(locate.problems.count("pf-nope"), 1u);
  EXPECT_EQ(locate.problems["pf-nope"].reason, Reason::not_in_repository);
  EXPECT_EQ(locate.errors, std::vector<std::string>{"Unable to locate package pf-nope"});

  auto version = parse_apt_output(R"(Reading package lists...
Building dependency tree...
Package pf-app is not available, but is referred to by another package.
This may mean that the package is missing, has been obsoleted, or
is only available from another source

E: Version '9.9-1' for 'pf-app' was not found
)");
  ASSERT_EQ(version.problems.count("pf-app"), 1u);
  EXPECT_EQ(version.problems["pf-app"].reason, Reason::not_in_repository);
  EXPECT_NE(version.problems["pf-app"].detail.find("9.9-1"), std::string::npos);
}

TEST(AptOutput, UnmetDependenciesAndConflicts) {
  auto o = parse_apt_output(R"(Reading package lists...
Building dependency tree...
Some packages could not be installed. This may mean that you have
requested an impossible situation or if you are using the unstable
distribution that some required packages have not yet been created
or been moved out of Incoming.
The following information may help to resolve the situation:

The following packages have unmet dependencies:
 pf-dep : Depends: pf-missing (>= 1) but it is not installable
 pf-two : Depends: pf-a but it is not going to be installed
          Depends: pf-b (>= 1:2.0) but it is not installable
 pf-cf : Conflicts: pf-app but 1.0-1 is to be installed
E: Unable to correct problems, you have held broken packages.
)");
  ASSERT_EQ(o.problems.size(), 3u);
  EXPECT_EQ(o.problems["pf-dep"].reason, Reason::dependency);
  EXPECT_EQ(o.problems["pf-dep"].detail, "Depends: pf-missing (>= 1) but it is not installable");
  EXPECT_EQ(o.problems["pf-two"].reason, Reason::dependency);
  EXPECT_NE(o.problems["pf-two"].detail.find("pf-b (>= 1:2.0)"), std::string::npos)
      << o.problems["pf-two"].detail;
  EXPECT_EQ(o.problems["pf-cf"].reason, Reason::conflict);
  ASSERT_TRUE(o.general);
  EXPECT_EQ(o.general->reason, Reason::dependency);
}

TEST(AptOutput, RemovalsRefusedAndHeldPackages) {
  auto removal = parse_apt_output(R"(Reading package lists...
Building dependency tree...
The following additional packages will be installed:
   pf-newdep (1.0-1)
The following packages will be REMOVED:
   pf-old
The following NEW packages will be installed:
   pf-newdep (1.0-1)
The following packages will be upgraded:
   pf-kb (1.0-1 => 2.0-1)
1 upgraded, 1 newly installed, 1 to remove and 3 not upgraded.
E: Packages need to be removed but remove is disabled.
)");
  ASSERT_EQ(removal.to_remove.size(), 1u);
  EXPECT_EQ(removal.to_remove[0].name, "pf-old");
  ASSERT_TRUE(removal.general);
  EXPECT_EQ(removal.general->reason, Reason::kept_back);
  EXPECT_NE(removal.general->detail.find("pf-old"), std::string::npos);

  auto held = parse_apt_output(R"(Reading package lists...
Building dependency tree...
The following held packages will be changed:
   pf-held (1.0-1 => 2.0-1)
The following packages will be upgraded:
   pf-held (1.0-1 => 2.0-1)
1 upgraded, 0 newly installed, 0 to remove and 3 not upgraded.
E: Held packages were changed and -y was used without --allow-change-held-packages.
)");
  ASSERT_EQ(held.held_changed.size(), 1u);
  ASSERT_EQ(held.problems.count("pf-held"), 1u);
  EXPECT_EQ(held.problems["pf-held"].reason, Reason::held);
}

TEST(AptOutput, FailingPostinst) {
  auto o = parse_apt_output(R"(Selecting previously unselected package pf-bad.
(Reading database ... 19 files and directories currently installed.)
Preparing to unpack .../pool/main/pf-bad_1.0-1_all.deb ...
Unpacking pf-bad (1.0-1) ...
Setting up pf-bad (1.0-1) ...

postinst: cannot start service
dpkg: error processing package pf-bad (--configure):
 installed pf-bad package post-installation script subprocess returned error exit status 1
Errors were encountered while processing:
 pf-bad
E: Sub-process /usr/bin/dpkg returned an error code (1)
)");
  EXPECT_TRUE(o.dpkg_ran);
  ASSERT_EQ(o.problems.count("pf-bad"), 1u);
  EXPECT_EQ(o.problems["pf-bad"].reason, Reason::script_failed);
  EXPECT_NE(o.problems["pf-bad"].detail.find("post-installation script"), std::string::npos);
  EXPECT_EQ(o.errors,
            std::vector<std::string>{"Sub-process /usr/bin/dpkg returned an error code (1)"});
}

TEST(AptOutput, NoSpaceWhileUnpacking) {
  auto o = parse_apt_output(R"((Reading database ... 21 files and directories currently installed.)
Preparing to unpack .../pool/main/pf-big_2.0-1_all.deb ...
Unpacking pf-big (2.0-1) over (1.0-1) ...

dpkg: error processing archive /srv/repo/pool/main/pf-big_2.0-1_all.deb (--unpack):
 cannot copy extracted data for './usr/share/pf-big/blob' to '/r/usr/share/pf-big/blob.dpkg-new': failed to write (No space left on device)
Errors were encountered while processing:
 /srv/repo/pool/main/pf-big_2.0-1_all.deb
E: Sub-process /usr/bin/dpkg returned an error code (1)
)");
  ASSERT_EQ(o.problems.count("pf-big"), 1u) << "the package is named by its archive";
  EXPECT_EQ(o.problems["pf-big"].reason, Reason::no_space);
  EXPECT_FALSE(o.general) << "the failure is tied to its package";

  auto download =
      parse_apt_output("E: You don't have enough free space in /var/cache/apt/archives/.\n");
  ASSERT_TRUE(download.general);
  EXPECT_EQ(download.general->reason, Reason::no_space);
}

TEST(AptOutput, ConffilePromptAtEndOfInput) {
  // dpkg's question has no newline; its error continues the same line.
  auto o = parse_apt_output(
      "Configuration file '/etc/pf-conf.conf' (actually '/r/etc/pf-conf.conf')\n"
      " ==> Modified (by you or by a script) since installation.\n"
      " The default action is to keep your current version.\n"
      "*** pf-conf.conf (Y/I/N/O/D/Z) [default=N] ? dpkg: error processing package pf-conf "
      "(--install):\n"
      " end of file on stdin at conffile prompt\n"
      "Errors were encountered while processing:\n"
      " pf-conf\n");
  ASSERT_EQ(o.problems.count("pf-conf"), 1u);
  EXPECT_EQ(o.problems["pf-conf"].reason, Reason::conffile);
}

TEST(AptOutput, DependencyProblemsKeepTheirFirstCause) {
  auto o = parse_apt_output(R"(dpkg: dependency problems prevent configuration of pf-y:
 pf-y depends on pf-x; however:
  Package pf-x is not configured yet.

dpkg: error processing package pf-y (--configure):
 dependency problems - leaving unconfigured
)");
  ASSERT_EQ(o.problems.count("pf-y"), 1u);
  EXPECT_EQ(o.problems["pf-y"].reason, Reason::dependency);
  EXPECT_NE(o.problems["pf-y"].detail.find("pf-x is not configured"), std::string::npos)
      << o.problems["pf-y"].detail;
}

TEST(AptOutput, LockAndInterruption) {
  auto lock = parse_apt_output(
      "E: Could not get lock /r/var/lib/dpkg/lock-frontend. It is held by process 4242 (dpkg)\n"
      "E: Unable to acquire the dpkg frontend lock (/r/var/lib/dpkg/lock-frontend), is another "
      "process using it?\n");
  EXPECT_NE(lock.lock_error.find("process 4242 (dpkg)"), std::string::npos) << lock.lock_error;
  auto interrupted = parse_apt_output(
      "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the "
      "problem. \n");
  EXPECT_TRUE(interrupted.interrupted);
}

TEST(AptOutput, ListsWithoutVersionsAndHostileText) {
  auto o = parse_apt_output(
      "The following packages have been kept back:\n  pf-a pf-b\n  pf-c\nInst x\n");
  ASSERT_EQ(o.kept_back.size(), 3u);
  EXPECT_EQ(o.kept_back[2].name, "pf-c");
  // Binary junk and unterminated lines are ignored, never a crash.
  std::string junk(4096, '\0');
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 37);
  auto j = parse_apt_output(junk + "\nInst (\nRemv [\nE: Version '\nE: Package '\n");
  EXPECT_TRUE(j.actions.empty());
  EXPECT_TRUE(j.problems.empty());
}

TEST(AptUpdate, FailedRepositoriesAreNamed) {
  // apt-get update exited 0 here: the failure is only in its warnings.
  auto f = parse_update_failures(R"(Get:1 file:/srv/repo stable InRelease
Ign:1 file:/srv/repo stable InRelease
Get:4 file:/srv/repo stable Release [1417 B]
Err:2 http://127.0.0.1:9/debian stable InRelease
  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
Reading package lists...
W: Failed to fetch http://127.0.0.1:9/debian/dists/stable/InRelease  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
W: Some index files failed to download. They have been ignored, or old ones used instead.
)");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].repository, "http://127.0.0.1:9/debian stable");
  EXPECT_NE(f[0].reason.find("Connection refused"), std::string::npos);

  auto missing = parse_update_failures(R"(Get:7 file:/srv/nonexist ./ Packages
Err:7 file:/srv/nonexist ./ Packages
  File not found - /srv/nonexist/./Packages (2: No such file or directory)
E: Failed to fetch file:/srv/nonexist/./Packages  File not found - /srv/nonexist/./Packages (2: No such file or directory)
E: The repository 'file:/srv/other stable Release' does not have a Release file.
)");
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(missing[0].repository, "file:/srv/nonexist ./");
  EXPECT_NE(missing[0].reason.find("File not found"), std::string::npos);
  EXPECT_EQ(missing[1].repository, "file:/srv/other stable");
  EXPECT_NE(missing[1].reason.find("does not have a Release file"), std::string::npos);

  EXPECT_TRUE(parse_update_failures("Get:1 file:/srv/repo stable InRelease\n"
                                    "Ign:1 file:/srv/repo stable InRelease\n"
                                    "Reading package lists...\n")
                  .empty());
}

// Found by pkg_apt_output_fuzz: an empty repository name ("E: The repository '' ...") became an
// entry, and one without a URI before its first blank matched every later repository, taking
// their reasons.
TEST(AptUpdate, EmptyRepositoryNamesMatchNothing) {
  auto f = parse_update_failures(R"(E: The repository '' does not have a Release file.
Err:2 http://127.0.0.1:9/debian stable InRelease
  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
)");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].repository, "http://127.0.0.1:9/debian stable");
  EXPECT_NE(f[0].reason.find("Connection refused"), std::string::npos);

  auto blank = parse_update_failures(
      "E: The repository ' odd' does not have a Release file.\n"
      "E: Failed to fetch http://h/debian/dists/stable/InRelease  404  Not Found\n");
  ASSERT_EQ(blank.size(), 2u);
  EXPECT_EQ(blank[1].repository, "http://h/debian/dists/stable/InRelease");
  EXPECT_NE(blank[1].reason.find("404"), std::string::npos);
}

}  // namespace
}  // namespace pf::pkg::apt
