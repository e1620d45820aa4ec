// SPDX-License-Identifier: Apache-2.0
#include "patchflow/testing/data.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "patchflow/common/process.hpp"

namespace pf::testing {

namespace fs = std::filesystem;

fs::path shared_data_dir() {
  fs::path dir;
  if (const char* env = std::getenv("PF_SHARED_DATA"); env != nullptr && *env != '\0') {
    dir = env;
  } else {
    dir = PF_DEFAULT_SHARED_DATA;
  }
  if (!fs::is_directory(dir / "vectors")) {
    throw std::runtime_error("shared reference data not found at " + dir.string() +
                             " (expected ../shared/data beside the checkout, or set "
                             "PF_SHARED_DATA)");
  }
  return dir;
}

std::vector<VersionCase> load_version_cases(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  std::vector<VersionCase> cases;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 1 && line.starts_with("#")) continue;
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::size_t start = 0;
    for (;;) {
      auto tab = line.find('\t', start);
      cols.push_back(line.substr(start, tab == std::string::npos ? tab : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (cols.size() < 3 || (cols[2] != "-1" && cols[2] != "0" && cols[2] != "1")) {
      throw std::runtime_error(file.string() + ":" + std::to_string(lineno) +
                               ": expected A<TAB>B<TAB>-1|0|1");
    }
    cases.push_back({cols[0], cols[1], std::stoi(cols[2]), lineno});
  }
  return cases;
}

std::vector<std::string> load_lines(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  std::vector<std::string> lines;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first && line.starts_with("#")) {
      first = false;
      continue;
    }
    first = false;
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> debian_versions_from_apt_lists() {
  const fs::path lists = "/var/lib/apt/lists";
  std::vector<fs::path> files;
  if (fs::is_directory(lists)) {
    for (const auto& e : fs::directory_iterator(lists)) {
      const std::string name = e.path().filename().string();
      if (name.find("_Packages") != std::string::npos && !name.ends_with(".diff_Index")) {
        files.push_back(e.path());
      }
    }
  }
  if (files.empty()) {
    throw std::runtime_error(
        "no Debian package lists in /var/lib/apt/lists (run apt-get update; scripts/setup does)");
  }
  std::sort(files.begin(), files.end());
  std::set<std::string> versions;
  for (const auto& f : files) {
    process::Spec spec;
    spec.argv = {"/usr/lib/apt/apt-helper", "cat-file", f.string()};
    spec.max_capture = std::size_t{1} << 30;
    spec.timeout = std::chrono::minutes(2);
    auto out = process::run(spec);
    if (!out || !out->ok()) {
      throw std::runtime_error("apt-helper cat-file " + f.string() + " failed: " +
                               (out ? out->err : to_string(out.error())));
    }
    std::istringstream in(out->out);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("Version: ")) {
        versions.insert(line.substr(9));
      } else if (line.starts_with("Source: ")) {
        auto open = line.find(" (");
        auto close = line.rfind(')');
        if (open != std::string::npos && close != std::string::npos && close > open + 2) {
          versions.insert(line.substr(open + 2, close - open - 2));
        }
      }
    }
  }
  return {versions.begin(), versions.end()};
}

}  // namespace pf::testing
