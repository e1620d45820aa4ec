// SPDX-License-Identifier: Apache-2.0
#include "patchflow/lab/tools.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string_view>
#include <system_error>

namespace pf::lab {

namespace fs = std::filesystem;

Result<std::string> find_tool(const std::string& program, const std::string& debian_package) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return make_error(
      Errc::not_found,
      program + " is not in PATH: install the Debian package '" + debian_package + "'", program);
}

Result<process::Outcome> run_checked(std::vector<std::string> argv, std::vector<std::string> env,
                                     std::string cwd) {
  PF_ASSERT(!argv.empty());
  env.insert(env.begin(), "LC_ALL=C");
  std::string command;
  for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
  auto r = process::run({.argv = argv,
                         .env = std::move(env),
                         .cwd = std::move(cwd),
                         .timeout = kToolTimeout,
                         .max_capture = std::size_t{64} << 20});
  if (!r) return make_error(r.error().code, command + ": " + r.error().message, argv[0]);
  if (r->timed_out) {
    return make_error(Errc::timeout,
                      command + ": timed out after " + std::to_string(kToolTimeout.count()) + " s",
                      argv[0]);
  }
  if (!r->ok()) {
    std::string why = r->exit_code >= 0 ? "exited with status " + std::to_string(r->exit_code)
                                        : "killed by signal " + std::to_string(r->term_signal);
    return make_error(Errc::backend_failed, command + ": " + why + ": " + r->err + r->out, argv[0]);
  }
  return *r;
}

Result<void> write_file(const fs::path& file, std::string_view data, fs::perms mode) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    return make_error(Errc::io, "cannot create directory: " + ec.message(), file.parent_path());
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) return make_error(Errc::io, "cannot write file", file.string());
  }
  fs::permissions(file, mode, fs::perm_options::replace, ec);
  if (ec) return make_error(Errc::io, "cannot set permissions: " + ec.message(), file.string());
  return {};
}

}  // namespace pf::lab
