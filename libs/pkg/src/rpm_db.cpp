// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg/rpm_db.hpp"

#include <array>
#include <system_error>

#include "files.hpp"
#include "patchflow/common/process.hpp"

namespace pf::pkg {

namespace {

using detail::at;

constexpr char kSep = '\x1f';
constexpr std::size_t kFields = 6;  // NAME EPOCH VERSION RELEASE ARCH SOURCERPM
constexpr std::string_view kNone = "(none)";

// Database files of rpm's backends: sqlite (rpm >= 4.16), Berkeley DB, ndb.
constexpr std::array<std::string_view, 3> kDbFiles{"rpmdb.sqlite", "Packages", "Packages.db"};

bool valid_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const auto uc = static_cast<unsigned char>(c);
    if (uc <= 0x20 || uc == 0x7f) return false;
  }
  return true;
}

bool all_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "name-version-release.src.rpm" (or .nosrc.rpm) → "name"; empty when it has not that shape.
std::string_view source_name_of(std::string_view srpm) noexcept {
  for (std::string_view suffix : {std::string_view(".src.rpm"), std::string_view(".nosrc.rpm")}) {
    if (srpm.size() > suffix.size() && srpm.ends_with(suffix)) {
      srpm.remove_suffix(suffix.size());
      const std::size_t rel = srpm.rfind('-');
      if (rel == std::string_view::npos || rel == 0) return {};
      const std::size_t ver = srpm.rfind('-', rel - 1);
      if (ver == std::string_view::npos || ver == 0 || ver + 1 == rel || rel + 1 == srpm.size()) {
        return {};
      }
      return srpm.substr(0, ver);
    }
  }
  return {};
}

std::string tail_of(const std::string& s, std::size_t n) {
  std::string_view v(s);
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  if (v.size() > n) v = v.substr(v.size() - n);
  return std::string(v);
}

}  // namespace

std::string rpm_query_format() {
  std::string f = "%{NAME}";
  for (const char* tag : {"%{EPOCH}", "%{VERSION}", "%{RELEASE}", "%{ARCH}", "%{SOURCERPM}"}) {
    f += kSep;
    f += tag;
  }
  f += "\\n";
  return f;
}

Result<std::vector<inventory::Package>> parse_rpm_query_output(std::string_view output,
                                                               std::string_view name) {
  std::vector<inventory::Package> packages;
  std::size_t pos = 0;
  std::size_t line = 0;
  while (pos < output.size()) {
    ++line;
    auto fail = [&](std::string message) {
      return make_error(Errc::backend_failed, std::move(message), at(name, line));
    };
    const std::size_t nl = output.find('\n', pos);
    if (nl == std::string_view::npos) return fail("the last line has no newline: output cut short");
    const std::string_view l = output.substr(pos, nl - pos);
    pos = nl + 1;

    std::array<std::string_view, kFields> f{};
    std::size_t count = 0;
    std::size_t start = 0;
    for (;;) {
      const std::size_t sep = l.find(kSep, start);
      if (count == kFields) {
        count = kFields + 1;
        break;
      }
      f[count++] = l.substr(start, sep == std::string_view::npos ? sep : sep - start);
      if (sep == std::string_view::npos) break;
      start = sep + 1;
    }
    if (count != kFields) {
      return fail("expected 6 fields (NAME EPOCH VERSION RELEASE ARCH SOURCERPM), got " +
                  std::string(count > kFields ? "more" : std::to_string(count)));
    }
    const auto [pname, epoch, version, release, arch, srpm] = f;
    if (pname == "gpg-pubkey") continue;  // imported signing keys, not packages
    static constexpr std::array<std::string_view, kFields> kNames{"NAME",    "EPOCH", "VERSION",
                                                                  "RELEASE", "ARCH",  "SOURCERPM"};
    for (std::size_t i = 0; i < kFields; ++i) {
      if (!valid_token(f[i])) {
        return fail(std::string(kNames[i]) + " '" + std::string(f[i]) +
                    "' is empty or contains white space or control bytes");
      }
    }
    if (epoch != kNone && !all_digits(epoch)) {
      return fail("package '" + std::string(pname) + "': EPOCH '" + std::string(epoch) +
                  "' is not a number");
    }
    if (version == kNone || release == kNone) {
      return fail("package '" + std::string(pname) + "' has no VERSION or RELEASE");
    }
    inventory::Package p;
    p.name = std::string(pname);
    p.arch = std::string(arch);
    std::string_view e = epoch == kNone ? std::string_view{} : epoch;
    while (e.size() > 1 && e.front() == '0') e.remove_prefix(1);
    if (!e.empty() && e != "0") {
      p.version.append(e);
      p.version += ':';
    }
    p.version.append(version);
    p.version += '-';
    p.version.append(release);
    if (srpm == kNone) {
      p.source_name = p.name;
    } else {
      const std::string_view src = source_name_of(srpm);
      if (src.empty()) {
        return fail("package '" + p.name + "': SOURCERPM '" + std::string(srpm) +
                    "' is not NAME-VERSION-RELEASE.src.rpm");
      }
      p.source_name = std::string(src);
    }
    p.source_version = p.version;
    packages.push_back(std::move(p));
  }
  return packages;
}

Result<std::vector<inventory::Package>> read_rpm_database(const std::filesystem::path& root_in,
                                                          const RpmQueryOptions& options) {
  std::error_code abs_ec;
  const std::filesystem::path root = std::filesystem::absolute(root_in, abs_ec);
  if (abs_ec) {
    return make_error(Errc::io, "cannot make the root absolute: " + abs_ec.message(),
                      root_in.string());
  }
  // rpm -qa on a root without a database creates an empty one and reports nothing: look first.
  const std::filesystem::path db = root / std::filesystem::path(options.dbpath).relative_path();
  bool found = false;
  for (auto file : kDbFiles) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(db / file, ec)) found = true;
  }
  if (!found) {
    return make_error(Errc::not_found,
                      "no rpm database (rpmdb.sqlite, Packages or Packages.db) in " + db.string(),
                      root.string());
  }
  process::Spec spec;
  spec.argv = {options.rpm,    "--root", root.string(), "--dbpath",
               options.dbpath, "-qa",    "--qf",        rpm_query_format()};
  spec.env = {"LC_ALL=C"};
  spec.timeout = options.timeout;
  spec.max_capture = options.max_output;
  auto run = process::run(spec);
  if (!run) {
    return make_error(run.error().code == Errc::not_found ? Errc::backend_failed : run.error().code,
                      "cannot run '" + options.rpm + "': " + run.error().message, options.rpm);
  }
  const std::string where = options.rpm + " --root " + root.string();
  if (run->timed_out) {
    return make_error(Errc::timeout,
                      "rpm did not finish within " + std::to_string(options.timeout.count()) +
                          " ms; stderr: " + tail_of(run->err, 512),
                      where);
  }
  if (run->exit_code != 0) {
    const std::string how = run->exit_code >= 0
                                ? "exited with status " + std::to_string(run->exit_code)
                                : "was killed by signal " + std::to_string(run->term_signal);
    return make_error(Errc::backend_failed, "rpm " + how + "; stderr: " + tail_of(run->err, 512),
                      where);
  }
  if (run->out_truncated) {
    return make_error(
        Errc::backend_failed,
        "rpm printed more than the limit of " + std::to_string(options.max_output) + " bytes",
        where);
  }
  return parse_rpm_query_output(run->out, where);
}

}  // namespace pf::pkg
