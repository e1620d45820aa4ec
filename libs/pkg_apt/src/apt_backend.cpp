// SPDX-License-Identifier: Apache-2.0
// The apt/dpkg backend. Every question is answered by apt-get itself (-s simulations with -V so
// that versions are printed) and every run is verified against the dpkg database read before
// and after it, never against the exit status alone.
#include "patchflow/pkg_apt/apt_backend.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <system_error>
#include <tuple>
#include <utility>

#include "patchflow/common/process.hpp"
#include "patchflow/core/versions.hpp"
#include "patchflow/pkg/backend_support.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg_apt/apt_output.hpp"

namespace pf::pkg::apt {

namespace {

namespace fs = std::filesystem;

// apt-get -s on a large system prints a few lines per package; 16 MiB is far beyond that.
constexpr std::size_t kMaxCapture = std::size_t{16} << 20;
// Kept-back packages analysed one by one (an apt-get -s each) for the reason they are held.
constexpr std::size_t kMaxKeptBackAnalysed = 20;
constexpr std::size_t kMaxAuditText = 4096;
constexpr std::string_view kHeldText = "held (apt-mark hold)";

// "name:arch" → {"name", "arch"}; "name" → {"name", ""}.
std::pair<std::string, std::string> split_arch(const std::string& token) {
  auto colon = token.find(':');
  if (colon == std::string::npos) return {token, {}};
  return {token.substr(0, colon), token.substr(colon + 1)};
}

std::string key_of(const std::string& name, const std::string& arch) {
  return arch.empty() ? name : name + ":" + arch;
}

// Names handed to apt-get: Debian package names (and an architecture). A trailing '-' would make
// apt-get remove the package, a leading '-' would be an option, other characters are patterns.
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front()) || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return alnum(c) || c == '+' || c == '-' || c == '.' || c == '_';
  });
}

Result<void> check_ref(const std::string& name, const std::string& arch, const std::string& version,
                       bool version_required, const std::string& where) {
  if (!valid_name(name))
    return make_error(Errc::invalid_input,
                      "'" + name +
                          "' is not a Debian package name (letters, digits, + . _ -; "
                          "starting with a letter or digit, not ending in '-')",
                      where);
  if (!arch.empty() && !valid_name(arch))
    return make_error(Errc::invalid_input, "'" + arch + "' is not an architecture", where);
  if (version_required && version.empty())
    return make_error(Errc::invalid_input, "no version given for '" + name + "'", where);
  if (!version.empty()) {
    auto v = versions::parse_deb(version);
    if (!v || version.front() == '-')
      return make_error(Errc::invalid_input,
                        "'" + version + "' is not a Debian version" +
                            (v ? std::string() : ": " + v.error().message),
                        where);
  }
  return {};
}

// Every name and version of a selection, checked before anything runs.
Result<void> check_selection(const Selection& selection) {
  if (selection.kind == Selection::Kind::packages) {
    if (selection.names.empty())
      return make_error(Errc::invalid_input, "no package named", "selection");
    for (std::size_t i = 0; i < selection.names.size(); ++i) {
      auto [name, arch] = split_arch(selection.names[i]);
      if (auto ok = check_ref(name, arch, {}, false, "selection item " + std::to_string(i + 1));
          !ok)
        return ok;
    }
  }
  if (selection.kind == Selection::Kind::exact) {
    if (selection.exact.empty())
      return make_error(Errc::invalid_input, "no package version given", "selection");
    for (std::size_t i = 0; i < selection.exact.size(); ++i) {
      const auto& ref = selection.exact[i];
      if (auto ok = check_ref(ref.name, ref.arch, ref.version, true,
                              "selection item " + std::to_string(i + 1));
          !ok)
        return ok;
    }
  }
  return {};
}

Action action_of(const SimAction& a) {
  if (a.kind == SimAction::Kind::remove) return Action::remove;
  if (a.from.empty()) return Action::install;
  auto c = versions::compare_deb(a.to, a.from);
  if (!c) return Action::upgrade;
  return *c > 0 ? Action::upgrade : *c < 0 ? Action::downgrade : Action::reinstall;
}

// The archive a candidate is offered from, preferring a security one.
std::string origin_of(const std::vector<ReleaseInfo>& releases) {
  for (const auto& r : releases)
    if (is_security_release(r)) return r.archive.empty() ? r.label : r.archive;
  if (releases.empty()) return {};
  return releases.front().archive.empty() ? releases.front().label : releases.front().archive;
}

bool any_security(const std::vector<ReleaseInfo>& releases) {
  return std::any_of(releases.begin(), releases.end(), is_security_release);
}

std::string first_lines(std::string_view text, std::size_t max_bytes) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(text.substr(0, max_bytes)) + "\n[...]";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

