// SPDX-License-Identifier: Apache-2.0
#include "patchflow/runner/reboot.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "patchflow/common/process.hpp"

namespace pf::runner {
namespace {

class SystemReboot final : public RebootProvider {
 public:
  std::string_view name() const noexcept override { return "system"; }
  Result<void> reboot(std::string_view reason) override {
    auto argv = system_reboot_command(systemd_running(), reason);
    auto r = process::run({.argv = argv, .timeout = std::chrono::seconds(60), .max_capture = 8192});
    if (!r) return tl::unexpected(r.error());
    if (!r->ok()) {
      return make_error(Errc::backend_failed, "the reboot was refused: " + r->err, argv[0]);
    }
    return {};
  }
};

std::string random_uuid() {
  unsigned char b[16];
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
    for (auto& c : b) c = static_cast<unsigned char>(std::rand());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

class LabReboot final : public RebootProvider {
 public:
  LabReboot(std::filesystem::path boot_id_file, std::filesystem::path root,
            std::vector<std::string> argv)
      : boot_id_file_(std::move(boot_id_file)), root_(std::move(root)), argv_(std::move(argv)) {}
  std::string_view name() const noexcept override { return "lab"; }
  Result<void> reboot(std::string_view reason) override {
    if (argv_.empty()) return make_error(Errc::invalid_input, "no argv to restart with", "lab reboot");
    // The new boot id, written atomically and durably before the restart.
    const auto tmp = boot_id_file_.string() + ".tmp";
    {
      const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return make_error(Errc::io, std::string("cannot write: ") + std::strerror(errno), tmp);
      const std::string id = random_uuid() + "\n";
      const bool ok = ::write(fd, id.data(), id.size()) == static_cast<ssize_t>(id.size()) &&
                      ::fsync(fd) == 0;
      ::close(fd);
      if (!ok || ::rename(tmp.c_str(), boot_id_file_.c_str()) != 0) {
        return make_error(Errc::io, std::string("cannot write: ") + std::strerror(errno),
                          boot_id_file_.string());
      }
    }
    // A boot empties /run: the flag files of the last install are gone.
    std::error_code ec;
    std::filesystem::remove(root_ / "run/reboot-required", ec);
    std::filesystem::remove(root_ / "run/reboot-required.pkgs", ec);
    std::fprintf(stderr, "patchflow-agent: lab reboot (%.*s): restarting\n",
                 static_cast<int>(reason.size()), reason.data());
    std::fflush(stderr);
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv("/proc/self/exe", args.data());
    return make_error(Errc::io, std::string("cannot restart: ") + std::strerror(errno), "/proc/self/exe");
  }

 private:
  std::filesystem::path boot_id_file_;
  std::filesystem::path root_;
  std::vector<std::string> argv_;
};

}  // namespace

std::vector<std::string> system_reboot_command(bool systemd, std::string_view reason) {
  const std::string why = reason.empty() ? std::string("patchflow job") : std::string(reason);
  if (systemd) return {"systemctl", "reboot", "--message=" + why};
  return {"shutdown", "-r", "+1", why};
}

bool systemd_running(const std::filesystem::path& run_dir) {
  std::error_code ec;
  return std::filesystem::is_directory(run_dir / "systemd/system", ec);
}

std::unique_ptr<RebootProvider> make_system_reboot() { return std::make_unique<SystemReboot>(); }

std::unique_ptr<RebootProvider> make_lab_reboot(std::filesystem::path boot_id_file,
                                                std::filesystem::path root,
                                                std::vector<std::string> argv) {
  return std::make_unique<LabReboot>(std::move(boot_id_file), std::move(root), std::move(argv));
}

}  // namespace pf::runner
