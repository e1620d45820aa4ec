// SPDX-License-Identifier: Apache-2.0
#include "journal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "patchflow/common/files.hpp"
#include "patchflow/runner/runner.hpp"

namespace pf::runner::detail {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

Result<void> fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::io, "cannot open the directory: " + errno_text(errno), dir.string());
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return make_error(Errc::io, "cannot fsync the directory: " + errno_text(e), dir.string());
  return {};
}

Result<std::filesystem::path> runs_dir(const std::filesystem::path& state_dir, bool create) {
  const auto dir = state_dir / "runs";
  if (!create) return dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(Errc::io, "cannot create: " + ec.message(), dir.string());
    ::chmod(dir.c_str(), 0700);
    if (auto r = fsync_dir(state_dir); !r) return tl::unexpected(r.error());
  }
  return dir;
}

Result<void> write_all(int fd, std::string_view data, const std::filesystem::path& file) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, "cannot write: " + errno_text(errno), file.string());
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

bool is_event(const json& record) {
  const auto t = record.value("type", "");
  return t == "result" || t == "postponed" || t == "outcome";
}

Result<std::vector<json>> read_records(const std::filesystem::path& file) {
  auto text = files::read_at_most(file, kMaxJournalBytes);
  if (!text) return tl::unexpected(text.error());
  if (text->size() > kMaxJournalBytes) {
    return make_error(Errc::invalid_input, "the journal is larger than 64 MiB", file.string());
  }
  std::vector<json> out;
  std::size_t pos = 0, line = 0;
  while (pos < text->size()) {
    const auto nl = text->find('\n', pos);
    ++line;
    if (nl == std::string::npos) break;  // torn last line: the write never completed
    json rec = json::parse(std::string_view(*text).substr(pos, nl - pos), nullptr, false);
    if (rec.is_discarded() || !rec.is_object()) {
      return make_error(Errc::invalid_input, "a journal record is not a JSON object",
                        files::at_line(file.string(), line));
    }
    out.push_back(std::move(rec));
    pos = nl + 1;
  }
  return out;
}

Journal::Journal(Journal&& other) noexcept
    : file_(std::move(other.file_)),
      run_id_(std::move(other.run_id_)),
      fd_(other.fd_),
      records_(std::move(other.records_)),
      next_seq_(other.next_seq_),
      crash_at_(other.crash_at_) {
  other.fd_ = -1;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Journal> Journal::open(const std::filesystem::path& state_dir, std::string_view run_id,
                              bool create) {
  auto dir = runs_dir(state_dir, create);
  if (!dir) return tl::unexpected(dir.error());
  Journal j;
  j.file_ = journal_path(state_dir, run_id);
  j.run_id_ = std::string(run_id);
  std::error_code ec;
  const bool existed = std::filesystem::exists(j.file_, ec);
  if (!existed && !create) return make_error(Errc::not_found, "no journal for this run", j.file_.string());
  j.fd_ = ::open(j.file_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (j.fd_ < 0) return make_error(Errc::io, "cannot open the journal: " + errno_text(errno), j.file_.string());
  if (!existed) {
    if (::fsync(j.fd_) != 0) return make_error(Errc::io, "fsync failed: " + errno_text(errno), j.file_.string());
    if (auto r = fsync_dir(*dir); !r) return tl::unexpected(r.error());
  }
  ::flock(j.fd_, LOCK_EX);
  auto records = read_records(j.file_);
  if (!records) {
    ::flock(j.fd_, LOCK_UN);
    return tl::unexpected(records.error());
  }
  // Drop a torn tail so that the next record starts on its own line.
  std::size_t good = 0;
  if (auto text = files::read_at_most(j.file_, kMaxJournalBytes)) {
    const auto nl = text->rfind('\n');
    good = nl == std::string::npos ? 0 : nl + 1;
    if (good != text->size()) {
      if (::ftruncate(j.fd_, static_cast<off_t>(good)) != 0 || ::fsync(j.fd_) != 0) {
        ::flock(j.fd_, LOCK_UN);
        return make_error(Errc::io, "cannot drop a torn record: " + errno_text(errno), j.file_.string());
      }
    }
  }
  ::flock(j.fd_, LOCK_UN);
  j.records_.assign(records->begin(), records->end());
  for (const auto& r : j.records_) {
    const auto seq = r.value("seq", std::uint64_t{0});
    if (seq >= j.next_seq_) j.next_seq_ = seq + 1;
  }
  if (const char* crash = std::getenv(kCrashAtEnv); crash != nullptr && *crash != '\0') {
    j.crash_at_ = std::strtol(crash, nullptr, 10);
  }
  return j;
}

Result<std::uint64_t> Journal::append(json record) {
  ::flock(fd_, LOCK_EX);
  // Another process (mark_reported) may have appended since: continue after its records.
  if (auto fresh = read_records(file_)) {
    for (std::size_t i = records_.size(); i < fresh->size(); ++i) {
      const auto seq = (*fresh)[i].value("seq", std::uint64_t{0});
      if (seq >= next_seq_) next_seq_ = seq + 1;
      records_.push_back((*fresh)[i]);
    }
  }
  const std::uint64_t seq = next_seq_++;
  record["seq"] = seq;
  if (is_event(record)) record["event_id"] = run_id_ + ":" + std::to_string(seq);
  const std::string line = record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  auto w = write_all(fd_, line, file_);
  if (w && ::fsync(fd_) != 0) w = make_error(Errc::io, "fsync failed: " + errno_text(errno), file_.string());
  ::flock(fd_, LOCK_UN);
  if (!w) return tl::unexpected(w.error());
  records_.push_back(std::move(record));
  // The crash test hook (docs/jobs.md): die right after the N-th record is durable.
  if (crash_at_ > 0 && seq == static_cast<std::uint64_t>(crash_at_)) ::kill(::getpid(), SIGKILL);
  return seq;
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<RunLock> RunLock::acquire(const std::filesystem::path& state_dir, std::string_view run_id) {
  auto dir = runs_dir(state_dir, true);
  if (!dir) return tl::unexpected(dir.error());
  const auto file = *dir / (std::string(run_id) + ".lock");
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::io, "cannot open: " + errno_text(errno), file.string());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return make_error(Errc::lock_held, "another runner is running this job", file.string());
  }
  return RunLock(fd);
}

}  // namespace pf::runner::detail