// Does `token` ("name" or "name:arch", as apt prints it) denote the selected `name`/`arch`?
bool same_package(const std::string& token, const std::string& arch_of_token,
                  const std::string& name, const std::string& arch) {
  auto [n, a] = split_arch(token);
  if (n != name) return false;
  if (arch.empty()) return true;
  return (a.empty() ? arch_of_token : a) == arch;
}

// An update with the reason it is held back, as upgradable() and the plans use it.
struct Candidate {
  Update update;
  Reason reason{Reason::none};  // held / kept_back / dependency / conflict when held back
};

// One finished simulation or run.
struct Ran {
  std::vector<std::string> argv;
  process::Outcome outcome;
  AptOutput output;
  [[nodiscard]] bool ok() const { return outcome.ok(); }
  [[nodiscard]] std::string errors() const {
    if (!output.errors.empty()) return join(output.errors, "; ");
    return tail_lines(outcome.err.empty() ? outcome.out : outcome.err, 5, 1024);
  }
};

// What a selection comes down to: the apt-get arguments, the plan, what to verify afterwards.
struct Prepared {
  std::vector<std::string> args;  // apt-get arguments after the common ones; empty: nothing to run
  Plan plan;
  std::vector<Wanted> wanted;
  std::map<std::string, Hint> hints;
  std::optional<Ran> simulation;  // the simulation the plan comes from
  bool resolvable{true};
};

class AptBackend final : public PackageBackend {
 public:
  explicit AptBackend(BackendOptions options) : options_(std::move(options)) {
    admin_ = dpkg_admin_dir(options_.root);
  }

  [[nodiscard]] Family family() const noexcept override { return Family::deb; }
  [[nodiscard]] std::string_view name() const noexcept override { return "apt"; }

  Result<std::vector<inventory::Package>> installed() override {
    return read_dpkg_status(dpkg_status_path(options_.root));
  }

  Result<void> refresh() override {
    if (auto locked =
            wait_for_locks({options_.root / "var/lib/apt/lists/lock"}, options_.lock_timeout);
        !locked)
      return locked;
    auto ran = run(apt_get({"update"}, Mode::update), nullptr);
    if (!ran) return tl::unexpected(ran.error());
    const std::string text = ran->outcome.out + "\n" + ran->outcome.err;
    if (!ran->output.lock_error.empty())
      return make_error(Errc::lock_held, ran->output.lock_error, "apt-get update");
    auto failures = parse_update_failures(text);
    if (!failures.empty()) {
      std::vector<std::string> parts;
      for (const auto& f : failures)
        parts.push_back(f.repository + (f.reason.empty() ? "" : " (" + f.reason + ")"));
      return make_error(Errc::backend_failed,
                        "apt-get update could not fetch " + std::to_string(failures.size()) +
                            (failures.size() == 1 ? " repository: " : " repositories: ") +
                            join(parts, "; "),
                        failures.front().repository);
    }
    if (!ran->ok() || !ran->output.errors.empty() ||
        text.find("Some index files failed to download") != std::string::npos)
      return make_error(Errc::backend_failed, "apt-get update failed: " + describe(*ran),
                        "apt-get update");
    return {};
  }

  Result<std::vector<Update>> upgradable() override {
    auto db = read_db();
    if (!db) return tl::unexpected(db.error());
    auto candidates = collect_updates(*db, nullptr);
    if (!candidates) return tl::unexpected(candidates.error());
    std::vector<Update> out;
    for (auto& c : *candidates) out.push_back(std::move(c.update));
    return out;
  }

  Result<Plan> plan(const Selection& selection) override {
    if (selection.kind == Selection::Kind::advisories) return advisories_refused();
    if (auto ok = check_selection(selection); !ok) return tl::unexpected(ok.error());
    auto db = read_db();
    if (!db) return tl::unexpected(db.error());
    auto prepared = prepare(selection, *db, nullptr);
    if (!prepared) return tl::unexpected(prepared.error());
    if (!prepared->resolvable && prepared->plan.skipped.empty())
      return make_error(Errc::backend_failed,
                        "apt-get refused the selection: " + prepared->simulation->errors(),
                        "apt-get");
    return std::move(prepared->plan);
  }

  Result<ApplyReport> apply(const Selection& selection) override {
    if (selection.kind == Selection::Kind::advisories) return advisories_refused();
    if (auto ok = check_selection(selection); !ok) return tl::unexpected(ok.error());
    ApplyReport report;
    const auto deadline = std::chrono::steady_clock::now() + options_.lock_timeout;
    if (auto ready = get_ready(report); !ready) return tl::unexpected(ready.error());
    auto before = read_db();
    if (!before) return tl::unexpected(before.error());
    auto prepared = prepare(selection, *before, &report.commands);
    if (!prepared) return tl::unexpected(prepared.error());
    return execute(std::move(*prepared), *before, std::move(report), deadline);
  }

