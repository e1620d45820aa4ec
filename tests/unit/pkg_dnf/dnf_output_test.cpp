// SPDX-License-Identifier: Apache-2.0
// The readers of dnf's output, on samples captured from real dnf 4.14 runs on lab roots
// (LC_ALL=C, output to a pipe as the backend runs it).
#include "patchflow/pkg_dnf/dnf_output.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pf::pkg::dnf {
namespace {

// dnf --assumeno upgrade, with a new dependency.
constexpr const char* kUpgradeTable =
    R"(Last metadata expiration check: 0:00:03 ago on Sun Nov 22 07:05:01 2026.
Dependencies resolved.
================================================================================
 Package         Architecture       Version            Repository          Size
================================================================================
Upgrading:
 pfa             noarch             2.0-1              pf-lab             5.9 k
Installing dependencies:
 pfl             noarch             1.0-1              pf-lab             5.9 k

Transaction Summary
================================================================================
Install  1 Package
Upgrade  1 Package

Total size: 12 k
)";

TEST(DnfTransactionTable, UpgradeWithDependency) {
  auto rows = parse_transaction_table(kUpgradeTable);
  ASSERT_TRUE(rows) << to_string(rows.error());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].name, "pfa");
  EXPECT_EQ((*rows)[0].arch, "noarch");
  EXPECT_EQ((*rows)[0].version, "2.0-1");
  EXPECT_EQ((*rows)[0].repo, "pf-lab");
  EXPECT_EQ((*rows)[0].action, Action::upgrade);
  EXPECT_FALSE((*rows)[0].dependency);
  EXPECT_EQ((*rows)[1].name, "pfl");
  EXPECT_EQ((*rows)[1].action, Action::install);
  EXPECT_TRUE((*rows)[1].dependency);
}

// dnf --assumeno remove pfl: its dependent package goes too; sizes without a unit.
constexpr const char* kRemoveTable = R"(Dependencies resolved.
================================================================================
 Package         Architecture       Version           Repository           Size
================================================================================
Removing:
 pfl             noarch             1.0-1             @pf-lab               6  
Removing dependent packages:
 pfa             noarch             2.0-1             @pf-lab               6  

Transaction Summary
================================================================================
Remove  2 Packages

Freed space: 12  
Operation aborted.
)";

TEST(DnfTransactionTable, RemovalsAndDowngrades) {
  auto rows = parse_transaction_table(kRemoveTable);
  ASSERT_TRUE(rows) << to_string(rows.error());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].action, Action::remove);
  EXPECT_FALSE((*rows)[0].dependency);
  EXPECT_EQ((*rows)[1].name, "pfa");
  EXPECT_EQ((*rows)[1].action, Action::remove);
  EXPECT_TRUE((*rows)[1].dependency);
  EXPECT_EQ((*rows)[1].repo, "@pf-lab");

  auto down = parse_transaction_table(R"(Dependencies resolved.
================================================================================
 Package         Architecture       Version            Repository          Size
================================================================================
Downgrading:
 pfa             noarch             1:1.0-1            pf-lab             5.9 k

Transaction Summary
================================================================================
Downgrade  1 Package
)");
  ASSERT_TRUE(down) << to_string(down.error());
  ASSERT_EQ(down->size(), 1u);
  EXPECT_EQ((*down)[0].action, Action::downgrade);
  EXPECT_EQ((*down)[0].version, "1:1.0-1");
}

// Wider than 80 columns: the header takes two lines; an obsoleted package is "replacing".
constexpr const char* kWideTable =
    "Dependencies resolved.\n"
    "=================================================================================="
    "================================================\n"
    " Package                                                      Arch    Version\n"
    "                                                                            Repository"
    "                                        Size\n"
    "=================================================================================="
    "================================================\n"
    "Installing:\n"
    " pf-a-very-long-package-name-that-overflows-the-name-column   noarch  1.0-1 "
    "pf-lab-repository-with-a-rather-long-identifier  6.2 k\n"
    "     replacing  pft.noarch 1.0-1\n"
    " pfa1                                                         noarch  1.0-1 "
    "pf-lab-repository-with-a-rather-long-identifier  5.9 k\n"
    "\n"
    "Transaction Summary\n";

