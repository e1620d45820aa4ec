// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent/facts.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "files.hpp"
#include "mounts.hpp"
#include "patchflow/pkg/os_release.hpp"

namespace pf::agent {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxUptimeBytes = 4096;
constexpr std::size_t kMaxStatBytes = std::size_t{16} << 20;
constexpr std::size_t kMaxBootIdBytes = 4096;
constexpr std::size_t kMaxHostnameFileBytes = 4096;
constexpr std::size_t kMaxHostname = 253;

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A run of decimal digits as a non-negative int64; nullopt when empty, not all digits or too big.
std::optional<std::int64_t> to_int64(std::string_view digits) noexcept {
  // from_chars takes a leading '-' for a signed type ("-0" would read as 0).
  if (digits.empty() || digits.front() < '0' || digits.front() > '9') return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v < 0) return std::nullopt;
  return v;
}

Result<std::string> host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) {
    return make_error(Errc::io, std::string("gethostname failed: ") + std::strerror(errno),
                      "hostname");
  }
  return std::string(buf);
}

// ROOT/etc/hostname's name (first line that is not empty or a comment), or nullopt when the
// file is absent or holds no name.
Result<std::optional<std::string>> root_hostname(const fs::path& root) {
  auto file = detail::resolve_in_root(root, "etc/hostname");
  if (!file) {
    if (file.error().code == Errc::not_found) return std::optional<std::string>{};
    return tl::unexpected(file.error());
  }
  auto text = detail::read_at_most(*file, kMaxHostnameFileBytes);
  if (!text) return tl::unexpected(text.error());
  if (text->size() > kMaxHostnameFileBytes) {
    return make_error(Errc::invalid_input,
                      "larger than " + std::to_string(kMaxHostnameFileBytes) + " bytes",
                      file->string());
  }
  std::string_view rest(*text);
  std::size_t line = 0;
  while (!rest.empty()) {
    ++line;
    std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) nl = rest.size();
    const std::string_view l = detail::trim(rest.substr(0, nl));
    rest.remove_prefix(std::min(nl + 1, rest.size()));
    if (l.empty() || l.front() == '#') continue;
    bool bad = l.size() > kMaxHostname;
    for (char c : l) {
      const auto uc = static_cast<unsigned char>(c);
      if (uc <= 0x20 || uc == 0x7f) bad = true;
    }
    if (bad) {
      return make_error(Errc::invalid_input,
                        "not a host name (at most 253 bytes, no white space or control bytes)",
                        detail::at(file->string(), line));
    }
    return std::optional<std::string>(std::string(l));
  }
  return std::optional<std::string>{};
}

}  // namespace

Result<std::chrono::seconds> parse_proc_uptime(std::string_view text, std::string_view name) {
  const std::string_view t = detail::trim(text);
  const std::size_t end = t.find_first_of(" \t");
  const std::string_view first = t.substr(0, end);
  const std::size_t dot = first.find('.');
  const std::string_view whole = first.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : first.substr(dot + 1);
  const auto v = to_int64(whole);
  bool ok = v.has_value() && whole.size() <= 18;
  for (char c : frac) ok = ok && c >= '0' && c <= '9';
  if (!ok) {
    return make_error(Errc::invalid_input,
                      "expected the uptime in seconds (\"12345.67 ...\"), got '" +
                          std::string(first.substr(0, 64)) + "'",
                      std::string(name));
  }
  return std::chrono::seconds(*v);
}

Result<std::chrono::sys_seconds> parse_proc_stat_btime(std::string_view text,
                                                       std::string_view name) {
  std::size_t pos = 0;
  std::size_t line = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view l = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!l.starts_with("btime ")) continue;
    const std::string_view value = detail::trim(l.substr(6));
    const auto v = to_int64(value);
    if (!v || value.size() > 18) {
      return make_error(Errc::invalid_input,
                        "btime '" + std::string(value.substr(0, 64)) + "' is not a number",
                        detail::at(name, line));
    }
    return std::chrono::sys_seconds(std::chrono::seconds(*v));
  }
  return make_error(Errc::not_found, "no btime line", std::string(name));
}

Result<std::string> parse_boot_id(std::string_view text, std::string_view name) {
  std::string_view t = text;
  if (t.ends_with('\n')) t.remove_suffix(1);
  bool ok = t.size() == 36;
  for (std::size_t i = 0; ok && i < t.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash ? t[i] == '-' : is_hex(t[i]);
  }
  if (!ok) {
    std::string shown(t.substr(0, 64));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return make_error(Errc::invalid_input,
                      "the boot id is not a UUID (8-4-4-4-12 hex digits): '" + shown + "'",
                      std::string(name));
  }
  std::string id(t);
  for (char& c : id) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return id;
}

