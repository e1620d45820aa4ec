// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent/reboot.hpp"

#include <fnmatch.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <system_error>

#include "files.hpp"
#include "patchflow/agent/facts.hpp"
#include "patchflow/common/process.hpp"
#include "patchflow/core/versions.hpp"

namespace pf::agent {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxFlagBytes = std::size_t{64} << 10;
constexpr std::size_t kMaxFlagLines = 64;
constexpr std::size_t kMaxFlagLine = 1024;
constexpr std::size_t kMaxPkgsBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxPkgs = 4096;
constexpr std::size_t kMaxPkgName = 256;

constexpr char kSep = '\x1f';
constexpr std::size_t kFields = 6;  // NAME EPOCH VERSION RELEASE ARCH INSTALLTIME
constexpr std::string_view kNone = "(none)";

// Database files of rpm's backends: sqlite (rpm >= 4.16), Berkeley DB, ndb.
constexpr std::array<std::string_view, 3> kDbFiles{"rpmdb.sqlite", "Packages", "Packages.db"};

// Architectures that end a kernel release string ("5.14.0-362.el9.x86_64").
constexpr std::array<std::string_view, 12> kArches{"x86_64",  "aarch64", "ppc64le", "ppc64",
                                                   "s390x",   "i686",    "i586",    "i386",
                                                   "armv7hl", "noarch",  "riscv64", "loongarch64"};

// Splits text into lines (the last one may lack its newline) and calls f(line, number); stops
// at the first error f returns.
template <class F>
Result<void> for_each_line(std::string_view text, F&& f) {
  std::size_t pos = 0;
  std::size_t line = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    if (auto r = f(text.substr(pos, nl - pos), line); !r) return r;
    pos = nl + 1;
  }
  return {};
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return ::fnmatch(p.c_str(), name.c_str(), 0) == 0;
  });
}

