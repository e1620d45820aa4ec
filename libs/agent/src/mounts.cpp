// SPDX-License-Identifier: Apache-2.0
#include "mounts.hpp"

#include <sys/statvfs.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <system_error>

#include "files.hpp"

namespace pf::agent {

namespace {

constexpr std::size_t kMaxMountsBytes = std::size_t{16} << 20;
constexpr std::size_t kMaxMountLines = 100000;
constexpr std::size_t kMaxMountLine = 16384;

bool is_octal(char c) noexcept {
  return c >= '0' && c <= '7';
}

bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

}  // namespace

std::string unescape_mount_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) &&
        is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      const int v = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
      if (v <= 0xff) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

Result<std::vector<MountEntry>> parse_mounts(std::string_view text, std::string_view name) {
  std::vector<MountEntry> entries;
  std::size_t pos = 0;
  std::size_t line = 0;
  while (pos < text.size()) {
    ++line;
    if (line > kMaxMountLines) {
      return make_error(Errc::invalid_input,
                        "more than " + std::to_string(kMaxMountLines) + " lines",
                        detail::at(name, line));
    }
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view l = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (l.size() > kMaxMountLine) {
      return make_error(Errc::invalid_input,
                        "line longer than " + std::to_string(kMaxMountLine) + " bytes",
                        detail::at(name, line));
    }
    std::array<std::string_view, 4> f{};
    std::size_t count = 0;
    std::size_t i = 0;
    while (i < l.size()) {
      while (i < l.size() && is_blank(l[i])) ++i;
      if (i == l.size()) break;
      const std::size_t start = i;
      while (i < l.size() && !is_blank(l[i])) ++i;
      if (count < f.size()) f[count] = l.substr(start, i - start);
      ++count;
    }
    if (count == 0) continue;
    if (count < 4) {
      return make_error(Errc::invalid_input,
                        "expected at least 4 fields (device, mount point, type, options), got " +
                            std::to_string(count),
                        detail::at(name, line));
    }
    if (const std::size_t c = detail::find_control(l); c != std::string_view::npos) {
      return make_error(Errc::invalid_input, "control byte in line", detail::at(name, line));
    }
    MountEntry e;
    e.device = unescape_mount_field(f[0]);
    e.mount_point = unescape_mount_field(f[1]);
    e.fs_type = unescape_mount_field(f[2]);
    e.options = std::string(f[3]);
    if (e.mount_point.empty() || e.mount_point.front() != '/') {
      return make_error(Errc::invalid_input,
                        "mount point '" + e.mount_point + "' is not an absolute path",
                        detail::at(name, line));
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

bool is_pseudo_fs(std::string_view t) noexcept {
  static constexpr std::string_view kPseudo[] = {
      "proc",       "sysfs",       "devpts",    "devtmpfs",   "mqueue",      "debugfs",
      "tracefs",    "securityfs",  "pstore",    "bpf",        "autofs",      "fusectl",
      "configfs",   "binfmt_misc", "hugetlbfs", "nsfs",       "efivarfs",    "selinuxfs",
      "rpc_pipefs", "ramfs",       "nfsd",      "fuse.lxcfs", "fuse.portal", "fuse.gvfsd-fuse",
      "cpuset",     "rootfs",      "sockfs",    "pipefs",     "anon_inodefs"};
  if (t.starts_with("cgroup")) return true;  // cgroup, cgroup2
  for (auto p : kPseudo) {
    if (t == p) return true;
  }
  return false;
}

namespace detail {

namespace {

// True when `path` is `dir` or lies below it (both absolute, normalised, no trailing '/').
bool is_within(std::string_view path, std::string_view dir) noexcept {
  if (dir == "/") return true;
  if (!path.starts_with(dir)) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

std::string strip_trailing_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Result<std::vector<MountFacts>> collect_mounts(const std::filesystem::path& root,
                                               const std::filesystem::path& mounts_file,
                                               std::vector<std::string>& warnings) {
  auto text = read_at_most(mounts_file, kMaxMountsBytes);
  if (!text) {
    Error e = text.error();
    e.message = "cannot read the mount table: " + e.message;
    return tl::unexpected(std::move(e));
  }
  if (text->size() > kMaxMountsBytes) {
    return make_error(Errc::invalid_input,
                      "mount table larger than " + std::to_string(kMaxMountsBytes) + " bytes",
                      mounts_file.string());
  }
  auto entries = parse_mounts(*text, mounts_file.string());
  if (!entries) return tl::unexpected(entries.error());

  // The last mount on a mount point is the one on top, the one a path lookup reaches.
  std::vector<MountEntry> visible;
  std::map<std::string, std::size_t> index;
  for (auto& e : *entries) {
    e.mount_point = strip_trailing_slash(std::move(e.mount_point));
    auto [it, inserted] = index.emplace(e.mount_point, visible.size());
    if (inserted) {
      visible.push_back(std::move(e));
    } else {
      visible[it->second] = std::move(e);
    }
  }

  struct Wanted {
    std::string path;  // where to statvfs
    std::string shown;
    const MountEntry* entry;
  };
  std::vector<Wanted> wanted;
  if (is_host_root(root)) {
    for (const auto& e : visible) wanted.push_back({e.mount_point, e.mount_point, &e});
  } else {
    std::error_code ec;
    const std::string r = strip_trailing_slash(
        std::filesystem::weakly_canonical(std::filesystem::absolute(root, ec), ec).string());
    if (ec) {
      return make_error(Errc::io, "cannot resolve the root: " + ec.message(), root.string());
    }
    const MountEntry* holder = nullptr;
    for (const auto& e : visible) {
      if (is_within(r, e.mount_point) &&
          (holder == nullptr || e.mount_point.size() >= holder->mount_point.size())) {
        holder = &e;
      }
    }
    if (holder == nullptr) {
      warnings.push_back("no mount in " + mounts_file.string() + " holds the root " + r);
    }
    wanted.push_back({r, "/", holder});
    for (const auto& e : visible) {
      if (e.mount_point.size() > r.size() && is_within(e.mount_point, r)) {
        wanted.push_back({e.mount_point, e.mount_point.substr(r.size()), &e});
      }
    }
  }

  std::vector<MountFacts> out;
  for (const auto& w : wanted) {
    if (w.entry != nullptr && is_pseudo_fs(w.entry->fs_type)) continue;
    struct statvfs st {};
    if (::statvfs(w.path.c_str(), &st) != 0) {
      warnings.push_back("statvfs " + w.path + ": " + std::strerror(errno));
      continue;
    }
    MountFacts m;
    m.mount_point = w.shown;
    if (w.entry != nullptr) {
      m.fs_type = w.entry->fs_type;
      m.device = w.entry->device;
    }
    const std::uint64_t frsize = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
    m.total_bytes = static_cast<std::uint64_t>(st.f_blocks) * frsize;
    m.available_bytes = static_cast<std::uint64_t>(st.f_bavail) * frsize;
    m.total_inodes = st.f_files;
    m.available_inodes = st.f_favail;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace detail

}  // namespace pf::agent
