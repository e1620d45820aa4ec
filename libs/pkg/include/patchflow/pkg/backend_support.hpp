// SPDX-License-Identifier: Apache-2.0
// Pieces every PackageBackend implementation shares: verifying a run against the package
// database, summarising it, and waiting for another package manager's lock.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/pkg/backend.hpp"

namespace pf::pkg {

/// One package as the database records it, with its state when not cleanly installed
/// (dpkg: "half-configured", "unpacked", "half-installed", "triggers-pending"...; empty: ok).
struct DbEntry {
  std::string name;
  std::string arch;
  std::string version;
  std::string state;
};

/// What a run asked of one package.
struct Wanted {
  std::string name;
  std::string arch;     ///< empty: any architecture of that name
  std::string version;  ///< empty: any change from `before` counts (an upgrade to the newest)
  bool remove{false};   ///< the package should be gone afterwards
};

/// Why a package did not change, as the implementation read it from the tool's output.
struct Hint {
  Reason reason{Reason::none};
  std::string detail;
};

/// Compares two reads of the package database against what was wanted:
/// - a wanted package whose `after` matches (the exact version, or any different installed version
///   when none was named; absent for a removal) and whose state is clean is `applied`;
/// - a wanted package left in a non-clean state is `failed`;
/// - otherwise `not_applied`, with the hint for it (by "name" or "name:arch") or, lacking one,
///   up_to_date (unchanged and nothing named), not_in_repository / tool_failed guesses are left to
///   the caller: the reason is Reason::none when nothing is known;
/// - every other package that changed (version, presence or state) is `extra`.
/// Selected results come first (in `wanted` order), then extras by name and arch.
[[nodiscard]] std::vector<PackageResult> verify_run(const std::vector<DbEntry>& before,
                                                    const std::vector<DbEntry>& after,
                                                    const std::vector<Wanted>& wanted,
                                                    const std::map<std::string, Hint>& hints = {});

/// The overall outcome from verified results: install_failed when `tool_failed` and something
/// changed or broke, resolve_failed when `tool_failed` and nothing changed, nothing_to_do when
/// nothing was wanted or every wanted package is up_to_date, not_applied when some selected
/// package is not_applied/failed, else applied (or applied_reboot_required).
[[nodiscard]] ApplyOutcome summarize(const std::vector<PackageResult>& results, bool tool_failed,
                                     bool reboot_required);

/// Who holds a lock file (fcntl record lock), if anyone.
struct LockHolder {
  long pid{0};
  std::string command;  ///< /proc/<pid>/comm when readable
};

/// The process holding a conflicting fcntl lock on `file` (tested with F_GETLK for a write lock
/// over the whole file), or nullopt when it is free or does not exist. Never takes the lock.
[[nodiscard]] Result<std::optional<LockHolder>> lock_holder(const std::filesystem::path& file);

/// Waits until none of `files` is locked by another process, polling, at most `timeout`.
/// Errc::lock_held afterwards, naming the file and the holder ("held by process 123 (dpkg)").
/// A lock is never broken and a lock file never removed.
[[nodiscard]] Result<void> wait_for_locks(const std::vector<std::filesystem::path>& files,
                                          std::chrono::milliseconds timeout,
                                          std::chrono::milliseconds poll = std::chrono::milliseconds(200));

/// Shell-quotes argv for logs and reports ("apt-get -o 'Dir=/x y/' install foo").
[[nodiscard]] std::string quote_command(const std::vector<std::string>& argv);

/// The last `max_lines` lines of `text` (at most `max_bytes` bytes).
[[nodiscard]] std::string tail_lines(std::string_view text, std::size_t max_lines = 40,
                                     std::size_t max_bytes = 8192);

}  // namespace pf::pkg
