// SPDX-License-Identifier: Apache-2.0
// `patchflow-agent run`: the check-in loop. Each cycle: renew the certificate when a third of
// its validity is left, collect the facts, the packages and the available updates, check in
// with the inventory hash, upload the inventory when the server asks for it, resume unfinished
// runs and run the work the answer carries (work_loop.hpp), then long-poll the server for work
// until the interval the server chose has passed. Failures back off exponentially with full jitter; a revoked
// host stops the loop.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "agent_command.hpp"
#include "host_inventory.hpp"
#include "patchflow/agent_client/backoff.hpp"
#include "patchflow/agent_client/https_client.hpp"
#include "patchflow/agent_client/inventory_hash.hpp"
#include "patchflow/agent_client/protocol.hpp"
#include "patchflow/agent_client/state.hpp"
#include "patchflow/common/files.hpp"
#include "patchflow/pki/certs.hpp"
#include "patchflow/pki/files.hpp"
#include "protocol_support.hpp"
#include "work_loop.hpp"

namespace pf::agent_cli {

namespace {

namespace fs = std::filesystem;
namespace ac = agent_client;
using std::chrono::milliseconds;
using std::chrono::seconds;

/// Renew when less than this part of the certificate's validity is left.
constexpr double kRotationFraction = 1.0 / 3.0;
/// The longest sleep between check-ins, whatever the server says.
constexpr std::chrono::seconds kMaxCheckinInterval{86400};

struct RunFlags {
  std::string state_dir;
  bool once{false};
  bool no_refresh{false};
  unsigned refresh_interval_s{3600};
  unsigned timeout_s{120};
  std::string now;  ///< tests: the time the rotation decision is taken at (RFC 3339, UTC)
  InventoryFlags inventory;
  BackendFlags backend;
  WorkFlags work;
  bool no_wait{false};
  unsigned wait_s{30};  ///< longest long-poll
};

/// Why a cycle did not complete.
struct CycleFailure {
  std::string message;
  int exit_code{kExitPackageManager};
  bool fatal{false};  ///< stop the loop: the server will not take this agent any more
};

Result<std::chrono::sys_seconds> parse_utc(const std::string& text) {
  std::tm tm{};
  char z = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
      z != 'Z') {
    return make_error(Errc::invalid_input, "expected YYYY-MM-DDTHH:MM:SSZ, got '" + text + "'",
                      "--now");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::sys_seconds(seconds(::timegm(&tm)));
}

std::chrono::sys_seconds clock_now() {
  return std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now());
}

class Agent {
 public:
  Agent(const RunFlags& flags, fs::path dir, ac::State state)
      : flags_(flags), files_(dir), state_(std::move(state)) {
    ac::ClientOptions options;
    options.base_url = state_.server_url;
    options.ca_file = files_.ca;
    options.cert_file = files_.cert;
    options.key_file = files_.key;
    options.total_timeout = seconds(flags.timeout_s);
    options.cancelled = [] { return stop_requested(); };
    client_.emplace(std::move(options));
    backend_flags_ = flags.backend;
    backend_flags_.root = flags.inventory.root;
    backend_flags_.rpm_dbpath = flags.inventory.rpm_dbpath;
    WorkFlags work = flags.work;
    work.boot_id_file = flags.inventory.boot_id_file;
    work.proc_dir = flags.inventory.proc_dir;
    work_.emplace(*client_, files_, state_.host_id, backend_flags_, work);
  }

  /// Until the next check-in is due: waits for work with long-polls (each at most --wait
  /// seconds) and runs what comes; plain sleep with --no-wait or when the server cannot be
  /// asked. False when a stop was requested.
  bool idle(seconds interval) {
    const auto deadline = std::chrono::steady_clock::now() + interval;
    while (!stop_requested()) {
      const auto left =
          std::chrono::duration_cast<seconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return true;
      if (flags_.no_wait) return stop_aware_sleep(left);
      const int poll = static_cast<int>(std::min<std::int64_t>(left.count(), flags_.wait_s));
      auto item = ac::wait_for_work(*client_, poll);
      if (!item) {
        if (stop_requested()) return false;
        // Not fatal: the check-in loop reports failures; keep to the interval.
        return stop_aware_sleep(std::chrono::duration_cast<milliseconds>(
            deadline - std::chrono::steady_clock::now()));
      }
      if (*item) work_->handle(**item);
    }
    return false;
  }

