// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

/// What is installed on a host, as its package database records it.
namespace pf::inventory {

struct Package {
  std::string name;
  std::string arch;     ///< "amd64", "all", "x86_64", "noarch"
  std::string version;  ///< full version as the package manager prints it ("1:2.3-4", "2.3-4.el9")
  /// The source package and its version: dpkg's Source field (name, and a version in
  /// parentheses when it differs from the binary's), or the binary's own when absent; for rpm,
  /// the name of the source rpm and the binary's version-release.
  std::string source_name;
  std::string source_version;
};

struct Inventory {
  std::string host;       ///< host identity (name or id)
  std::string ecosystem;  ///< "Debian:12", "Ubuntu:22.04:LTS", "AlmaLinux:9", …
  std::string kernel;
  std::string arch;
  std::vector<Package> packages;
};

}  // namespace pf::inventory