TEST(DnfTransactionTable, WideTableAndReplacing) {
  auto rows = parse_transaction_table(kWideTable);
  ASSERT_TRUE(rows) << to_string(rows.error());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].name, "pf-a-very-long-package-name-that-overflows-the-name-column");
  EXPECT_EQ((*rows)[0].repo, "pf-lab-repository-with-a-rather-long-identifier");
  ASSERT_EQ((*rows)[0].replacing.size(), 1u);
  EXPECT_EQ((*rows)[0].replacing[0], "pft-1.0-1.noarch");
  EXPECT_EQ((*rows)[1].name, "pfa1");
}

// A row wrapped the way dnf's fmtColumns wraps a value wider than its column (it does so on a
// terminal; this is that shape).
TEST(DnfTransactionTable, WrappedRowsAreJoined) {
  auto rows = parse_transaction_table(
      "========\n Package  Arch  Version  Repository  Size\n========\nUpgrading:\n"
      " pf-a-name-longer-than-its-column\n"
      "          noarch  2.0-1  pf-lab  5.9 k\n"
      " pfb      noarch  2.0-1  a-repository-id-longer-than-its-column\n"
      "                                   5.9 k\n"
      " pfc      noarch  1:3.0-1.el9  pf-lab  5.9 k\n\nTransaction Summary\n");
  ASSERT_TRUE(rows) << to_string(rows.error());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].name, "pf-a-name-longer-than-its-column");
  EXPECT_EQ((*rows)[0].version, "2.0-1");
  EXPECT_EQ((*rows)[1].repo, "a-repository-id-longer-than-its-column");
  EXPECT_EQ((*rows)[2].name, "pfc");
  EXPECT_EQ((*rows)[2].version, "1:3.0-1.el9");
}

// best=False: the resolver's problems, then the skipped packages in the table.
constexpr const char* kSkippedTable = R"(Dependencies resolved.

 Problem 1: cannot install the best update candidate for package pfd-1.0-1.noarch
  - nothing provides pf-missing >= 2 needed by pfd-2.0-1.noarch
 Problem 2: package pfc-2.0-1.noarch conflicts with pfq provided by pfq-2.0-1.noarch
  - cannot install the best update candidate for package pfq-2.0-1.noarch
  - cannot install the best update candidate for package pfc-1.0-1.noarch
================================================================================
 Package         Architecture       Version            Repository          Size
================================================================================
Upgrading:
 pfp             noarch             2.0-1              pf-lab             6.0 k
 pfz             noarch             2.0-1              pf-lab             8.7 k
Skipping packages with conflicts:
(add '--best --allowerasing' to command line to force their upgrade):
 pfc             noarch             2.0-1              pf-lab             5.9 k
Skipping packages with broken dependencies:
 pfd             noarch             2.0-1              pf-lab             5.9 k

Transaction Summary
================================================================================
Upgrade  2 Packages
Skip     2 Packages
)";

TEST(DnfTransactionTable, SkippedPackagesCarryTheirReason) {
  auto rows = parse_transaction_table(kSkippedTable);
  ASSERT_TRUE(rows) << to_string(rows.error());
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_FALSE((*rows)[0].skipped);
  EXPECT_TRUE((*rows)[2].skipped);
  EXPECT_EQ((*rows)[2].name, "pfc");
  EXPECT_EQ((*rows)[2].skip_reason, Reason::conflict);
  EXPECT_TRUE((*rows)[3].skipped);
  EXPECT_EQ((*rows)[3].name, "pfd");
  EXPECT_EQ((*rows)[3].skip_reason, Reason::dependency);

  auto problems = parse_problems(kSkippedTable);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].reason, Reason::dependency);
  EXPECT_EQ(problems[0].packages, (std::vector<std::string>{"pfd"}));
  EXPECT_NE(problems[0].detail.find("nothing provides pf-missing >= 2"), std::string::npos);
  EXPECT_EQ(problems[1].reason, Reason::conflict);
  EXPECT_EQ(problems[1].packages, (std::vector<std::string>{"pfc", "pfq"}));
}