  /// One cycle; the seconds the server wants until the next one.
  tl::expected<std::int64_t, CycleFailure> cycle() {
    if (auto r = rotate_if_due(); !r) return tl::unexpected(r.error());
    auto inv = collect_host_inventory(flags_.inventory);
    if (!inv)
      return tl::unexpected(CycleFailure{to_string(inv.error()), exit_code_for(inv.error())});
    const std::string facts = inventory_json(*inv, false);
    auto updates = available_updates();
    // Without the updates the hash cannot be computed: the last uploaded one keeps the server
    // from asking for an inventory that would lack them.
    const std::string hash =
        updates ? ac::inventory_hash(inv->packages, *updates) : state_.inventory_hash;
    auto answer = ac::checkin(*client_, facts, hash);
    if (!answer) return tl::unexpected(call_failure("check-in failed", answer.error()));
    if (answer->inventory_needed) {
      if (!updates) {
        log_line(
            "the server asks for the inventory, but the available updates could not be "
            "listed; it is sent with a later check-in");
      } else {
        auto put = ac::put_inventory(*client_, hash, inv->packages, *updates);
        if (!put) return tl::unexpected(call_failure("inventory upload failed", put.error()));
        log_line("uploaded the inventory: " + std::to_string(inv->packages.size()) + " packages, " +
                 std::to_string(updates->size()) + " available updates (" + hash + ")");
        if (state_.inventory_hash != hash) {
          state_.inventory_hash = hash;
          if (auto ok = ac::save_state(files_.state, state_); !ok) {
            log_line("warning: " + to_string(ok.error()));
          }
        }
      }
    }
    // Runs left unfinished (a killed agent, a reboot) first, then what the server hands out.
    work_->resume_and_report();
    for (const auto& item : ac::work_items(answer->work_json)) {
      if (stop_requested()) break;
      work_->handle(item);
    }
    // The server chooses (with its jitter); bounded so that a bad answer neither spins nor
    // silences the agent for long.
    return std::clamp<std::int64_t>(answer->next_checkin_s, 1, kMaxCheckinInterval.count());
  }

 private:
  static CycleFailure call_failure(const std::string& what, const ac::CallError& e) {
    CycleFailure f{what + ": " + ac::to_string(e), exit_code_for(e)};
    if (e.failure == ac::Failure::forbidden) {
      f.fatal = true;
      f.message = "the server refuses this host: it has been revoked (" + ac::to_string(e) +
                  "); enroll again with a new token to come back";
    } else if (e.failure == ac::Failure::unauthenticated) {
      f.fatal = true;
      f.message = "the server does not accept this agent's certificate (" + ac::to_string(e) +
                  "); enroll again with 'patchflow-agent enroll --force'";
    }
    return f;
  }

  // The updates the package manager offers; the metadata refreshed at most once per
  // --refresh-interval (never with --no-refresh). Failures are logged, not fatal: the
  // check-in still reports the host alive.
  std::optional<std::vector<pkg::Update>> available_updates() {
    auto backend = open_backend(backend_flags_);
    if (!backend) {
      log_line("warning: cannot list available updates: " + to_string(backend.error()));
      return std::nullopt;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!flags_.no_refresh &&
        (!last_refresh_ || now - *last_refresh_ >= seconds(flags_.refresh_interval_s))) {
      if (auto r = (*backend)->refresh(); !r) {
        log_line("warning: refreshing the package metadata failed (the last fetched is used): " +
                 to_string(r.error()));
      }
      last_refresh_ = now;
    }
    auto updates = (*backend)->upgradable();
    if (!updates) {
      log_line("warning: cannot list available updates: " + to_string(updates.error()));
      return std::nullopt;
    }
    return std::move(*updates);
  }

  // Renews the certificate when less than a third of its validity is left. A failed renewal
  // is logged and tried again next cycle, the current certificate still being valid.
  tl::expected<void, CycleFailure> rotate_if_due() {
    auto text = files::read_at_most(files_.cert, pki::kMaxPemBytes);
    if (!text) return tl::unexpected(CycleFailure{to_string(text.error()), kExitUsage, true});
    auto info = pki::certificate_info(*text);
    if (!info) {
      return tl::unexpected(
          CycleFailure{files_.cert.string() + ": " + info.error().message, kExitUsage, true});
    }
    std::chrono::sys_seconds now = clock_now();
    if (!flags_.now.empty()) {
      auto injected = parse_utc(flags_.now);
      if (injected) now = *injected;
    }
    if (!pki::needs_rotation(*info, now, kRotationFraction)) return {};

    auto key = pki::make_key_and_csr(state_.host_id);
    if (!key) return tl::unexpected(CycleFailure{to_string(key.error()), kExitInternal});
    if (auto ok = ac::begin_rotation(files_, key->key_pem); !ok) {
      log_line("warning: certificate renewal: " + to_string(ok.error()));
      return {};
    }
    auto cert = ac::renew(*client_, key->csr_pem);
    if (!cert) {
      ac::abandon_rotation(files_);
      const CycleFailure f = call_failure("certificate renewal failed", cert.error());
      if (f.fatal) return tl::unexpected(f);
      log_line(f.message + "; tried again next cycle");
      return {};
    }
    auto ca = files::read_at_most(files_.ca, pki::kMaxPemBytes);
    auto new_info = pki::certificate_info(*cert);
    Result<void> valid = ca ? pki::verify_chain(*cert, *ca, clock_now(), pki::Purpose::client)
                            : Result<void>(tl::unexpected(ca.error()));
    if (!valid || !new_info || new_info->subject_cn != state_.host_id) {
      ac::abandon_rotation(files_);
      log_line("warning: the renewed certificate is not usable (" +
               (valid ? std::string("it names another host") : to_string(valid.error())) +
               "); keeping the current one");
      return {};
    }
    if (auto ok = ac::complete_rotation(files_, *cert); !ok) {
      return tl::unexpected(CycleFailure{
          "cannot install the renewed certificate: " + to_string(ok.error()), kExitInternal, true});
    }
    log_line("renewed the agent certificate (" + new_info->fingerprint + ")");
    return {};
  }