  Result<ApplyReport> restore(const std::vector<PackageRef>& targets) override {
    std::size_t index = 0;
    for (const auto& t : targets) {
      ++index;
      if (auto ok = check_ref(t.name, t.arch, t.version, false,
                              "restore target " + std::to_string(index));
          !ok)
        return tl::unexpected(ok.error());
    }
    ApplyReport report;
    const auto deadline = std::chrono::steady_clock::now() + options_.lock_timeout;
    if (auto ready = get_ready(report); !ready) return tl::unexpected(ready.error());
    auto before = read_db();
    if (!before) return tl::unexpected(before.error());
    auto prepared = prepare_restore(targets, *before, &report.commands);
    if (!prepared) return tl::unexpected(prepared.error());
    return execute(std::move(*prepared), *before, std::move(report), deadline);
  }

 private:
  enum class Mode { simulate, change, update };

  // apt-get with the root's options, the conffile policy and `args`.
  // `lock_wait`: how long apt itself may wait for dpkg's lock in Mode::change.
  std::vector<std::string> apt_get(std::vector<std::string> args, Mode mode,
                                   std::chrono::seconds lock_wait = {}) const {
    auto argv = root_apt_args(options_.root, options_.apt_get);
    if (is_system_root(options_.root)) {
      argv.insert(argv.end(), {"-o", "Dpkg::Use-Pty=0"});
    }
    if (mode != Mode::update) {
      for (const auto& o : conffile_options())
        argv.insert(argv.end(), {"-o", "DPkg::Options::=" + o});
      argv.push_back("-V");
    }
    if (mode == Mode::simulate) argv.push_back("-s");
    if (mode == Mode::change) {
      // Should another run take the lock after our own wait, apt waits for what is left of
      // lock_timeout and then fails ("Could not get lock"): a lock is never broken.
      argv.insert(argv.end(),
                  {"-o", "DPkg::Lock::Timeout=" + std::to_string(lock_wait.count()), "-y"});
    }
    argv.insert(argv.end(), std::make_move_iterator(args.begin()),
                std::make_move_iterator(args.end()));
    return argv;
  }

  std::vector<std::string> dpkg(std::vector<std::string> args) const {
    auto argv = root_dpkg_args(options_.root, options_.dpkg);
    argv.insert(argv.end(), std::make_move_iterator(args.begin()),
                std::make_move_iterator(args.end()));
    return argv;
  }

  std::vector<std::string> conffile_options() const {
    if (options_.conffiles == ConffilePolicy::take_new) return {"--force-confnew"};
    return {"--force-confdef", "--force-confold"};
  }

  std::vector<std::string> environment() const {
    std::vector<std::string> env = root_apt_env(options_.root);
    env.insert(env.end(),
               {"DEBIAN_FRONTEND=noninteractive", "LC_ALL=C", "APT_LISTCHANGES_FRONTEND=none"});
    // ucf (configuration files managed outside dpkg's conffiles) follows the same policy.
    env.push_back(options_.conffiles == ConffilePolicy::take_new ? "UCF_FORCE_CONFFNEW=1"
                                                                 : "UCF_FORCE_CONFFOLD=1");
    env.insert(env.end(), options_.env.begin(), options_.env.end());
    return env;
  }