TEST(DnfTransactionTable, NoTableAndBrokenTables) {
  auto none = parse_transaction_table("Dependencies resolved.\nNothing to do.\nComplete!\n");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto cut = parse_transaction_table("=====\n Package\n=====\nUpgrading:\n pfa  noarch\n");
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code, Errc::backend_failed);
  EXPECT_EQ(cut.error().where, "dnf output line 5");
  auto arch =
      parse_transaction_table("=====\n Package\n=====\nUpgrading:\n pfa no/arch 1-1 r 1 k\n");
  ASSERT_FALSE(arch);
  EXPECT_NE(arch.error().message.find("architecture"), std::string::npos);
  // Sections that change no package (modules) are skipped, whatever their rows look like.
  auto modules = parse_transaction_table(
      "=====\n Package\n=====\nEnabling module streams:\n nodejs   18\nUpgrading:\n"
      " pfa noarch 2.0-1 pf-lab 1 k\n\nTransaction Summary\n");
  ASSERT_TRUE(modules) << to_string(modules.error());
  ASSERT_EQ(modules->size(), 1u);
  EXPECT_EQ((*modules)[0].name, "pfa");
}

TEST(DnfProblems, ResolverRefusals) {
  // dnf upgrade pfc with best=True.
  auto conflict = parse_problems(R"(Error: 
 Problem: problem with installed package pfq-2.0-1.noarch
  - package pfc-2.0-1.noarch conflicts with pfq provided by pfq-2.0-1.noarch
  - cannot install the best update candidate for package pfc-1.0-1.noarch
(try to add '--allowerasing' to command line to replace conflicting packages or '--skip-broken' to skip uninstallable packages or '--nobest' to use not only best candidate packages)
)");
  ASSERT_EQ(conflict.size(), 1u);
  EXPECT_EQ(conflict[0].reason, Reason::conflict);
  EXPECT_EQ(conflict[0].packages, (std::vector<std::string>{"pfq", "pfc"}));
  // dnf install pfd-2.0-1.
  auto dep = parse_problems(R"(Error: 
 Problem: conflicting requests
  - nothing provides pf-missing >= 2 needed by pfd-2.0-1.noarch
)");
  ASSERT_EQ(dep.size(), 1u);
  EXPECT_EQ(dep[0].reason, Reason::dependency);
  EXPECT_EQ(dep[0].packages, (std::vector<std::string>{"pfd"}));
  EXPECT_TRUE(parse_problems("Problems: none\nProblematic line\n").empty());
}

TEST(DnfArgumentNotes, WhatDnfSaysAboutArguments) {
  auto notes = parse_argument_notes(R"(Package pfl available, but not installed.
No match for argument: pfl
No match for argument: nosuch
All matches were filtered out by exclude filtering for argument: pfb-0:2.0-1.noarch
Package pfa-1.0-1.noarch is already installed.
No package pfa-0.5-1 available.
The same or higher version of pfs is already installed, cannot update it.
Error: Unable to find a match: nosuch
)");
  ASSERT_EQ(notes.size(), 6u);
  EXPECT_EQ(notes[0].argument, "pfl");
  EXPECT_EQ(notes[0].reason, Reason::not_installed) << "the specific note wins over 'No match'";
  EXPECT_EQ(notes[1].argument, "nosuch");
  EXPECT_EQ(notes[1].reason, Reason::not_in_repository);
  EXPECT_EQ(notes[2].argument, "pfb-0:2.0-1.noarch");
  EXPECT_EQ(notes[2].reason, Reason::held);
  EXPECT_EQ(notes[3].argument, "pfa-1.0-1.noarch");
  EXPECT_EQ(notes[3].reason, Reason::up_to_date);
  EXPECT_EQ(notes[4].argument, "pfa-0.5-1");
  EXPECT_EQ(notes[4].reason, Reason::not_in_repository);
  EXPECT_EQ(notes[5].argument, "pfs");
  EXPECT_EQ(notes[5].reason, Reason::up_to_date);
}

