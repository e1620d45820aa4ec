// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg_dnf/dnf_backend.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "patchflow/common/process.hpp"
#include "patchflow/core/versions.hpp"
#include "patchflow/pkg/backend_support.hpp"
#include "patchflow/pkg/rpm_db.hpp"
#include "patchflow/pkg_dnf/dnf_output.hpp"

namespace pf::pkg::dnf {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kQueryCapture = std::size_t{32} << 20;
constexpr std::size_t kRunCapture = std::size_t{8} << 20;
constexpr std::size_t kMaxNameLength = 512;
constexpr const char* kEmptyConfig = "empty-dnf.conf";

fs::path in_root(const fs::path& root, std::string_view rel) {
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  return root / fs::path(rel);
}

std::string key_of(const std::string& name, const std::string& arch) {
  return arch.empty() ? name : name + ":" + arch;
}

// Names, architectures, versions and advisory ids go to dnf as arguments: they must not look
// like options and may hold only the characters rpm allows in them.
bool valid_item(std::string_view s, std::string_view extra) {
  if (s.empty() || s.size() > kMaxNameLength || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [extra](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._+-").find(c) != std::string_view::npos ||
           extra.find(c) != std::string_view::npos;
  });
}

std::string first_lines(std::string_view text, std::size_t max_lines = 6) {
  std::string out;
  std::size_t n = 0, start = 0;
  while (start < text.size() && n < max_lines) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    auto line = text.substr(start, nl - start);
    start = nl + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    if (!out.empty()) out += "; ";
    out += line;
    ++n;
  }
  if (out.size() > 2000) out.resize(2000);
  return out;
}

// What dnf reported as errors: "Error: ..." lines and resolver problems, for ApplyReport::error.
std::string error_summary(std::string_view text) {
  std::string lines;
  std::size_t start = 0;
  bool in_error = false;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    auto line = text.substr(start, nl - start);
    start = nl + 1;
    bool keep = line.starts_with("Error") || line.starts_with("error:") ||
                (in_error && (line.starts_with(" ") || line.starts_with("\t")));
    in_error = line.starts_with("Error") || (in_error && keep);
    if (keep) lines += std::string(line) + "\n";
  }
  return first_lines(lines, 12);
}

std::string describe_exit(const process::Outcome& o) {
  if (o.timed_out) return "timed out";
  if (o.exit_code >= 0) return "exited with status " + std::to_string(o.exit_code);
  return "was killed by signal " + std::to_string(o.term_signal);
}