  // Runs argv (never a prompt: stdin is empty), records it in `commands`, parses the output.
  // Errors: the program cannot start, it timed out, its output is larger than we read.
  Result<Ran> run(std::vector<std::string> argv, std::vector<std::string>* commands) const {
    if (commands) commands->push_back(quote_command(argv));
    process::Spec spec;
    spec.argv = argv;
    spec.env = environment();
    spec.timeout = options_.tool_timeout;
    spec.max_capture = kMaxCapture;
    auto outcome = process::run(spec);
    if (!outcome) return tl::unexpected(outcome.error());
    Ran ran{std::move(argv), std::move(*outcome), {}};
    if (ran.outcome.timed_out)
      return make_error(
          Errc::timeout,
          "stopped after " +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::seconds>(options_.tool_timeout).count()) +
              " s (tool_timeout): " + tail_lines(ran.outcome.out, 5, 1024),
          quote_command(ran.argv));
    if (ran.outcome.out_truncated || ran.outcome.err_truncated)
      return make_error(Errc::backend_failed,
                        "printed more than " + std::to_string(kMaxCapture) +
                            " bytes; its output cannot be read completely",
                        quote_command(ran.argv));
    ran.output = parse_apt_output(ran.outcome.out + "\n" + ran.outcome.err);
    return ran;
  }

  // "apt-get install --only-upgrade pf-app": what a person needs to recognise the run (the
  // full argv, with the root's options, is in ApplyReport::commands).
  std::string short_command(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{fs::path(options_.apt_get).filename().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return quote_command(argv);
  }

  static std::string describe(const Ran& ran) {
    std::string what = ran.outcome.exit_code >= 0
                           ? "exit status " + std::to_string(ran.outcome.exit_code)
                           : "signal " + std::to_string(ran.outcome.term_signal);
    return what + ": " + ran.errors();
  }

  Result<Ran> simulate(std::vector<std::string> args, std::vector<std::string>* commands) const {
    return run(apt_get(std::move(args), Mode::simulate), commands);
  }

  Result<DpkgDatabase> read_db() const { return read_dpkg_database(admin_); }

  bool is_held(const DpkgDatabase& db, const std::string& name, const std::string& arch) const {
    return std::any_of(db.held.begin(), db.held.end(), [&](const DbEntry& e) {
      return e.name == name && (arch.empty() || e.arch == arch);
    });
  }

  static Unexpected advisories_refused() {
    return make_error(Errc::invalid_input,
                      "apt repositories carry no advisory metadata, so apt cannot select updates "
                      "by advisory: select the packages (or 'security', or exact versions) that "
                      "the advisory fixes; the server maps DSA/DLA ids to packages",
                      "selection");
  }

  // The available updates: `apt-get -s upgrade --with-new-pkgs` (an upgrade that may install
  // new dependencies but never removes), and for each package it keeps back, the reason.
  Result<std::vector<Candidate>> collect_updates(const DpkgDatabase& db,
                                                 std::vector<std::string>* commands) const {
    auto sim = simulate({"upgrade", "--with-new-pkgs"}, commands);
    if (!sim) return tl::unexpected(sim.error());
    if (!sim->ok())
      return make_error(Errc::backend_failed, "apt-get -s upgrade failed: " + describe(*sim),
                        quote_command(sim->argv));
    std::vector<Candidate> out;
    for (const auto& a : sim->output.actions) {
      if (a.kind != SimAction::Kind::install || a.from.empty()) continue;
      if (action_of(a) != Action::upgrade) continue;
      Candidate c;
      c.update.name = split_arch(a.name).first;
      c.update.arch = a.arch;
      c.update.installed = a.from;
      c.update.candidate = a.to;
      c.update.origin = origin_of(a.releases);
      c.update.security = any_security(a.releases);
      out.push_back(std::move(c));
    }
    auto kept = kept_back(sim->output, db, commands);
    if (!kept) return tl::unexpected(kept.error());
    for (auto& k : *kept) out.push_back(std::move(k));
    std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
      return std::tie(a.update.name, a.update.arch) < std::tie(b.update.name, b.update.arch);
    });
    return out;
  }

  // Why each package apt-get upgrade keeps back is kept back: a hold; a phased update; needing
  // new packages or removals (what `apt-get install` of it alone would also do); or the
  // resolver's words when it cannot be installed at all.
  Result<std::vector<Candidate>> kept_back(const AptOutput& upgrade, const DpkgDatabase& db,
                                           std::vector<std::string>* commands) const {
    std::vector<std::pair<Listed, bool>> listed;  // bool: deferred by phasing
    for (const auto& l : upgrade.kept_back) listed.emplace_back(l, false);
    for (const auto& l : upgrade.deferred) listed.emplace_back(l, true);
    std::vector<Candidate> out;
    if (listed.empty()) return out;

    // The candidates of held packages, with their origin: a full upgrade that ignores holds.
    std::map<std::string, SimAction> unheld;
    const bool any_held = std::any_of(listed.begin(), listed.end(), [&](const auto& l) {
      auto [n, a] = split_arch(l.first.name);
      return is_held(db, n, a);
    });
    if (any_held) {
      auto sim = simulate({"-o", "APT::Ignore-Hold=true", "dist-upgrade"}, commands);
      if (!sim) return tl::unexpected(sim.error());
      for (const auto& a : sim->output.actions)
        if (a.kind == SimAction::Kind::install) unheld.emplace(a.name, a);
    }

    std::size_t analysed = 0;
    for (const auto& [l, deferred] : listed) {
      auto [name, arch] = split_arch(l.name);
      Candidate c;
      c.update.name = name;
      c.update.arch = arch;
      if (c.update.arch.empty()) {
        for (const auto& e : db.packages)
          if (e.name == name) c.update.arch = e.arch;
      }
      c.update.installed = l.from;
      c.update.candidate = l.to;
      c.update.held_back = true;
      const auto describe_candidate = [&c](const SimAction& a) {
        if (c.update.candidate.empty()) c.update.candidate = a.to;
        c.update.origin = origin_of(a.releases);
        c.update.security = any_security(a.releases);
      };
      if (is_held(db, name, arch)) {
        c.reason = Reason::held;
        c.update.held_reason = std::string(kHeldText);
        if (auto it = unheld.find(l.name); it != unheld.end()) describe_candidate(it->second);
      } else if (deferred) {
        c.reason = Reason::kept_back;
        c.update.held_reason =
            "deferred by phased updates (the repository offers it to a "
            "share of hosts at a time)";
      } else if (analysed < kMaxKeptBackAnalysed) {
        ++analysed;
        auto sim = simulate({"install", "--only-upgrade", l.name}, commands);
        if (!sim) return tl::unexpected(sim.error());
        if (sim->ok()) {
          std::vector<std::string> installs, removals;
          for (const auto& a : sim->output.actions) {
            if (a.name == l.name && a.kind == SimAction::Kind::install) {
              describe_candidate(a);
            } else if (a.kind == SimAction::Kind::install && a.from.empty()) {
              installs.push_back(a.name);
            } else if (a.kind == SimAction::Kind::remove) {
              removals.push_back(a.name);
            }
          }
          c.reason = Reason::kept_back;
          std::vector<std::string> would;
          if (!installs.empty()) would.push_back("install " + join(installs, ", "));
          if (!removals.empty()) would.push_back("remove " + join(removals, ", "));
          c.update.held_reason =
              would.empty() ? "kept back by the upgrade resolver (installing it by name would "
                              "upgrade it)"
                            : "needs new packages or removals (full-upgrade would " +
                                  join(would, " and ") + ")";
        } else {
          auto p = sim->output.problems.find(l.name);
          if (p == sim->output.problems.end()) p = sim->output.problems.find(name);
          if (p != sim->output.problems.end()) {
            c.reason = p->second.reason == Reason::conflict ? Reason::conflict : Reason::dependency;
            c.update.held_reason = "cannot be installed: " + p->second.detail;
          } else {
            c.reason = Reason::kept_back;
            c.update.held_reason = "cannot be installed: " + sim->errors();
          }
        }
      } else {
        c.reason = Reason::kept_back;
        c.update.held_reason = "kept back by apt-get upgrade (not analysed: more than " +
                               std::to_string(kMaxKeptBackAnalysed) + " packages kept back)";
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  // The reason a selected package that the simulation does not change stays as it is.
  static Hint skip_reason(const Ran& sim, const std::string& token, const std::string& name) {
    const auto& o = sim.output;
    for (const auto& key : {token, name}) {
      if (auto it = o.problems.find(key); it != o.problems.end()) return it->second;
    }
    const auto listed = [&](const std::vector<std::string>& v) {
      return std::find(v.begin(), v.end(), token) != v.end() ||
             std::find(v.begin(), v.end(), name) != v.end();
    };
    if (listed(o.up_to_date)) return {Reason::up_to_date, "already the newest version"};
    if (listed(o.not_installed))
      return {Reason::not_installed, "not installed, and only upgrades were asked for"};
    if (!sim.ok()) {
      if (o.general) return *o.general;
      return {Reason::tool_failed, "not attempted: apt-get refused the selection: " + sim.errors()};
    }
    return {Reason::none, "apt-get would not change it"};
  }

  // Simulates `p.args` and turns the result into a plan for the selected tokens.
  Result<void> simulate_into(Prepared& p, const std::vector<std::string>& selected_tokens,
                             std::vector<std::string>* commands) const {
    auto sim = simulate(p.args, commands);
    if (!sim) return tl::unexpected(sim.error());
    absorb(p, std::move(*sim), selected_tokens);
    return {};
  }

  // The plan from a simulation: its changes (selected when they are one of `selected_tokens`),
  // and for each selected token that does not change, the reason.
  static void absorb(Prepared& p, Ran sim, const std::vector<std::string>& selected_tokens) {
    p.resolvable = sim.ok();
    std::set<std::string> changed;
    if (p.resolvable) {
      for (const auto& a : sim.output.actions) {
        auto [name, arch_suffix] = split_arch(a.name);
        Change c;
        c.name = name;
        c.arch = a.arch.empty() ? arch_suffix : a.arch;
        c.from = a.from;
        c.to = a.kind == SimAction::Kind::remove ? std::string() : a.to;
        c.action = action_of(a);
        c.selected = false;
        for (const auto& t : selected_tokens) {
          auto [tn, ta] = split_arch(t);
          if (same_package(a.name, a.arch, tn, ta)) {
            c.selected = true;
            changed.insert(t);
          }
        }
        p.plan.changes.push_back(std::move(c));
      }
    }
    for (const auto& t : selected_tokens) {
      if (changed.count(t)) continue;
      auto [name, arch] = split_arch(t);
      Hint h = skip_reason(sim, t, name);
      p.plan.skipped.push_back({name, arch, h.reason, h.detail});
      p.hints.emplace(t, h);
    }
    p.simulation = std::move(sim);
  }

  // `selection` has passed check_selection.
  Result<Prepared> prepare(const Selection& selection, const DpkgDatabase& db,
                           std::vector<std::string>* commands) const {
    Prepared p;
    switch (selection.kind) {
      case Selection::Kind::advisories:
        return advisories_refused();

      case Selection::Kind::all: {
        p.args = {"upgrade", "--with-new-pkgs"};
        auto sim = simulate(p.args, commands);
        if (!sim) return tl::unexpected(sim.error());
        p.resolvable = sim->ok();
        if (p.resolvable) {
          for (const auto& a : sim->output.actions) {
            auto [name, arch_suffix] = split_arch(a.name);
            Change c{name,         a.arch.empty() ? arch_suffix : a.arch,
                     a.from,       a.kind == SimAction::Kind::remove ? std::string() : a.to,
                     action_of(a), false};
            // An upgrade of an installed package is what "all" selects; new packages and
            // removals are consequences.
            c.selected = a.kind == SimAction::Kind::install && !a.from.empty();
            if (c.selected) p.wanted.push_back({name, arch_suffix, a.to, false});
            p.plan.changes.push_back(std::move(c));
          }
          auto kept = kept_back(sim->output, db, commands);
          if (!kept) return tl::unexpected(kept.error());
          for (const auto& k : *kept) {
            p.plan.skipped.push_back(
                {k.update.name, k.update.arch, k.reason, k.update.held_reason});
            p.wanted.push_back({k.update.name, k.update.arch, {}, false});
            p.hints.emplace(key_of(k.update.name, k.update.arch),
                            Hint{k.reason, k.update.held_reason});
          }
        }
        p.simulation = std::move(*sim);
        if (p.plan.changes.empty()) p.args.clear();
        return p;
      }

      case Selection::Kind::security: {
        auto updates = collect_updates(db, commands);
        if (!updates) return tl::unexpected(updates.error());
        std::vector<std::string> tokens;
        for (const auto& u : *updates) {
          if (!u.update.security) continue;
          const std::string token = key_of(u.update.name, "");
          if (u.update.held_back) {
            p.plan.skipped.push_back(
                {u.update.name, u.update.arch, u.reason, u.update.held_reason});
            p.hints.emplace(token, Hint{u.reason, u.update.held_reason});
            p.wanted.push_back({u.update.name, {}, {}, false});
          } else {
            tokens.push_back(token);
            p.wanted.push_back({u.update.name, {}, u.update.candidate, false});
          }
        }
        if (tokens.empty()) return p;
        p.args = {"install", "--only-upgrade", "--no-remove"};
        p.args.insert(p.args.end(), tokens.begin(), tokens.end());
        if (auto ok = simulate_into(p, tokens, commands); !ok) return tl::unexpected(ok.error());
        break;
      }

      case Selection::Kind::packages: {
        std::vector<std::string> tokens;
        for (const auto& token : selection.names) {
          auto [name, arch] = split_arch(token);
          p.wanted.push_back({name, arch, {}, false});
          if (is_held(db, name, arch)) {
            p.plan.skipped.push_back({name, arch, Reason::held, std::string(kHeldText)});
            p.hints.emplace(token, Hint{Reason::held, std::string(kHeldText)});
            continue;
          }
          tokens.push_back(token);
        }
        if (tokens.empty()) return p;
        p.args = {"install", "--only-upgrade", "--no-remove"};
        p.args.insert(p.args.end(), tokens.begin(), tokens.end());
        if (auto ok = simulate_into(p, tokens, commands); !ok) return tl::unexpected(ok.error());
        // Verify against the versions the resolver chose.
        for (auto& w : p.wanted) {
          for (const auto& c : p.plan.changes)
            if (c.selected && c.name == w.name && (w.arch.empty() || w.arch == c.arch))
              w.version = c.to;
        }
        break;
      }

      case Selection::Kind::exact: {
        std::vector<std::string> items, tokens;
        for (const auto& ref : selection.exact) {
          const std::string token = key_of(ref.name, ref.arch);
          p.wanted.push_back({ref.name, ref.arch, ref.version, false});
          if (is_held(db, ref.name, ref.arch)) {
            p.plan.skipped.push_back({ref.name, ref.arch, Reason::held, std::string(kHeldText)});
            p.hints.emplace(token, Hint{Reason::held, std::string(kHeldText)});
            continue;
          }
          tokens.push_back(token);
          items.push_back(token + "=" + ref.version);
        }
        if (items.empty()) return p;
        p.args = {"install", "--no-remove", "--allow-downgrades"};
        p.args.insert(p.args.end(), items.begin(), items.end());
        if (auto ok = simulate_into(p, tokens, commands); !ok) return tl::unexpected(ok.error());
        break;
      }
    }
    if (p.resolvable && p.plan.changes.empty()) p.args.clear();
    return p;
  }

  // Rollback: one transaction installing each recorded version ("name=version", downgrading as
  // needed) and removing what was not installed ("name-"): removing first could take packages
  // that still depend on it along. Versions no repository offers are left out (not_applied,
  // not_in_repository) so that the rest can still be restored.
  Result<Prepared> prepare_restore(const std::vector<PackageRef>& targets, const DpkgDatabase& db,
                                   std::vector<std::string>* commands) const {
    Prepared p;
    std::vector<std::pair<std::string, std::string>> items;  // token, apt-get argument
    for (const auto& t : targets) {
      const std::string token = key_of(t.name, t.arch);
      p.wanted.push_back({t.name, t.arch, t.version, t.version.empty()});
      if (is_held(db, t.name, t.arch)) {
        p.plan.skipped.push_back({t.name, t.arch, Reason::held, std::string(kHeldText)});
        p.hints.emplace(token, Hint{Reason::held, std::string(kHeldText)});
        continue;
      }
      items.emplace_back(token, t.version.empty() ? token + "-" : token + "=" + t.version);
    }
    while (!items.empty()) {
      p.args = {"install", "--allow-downgrades"};
      std::vector<std::string> tokens;
      for (const auto& [token, arg] : items) {
        p.args.push_back(arg);
        tokens.push_back(token);
      }
      auto sim = simulate(p.args, commands);
      if (!sim) return tl::unexpected(sim.error());
      // Leave out the targets apt cannot find, and try again with the rest.
      std::size_t dropped = 0;
      for (auto it = items.begin(); !sim->ok() && it != items.end();) {
        auto [name, arch] = split_arch(it->first);
        auto pr = sim->output.problems.find(it->first);
        if (pr == sim->output.problems.end()) pr = sim->output.problems.find(name);
        if (pr != sim->output.problems.end() && pr->second.reason == Reason::not_in_repository) {
          p.plan.skipped.push_back({name, arch, pr->second.reason, pr->second.detail});
          p.hints.emplace(it->first, pr->second);
          it = items.erase(it);
          ++dropped;
        } else {
          ++it;
        }
      }
      if (dropped > 0) continue;
      absorb(p, std::move(*sim), tokens);
      break;
    }
    if (!p.resolvable || p.plan.changes.empty()) p.args.clear();
    return p;
  }

  // Before changing anything: nobody else holds dpkg's locks (waiting up to lock_timeout), and
  // the database is not left over from an interrupted run (repaired with dpkg --configure -a
  // when allowed).
  Result<void> get_ready(ApplyReport& report) const {
    if (auto locked =
            wait_for_locks({admin_ / "lock-frontend", admin_ / "lock"}, options_.lock_timeout);
        !locked)
      return locked;
    auto db = read_db();
    if (!db) return tl::unexpected(db.error());
    auto audit = run(dpkg({"--audit"}), &report.commands);
    if (!audit) return tl::unexpected(audit.error());
    const std::string audit_text = first_lines(audit->outcome.out, kMaxAuditText);
    if (db->journal_files == 0 && audit_text.empty()) return {};

    std::string why = db->journal_files > 0
                          ? "an earlier dpkg run was interrupted (" +
                                std::to_string(db->journal_files) +
                                " journal entries not merged into the status file)"
                          : "the dpkg database has packages in a broken state";
    if (!audit_text.empty()) why += "; dpkg --audit says: " + audit_text;
    const std::string repair = quote_command(dpkg({"--configure", "-a"}));
    if (!options_.repair_interrupted)
      return make_error(Errc::interrupted,
                        why + "\nRepair it with '" + repair +
                            "' (or let patchflow do so: repair_interrupted), then try again",
                        admin_.string());
    auto configure = dpkg({"--configure", "-a"});
    const auto opts = conffile_options();
    configure.insert(configure.end() - 2, opts.begin(), opts.end());
    auto fixed = run(configure, &report.commands);
    if (!fixed) return tl::unexpected(fixed.error());
    if (!fixed->ok()) {
      const std::string out = tail_lines(fixed->outcome.err + fixed->outcome.out, 10, 2048);
      if (out.find("locked by another process") != std::string::npos)
        return make_error(Errc::lock_held, out, admin_.string());
      return make_error(Errc::interrupted,
                        why + "\n'" + repair + "' could not repair it (exit status " +
                            std::to_string(fixed->outcome.exit_code) + "): " + out,
                        admin_.string());
    }
    report.warnings.push_back("ran " + repair + " first: " + why);
    return {};
  }

  // Runs the prepared apt-get command (when there is anything to do) and verifies the result
  // against the database read again.
  Result<ApplyReport> execute(Prepared p, const DpkgDatabase& before, ApplyReport report,
                              std::chrono::steady_clock::time_point lock_deadline) const {
    std::optional<Ran> ran;
    bool failed = false;
    if (!p.resolvable) {
      // The resolver refused it: running it for real would refuse it again.
      failed = true;
      ran = std::move(p.simulation);
      report.error = Error{Errc::backend_failed, "apt-get refused the selection: " + ran->errors(),
                           short_command(p.args)};
    } else if (!p.args.empty()) {
      const auto left = lock_deadline - std::chrono::steady_clock::now();
      const auto lock_wait =
          std::max(std::chrono::seconds(0), std::chrono::ceil<std::chrono::seconds>(left));
      auto real = run(apt_get(p.args, Mode::change, lock_wait), &report.commands);
      if (!real) return tl::unexpected(real.error());
      ran = std::move(*real);
      failed = !ran->ok();
      if (failed && !ran->output.dpkg_ran && !ran->output.lock_error.empty())
        return make_error(Errc::lock_held, ran->output.lock_error, admin_.string());
      if (failed && !ran->output.dpkg_ran && ran->output.interrupted)
        return make_error(Errc::interrupted,
                          "an earlier dpkg run was interrupted: " + ran->errors(), admin_.string());
      if (failed) {
        std::string message = "apt-get failed: " + describe(*ran);
        std::size_t shown = 0;
        for (const auto& [name, hint] : ran->output.problems) {
          if (++shown > 3) break;
          message += "; " + name + ": " + hint.detail;
        }
        report.error = Error{Errc::backend_failed, std::move(message), short_command(p.args)};
      }
    }
    if (ran) {
      report.exit_code = ran->outcome.exit_code;
      std::string tail = tail_lines(ran->outcome.out, 30, 6144);
      const std::string err_tail = tail_lines(ran->outcome.err, 15, 2048);
      if (!err_tail.empty()) tail += (tail.empty() ? "" : "\n") + err_tail;
      report.output_tail = std::move(tail);
    }

    auto after = read_db();
    if (!after) return tl::unexpected(after.error());

    // Hints: what this run printed first, then what was known before it.
    std::map<std::string, Hint> hints = ran ? ran->output.problems : std::map<std::string, Hint>{};
    for (const auto& [k, h] : p.hints) hints.emplace(k, h);
    auto results = verify_run(before.packages, after->packages, p.wanted, hints);
    for (auto& r : results) {
      const bool missed = r.status == PackageResult::Status::failed ||
                          r.status == PackageResult::Status::not_applied;
      if (!missed || r.reason != Reason::none || !failed) continue;
      if (ran && ran->output.general) {
        r.reason = ran->output.general->reason;
        r.detail = ran->output.general->detail;
      } else {
        r.reason = Reason::tool_failed;
        r.detail = ran ? ran->errors() : std::string();
      }
    }
    std::error_code ec;
    const bool reboot = fs::exists(options_.root / "run/reboot-required", ec);
    report.outcome = summarize(results, failed, reboot);
    // dpkg started and undid its work (a failed unpack is rolled back): the install failed even
    // though the database reads as before.
    if (report.outcome == ApplyOutcome::resolve_failed && ran && ran->output.dpkg_ran)
      report.outcome = ApplyOutcome::install_failed;
    report.packages = std::move(results);

    auto audit = run(dpkg({"--audit"}), &report.commands);
    if (!audit) return tl::unexpected(audit.error());
    report.audit = first_lines(audit->outcome.out, kMaxAuditText);
    const bool broken = std::any_of(after->packages.begin(), after->packages.end(),
                                    [](const DbEntry& e) { return !e.state.empty(); });
    if (report.audit.empty() && (broken || after->journal_files > 0)) {
      std::vector<std::string> states;
      for (const auto& e : after->packages)
        if (!e.state.empty()) states.push_back(e.name + " " + e.state);
      report.audit = "dpkg database not clean: " + join(states, ", ") +
                     (after->journal_files > 0 ? " (journal not merged)" : "");
    }
    report.consistent = report.audit.empty();
    if (!report.consistent)
      report.audit += "\nRepair with: " + quote_command(dpkg({"--configure", "-a"}));
    return report;
  }

  BackendOptions options_;
  fs::path admin_;
};

}  // namespace

std::unique_ptr<PackageBackend> make_apt_backend(BackendOptions options) {
  return std::make_unique<AptBackend>(std::move(options));
}

}  // namespace pf::pkg::apt
