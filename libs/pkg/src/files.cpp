// SPDX-License-Identifier: Apache-2.0
#include "files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

namespace pf::pkg::detail {

namespace fs = std::filesystem;

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Lexically joins `rel` (relative, possibly with "..") to `base`, both inside the root; ".."
// at the top stays at the top, as the kernel does for "/..".
fs::path join_clamped(const fs::path& base, const fs::path& rel) {
  std::vector<fs::path> parts(base.begin(), base.end());
  for (const auto& part : rel) {
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (part != "." && !part.empty() && part != "/") {
      parts.push_back(part);
    }
  }
  fs::path out;
  for (const auto& p : parts) out /= p;
  return out;
}

}  // namespace

Result<std::string> read_at_most(const fs::path& file, std::size_t limit) {
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec || !fs::exists(status)) {
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
  char buf[65536];
  const std::size_t want_total = limit == static_cast<std::size_t>(-1) ? limit : limit + 1;
  while (data.size() < want_total) {
    const std::size_t want = std::min(sizeof buf, want_total - data.size());
    const std::size_t got = std::fread(buf, 1, want, f.get());
    data.append(buf, got);
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
  constexpr int kMaxLinks = 16;
  fs::path rel = join_clamped({}, fs::path(path));
  for (int hop = 0; hop <= kMaxLinks; ++hop) {
    const fs::path full = root / rel;
    std::error_code ec;
    const auto st = fs::symlink_status(full, ec);
    if (ec || !fs::exists(st)) {
      return make_error(Errc::not_found, "no such file", full.string());
    }
    if (!fs::is_symlink(st)) return full;
    const fs::path target = fs::read_symlink(full, ec);
    if (ec)
      return make_error(Errc::io, "cannot read symbolic link: " + ec.message(), full.string());
    rel = target.is_absolute() ? join_clamped({}, target.relative_path())
                               : join_clamped(rel.parent_path(), target);
  }
  return make_error(Errc::invalid_input, "too many levels of symbolic links",
                    (root / fs::path(path).relative_path()).string());
}

std::size_t line_of(std::string_view text, std::size_t offset) noexcept {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(
                 text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string at(std::string_view name, std::size_t line) {
  std::string out(name);
  out += ':';
  out += std::to_string(line);
  return out;
}

std::string byte_name(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned>(c));
  return buf;
}

}  // namespace pf::pkg::detail