std::optional<LockHolder> pid_file_holder(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  char buf[32] = {};
  in.read(buf, sizeof(buf) - 1);
  std::string text(buf, static_cast<std::size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  long pid = std::stol(text);
  // dnf's own rule (dnf/lock.py): a pid file naming a process that no longer exists is free.
  if (pid <= 0 || pid == static_cast<long>(::getpid())) return std::nullopt;
  std::error_code ec;
  if (!fs::exists("/proc/" + std::to_string(pid) + "/stat", ec)) return std::nullopt;
  LockHolder h;
  h.pid = pid;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::getline(comm, h.command);
  return h;
}

// How one selection is put to dnf.
struct Command {
  // The dnf command and its arguments: "upgrade", "--security", package specs...
  std::vector<std::string> args;
  // Known up front for packages and exact; for the others, what repoquery says would upgrade.
  std::vector<Wanted> wanted;
  // Each package argument given to dnf, to the package name it stands for.
  std::map<std::string, std::string> spec_to_name;
  // The options that make `repoquery --upgrades` list what `args` would upgrade.
  std::vector<std::string> query_filter;
  bool names_known{false};
  // `dnf upgrade NAME` says only "No match" for an installed package that is excluded.
  bool upgrade_by_name{false};
};

Result<Command> command_for(const Selection& sel) {
  Command c;
  auto bad = [](const std::string& what, const std::string& item) {
    return make_error(Errc::invalid_input, "'" + item + "' is not " + what, "selection");
  };
  switch (sel.kind) {
    case Selection::Kind::all:
      c.args = {"upgrade"};
      break;
    case Selection::Kind::security:
      c.args = {"upgrade", "--security"};
      c.query_filter = {"--security"};
      break;
    case Selection::Kind::advisories:
      if (sel.names.empty())
        return make_error(Errc::invalid_input, "no advisory named", "selection");
      c.args = {"upgrade"};
      for (const auto& id : sel.names) {
        if (!valid_item(id, ":")) return bad("an advisory id", id);
        c.args.push_back("--advisory=" + id);
        c.query_filter.push_back("--advisory=" + id);
      }
      break;
    case Selection::Kind::packages:
      if (sel.names.empty())
        return make_error(Errc::invalid_input, "no package named", "selection");
      c.args = {"upgrade"};
      c.names_known = true;
      c.upgrade_by_name = true;
      for (const auto& item : sel.names) {
        auto colon = item.find(':');
        std::string name = item.substr(0, colon);
        std::string arch = colon == std::string::npos ? "" : item.substr(colon + 1);
        if (!valid_item(name, "") || (colon != std::string::npos && !valid_item(arch, "")))
          return bad("a package name (NAME or NAME:ARCH)", item);
        std::string spec = arch.empty() ? name : name + "." + arch;
        c.args.push_back(spec);
        c.spec_to_name[spec] = name;
        c.wanted.push_back({name, arch, "", false});
      }
      break;
    case Selection::Kind::exact:
      if (sel.exact.empty())
        return make_error(Errc::invalid_input, "no package named", "selection");
      c.args = {"install"};
      c.names_known = true;
      for (const auto& ref : sel.exact) {
        if (!valid_item(ref.name, "") || (!ref.arch.empty() && !valid_item(ref.arch, "")))
          return bad("a package name", key_of(ref.name, ref.arch));
        if (!valid_item(ref.version, ":~^")) return bad("an rpm version", ref.version);
        auto spec = nevra_spec(ref.name, ref.version, ref.arch);
        if (!spec) return tl::unexpected(spec.error());
        c.args.push_back(*spec);
        c.spec_to_name[*spec] = ref.name;
        c.wanted.push_back({ref.name, ref.arch, normalize_evr(ref.version), false});
      }
      break;
  }
  return c;
}

class DnfBackend final : public PackageBackend {
 public:
  explicit DnfBackend(BackendOptions options) : options_(std::move(options)) {
    std::error_code ec;
    auto abs = fs::absolute(options_.root, ec);
    if (!ec) options_.root = abs.lexically_normal();
  }
  ~DnfBackend() override {
    std::error_code ec;
    if (!home_.empty()) fs::remove_all(home_, ec);
  }
  DnfBackend(const DnfBackend&) = delete;
  DnfBackend& operator=(const DnfBackend&) = delete;

  Family family() const noexcept override { return Family::rpm; }
  std::string_view name() const noexcept override { return "dnf"; }

  Result<std::vector<inventory::Package>> installed() override {
    RpmQueryOptions q;
    q.rpm = options_.rpm;
    q.dbpath = options_.rpm_dbpath;
    q.timeout = options_.tool_timeout;
    return read_rpm_database(options_.root, q);
  }

  Result<void> refresh() override {
    if (auto w = wait_locks(false); !w) return w;
    // Every repository is tried (skip_if_unavailable=True) so that all unreadable ones are
    // named, and each of them is then an error: dnf itself would only warn about them.
    auto run =
        run_dnf({"makecache", "--refresh", "--setopt=*.skip_if_unavailable=True"}, kRunCapture);
    if (!run) return tl::unexpected(run.error());
    auto failures = parse_repo_failures(run->outcome.err + "\n" + run->outcome.out);
    if (!failures.empty()) {
      std::string message;
      for (const auto& f : failures) {
        if (!message.empty()) message += "; ";
        message += "repository '" + f.id + "'";
        if (!f.url.empty()) message += " (" + f.url + ")";
        message += " cannot be read: " + f.message;
      }
      return make_error(Errc::backend_failed, message, "repository " + failures.front().id);
    }
    if (!run->outcome.ok())
      return make_error(run->outcome.timed_out ? Errc::timeout : Errc::backend_failed,
                        "dnf makecache " + describe_exit(run->outcome) + ": " +
                            first_lines(tail_lines(run->outcome.err, 12)),
                        quote_command(run->argv));
    return {};
  }

  Result<std::vector<Update>> upgradable() override {
    auto db = read_db();
    if (!db) return tl::unexpected(db.error());
    // -C: from the metadata of the last refresh, without fetching anything.
    std::vector<std::string> rq = {
        "-C", "-q", "repoquery", "--upgrades", "--latest-limit=1", "--qf", repoquery_format()};
    auto plain = query(rq);
    if (!plain) return tl::unexpected(plain.error());
    rq.push_back("--disableexcludes=all");
    auto all = query(rq);
    if (!all) return tl::unexpected(all.error());
    auto upgrades = parse_repoquery(*plain);
    if (!upgrades) return tl::unexpected(upgrades.error());
    auto unfiltered = parse_repoquery(*all);
    if (!unfiltered) return tl::unexpected(unfiltered.error());
    // Without excludes, so that held packages show their advisories too; an advisory counts for
    // an update when the candidate reaches the version it names.
    auto ui_text = query({"-C", "-q", "--disableexcludes=all", "updateinfo", "list", "--updates"});
    if (!ui_text) return tl::unexpected(ui_text.error());
    auto advisories = parse_updateinfo_list(*ui_text);
    if (!advisories) return tl::unexpected(advisories.error());

    // `list` shows only four severities; others come from `info`, read only when needed.
    std::map<std::string, std::string> severity_of;
    bool unknown_severity = std::any_of(advisories->begin(), advisories->end(), [](const auto& a) {
      return a.type == "security" && a.severity.empty();
    });
    if (unknown_severity) {
      auto info = query({"-C", "-q", "--disableexcludes=all", "updateinfo", "info", "--updates"});
      if (!info) return tl::unexpected(info.error());
      for (const auto& i : parse_updateinfo_info(*info)) severity_of[i.id] = i.severity;
    }

    std::map<std::pair<std::string, std::string>, Update> updates;
    std::set<std::pair<std::string, std::string>> offered;
    for (const auto& u : *upgrades) offered.insert({u.name, u.arch});
    auto installed_version = [&](const std::string& name, const std::string& arch) {
      std::string any;
      for (const auto& e : *db) {
        if (e.name != name) continue;
        if (e.arch == arch) return e.version;
        if (any.empty()) any = e.version;
      }
      return any;
    };
    auto add = [&](const Available& a, bool held) {
      Update u;
      u.name = a.name;
      u.arch = a.arch;
      u.installed = installed_version(a.name, a.arch);
      u.candidate = a.version;
      u.origin = a.repo;
      u.held_back = held;
      if (held)
        u.held_reason =
            "excluded by the dnf configuration (exclude/excludepkgs in dnf.conf or a .repo "
            "file, or the versionlock plugin): dnf upgrade leaves it";
      updates[{a.name, a.arch}] = std::move(u);
    };
    for (const auto& a : *upgrades) add(a, false);
    for (const auto& a : *unfiltered)
      if (!offered.count({a.name, a.arch})) add(a, true);

    auto rank = [](const std::string& s) {
      static const std::array<std::string_view, 4> kOrder{"Low", "Moderate", "Important",
                                                          "Critical"};
      for (std::size_t i = 0; i < kOrder.size(); ++i)
        if (s == kOrder[i]) return static_cast<int>(i) + 1;
      return s.empty() ? -1 : 0;
    };
    for (const auto& a : *advisories) {
      auto it = updates.find({a.package.name, a.package.arch});
      if (it == updates.end()) continue;
      auto& u = it->second;
      auto reached = versions::compare_rpm_evr(u.candidate, a.package.version);
      if (!reached || *reached < 0) continue;
      if (std::find(u.advisories.begin(), u.advisories.end(), a.id) == u.advisories.end())
        u.advisories.push_back(a.id);
      if (a.type == "security") u.security = true;
      std::string severity = a.severity;
      if (severity.empty() && severity_of.count(a.id)) severity = severity_of[a.id];
      if (rank(severity) > rank(u.severity)) u.severity = severity;
    }
    std::vector<Update> result;
    for (auto& [k, u] : updates) result.push_back(std::move(u));
    return result;
  }

  Result<Plan> plan(const Selection& selection) override {
    auto command = command_for(selection);
    if (!command) return tl::unexpected(command.error());
    auto before = read_db();
    if (!before) return tl::unexpected(before.error());
    if (auto w = wait_locks(false); !w) return tl::unexpected(w.error());
    std::vector<std::string> args = {"--assumeno"};
    args.insert(args.end(), command->args.begin(), command->args.end());
    auto run = run_dnf(args, kRunCapture);
    if (!run) return tl::unexpected(run.error());
    const auto& o = run->outcome;
    if (o.timed_out)
      return make_error(Errc::timeout, "dnf did not finish within the tool timeout",
                        quote_command(run->argv));
    auto rows = parse_transaction_table(o.out);
    if (!rows) return tl::unexpected(rows.error());
    const std::string text = o.out + "\n" + o.err;
    // --assumeno answers "no": a transaction ends with "Operation aborted." and status 1; any
    // other failure without a table is the resolver (or dnf) refusing.
    bool refused = o.exit_code != 0 && text.find("Operation aborted.") == std::string::npos;
    if (refused && rows->empty() && parse_problems(text).empty() &&
        parse_argument_notes(text).empty())
      return make_error(Errc::backend_failed,
                        "dnf " + describe_exit(o) + ": " + error_summary(text),
                        quote_command(run->argv));

    std::set<std::string> selected_names;
    for (const auto& w : command->wanted) selected_names.insert(w.name);
    Plan plan;
    auto from_of = [&](const std::string& name, const std::string& arch) {
      for (const auto& e : *before)
        if (e.name == name && (e.arch == arch || arch.empty())) return e.version;
      for (const auto& e : *before)
        if (e.name == name) return e.version;
      return std::string();
    };
    std::set<std::string> changed;
    for (const auto& r : *rows) {
      if (r.skipped) continue;
      Change c;
      c.name = r.name;
      c.arch = r.arch;
      c.action = r.action;
      if (r.action == Action::remove) {
        c.from = r.version;
      } else {
        c.from = r.action == Action::install ? "" : from_of(r.name, r.arch);
        c.to = r.version;
      }
      c.selected = command->names_known ? selected_names.count(r.name) > 0 : !r.dependency;
      changed.insert(r.name);
      plan.changes.push_back(std::move(c));
      for (const auto& replaced : r.replacing) {
        auto n = parse_nevra(replaced);
        if (!n || n->name == r.name) continue;
        plan.changes.push_back({n->name, n->arch, n->version, "", Action::remove, false});
        changed.insert(n->name);
      }
    }
    auto hints = hints_for(*command, text, *rows, *before, {});
    auto skip = [&](const std::string& name, const std::string& arch, Reason reason,
                    const std::string& detail) {
      for (const auto& s : plan.skipped)
        if (s.name == name && s.arch == arch) return;
      plan.skipped.push_back({name, arch, reason, detail});
    };
    if (command->names_known) {
      for (const auto& w : command->wanted) {
        if (changed.count(w.name)) continue;
        auto h = hints.find(w.name);
        if (h != hints.end()) {
          skip(w.name, w.arch, h->second.reason, h->second.detail);
        } else if (refused) {
          skip(w.name, w.arch, Reason::tool_failed, error_summary(text));
        } else if (!from_of(w.name, w.arch).empty()) {
          skip(w.name, w.arch, Reason::up_to_date, "");
        } else {
          skip(w.name, w.arch, Reason::not_installed, "");
        }
      }
    } else {
      for (const auto& r : *rows)
        if (r.skipped) skip(r.name, r.arch, r.skip_reason, hint_detail(hints, r.name));
      for (const auto& p : parse_problems(text))
        for (const auto& n : p.packages)
          if (!changed.count(n)) skip(n, "", p.reason, p.detail);
      if (selection.kind == Selection::Kind::advisories) {
        auto unknown = unknown_advisories(selection.names);
        if (!unknown) return tl::unexpected(unknown.error());
        for (const auto& id : *unknown)
          skip(id, "", Reason::not_in_repository,
               "no enabled repository has advisory " + id + " for an installed package");
      }
    }
    return plan;
  }

  Result<ApplyReport> apply(const Selection& selection) override {
    auto command = command_for(selection);
    if (!command) return tl::unexpected(command.error());
    if (auto w = wait_locks(true); !w) return tl::unexpected(w.error());
    auto before = read_db();
    if (!before) return tl::unexpected(before.error());
    ApplyReport report;
    if (!command->names_known) {
      std::vector<std::string> rq = {"-q",   "repoquery",       "--upgrades", "--latest-limit=1",
                                     "--qf", repoquery_format()};
      rq.insert(rq.end(), command->query_filter.begin(), command->query_filter.end());
      report.commands.push_back(quote_command(full_argv(rq)));
      auto text = query(rq);
      if (!text) return tl::unexpected(text.error());
      auto upgrades = parse_repoquery(*text);
      if (!upgrades) return tl::unexpected(upgrades.error());
      for (const auto& u : *upgrades) command->wanted.push_back({u.name, u.arch, "", false});
      if (selection.kind == Selection::Kind::advisories) {
        auto unknown = unknown_advisories(selection.names, &report.commands);
        if (!unknown) return tl::unexpected(unknown.error());
        for (const auto& id : *unknown)
          report.warnings.push_back("advisory " + id +
                                    ": no enabled repository has it for an installed package");
      }
      if (command->wanted.empty()) {
        report.outcome = ApplyOutcome::nothing_to_do;
        return report;
      }
    }
    std::vector<std::string> args = {"-y"};
    args.insert(args.end(), command->args.begin(), command->args.end());
    auto run = run_dnf(args, kRunCapture);
    if (!run) return tl::unexpected(run.error());
    std::vector<Run> runs{std::move(*run)};
    return finish(std::move(report), *command, *before, runs);
  }

  Result<ApplyReport> restore(const std::vector<PackageRef>& targets) override {
    Command all;
    all.names_known = true;
    std::vector<std::string> install_specs;
    std::vector<PackageRef> removals;
    for (const auto& t : targets) {
      if (!valid_item(t.name, "") || (!t.arch.empty() && !valid_item(t.arch, "")))
        return make_error(Errc::invalid_input,
                          "'" + key_of(t.name, t.arch) + "' is not a package name", "restore");
      if (t.version.empty()) {
        removals.push_back(t);
        all.wanted.push_back({t.name, t.arch, "", true});
        continue;
      }
      if (!valid_item(t.version, ":~^"))
        return make_error(Errc::invalid_input, "'" + t.version + "' is not an rpm version",
                          "restore " + t.name);
      auto spec = nevra_spec(t.name, t.version, t.arch);
      if (!spec) return tl::unexpected(spec.error());
      install_specs.push_back(*spec);
      all.spec_to_name[*spec] = t.name;
      all.wanted.push_back({t.name, t.arch, normalize_evr(t.version), false});
    }
    ApplyReport report;
    if (targets.empty()) return report;
    if (auto w = wait_locks(true); !w) return tl::unexpected(w.error());
    auto before = read_db();
    if (!before) return tl::unexpected(before.error());
    // Only installed packages are removed (dnf remove of an absent one is no error, but noise).
    std::vector<std::string> remove_specs;
    for (const auto& t : removals) {
      bool present = std::any_of(before->begin(), before->end(), [&](const DbEntry& e) {
        return e.name == t.name && (t.arch.empty() || e.arch == t.arch);
      });
      if (!present) continue;
      std::string spec = t.arch.empty() ? t.name : t.name + "." + t.arch;
      remove_specs.push_back(spec);
      all.spec_to_name[spec] = t.name;
    }

    // Installs and downgrades first: the packages they no longer need can then be removed
    // without dnf also removing packages that still depend on them. Nothing dnf would remove
    // on its own accord (clean_requirements_on_remove) is touched.
    std::vector<std::vector<std::string>> commands;
    if (!install_specs.empty()) {
      commands.push_back({"-y", "install"});
      commands.back().insert(commands.back().end(), install_specs.begin(), install_specs.end());
    }
    if (!remove_specs.empty()) {
      commands.push_back({"-y", "remove", "--setopt=clean_requirements_on_remove=False"});
      commands.back().insert(commands.back().end(), remove_specs.begin(), remove_specs.end());
    }
    std::vector<Run> runs;
    for (const auto& args : commands) {
      if (!runs.empty() && !runs.back().outcome.ok()) break;
      auto run = run_dnf(args, kRunCapture);
      if (!run) return tl::unexpected(run.error());
      runs.push_back(std::move(*run));
    }
    return finish(std::move(report), all, *before, runs);
  }

 private:
  struct Run {
    std::vector<std::string> argv;
    process::Outcome outcome;
  };

  Result<fs::path> home() {
    if (!home_.empty()) return home_;
    std::string tmpl = (fs::temp_directory_path() / "pf-dnf-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      return make_error(Errc::io, "cannot create a private directory for dnf's HOME",
                        fs::temp_directory_path().string());
    if (auto w = write_dnf_home(tmpl, options_.rpm_dbpath); !w) {
      std::error_code ec;
      fs::remove_all(tmpl, ec);
      return tl::unexpected(w.error());
    }
    home_ = tmpl;
    return home_;
  }

  std::vector<std::string> full_argv(const std::vector<std::string>& args) {
    auto h = home();
    auto argv = root_dnf_args(options_, h ? *h : fs::path());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  Result<Run> run_dnf(const std::vector<std::string>& args, std::size_t capture) {
    auto h = home();
    if (!h) return tl::unexpected(h.error());
    Run r;
    r.argv = full_argv(args);
    process::Spec spec;
    spec.argv = r.argv;
    spec.env = root_dnf_env(options_, *h);
    spec.timeout = options_.tool_timeout;
    spec.max_capture = capture;
    auto outcome = process::run(spec);
    if (!outcome)
      return make_error(Errc::backend_failed,
                        "cannot run '" + options_.dnf + "': " + outcome.error().message +
                            " (install the Debian package 'dnf' or set the dnf program)",
                        options_.dnf);
    r.outcome = std::move(*outcome);
    return r;
  }

  // A read-only query: its stdout, or an error with dnf's stderr.
  Result<std::string> query(const std::vector<std::string>& args) {
    auto run = run_dnf(args, kQueryCapture);
    if (!run) return tl::unexpected(run.error());
    const auto& o = run->outcome;
    if (!o.ok()) {
      std::string why = first_lines(tail_lines(o.err, 10));
      if (why.find("Cache-only enabled but no cache") != std::string::npos)
        why += " (refresh() fetches the metadata first)";
      return make_error(o.timed_out ? Errc::timeout : Errc::backend_failed,
                        "dnf " + describe_exit(o) + ": " + why, quote_command(run->argv));
    }
    if (o.out_truncated)
      return make_error(Errc::backend_failed,
                        "dnf printed more than " + std::to_string(kQueryCapture) + " bytes",
                        quote_command(run->argv));
    return o.out;
  }

  Result<std::vector<DbEntry>> read_db() {
    auto packages = installed();
    if (!packages) return tl::unexpected(packages.error());
    std::vector<DbEntry> entries;
    entries.reserve(packages->size());
    for (auto& p : *packages)
      entries.push_back({std::move(p.name), std::move(p.arch), std::move(p.version), {}});
    return entries;
  }

  // Waits for rpm's transaction lock (an fcntl lock) when `rpm_lock`, and for dnf's pid-file
  // locks, at most lock_timeout together. Never takes or breaks a lock.
  Result<void> wait_locks(bool rpm_lock) {
    const fs::path rpm_file = in_root(options_.root, options_.rpm_dbpath) / ".rpm.lock";
    const auto pid_files = dnf_lock_files(options_.root);
    const auto deadline = std::chrono::steady_clock::now() + options_.lock_timeout;
    while (true) {
      std::optional<LockHolder> holder;
      fs::path busy;
      if (rpm_lock) {
        auto h = lock_holder(rpm_file);
        if (!h) return tl::unexpected(h.error());
        if (*h) {
          holder = std::move(*h);
          busy = rpm_file;
        }
      }
      for (const auto& f : pid_files) {
        if (holder) break;
        if (auto h = pid_file_holder(f)) {
          holder = std::move(h);
          busy = f;
        }
      }
      if (!holder) return {};
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        std::string who = "process " + std::to_string(holder->pid);
        if (!holder->command.empty()) who += " (" + holder->command + ")";
        const auto ms = options_.lock_timeout.count();
        return make_error(
            Errc::lock_held,
            "the package manager lock is held by " + who + "; waited " + std::to_string(ms / 1000) +
                "." + std::to_string(ms % 1000 / 100) +
                " s. Another package-manager run is in progress: wait for it to finish (the "
                "lock is never broken)",
            busy.string());
      }
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(200), deadline - now));
    }
  }

  // Advisory ids that `dnf updateinfo list --all` does not show: unknown, or for packages that
  // are not installed (dnf 4 cannot tell these apart).
  Result<std::vector<std::string>> unknown_advisories(
      const std::vector<std::string>& ids, std::vector<std::string>* commands = nullptr) {
    const std::vector<std::string> args = {"-q", "updateinfo", "list", "--all"};
    if (commands) commands->push_back(quote_command(full_argv(args)));
    auto text = query(args);
    if (!text) return tl::unexpected(text.error());
    auto lines = parse_updateinfo_list(*text);
    if (!lines) return tl::unexpected(lines.error());
    std::vector<std::string> unknown;
    for (const auto& id : ids) {
      bool known = std::any_of(lines->begin(), lines->end(),
                               [&](const AdvisoryLine& a) { return a.id == id; });
      if (!known) unknown.push_back(id);
    }
    return unknown;
  }

  static std::string hint_detail(const std::map<std::string, Hint>& hints,
                                 const std::string& name) {
    auto it = hints.find(name);
    return it == hints.end() ? std::string() : it->second.detail;
  }

  // Why packages did not change, from dnf's words: notes about arguments, resolver problems,
  // skipped rows and transaction failures. Keyed by package name.
  std::map<std::string, Hint> hints_for(const Command& command, std::string_view text,
                                        const std::vector<TransactionRow>& rows,
                                        const std::vector<DbEntry>& before,
                                        const std::vector<RunFailure>& failures) {
    std::map<std::string, Hint> hints;
    auto set = [&](const std::string& name, Reason reason, const std::string& detail) {
      if (!name.empty() && !hints.count(name)) hints[name] = {reason, detail};
    };
    for (const auto& f : failures) {
      if (f.package.empty()) continue;
      switch (f.kind) {
        case RunFailure::Kind::pre_scriptlet:
        case RunFailure::Kind::other_scriptlet:
          set(f.package, Reason::script_failed, f.detail);
          break;
        case RunFailure::Kind::no_space:
          set(f.package, Reason::no_space, f.detail);
          break;
        case RunFailure::Kind::file_conflict:
          set(f.package, Reason::conflict, f.detail);
          break;
      }
    }
    for (const auto& note : parse_argument_notes(text)) {
      std::string name = note.argument;
      if (auto it = command.spec_to_name.find(note.argument); it != command.spec_to_name.end()) {
        name = it->second;
      } else if (auto n = parse_nevra(note.argument)) {
        name = n->name;
      } else if (auto dot = note.argument.rfind('.'); dot != std::string::npos) {
        // "NAME.ARCH" as dnf echoes a spec back.
        std::string base = note.argument.substr(0, dot);
        if (std::any_of(command.wanted.begin(), command.wanted.end(),
                        [&](const Wanted& w) { return w.name == base; }))
          name = base;
      }
      Reason reason = note.reason;
      std::string detail = note.detail;
      // `dnf upgrade NAME` says only "No match" for an installed package that dnf.conf excludes.
      if (command.upgrade_by_name && reason == Reason::not_in_repository &&
          std::any_of(before.begin(), before.end(),
                      [&](const DbEntry& e) { return e.name == name; })) {
        reason = Reason::held;
        detail +=
            " (installed, so excluded by the dnf configuration: exclude/excludepkgs or "
            "versionlock)";
      }
      set(name, reason, detail);
    }
    for (const auto& p : parse_problems(text))
      for (const auto& n : p.packages) set(n, p.reason, p.detail);
    for (const auto& r : rows)
      if (r.skipped)
        set(r.name, r.skip_reason, "dnf skipped it: " + std::string(reason_name(r.skip_reason)));
    return hints;
  }

  // Reads the database again and builds the verified report of `runs`.
  Result<ApplyReport> finish(ApplyReport report, const Command& command,
                             const std::vector<DbEntry>& before, const std::vector<Run>& runs) {
    std::string text;
    for (const auto& r : runs) {
      report.commands.push_back(quote_command(r.argv));
      text += r.outcome.out + "\n" + r.outcome.err + "\n";
    }
    auto after = read_db();
    if (!after) return tl::unexpected(after.error());
    const Run* main = nullptr;
    for (const auto& r : runs) {
      main = &r;
      if (!r.outcome.ok()) break;
    }
    bool tool_failed = main != nullptr && !main->outcome.ok();
    if (main) {
      report.exit_code = main->outcome.exit_code;
      report.output_tail = tail_lines(main->outcome.out, 30);
      auto err = tail_lines(main->outcome.err, 15);
      if (!err.empty()) report.output_tail += (report.output_tail.empty() ? "" : "\n") + err;
    }
    std::vector<TransactionRow> rows;
    for (const auto& r : runs)
      if (auto parsed = parse_transaction_table(r.outcome.out))
        rows.insert(rows.end(), parsed->begin(), parsed->end());
    auto failures = parse_run_failures(text);
    auto hints = hints_for(command, text, rows, before, failures);
    // What is known only as a whole (ENOSPC without a package, a refused transaction) explains
    // every selected package that has no reason of its own.
    std::optional<Hint> fallback;
    for (const auto& f : failures)
      if (f.kind == RunFailure::Kind::no_space && f.package.empty())
        fallback = Hint{Reason::no_space, f.detail};
    if (!fallback && tool_failed)
      fallback = Hint{Reason::tool_failed,
                      main->outcome.timed_out ? "dnf timed out" : error_summary(text)};
    if (fallback)
      for (const auto& w : command.wanted)
        if (!hints.count(w.name)) hints[w.name] = *fallback;

    report.packages = verify_run(before, *after, command.wanted, hints);
    for (const auto& f : failures) {
      if (f.kind != RunFailure::Kind::other_scriptlet) continue;
      for (const auto& p : report.packages)
        if (p.name == f.package && p.status == PackageResult::Status::applied)
          report.warnings.push_back(
              p.name + ": a scriptlet failed after the package was installed: " + f.detail);
    }
    if (tool_failed || !failures.empty()) check_consistency(report);
    report.outcome = summarize(report.packages, tool_failed, false);
    if (tool_failed) {
      std::string summary = error_summary(text);
      if (summary.empty()) summary = first_lines(tail_lines(main->outcome.err, 8));
      report.error =
          Error{main->outcome.timed_out ? Errc::timeout : Errc::backend_failed,
                "dnf " + describe_exit(main->outcome) + ": " + summary, quote_command(main->argv)};
    }
    return report;
  }

  // `dnf check` after a failed run: duplicates (an interrupted upgrade leaves both versions in
  // the database), missing dependencies. Problems make the report inconsistent.
  void check_consistency(ApplyReport& report) {
    auto run = run_dnf({"-q", "--disablerepo=*", "check"}, kRunCapture);
    if (!run) {
      report.warnings.push_back("could not run dnf check: " + run.error().message);
      return;
    }
    report.commands.push_back(quote_command(run->argv));
    const std::string text = run->outcome.out + run->outcome.err;
    if (run->outcome.ok() && text.find_first_not_of(" \n") == std::string::npos) return;
    report.consistent = false;
    report.audit = tail_lines(text, 40);
    std::set<std::string> duplicated;
    std::size_t start = 0;
    while (start < text.size()) {
      auto nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      std::string_view line(text.data() + start, nl - start);
      start = nl + 1;
      auto at = line.find(" is a duplicate with ");
      if (at == std::string_view::npos) continue;
      if (auto n = parse_nevra(line.substr(0, at))) duplicated.insert(n->name);
    }
    for (auto& p : report.packages) {
      if (!duplicated.count(p.name)) continue;
      p.state = "duplicate";
      if (p.status != PackageResult::Status::extra) p.status = PackageResult::Status::failed;
    }
  }

  BackendOptions options_;
  fs::path home_;
};

}  // namespace