void add_once(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

std::string vra(const InstalledRpm& p) {
  std::string s;
  if (!p.epoch.empty() && p.epoch != "0") s = p.epoch + ":";
  return s + p.version + "-" + p.release + "." + p.arch;
}

// A flag file at `rel` inside the root: its resolved path, or nullopt when absent.
Result<std::optional<fs::path>> find_in_root(const fs::path& root, std::string_view rel) {
  auto p = detail::resolve_in_root(root, rel);
  if (!p) {
    if (p.error().code == Errc::not_found) return std::optional<fs::path>{};
    return tl::unexpected(p.error());
  }
  return std::optional<fs::path>(*p);
}

Result<RebootState> deb_reboot(const fs::path& root) {
  RebootState state;
  std::set<fs::path> seen;
  for (std::string_view rel : {"run/reboot-required", "var/run/reboot-required"}) {
    auto flag = find_in_root(root, rel);
    if (!flag) return tl::unexpected(flag.error());
    if (!*flag) continue;
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(**flag, ec);
    // var/run is usually a link to /run: the same file is read once.
    if (!seen.insert(ec ? **flag : canonical).second) continue;
    auto text = detail::read_at_most(**flag, kMaxFlagBytes);
    if (!text) return tl::unexpected(text.error());
    auto reasons = parse_reboot_required(*text, (*flag)->string());
    if (!reasons) return tl::unexpected(reasons.error());
    state.required = true;
    if (reasons->empty()) {
      add_once(state.reasons, "a reboot was requested (" + std::string(rel) + " exists)");
    }
    for (const auto& r : *reasons) add_once(state.reasons, r);

    auto pkgs_file = find_in_root(root, std::string(rel) + ".pkgs");
    if (!pkgs_file) return tl::unexpected(pkgs_file.error());
    if (!*pkgs_file) continue;
    auto pkgs_text = detail::read_at_most(**pkgs_file, kMaxPkgsBytes);
    if (!pkgs_text) return tl::unexpected(pkgs_text.error());
    auto pkgs = parse_reboot_required_pkgs(*pkgs_text, (*pkgs_file)->string());
    if (!pkgs) return tl::unexpected(pkgs.error());
    for (const auto& p : *pkgs) add_once(state.packages, p);
  }
  return state;
}

Result<RebootState> rpm_reboot(const RebootOptions& options) {
  std::error_code ec;
  const fs::path root = fs::absolute(options.root, ec);
  if (ec) {
    return make_error(Errc::io, "cannot make the root absolute: " + ec.message(),
                      options.root.string());
  }
  // rpm -qa on a root without a database creates an empty one and reports nothing: look first.
  const fs::path db = root / fs::path(options.dbpath).relative_path();
  const bool found = std::any_of(kDbFiles.begin(), kDbFiles.end(), [&](std::string_view f) {
    std::error_code e;
    return fs::is_regular_file(db / f, e);
  });
  if (!found) {
    return make_error(Errc::not_found,
                      "no rpm database (rpmdb.sqlite, Packages or Packages.db) in " + db.string(),
                      root.string());
  }

  std::string running;
  if (options.running_kernel) {
    running = *options.running_kernel;
  } else {
    struct utsname uts {};
    if (::uname(&uts) != 0) {
      return make_error(Errc::io, std::string("uname failed: ") + std::strerror(errno), "uname");
    }
    running = uts.release;
  }
  std::chrono::sys_seconds boot_time{};
  if (options.boot_time) {
    boot_time = *options.boot_time;
  } else {
    auto boot = read_boot_info(options.proc_dir, std::chrono::time_point_cast<std::chrono::seconds>(
                                                     std::chrono::system_clock::now()));
    if (!boot) return tl::unexpected(boot.error());
    boot_time = boot->boot_time;
  }

  process::Spec spec;
  spec.argv = {options.rpm,    "--root", root.string(), "--dbpath",
               options.dbpath, "-qa",    "--qf",        rpm_install_time_format()};
  spec.timeout = options.timeout;
  spec.max_capture = options.max_output;
  auto run = detail::run_tool(std::move(spec), options.rpm + " --root " + root.string());
  if (!run) return tl::unexpected(run.error());
  auto installed = parse_rpm_install_times(run->out, options.rpm + " --root " + root.string());
  if (!installed) return tl::unexpected(installed.error());
  return evaluate_rpm_reboot(*installed, running, boot_time, options);
}

}  // namespace

Result<std::vector<std::string>> parse_reboot_required(std::string_view text,
                                                       std::string_view name) {
  if (text.size() > kMaxFlagBytes) {
    return make_error(Errc::invalid_input,
                      "larger than " + std::to_string(kMaxFlagBytes) + " bytes", std::string(name));
  }
  std::vector<std::string> reasons;
  auto ok = for_each_line(text, [&](std::string_view raw, std::size_t line) -> Result<void> {
    const std::string_view l = detail::trim(raw);
    if (l.empty()) return {};
    if (l.size() > kMaxFlagLine) {
      return make_error(Errc::invalid_input,
                        "line longer than " + std::to_string(kMaxFlagLine) + " bytes",
                        detail::at(name, line));
    }
    if (detail::find_control(l) != std::string_view::npos) {
      return make_error(Errc::invalid_input, "control byte in line", detail::at(name, line));
    }
    if (reasons.size() >= kMaxFlagLines) {
      return make_error(Errc::invalid_input,
                        "more than " + std::to_string(kMaxFlagLines) + " lines",
                        detail::at(name, line));
    }
    add_once(reasons, std::string(l));
    return {};
  });
  if (!ok) return tl::unexpected(ok.error());
  return reasons;
}

