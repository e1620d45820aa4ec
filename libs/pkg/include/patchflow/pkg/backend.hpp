// SPDX-License-Identifier: Apache-2.0
// The package-manager backend interface: what the agent asks of apt/dpkg or dnf/rpm on a root
// ("/" in production, a package root in tests). Implementations: pf::pkg::apt (libs/pkg_apt)
// and pf::pkg::dnf (libs/pkg_dnf).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/core/inventory.hpp"

namespace pf::pkg {

enum class Family { deb, rpm };

/// A package at a version. `arch` empty means "whatever is installed / the native one".
/// In a rollback target, an empty `version` means "was not installed": remove it.
struct PackageRef {
  std::string name;
  std::string arch;
  std::string version;
  friend bool operator==(const PackageRef&, const PackageRef&) = default;
};

/// What to install. Parsed from the CLI and from jobs; see parse_selection.
struct Selection {
  enum class Kind {
    all,         ///< every upgradable package (apt: upgrade without removals; dnf: upgrade)
    security,    ///< updates from security sources (apt: a *-security suite or a Label/Origin
                 ///< containing "Security"; dnf: updateinfo type=security)
    packages,    ///< the named packages (name or name:arch) to their candidate versions
    advisories,  ///< the packages that the named advisories fix (dnf updateinfo ids)
    exact,       ///< the given packages at exactly the given versions (may downgrade)
  };
  Kind kind{Kind::all};
  std::vector<std::string> names;  ///< packages or advisory ids, for Kind::packages/advisories
  std::vector<PackageRef> exact;   ///< for Kind::exact
};

/// "all", "security", "packages:a,b:amd64", "advisories:ID1,ID2", "exact:a=1.0-1,b:amd64=2".
/// Errc::invalid_input naming the bad part otherwise.
[[nodiscard]] Result<Selection> parse_selection(std::string_view text);
[[nodiscard]] std::string to_string(const Selection& selection);

/// One available update, as the package manager sees it.
struct Update {
  std::string name;
  std::string arch;
  std::string installed;  ///< the version installed now
  std::string candidate;  ///< the version the package manager would install
  std::string origin;     ///< apt: archive/suite of the candidate ("stable-security");
                          ///< dnf: repository id
  bool security{false};
  std::vector<std::string> advisories;  ///< ids of the advisories it fixes (dnf updateinfo)
  std::string severity;                 ///< the highest advisory severity, as the repo names it
  /// The package manager would not install it on a plain upgrade; `held_reason` says why.
  bool held_back{false};
  std::string held_reason;
};

/// Why a selected package was not changed. Stable names via reason_name().
enum class Reason {
  none,
  held,               ///< held by the administrator (apt-mark hold, dnf versionlock/exclude)
  kept_back,          ///< needs new packages or removals that a plain upgrade does not make
  conflict,           ///< conflicts with an installed package
  dependency,         ///< a dependency cannot be satisfied
  conffile,           ///< stopped at a configuration-file question
  not_in_repository,  ///< no repository offers the package or the requested version
  not_installed,      ///< an upgrade of a package that is not installed
  no_space,           ///< no space left on a device
  script_failed,      ///< a maintainer script / scriptlet failed
  tool_failed,        ///< the package manager failed for another reason (see detail)
  up_to_date,         ///< already at the newest (or requested) version
};
[[nodiscard]] std::string_view reason_name(Reason reason) noexcept;

enum class Action { install, upgrade, downgrade, remove, reinstall };
[[nodiscard]] std::string_view action_name(Action action) noexcept;

/// One change a plan or a run makes.
struct Change {
  std::string name;
  std::string arch;
  std::string from;  ///< empty: not installed before
  std::string to;    ///< empty: removed
  Action action{Action::upgrade};
  bool selected{true};  ///< false: pulled in (or removed) as a consequence of the selection
};

/// What a selection would change, computed by the package manager's own resolver without
/// changing anything (apt-get -s, dnf --assumeno).
struct Plan {
  std::vector<Change> changes;
  /// Selected packages that would not change, with the reason.
  struct Skipped {
    std::string name;
    std::string arch;
    Reason reason{Reason::none};
    std::string detail;
  };
  std::vector<Skipped> skipped;
};

/// The verified fate of one package after a run, from the package database read again.
struct PackageResult {
  enum class Status {
    applied,      ///< now at the wanted version (or any newer one when none was named)
    not_applied,  ///< selected, unchanged or not at the wanted version; `reason` says why
    failed,       ///< left in a broken state (dpkg: unpacked, half-configured, ...)
    extra,        ///< not selected but changed (a dependency installed, a package removed)
  };
  std::string name;
  std::string arch;
  std::string before;  ///< empty: not installed
  std::string after;   ///< empty: not installed
  std::string wanted;  ///< the version asked for or planned; empty: "newest"
  std::string state;   ///< the package database's state word when not cleanly installed
  Status status{Status::not_applied};
  Reason reason{Reason::none};
  std::string detail;  ///< the package manager's words for it, when it gave any
};
[[nodiscard]] std::string_view status_name(PackageResult::Status status) noexcept;

/// The overall result of an install or a rollback (dnf5's TransactionRunResult idea).
enum class ApplyOutcome {
  applied,                  ///< every selected package applied
  applied_reboot_required,  ///< applied, and the host needs a reboot
  nothing_to_do,            ///< nothing was selected or everything was up to date
  not_applied,              ///< the run ended without error, but some selected package did not change
  resolve_failed,           ///< the resolver refused the selection; nothing changed
  install_failed,           ///< the package manager failed while changing packages
};
[[nodiscard]] std::string_view outcome_name(ApplyOutcome outcome) noexcept;

/// What install / rollback report. Built from the package database read before and after the
/// run, never from the tool's exit status alone.
struct ApplyReport {
  ApplyOutcome outcome{ApplyOutcome::nothing_to_do};
  std::vector<PackageResult> packages;  ///< selected ones first, then extras, by name
  std::vector<std::string> commands;    ///< every command run, as shell-quoted text
  int exit_code{0};                     ///< of the main package-manager run
  std::string output_tail;              ///< its last lines (stdout then stderr), bounded
  std::vector<std::string> warnings;    ///< e.g. "ran dpkg --configure -a first: ..."
  /// When the run failed: what went wrong, in the package manager's words where possible.
  std::optional<Error> error;
  /// The package database after the run has no package in a broken state (dpkg --audit
  /// empty). When false, `audit` holds what is broken and how to repair it.
  bool consistent{true};
  std::string audit;
};

enum class ConffilePolicy {
  keep_old,  ///< keep the administrator's modified file (dpkg --force-confdef --force-confold)
  take_new,  ///< install the package's version, keep the old one as .dpkg-old (--force-confnew)
};

/// Settings of a backend. Every path is inside `root`; every program comes from settings.
struct BackendOptions {
  std::filesystem::path root{"/"};
  /// How long to wait for another package-manager run holding the lock before failing with
  /// Errc::lock_held. A lock is never broken.
  std::chrono::milliseconds lock_timeout{std::chrono::seconds(300)};
  /// The longest a single package-manager run may take (then it is stopped: Errc::timeout).
  std::chrono::milliseconds tool_timeout{std::chrono::hours(1)};
  ConffilePolicy conffiles{ConffilePolicy::keep_old};
  /// apt: run `dpkg --configure -a` before acting when an earlier dpkg run was interrupted
  /// (reported in ApplyReport::warnings). When false, such a root is Errc::interrupted.
  bool repair_interrupted{true};
  /// Programs (looked up in PATH when they have no '/').
  std::string dpkg{"dpkg"};
  std::string apt_get{"apt-get"};
  std::string rpm{"rpm"};
  std::string dnf{"dnf"};
  /// rpm's database directory inside the root (passed as --dbpath; for dnf as %_dbpath).
  std::string rpm_dbpath{"/var/lib/rpm"};
  /// dnf: --releasever, needed when the root has no system-release package (lab roots).
  std::string releasever;
  /// "NAME=value" added to every package-manager run (e.g. a proxy).
  std::vector<std::string> env;
};

/// One package manager acting on one root.
class PackageBackend {
 public:
  virtual ~PackageBackend() = default;
  [[nodiscard]] virtual Family family() const noexcept = 0;
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;  ///< "apt", "dnf"