Result<void> write_dnf_home(const fs::path& home, const std::string& rpm_dbpath) {
  if (rpm_dbpath.empty() || rpm_dbpath.front() != '/' ||
      rpm_dbpath.find_first_of(" \t\n%") != std::string::npos)
    return make_error(Errc::invalid_input,
                      "rpm_dbpath must be an absolute path without white space or '%'",
                      "rpm_dbpath");
  std::error_code ec;
  fs::create_directories(home, ec);
  if (ec) return make_error(Errc::io, "cannot create directory: " + ec.message(), home.string());
  for (const auto& [file, content] :
       {std::pair{home / ".rpmmacros", "%_dbpath " + rpm_dbpath + "\n"},
        std::pair{home / kEmptyConfig, std::string("[main]\n")}}) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) return make_error(Errc::io, "cannot write file", file.string());
  }
  return {};
}

std::vector<std::string> root_dnf_args(const BackendOptions& options, const fs::path& home) {
  std::error_code ec;
  fs::path root = fs::absolute(options.root, ec).lexically_normal();
  if (ec) root = options.root;
  std::string r = root.string();
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  const fs::path config = in_root(root, "etc/dnf/dnf.conf");
  std::vector<std::string> argv = {
      options.dnf, "--installroot=" + r,
      "--config=" + (fs::is_regular_file(config, ec) ? config : home / kEmptyConfig).string(),
      "--setopt=reposdir=" + in_root(root, "etc/yum.repos.d").string() + "," +
          in_root(root, "etc/yum/repos.d").string() + "," +
          in_root(root, "etc/distro.repos.d").string(),
      "--setopt=exit_on_lock=True"};
  if (!options.releasever.empty()) argv.push_back("--releasever=" + options.releasever);
  if (r != "/") argv.push_back("--noplugins");
  return argv;
}

std::vector<std::string> root_dnf_env(const BackendOptions& options, const fs::path& home) {
  std::vector<std::string> env = {"LC_ALL=C", "HOME=" + home.string()};
  env.insert(env.end(), options.env.begin(), options.env.end());
  return env;
}

std::vector<fs::path> dnf_lock_files(const fs::path& root) {
  return {in_root(root, "var/lib/dnf/rpmdb_lock.pid"),
          in_root(root, "var/cache/dnf/metadata_lock.pid"),
          in_root(root, "var/cache/dnf/download_lock.pid")};
}

std::unique_ptr<PackageBackend> make_dnf_backend(BackendOptions options) {
  return std::make_unique<DnfBackend>(std::move(options));
}

}  // namespace pf::pkg::dnf