Result<std::vector<std::string>> parse_reboot_required_pkgs(std::string_view text,
                                                            std::string_view name) {
  if (text.size() > kMaxPkgsBytes) {
    return make_error(Errc::invalid_input,
                      "larger than " + std::to_string(kMaxPkgsBytes) + " bytes", std::string(name));
  }
  std::vector<std::string> packages;
  std::set<std::string, std::less<>> seen;
  auto ok = for_each_line(text, [&](std::string_view raw, std::size_t line) -> Result<void> {
    const std::string_view l = detail::trim(raw);
    if (l.empty()) return {};
    for (char c : l) {
      const auto uc = static_cast<unsigned char>(c);
      if (uc <= 0x20 || uc == 0x7f) {
        return make_error(Errc::invalid_input, "a package name with white space or a control byte",
                          detail::at(name, line));
      }
    }
    if (l.size() > kMaxPkgName) {
      return make_error(Errc::invalid_input,
                        "package name longer than " + std::to_string(kMaxPkgName) + " bytes",
                        detail::at(name, line));
    }
    if (seen.contains(l)) return {};
    if (packages.size() >= kMaxPkgs) {
      return make_error(Errc::invalid_input,
                        "more than " + std::to_string(kMaxPkgs) + " package names",
                        detail::at(name, line));
    }
    seen.emplace(l);
    packages.emplace_back(l);
    return {};
  });
  if (!ok) return tl::unexpected(ok.error());
  return packages;
}

std::string rpm_install_time_format() {
  std::string f = "%{NAME}";
  for (const char* tag : {"%{EPOCH}", "%{VERSION}", "%{RELEASE}", "%{ARCH}", "%{INSTALLTIME}"}) {
    f += kSep;
    f += tag;
  }
  f += "\\n";
  return f;
}

