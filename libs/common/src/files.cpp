// SPDX-License-Identifier: Apache-2.0
#include "patchflow/common/files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <system_error>
#include <vector>

namespace pf::files {

namespace fs = std::filesystem;

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

}  // namespace

Result<std::string> read_at_most(const fs::path& file, std::size_t limit) {
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec || !fs::exists(status)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return make_error(Errc::io, "cannot read: " + ec.message(), file.string());
    }
    return make_error(Errc::not_found, "no such file", file.string());
  }
  if (fs::is_directory(status)) {
    return make_error(Errc::io, "is a directory, not a file", file.string());
  }
  FilePtr f(std::fopen(file.c_str(), "rb"));
  if (!f) {
    const int e = errno;
    return make_error(e == ENOENT ? Errc::not_found : Errc::io,
                      std::string("cannot open: ") + std::strerror(e), file.string());
  }
  std::string data;
  std::vector<char> buf(65536);
  const std::size_t want_total =
      limit == std::numeric_limits<std::size_t>::max() ? limit : limit + 1;
  while (data.size() < want_total) {
    const std::size_t want = std::min(buf.size(), want_total - data.size());
    const std::size_t got = std::fread(buf.data(), 1, want, f.get());
    data.append(buf.data(), got);
    if (got < want) {
      if (std::ferror(f.get()) != 0) {
        return make_error(Errc::io, std::string("read failed: ") + std::strerror(errno),
                          file.string());
      }
      break;
    }
  }
  return data;
}

Result<fs::path> resolve_in_root(const fs::path& root, std::string_view path) {
  constexpr int kMaxLinks = 32;
  // Components still to walk (last one first), and the resolved ones so far, relative to root.
  std::vector<fs::path> todo;
  for (const auto& part : fs::path(path).relative_path()) todo.push_back(part);
  std::reverse(todo.begin(), todo.end());
  std::vector<fs::path> done;
  int links = 0;
  while (!todo.empty()) {
    const fs::path part = todo.back();
    todo.pop_back();
    if (part == "." || part.empty()) continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    fs::path full = root;
    for (const auto& d : done) full /= d;
    full /= part;
    std::error_code ec;
    const auto st = fs::symlink_status(full, ec);
    if (ec || !fs::exists(st)) return make_error(Errc::not_found, "no such file", full.string());
    if (!fs::is_symlink(st)) {
      done.push_back(part);
      continue;
    }
    if (++links > kMaxLinks) {
      return make_error(Errc::invalid_input, "too many levels of symbolic links", full.string());
    }
    const fs::path target = fs::read_symlink(full, ec);
    if (ec) {
      return make_error(Errc::io, "cannot read symbolic link: " + ec.message(), full.string());
    }
    if (target.is_absolute()) done.clear();
    // The target's components are walked next: they may hold links themselves.
    std::vector<fs::path> parts;
    for (const auto& p : target.relative_path()) parts.push_back(p);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
  }
  fs::path out = root;
  for (const auto& d : done) out /= d;
  return out;
}

bool is_host_root(const fs::path& root) {
  if (root.empty()) return false;
  const fs::path n = root.lexically_normal();
  return n == "/" || n == "//";
}

std::string at_line(std::string_view name, std::size_t line) {
  std::string out(name);
  out += ':';
  out += std::to_string(line);
  return out;
}

}  // namespace pf::files