// dnf -y upgrade of a package whose %pre exits 3, then of one whose %post exits 4 (stdout
// and stderr of the two runs).
constexpr const char* kScriptletRuns = R"(Running transaction
  Preparing        :                                                        1/1 
  Running scriptlet: pfp-2.0-1.noarch                                       1/2 
failing pre
error: %prein(pfp-2.0-1.noarch) scriptlet failed, exit status 3

  Verifying        : pfp-2.0-1.noarch                                       1/2 
Failed:
  pfp-1.0-1.noarch                       pfp-2.0-1.noarch                      
Error in PREIN scriptlet in rpm package pfp
Error: Transaction failed
  Upgrading        : pfq-2.0-1.noarch                                       1/2 
  Running scriptlet: pfq-2.0-1.noarch                                       1/2 
failing post
warning: %post(pfq-2.0-1.noarch) scriptlet failed, exit status 4

Upgraded:
  pfq-2.0-1.noarch                                                              
Complete!
Error in POSTIN scriptlet in rpm package pfq
)";

TEST(DnfRunFailures, Scriptlets) {
  auto f = parse_run_failures(kScriptletRuns);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].kind, RunFailure::Kind::pre_scriptlet);
  EXPECT_EQ(f[0].package, "pfp");
  EXPECT_EQ(f[0].detail, "error: %prein(pfp-2.0-1.noarch) scriptlet failed, exit status 3");
  EXPECT_EQ(f[1].kind, RunFailure::Kind::other_scriptlet);
  EXPECT_EQ(f[1].package, "pfq");
  EXPECT_NE(f[1].detail.find("exit status 4"), std::string::npos);
}

TEST(DnfRunFailures, DiskSpaceAndFileConflicts) {
  // dnf -y install pfz-2.0-1 with a 1 MiB tmpfs where its 3 MB file goes.
  auto space = parse_run_failures(R"(Running transaction test
Error: Transaction test error:
  installing package pfz-2.0-1.noarch needs 3MB more space on the /usr/share/pfz filesystem

Error Summary
-------------
Disk Requirements:
   At least 3MB more space needed on the /usr/share/pfz filesystem.
)");
  ASSERT_EQ(space.size(), 2u);
  EXPECT_EQ(space[0].kind, RunFailure::Kind::no_space);
  EXPECT_EQ(space[0].package, "pfz");
  EXPECT_EQ(space[1].kind, RunFailure::Kind::no_space);
  EXPECT_EQ(space[1].package, "");
  auto enospc = parse_run_failures(
      "error: unpacking of archive failed on file /usr/share/pfz/data;6a1b: cpio: write "
      "failed - No space left on device\n");
  ASSERT_EQ(enospc.size(), 1u);
  EXPECT_EQ(enospc[0].kind, RunFailure::Kind::no_space);
  auto files = parse_run_failures(
      "  file /usr/share/x from install of pfm-2.0-1.noarch conflicts with file from package "
      "pfn-1.0-1.noarch\n");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].kind, RunFailure::Kind::file_conflict);
  EXPECT_EQ(files[0].package, "pfm");
}

TEST(DnfRepoquery, Lines) {
  auto a = parse_repoquery("pfb|0|2.0|1|noarch|pf-lab\npfs|3|1.2|1.el9|x86_64|updates\n");
  ASSERT_TRUE(a) << to_string(a.error());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].name, "pfb");
  EXPECT_EQ((*a)[0].version, "2.0-1");
  EXPECT_EQ((*a)[0].repo, "pf-lab");
  EXPECT_EQ((*a)[1].version, "3:1.2-1.el9");
  EXPECT_EQ((*a)[1].arch, "x86_64");
  for (const char* bad : {"pfb|0|2.0|1|noarch\n", "pfb|x|2.0|1|noarch|r\n",
                          "pfb|0|2.0|1|noarch|r|extra\n", "pf b|0|2.0|1|noarch|r\n"}) {
    auto r = parse_repoquery(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().where, "dnf repoquery line 1");
  }
}