Result<std::vector<InstalledRpm>> parse_rpm_install_times(std::string_view output,
                                                          std::string_view name) {
  std::vector<InstalledRpm> packages;
  if (!output.empty() && output.back() != '\n') {
    return make_error(Errc::backend_failed, "the last line has no newline: output cut short",
                      detail::at(name, static_cast<std::size_t>(
                                           std::count(output.begin(), output.end(), '\n') + 1)));
  }
  auto ok = for_each_line(output, [&](std::string_view l, std::size_t line) -> Result<void> {
    auto fail = [&](std::string message) {
      return make_error(Errc::backend_failed, std::move(message), detail::at(name, line));
    };
    std::array<std::string_view, kFields> f{};
    std::size_t count = 0;
    std::size_t start = 0;
    for (;;) {
      const std::size_t sep = l.find(kSep, start);
      if (count == kFields) {
        ++count;
        break;
      }
      f[count++] = l.substr(start, sep == std::string_view::npos ? sep : sep - start);
      if (sep == std::string_view::npos) break;
      start = sep + 1;
    }
    if (count != kFields) {
      return fail("expected 6 fields (NAME EPOCH VERSION RELEASE ARCH INSTALLTIME), got " +
                  std::string(count > kFields ? "more" : std::to_string(count)));
    }
    static constexpr std::array<std::string_view, kFields> kNames{
        "NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "INSTALLTIME"};
    for (std::size_t i = 0; i < kFields; ++i) {
      bool bad = f[i].empty();
      for (char c : f[i]) {
        const auto uc = static_cast<unsigned char>(c);
        bad = bad || uc <= 0x20 || uc == 0x7f;
      }
      if (bad) {
        return fail(std::string(kNames[i]) + " '" + std::string(f[i].substr(0, 64)) +
                    "' is empty or contains white space or control bytes");
      }
    }
    const auto [pname, epoch, version, release, arch, itime] = f;
    InstalledRpm p;
    p.name = std::string(pname);
    if (epoch != kNone) {
      if (!std::all_of(epoch.begin(), epoch.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return fail("package '" + p.name + "': EPOCH '" + std::string(epoch) + "' is not a number");
      }
      p.epoch = std::string(epoch);
    }
    if (version == kNone || release == kNone) {
      return fail("package '" + p.name + "' has no VERSION or RELEASE");
    }
    p.version = std::string(version);
    p.release = std::string(release);
    p.arch = std::string(arch);
    std::int64_t t = 0;
    const auto [end, ec] = std::from_chars(itime.data(), itime.data() + itime.size(), t);
    if (ec != std::errc() || end != itime.data() + itime.size() || t < 0) {
      return fail("package '" + p.name + "': INSTALLTIME '" + std::string(itime) +
                  "' is not a number of seconds");
    }
    p.install_time = std::chrono::sys_seconds(std::chrono::seconds(t));
    packages.push_back(std::move(p));
    return {};
  });
  if (!ok) return tl::unexpected(ok.error());
  return packages;
}

RebootState evaluate_rpm_reboot(const std::vector<InstalledRpm>& installed,
                                std::string_view running_kernel, std::chrono::sys_seconds boot_time,
                                const RebootOptions& options) {
  RebootState state;

  // (a) The kernel a reboot would start is the newest installed one.
  const InstalledRpm* newest = nullptr;
  auto evr = [](const InstalledRpm& p) {
    return versions::RpmEvr{p.epoch, p.version, p.release, true};
  };
  for (const auto& p : installed) {
    if (std::find(options.kernel_packages.begin(), options.kernel_packages.end(), p.name) ==
        options.kernel_packages.end()) {
      continue;
    }
    if (newest == nullptr || versions::compare(evr(p), evr(*newest)) > 0) newest = &p;
  }
  if (newest != nullptr) {
    // uname -r is VERSION-RELEASE.ARCH, with "+debug" (or another variant) for kernel flavours.
    std::string_view running = running_kernel;
    if (const auto plus = running.find('+'); plus != std::string_view::npos) {
      running = running.substr(0, plus);
    }
    if (const auto dot = running.rfind('.'); dot != std::string_view::npos) {
      const std::string_view tail = running.substr(dot + 1);
      if (tail == newest->arch ||
          std::find(kArches.begin(), kArches.end(), tail) != kArches.end()) {
        running = running.substr(0, dot);
      }
    }
    bool same = false;
    if (auto r = versions::parse_rpm_evr(running); r && r->has_release) {
      same = versions::compare(*r, evr(*newest)) == 0;
    }
    if (!same) {
      state.required = true;
      state.reasons.push_back("running kernel " + std::string(running_kernel) +
                              ", newest installed " + vra(*newest) + " (" + newest->name + ")");
      add_once(state.packages, newest->name);
    }
  }

  // (b) Core packages installed after the boot: the latest install time of each name.
  std::map<std::string, std::chrono::sys_seconds> latest;
  std::vector<std::string> order;
  for (const auto& p : installed) {
    if (p.install_time <= boot_time) continue;
    if (!matches_any(options.core_packages, p.name) ||
        matches_any(options.not_core_packages, p.name)) {
      continue;
    }
    auto [it, inserted] = latest.emplace(p.name, p.install_time);
    if (inserted) {
      order.push_back(p.name);
    } else {
      it->second = std::max(it->second, p.install_time);
    }
  }
  for (const auto& n : order) {
    state.required = true;
    state.reasons.push_back(n + " updated since boot (installed " + detail::rfc3339(latest[n]) +
                            ")");
    add_once(state.packages, n);
  }
  return state;
}

Result<PackageFamily> detect_family(const fs::path& root, std::string_view dbpath) {
  auto status = find_in_root(root, "var/lib/dpkg/status");
  if (!status) return tl::unexpected(status.error());
  if (*status) return PackageFamily::deb;
  auto db = find_in_root(root, dbpath);
  if (!db) return tl::unexpected(db.error());
  if (*db) return PackageFamily::rpm;
  return make_error(Errc::not_found,
                    "cannot tell the package family: neither var/lib/dpkg/status nor " +
                        std::string(fs::path(dbpath).relative_path().string()) +
                        " exists in the root",
                    root.string());
}

Result<RebootState> reboot_required(const RebootOptions& options) {
  PackageFamily family = options.family;
  if (family == PackageFamily::detect) {
    auto f = detect_family(options.root, options.dbpath);
    if (!f) return tl::unexpected(f.error());
    family = *f;
  }
  if (family == PackageFamily::deb) return deb_reboot(options.root);
  return rpm_reboot(options);
}

}  // namespace pf::agent
