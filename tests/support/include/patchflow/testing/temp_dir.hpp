// SPDX-License-Identifier: Apache-2.0
// A temporary directory for one test, removed with everything in it at the end of the test.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace pf::testing {

class TempDir {
 public:
  /// /tmp/<prefix>-XXXXXX
  explicit TempDir(std::string_view prefix = "pf-test") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  /// Writes `data` to `relative` (creating parent directories) and returns the full path.
  std::filesystem::path write(const std::filesystem::path& relative, std::string_view data) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
    return file;
  }

  /// Creates directory `relative` (and its parents) and returns the full path.
  std::filesystem::path mkdir(const std::filesystem::path& relative) const {
    const auto dir = path_ / relative;
    std::filesystem::create_directories(dir);
    return dir;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace pf::testing
