// SPDX-License-Identifier: Apache-2.0
#include <system_error>

#include "patchflow/pkg_apt/apt_backend.hpp"

namespace pf::pkg::apt {

namespace fs = std::filesystem;

namespace {

std::string absolute_root(const fs::path& root) {
  std::error_code ec;
  fs::path abs = fs::absolute(root, ec);
  if (ec) abs = root;
  std::string r = abs.lexically_normal().string();
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r;
}

}  // namespace

bool is_system_root(const fs::path& root) {
  if (root.empty()) return false;
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(root, ec);
  if (ec) return absolute_root(root) == "/";
  return canonical == "/";
}

std::vector<std::string> root_dpkg_args(const fs::path& root, const std::string& dpkg) {
  if (is_system_root(root)) return {dpkg};
  const std::string r = absolute_root(root);
  return {dpkg,
          "--root=" + r,
          "--force-not-root",
          "--force-bad-path",
          "--force-script-chrootless",
          "--log=" + r + "/var/log/dpkg.log"};
}

std::vector<std::string> root_apt_args(const fs::path& root, const std::string& program) {
  if (is_system_root(root)) return {program};
  const std::string r = absolute_root(root);
  return {program,
          "-o",
          "Dir=" + r + "/",
          "-o",
          "Dir::State::status=" + r + "/var/lib/dpkg/status",
          "-o",
          "DPkg::Options::=--root=" + r,
          "-o",
          "DPkg::Options::=--force-not-root",
          "-o",
          "DPkg::Options::=--force-bad-path",
          "-o",
          "DPkg::Options::=--force-script-chrootless",
          "-o",
          "DPkg::Options::=--log=" + r + "/var/log/dpkg.log",
          "-o",
          "APT::Sandbox::User=root",
          "-o",
          "Debug::NoLocking=0",
          "-o",
          "Dpkg::Use-Pty=0"};
}

std::vector<std::string> root_apt_env(const fs::path& root) {
  if (is_system_root(root)) return {};
  return {"APT_CONFIG=" + absolute_root(root) + "/etc/apt/apt.conf"};
}

}  // namespace pf::pkg::apt
