// SPDX-License-Identifier: Apache-2.0
// A run's journal: append-only JSON lines, each record fsync'ed before append() returns, the
// directory fsync'ed when the file is created. A torn last line (a kill in the middle of a
// write) is dropped when the journal is opened for writing.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::runner::detail {

using nlohmann::json;

inline constexpr std::size_t kMaxJournalBytes = std::size_t{64} << 20;

/// Record types that are events for the server.
[[nodiscard]] bool is_event(const json& record);

/// The records of a journal file (a torn last line ignored). Errc::not_found when it does not
/// exist, Errc::invalid_input for a record that is not JSON (other than the last).
[[nodiscard]] Result<std::vector<json>> read_records(const std::filesystem::path& file);

class Journal {
 public:
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  Journal(Journal&& other) noexcept;
  ~Journal();

  /// Opens (creating runs/ and the file when `create`) and reads the records.
  [[nodiscard]] static Result<Journal> open(const std::filesystem::path& state_dir,
                                            std::string_view run_id, bool create);

  /// A deque: references to records stay valid while records are appended.
  [[nodiscard]] const std::deque<json>& records() const { return records_; }
  [[nodiscard]] bool empty() const { return records_.empty(); }

  /// Adds "seq" (and "event_id" for events), writes the line under an flock, fsyncs, and
  /// then honours the crash hook. Returns the seq.
  [[nodiscard]] Result<std::uint64_t> append(json record);

 private:
  Journal() = default;
  std::filesystem::path file_;
  std::string run_id_;
  int fd_{-1};
  std::deque<json> records_;
  std::uint64_t next_seq_{1};
  long crash_at_{0};
};

/// An exclusive lock on runs/<run_id>.lock for as long as it lives (close-on-exec, so a lab
/// reboot's re-exec releases it). Errc::lock_held when another runner has it.
class RunLock {
 public:
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ~RunLock();
  [[nodiscard]] static Result<RunLock> acquire(const std::filesystem::path& state_dir,
                                               std::string_view run_id);

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_{-1};
};

}  // namespace pf::runner::detail