TEST(DnfUpdateinfo, ListAndInfo) {
  auto list = parse_updateinfo_list(R"(PFSA-2026:0003 Moderate/Sec.  pfb-2.0-1.noarch
PFSA-2026:0001 Important/Sec. pfs-1.1-1.noarch
PFBA-2026:0002 bugfix         pfs-1.2-1.noarch
PFSA-2026:0009 Unknown/Sec.   pfs-1:1.3-1.noarch
)");
  ASSERT_TRUE(list) << to_string(list.error());
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[0].id, "PFSA-2026:0003");
  EXPECT_EQ((*list)[0].type, "security");
  EXPECT_EQ((*list)[0].severity, "Moderate");
  EXPECT_EQ((*list)[0].package.name, "pfb");
  EXPECT_EQ((*list)[0].package.version, "2.0-1");
  EXPECT_EQ((*list)[2].type, "bugfix");
  EXPECT_EQ((*list)[2].severity, "");
  EXPECT_EQ((*list)[3].severity, "") << "Unknown/Sec. is a security advisory of another severity";
  EXPECT_EQ((*list)[3].package.version, "1:1.3-1");

  auto all = parse_updateinfo_list(
      "  PFSA-2026:0001 Important/Sec. pfs-1.1-1.noarch\ni PFBA-2026:0002 bugfix         "
      "pfs-1.2-1.noarch\n");
  ASSERT_TRUE(all) << to_string(all.error());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_FALSE((*all)[0].installed);
  EXPECT_TRUE((*all)[1].installed);
  EXPECT_EQ((*all)[1].id, "PFBA-2026:0002");
  EXPECT_FALSE(parse_updateinfo_list("PFSA-1 bugfix not-a-nevra\n"));

  auto info = parse_updateinfo_info(
      R"(===============================================================================
  pfs sec
===============================================================================
  Update ID: PFSA-2026:0001
       Type: security
    Updated: 2026-01-02 00:00:00
       CVEs: CVE-2026-1
Description: d
   Severity: Important

===============================================================================
  pfb lab
===============================================================================
  Update ID: PFSA-2026:0004
       Type: security
    Updated: 2026-01-04 00:00:00
Description: Severity: fake
   Severity: Urgent
)");
  ASSERT_EQ(info.size(), 2u);
  EXPECT_EQ(info[0].id, "PFSA-2026:0001");
  EXPECT_EQ(info[0].severity, "Important");
  EXPECT_EQ(info[1].type, "security");
  EXPECT_EQ(info[1].severity, "Urgent");
}

TEST(DnfRepoFailures, EveryUnreadableRepositoryIsNamed) {
  // dnf makecache --refresh --setopt=*.skip_if_unavailable=True (stderr).
  auto f = parse_repo_failures(R"(Errors during downloading metadata for repository 'pf-dead':
  - Curl error (7): Couldn't connect to server for http://127.0.0.1:9/repo/repodata/repomd.xml [Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server]
Error: Failed to download metadata for repo 'pf-dead': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried
Errors during downloading metadata for repository 'pf-gone':
  - Curl error (37): Couldn't read a file:// file for file:///tmp/dx/nonexistent/repodata/repomd.xml [Couldn't open file /tmp/dx/nonexistent/repodata/repomd.xml]
Error: Failed to download metadata for repo 'pf-gone': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried
Ignoring repositories: pf-dead, pf-gone
)");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].id, "pf-dead");
  EXPECT_EQ(f[0].url, "http://127.0.0.1:9/repo/");
  EXPECT_NE(f[0].message.find("Couldn't connect to server"), std::string::npos);
  EXPECT_EQ(f[1].id, "pf-gone");
  EXPECT_EQ(f[1].url, "file:///tmp/dx/nonexistent/");
  EXPECT_TRUE(
      parse_repo_failures("lab   1.5 MB/s | 1.5 kB  00:00\nMetadata cache created.\n").empty());
  auto only = parse_repo_failures("Error: Failed to download metadata for repo 'x': boom\n");
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0].message, "boom");
}

