// SPDX-License-Identifier: Apache-2.0
// Readers of what apt-get and dpkg print (apt 2.x with LC_ALL=C). Pure functions on text, public
// so that tests and tools can use them; the backend runs the tools and feeds their output here.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/pkg/backend_support.hpp"

namespace pf::pkg::apt {

/// Where a candidate version comes from, one entry of apt's release string
/// "Label:Version/Archive" ("Debian-Security:12/stable-security"; parts may be missing:
/// "stable", "Debian:12.5/stable", or a host name for a repository without a Release file).
struct ReleaseInfo {
  std::string label;
  std::string version;
  std::string archive;
};

/// Splits the release string of a simulated line ("Debian:12.5/stable, Debian-Security:12/
/// stable-security") into its entries.
[[nodiscard]] std::vector<ReleaseInfo> parse_release_info(std::string_view text);

/// A security source: an archive (suite) ending in "-security", or a label containing
/// "Security" (Debian's "Debian-Security").
[[nodiscard]] bool is_security_release(const ReleaseInfo& release) noexcept;

/// One line of a simulated run (apt-get -s):
///   "Inst NAME [OLD] (NEW RELEASES [ARCH])", "Inst NAME (NEW RELEASES [ARCH])",
///   "Remv NAME [OLD]", "Purg NAME [OLD]", "Conf NAME (NEW RELEASES [ARCH])"
/// (anything after the closing parenthesis, such as apt's " []", is ignored).
struct SimAction {
  enum class Kind { install, remove, configure };
  Kind kind{Kind::install};
  std::string name;  ///< as apt prints it: "name", or "name:arch" for a foreign architecture
  std::string arch;  ///< the candidate's architecture ("amd64", "all"); empty for a removal
  std::string from;  ///< the installed version; empty when not installed
  std::string to;    ///< the candidate version; empty for a removal
  std::vector<ReleaseInfo> releases;
};

/// The line parsed, or nullopt when it is not an Inst/Remv/Purg/Conf line or is malformed.
[[nodiscard]] std::optional<SimAction> parse_sim_line(std::string_view line);

/// A package listed under one of apt's headings, in the -V form: "name (from => to)",
/// "name (version)" or just "name".
struct Listed {
  std::string name;
  std::string from;
  std::string to;
};

/// What one apt-get run (simulated or real) printed, stdout and stderr read together.
struct AptOutput {
  std::vector<SimAction> actions;          ///< Inst and Remv/Purg lines, in order (Conf dropped)
  std::vector<Listed> kept_back;           ///< "The following packages have been kept back:"
  std::vector<Listed> held_changed;        ///< "The following held packages will be changed:"
  std::vector<Listed> deferred;            ///< "...deferred due to phasing:"
  std::vector<Listed> to_remove;           ///< "The following packages will be REMOVED:"
  std::vector<std::string> up_to_date;     ///< "NAME is already the newest version (V)."
  std::vector<std::string> not_installed;  ///< "Skipping NAME, it is not installed and only..."
  /// Per package (as apt or dpkg names it: "name" or "name:arch"): why it was not changed or
  /// failed. Unmet dependencies (dependency, conflict for Conflicts/Breaks), not found
  /// (not_in_repository), dpkg's "error processing" blocks (script_failed, no_space,
  /// conffile, dependency, tool_failed).
  std::map<std::string, Hint> problems;
  /// A failure not tied to one package (no space while downloading, removals refused, held
  /// packages, unresolvable problems).
  std::optional<Hint> general;
  std::vector<std::string> errors;  ///< the text of every "E: " line
  bool dpkg_ran{false};             ///< dpkg started unpacking, configuring or removing
  bool interrupted{false};          ///< "dpkg was interrupted, you must manually run ..."
  std::string lock_error;           ///< the "E:" line when apt could not get a lock
};

/// Reads apt-get's output (LC_ALL=C). Never fails: unknown lines are ignored.
[[nodiscard]] AptOutput parse_apt_output(std::string_view text);

/// One repository that `apt-get update` could not fetch or read.
struct RepoFailure {
  std::string repository;  ///< "http://127.0.0.1:9/debian stable", or the URL apt named
  std::string reason;      ///< apt's words
};

/// The repositories that failed in `apt-get update` output: "Err:N URI SUITE TARGET" with the
/// reason on the next line, "W:/E: Failed to fetch URL  reason", "E: The repository '...' does
/// not have a Release file", "... is not signed". One entry per repository.
[[nodiscard]] std::vector<RepoFailure> parse_update_failures(std::string_view text);

}  // namespace pf::pkg::apt
