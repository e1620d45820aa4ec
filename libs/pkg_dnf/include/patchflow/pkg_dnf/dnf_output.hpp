// SPDX-License-Identifier: Apache-2.0
// Readers of what dnf 4 prints (run with LC_ALL=C): the transaction table, its notes about
// arguments, resolver problems, scriptlet and disk-space failures, repoquery and updateinfo
// lists, and metadata download failures. dnf 4 has no machine-readable transaction output, so
// these follow its text formats (dnf/cli/output.py, base.py, commands/updateinfo.py); each
// accepts only the shapes it knows and bounds what it keeps.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/pkg/backend.hpp"

namespace pf::pkg::dnf {

/// "name-[epoch:]version-release.arch" split into its parts. `version` is "[E:]V-R" with the
/// epoch only when it is not 0 (as pf::pkg::read_rpm_database prints it).
struct Nevra {
  std::string name;
  std::string version;
  std::string arch;
};

/// Errc::invalid_input unless `text` is NAME-[E:]V-R.ARCH (no white space, an arch of letters,
/// digits and '_').
[[nodiscard]] Result<Nevra> parse_nevra(std::string_view text);

/// An rpm version "[E:]V-R" as dnf reads it in a package spec: "NAME-E:V-R" (with ".ARCH" when
/// given). Errc::invalid_input when the version has no release or a malformed epoch.
[[nodiscard]] Result<std::string> nevra_spec(std::string_view name, std::string_view version,
                                             std::string_view arch = {});

/// "[E:]V-R" without an epoch of 0 ("0:1.0-1" -> "1.0-1", "01:2-3" -> "1:2-3").
[[nodiscard]] std::string normalize_evr(std::string_view version);

/// One row of the transaction table dnf prints before asking for confirmation.
struct TransactionRow {
  Action action{Action::install};
  bool dependency{false};  ///< from "Installing dependencies", "Removing dependent packages"...
  bool skipped{false};     ///< from "Skipping packages with conflicts/broken dependencies"
  Reason skip_reason{Reason::none};
  std::string name;
  std::string arch;
  std::string version;  ///< the version the row installs (or removes)
  std::string repo;
  /// NEVRAs this row replaces (obsoletes): they are removed by the transaction.
  std::vector<std::string> replacing;
};

/// The rows of the table between the "=====" rules and "Transaction Summary". Rows of sections
/// that change no package (modules, groups) are left out. Long values make dnf wrap a row over
/// several lines; that is handled. No table (Nothing to do, an error) gives no rows.
/// Errc::backend_failed naming the line when a row cannot be read.
[[nodiscard]] Result<std::vector<TransactionRow>> parse_transaction_table(std::string_view out);

/// What dnf said about one command-line argument before resolving.
struct ArgumentNote {
  std::string argument;  ///< as given on the command line (or the NEVRA dnf printed)
  Reason reason{Reason::none};
  std::string detail;  ///< dnf's line
};

/// "No match for argument: X" (not_in_repository), "Package X available, but not installed."
/// (not_installed), "All matches were filtered out by exclude filtering for argument: X"
/// (held), "Package X is already installed." and "The same or higher version..." (up_to_date),
/// "No package X available." (not_in_repository). Where dnf says several things about one
/// argument, the most specific wins (not_installed and held over not_in_repository).
[[nodiscard]] std::vector<ArgumentNote> parse_argument_notes(std::string_view text);

/// A resolver problem: " Problem[ N]: ..." and its "  - ..." lines.
struct Problem {
  Reason reason{Reason::dependency};  ///< conflict when a line says "conflicts with"/"obsoletes"
  std::string detail;                 ///< the problem's lines joined with "; "
  std::vector<std::string> packages;  ///< the names of every NEVRA the problem mentions
};
[[nodiscard]] std::vector<Problem> parse_problems(std::string_view text);

/// What went wrong while the rpm transaction ran (or was tested).
struct RunFailure {
  enum class Kind {
    pre_scriptlet,    ///< %pre/%pretrans failed: rpm did not install the package
    other_scriptlet,  ///< %post, %preun, %postun, triggers...: rpm went on
    no_space,         ///< the transaction test found too little space, or ENOSPC
    file_conflict,    ///< "file X from install of A conflicts with file from package B"
  };
  Kind kind{Kind::other_scriptlet};
  std::string package;  ///< name; empty when dnf did not say which package
  std::string detail;
};
[[nodiscard]] std::vector<RunFailure> parse_run_failures(std::string_view text);

/// A line of `repoquery --qf '%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{repoid}'`.
struct Available {
  std::string name;
  std::string arch;
  std::string version;  ///< "[E:]V-R", epoch only when not 0
  std::string repo;
};
[[nodiscard]] std::string repoquery_format();
/// Errc::backend_failed naming the line for anything but those lines (blank lines are skipped).
[[nodiscard]] Result<std::vector<Available>> parse_repoquery(std::string_view out);

/// A line of `dnf updateinfo list`: "ID LABEL NEVRA", where LABEL is "Important/Sec." for a
/// security advisory with a severity, "Unknown/Sec." without a known one, else the type.
/// With --all each line starts with "i " (the package is installed) or two spaces.
struct AdvisoryLine {
  std::string id;
  std::string type;      ///< security, bugfix, enhancement, newpackage, unknown
  std::string severity;  ///< Critical, Important, Moderate, Low; empty when not known
  Nevra package;
  bool installed{false};  ///< "i " in --all output
};
[[nodiscard]] Result<std::vector<AdvisoryLine>> parse_updateinfo_list(std::string_view out);

/// From `dnf updateinfo info`: each advisory's id, type and severity as the repository names
/// them (severities outside the four that `list` knows included).
struct AdvisoryInfo {
  std::string id;
  std::string type;
  std::string severity;
};
[[nodiscard]] std::vector<AdvisoryInfo> parse_updateinfo_info(std::string_view out);

/// A repository whose metadata could not be fetched (dnf makecache).
struct RepoFailure {
  std::string id;
  std::string url;      ///< the repository URL when dnf printed one
  std::string message;  ///< dnf's reason
};
[[nodiscard]] std::vector<RepoFailure> parse_repo_failures(std::string_view text);

}  // namespace pf::pkg::dnf