Result<BootInfo> read_boot_info(const fs::path& proc_dir, std::chrono::sys_seconds now) {
  std::optional<std::chrono::seconds> uptime;
  std::optional<std::chrono::sys_seconds> boot;

  const fs::path uptime_file = proc_dir / "uptime";
  auto u = detail::read_at_most(uptime_file, kMaxUptimeBytes);
  if (u) {
    if (u->size() > kMaxUptimeBytes) {
      return make_error(Errc::invalid_input, "larger than 4096 bytes", uptime_file.string());
    }
    auto v = parse_proc_uptime(*u, uptime_file.string());
    if (!v) return tl::unexpected(v.error());
    uptime = *v;
  } else if (u.error().code != Errc::not_found) {
    return tl::unexpected(u.error());
  }

  const fs::path stat_file = proc_dir / "stat";
  auto s = detail::read_at_most(stat_file, kMaxStatBytes);
  if (s) {
    if (s->size() > kMaxStatBytes) {
      return make_error(Errc::invalid_input, "larger than 16 MiB", stat_file.string());
    }
    auto b = parse_proc_stat_btime(*s, stat_file.string());
    if (b) {
      boot = *b;
    } else if (b.error().code != Errc::not_found) {
      return tl::unexpected(b.error());
    }
  } else if (s.error().code != Errc::not_found) {
    return tl::unexpected(s.error());
  }

  if (!uptime && !boot) {
    return make_error(Errc::not_found,
                      "neither " + uptime_file.string() + " nor a btime line in " +
                          stat_file.string() + ": the uptime and boot time are unknown",
                      proc_dir.string());
  }
  BootInfo info;
  info.uptime = uptime ? *uptime : std::max(std::chrono::seconds(0), now - *boot);
  info.boot_time = boot ? *boot : now - *uptime;
  return info;
}

Result<OsFacts> collect_facts(const FactsOptions& options) {
  OsFacts facts;
  const fs::path& root = options.root;

  auto os = pkg::read_os_release(root);
  if (!os) {
    Error e = os.error();
    if (e.code == Errc::not_found) {
      e.message = "no os-release in the root: neither " + (root / "etc/os-release").string() +
                  " nor " + (root / "usr/lib/os-release").string() + " exists";
    } else {
      e.message = "os-release: " + e.message;
    }
    return tl::unexpected(std::move(e));
  }
  facts.os_id = os->id;
  facts.os_version_id = os->version_id;
  facts.os_pretty_name = os->pretty_name;
  facts.ecosystem = os->ecosystem;

  struct utsname uts {};
  const bool need_uname = !options.kernel_release || !options.kernel_version || !options.machine;
  if (need_uname && ::uname(&uts) != 0) {
    return make_error(Errc::io, std::string("uname failed: ") + std::strerror(errno), "uname");
  }
  facts.kernel_release = options.kernel_release ? *options.kernel_release : uts.release;
  facts.kernel_version = options.kernel_version ? *options.kernel_version : uts.version;
  facts.arch = options.machine ? *options.machine : uts.machine;

  if (options.hostname) {
    facts.hostname = *options.hostname;
  } else {
    std::optional<std::string> from_root;
    if (!detail::is_host_root(root)) {
      auto h = root_hostname(root);
      if (!h) return tl::unexpected(h.error());
      from_root = std::move(*h);
    }
    if (from_root) {
      facts.hostname = std::move(*from_root);
    } else {
      auto h = host_name();
      if (!h) return tl::unexpected(h.error());
      facts.hostname = std::move(*h);
    }
  }

  auto id_text = detail::read_at_most(options.boot_id_file, kMaxBootIdBytes);
  if (!id_text) {
    return make_error(id_text.error().code, "cannot read the boot id: " + id_text.error().message,
                      options.boot_id_file.string());
  }
  auto id = parse_boot_id(*id_text, options.boot_id_file.string());
  if (!id) return tl::unexpected(id.error());
  facts.boot_id = std::move(*id);

  const auto now =
      options.now
          ? *options.now
          : std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  auto boot = read_boot_info(options.proc_dir, now);
  if (!boot) return tl::unexpected(boot.error());
  facts.uptime = boot->uptime;
  facts.boot_time = boot->boot_time;

  auto mounts = detail::collect_mounts(root, options.mounts_file, facts.warnings);
  if (!mounts) return tl::unexpected(mounts.error());
  facts.mounts = std::move(*mounts);
  return facts;
}

}  // namespace pf::agent
