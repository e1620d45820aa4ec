// SPDX-License-Identifier: Apache-2.0
// Package-manager locks are fcntl record locks (dpkg's lock and lock-frontend, rpm's .rpm.lock).
// We only look: F_GETLK reports a conflicting holder without taking anything, so waiting never
// disturbs the other run and a lock is never broken.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "patchflow/pkg/backend_support.hpp"

namespace pf::pkg {

namespace {

struct Fd {
  int fd{-1};
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string comm_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace

Result<std::optional<LockHolder>> lock_holder(const std::filesystem::path& file) {
  Fd f;
  // O_RDWR is what F_GETLK of a write lock needs on some file systems; never O_CREAT: a lock
  // file that does not exist is free, and creating one in someone's root is not ours to do.
  f.fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (f.fd < 0 && errno == EACCES) f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f.fd < 0) {
    if (errno == ENOENT) return std::optional<LockHolder>{};
    return make_error(Errc::io, std::string("cannot open lock file: ") + std::strerror(errno),
                      file.string());
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  if (::fcntl(f.fd, F_GETLK, &fl) != 0)
    return make_error(Errc::io, std::string("cannot test lock: ") + std::strerror(errno),
                      file.string());
  if (fl.l_type == F_UNLCK) return std::optional<LockHolder>{};
  LockHolder holder;
  holder.pid = fl.l_pid;
  holder.command = comm_of(fl.l_pid);
  return std::optional<LockHolder>{std::move(holder)};
}

Result<void> wait_for_locks(const std::vector<std::filesystem::path>& files,
                            std::chrono::milliseconds timeout, std::chrono::milliseconds poll) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const std::filesystem::path* busy = nullptr;
    std::optional<LockHolder> holder;
    for (const auto& f : files) {
      auto h = lock_holder(f);
      if (!h) return tl::unexpected(h.error());
      if (*h) {
        busy = &f;
        holder = std::move(*h);
        break;
      }
    }
    if (!busy) return {};
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      std::string who = "process " + std::to_string(holder->pid);
      if (!holder->command.empty()) who += " (" + holder->command + ")";
      return make_error(
          Errc::lock_held,
          "the package manager lock is held by " + who + "; waited " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
              " s. Another package-manager run is in progress: wait for it to finish (the lock "
              "is never broken)",
          busy->string());
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(poll, deadline - now));
  }
}

}  // namespace pf::pkg