TEST(DnfNevra, SplitAndSpecs) {
  auto n = parse_nevra("pf-app-1:2.0-1.el9.x86_64");
  ASSERT_TRUE(n) << to_string(n.error());
  EXPECT_EQ(n->name, "pf-app");
  EXPECT_EQ(n->version, "1:2.0-1.el9");
  EXPECT_EQ(n->arch, "x86_64");
  auto zero = parse_nevra("pfb-0:2.0-1.noarch");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->version, "2.0-1");
  for (const char* bad :
       {"pfa", "pfa-1.noarch", "pfa-1-2", "-1-2.noarch", "pfa-x:1-2.noarch", "pf a-1-2.noarch", ""})
    EXPECT_FALSE(parse_nevra(bad)) << bad;

  EXPECT_EQ(normalize_evr("0:1.0-1"), "1.0-1");
  EXPECT_EQ(normalize_evr("007:1.0-1"), "7:1.0-1");
  EXPECT_EQ(normalize_evr("1.0-1"), "1.0-1");
  EXPECT_EQ(*nevra_spec("pfa", "1.0-1"), "pfa-0:1.0-1");
  EXPECT_EQ(*nevra_spec("pfa", "2:1.0-1.el9", "x86_64"), "pfa-2:1.0-1.el9.x86_64");
  EXPECT_FALSE(nevra_spec("pfa", "1.0"));
  EXPECT_FALSE(nevra_spec("pfa", "x:1.0-1"));
  EXPECT_FALSE(nevra_spec("pfa", "1.0-"));
}

// Found by pkg_dnf_output_fuzz: a ':' after the epoch or in the release was read as an epoch
// separator, so that the version returned did not read back the same (or showed an epoch of 0).
TEST(DnfNevra, ColonsOutsideTheEpoch) {
  EXPECT_EQ(normalize_evr("0-0:1"), "0-0:1") << "no epoch: the part before ':' is not digits";
  EXPECT_EQ(normalize_evr("00:1-0:1"), "1-0:1");
  auto rel = parse_nevra("p-0-:.g");
  ASSERT_TRUE(rel) << to_string(rel.error());
  EXPECT_EQ(rel->name, "p");
  EXPECT_EQ(rel->version, "0-:");
  EXPECT_EQ(rel->arch, "g");
  for (const char* bad : {"p-0::-2.x86_64", "p-0:1:2-3.noarch", "p-1:0:1-1.noarch"}) {
    auto r = parse_nevra(bad);
    ASSERT_FALSE(r) << bad << " -> " << r->version;
    EXPECT_EQ(r.error().code, Errc::invalid_input);
  }
  auto q = parse_repoquery("pfb|0|2.0|1|noarch|r\npfb|0|0:1|1|noarch|r\n");
  ASSERT_FALSE(q) << (*q)[1].version;
  EXPECT_EQ(q.error().where, "dnf repoquery line 2");
  EXPECT_FALSE(parse_repoquery("pfb|0|1|1:2|noarch|r\n"));
}

// Found by pkg_dnf_output_fuzz: the "Cache-only enabled" message was kept whole, however long.
TEST(DnfRepoFailures, CacheOnlyMessageIsBounded) {
  const std::string line =
      "Error: Cache-only enabled but no cache for 'pf-x'" + std::string(5000, '!') + "\n";
  auto f = parse_repo_failures(line);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "pf-x");
  EXPECT_LE(f[0].message.size(), 2003u);
  EXPECT_TRUE(f[0].message.starts_with("Error: Cache-only enabled"));
}

}  // namespace
}  // namespace pf::pkg::dnf