  /// The cleanly installed packages, read from the package database.
  [[nodiscard]] virtual Result<std::vector<inventory::Package>> installed() = 0;

  /// Fetches repository metadata (apt-get update, dnf makecache). A repository that cannot be
  /// reached or read is Errc::backend_failed naming it, even where the tool only warns.
  [[nodiscard]] virtual Result<void> refresh() = 0;

  /// The available updates, held-back ones included (with the reason), from the metadata
  /// fetched by the last refresh.
  [[nodiscard]] virtual Result<std::vector<Update>> upgradable() = 0;

  /// What `apply(selection)` would change, changing nothing.
  [[nodiscard]] virtual Result<Plan> plan(const Selection& selection) = 0;

  /// Installs the selection and verifies the result from the package database. A failure of
  /// the package manager is reported in the ApplyReport (with per-package results), not as an
  /// error: the Result is an error only when nothing could be attempted (lock held past the
  /// timeout, an invalid selection, an unreadable database).
  [[nodiscard]] virtual Result<ApplyReport> apply(const Selection& selection) = 0;

  /// Rollback: puts each package back to the given version (downgrading as needed), removes
  /// those whose version is empty. Verified like apply.
  [[nodiscard]] virtual Result<ApplyReport> restore(const std::vector<PackageRef>& targets) = 0;
};

/// The targets that undo `report`: every changed package back to its `before` version.
[[nodiscard]] std::vector<PackageRef> rollback_targets(const ApplyReport& report);

}  // namespace pf::pkg