  const RunFlags& flags_;
  ac::StateFiles files_;
  ac::State state_;
  std::optional<ac::HttpsClient> client_;
  BackendFlags backend_flags_;
  std::optional<std::chrono::steady_clock::time_point> last_refresh_;
  std::optional<WorkHandler> work_;
};

int run_loop(const RunFlags& flags) {
  const fs::path dir =
      flags.state_dir.empty() ? ac::default_state_dir() : fs::path(flags.state_dir);
  const ac::StateFiles files(dir);
  if (!flags.now.empty()) {
    if (auto t = parse_utc(flags.now); !t) return fail(t.error());
  }
  auto state = ac::load_state(files.state);
  if (!state) {
    fail(state.error());
    return kExitUsage;
  }
  if (auto recovered = ac::recover_rotation(files); !recovered) {
    return fail(recovered.error());
  } else if (*recovered) {
    log_line("finished a certificate rotation that an earlier run left half done");
  }
  if (auto ok = pki::check_key_file_mode(files.key); !ok) {
    fail(ok.error());
    return kExitUsage;
  }
  for (const auto& f : {files.cert, files.ca}) {
    std::error_code ec;
    if (!fs::exists(f, ec)) {
      fail(Error{Errc::not_found, "missing: enroll again with --force", f.string()});
      return kExitUsage;
    }
  }

  install_stop_handlers();
  Agent agent(flags, dir, *state);
  ac::Backoff backoff;
  while (!stop_requested()) {
    auto next = agent.cycle();
    if (stop_requested()) break;
    if (next) {
      if (backoff.failures() > 0) {
        log_line("checked in again after " + std::to_string(backoff.failures()) + " failure(s)");
      }
      backoff.reset();
      if (flags.once) return kExitOk;
      if (!agent.idle(seconds(std::max<std::int64_t>(1, *next)))) break;
      continue;
    }
    const CycleFailure& f = next.error();
    if (f.fatal) {
      log_line(f.message);
      return f.exit_code == kExitOk ? kExitPackageManager : f.exit_code;
    }
    if (flags.once) {
      log_line(f.message);
      return f.exit_code;
    }
    const milliseconds wait = backoff.next();
    log_line(f.message + " (failure " + std::to_string(backoff.failures()) + " in a row; next " +
             "attempt in " + format_wait(wait) + ")");
    if (!stop_aware_sleep(wait)) break;
  }
  log_line("stopped");
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& root, int& exit_code) {
  static RunFlags flags;
  auto* cmd = root.add_subcommand(
      "run",
      "check in with the server in a loop: facts, inventory when it changed, renewals, and the\n"
      "signed jobs the server hands out (verified, run, journaled, reported)");
  cmd->add_option("--state-dir", flags.state_dir,
                  "the state directory 'enroll' wrote (default $PATCHFLOW_AGENT_STATE_DIR or "
                  "/var/lib/patchflow-agent)")
      ->option_text("DIR");
  cmd->add_flag("--once", flags.once, "one check-in cycle, then exit (cron, tests)");
  cmd->add_flag("--no-refresh", flags.no_refresh,
                "never refresh the package metadata (list updates from what was fetched last)");
  cmd->add_option("--refresh-interval", flags.refresh_interval_s,
                  "refresh the package metadata at most every SECONDS (default 3600)")
      ->option_text("SECONDS");
  cmd->add_option("--request-timeout", flags.timeout_s,
                  "seconds one request to the server may take (default 120)")
      ->option_text("SECONDS");
  // Tests only: the time at which the rotation decision is taken.
  cmd->add_option("--now", flags.now, "")->group("");
  add_inventory_flags(*cmd, flags.inventory);
  add_backend_flags(*cmd, flags.backend, false, false);
  add_work_flags(*cmd, flags.work);
  cmd->add_flag("--no-wait", flags.no_wait,
                "between check-ins, sleep instead of long-polling the server for work");
  cmd->add_option("--wait", flags.wait_s, "longest long-poll for work, seconds (default 30)")
      ->check(CLI::Range(1, 300))
      ->option_text("SECONDS");
  cmd->footer(
      "Stops on SIGTERM or SIGINT (exit 0). Exit codes: 0 stopped or --once done, 2 not enrolled\n"
      "or a bad state directory, 3 server unreachable (--once) or the host revoked / not\n"
      "recognised, 4 internal error.\n"
      "Examples:\n  patchflow-agent run\n  patchflow-agent run --once --no-refresh");
  cmd->callback([&exit_code] { exit_code = run_loop(flags); });
}

}  // namespace pf::agent_cli
