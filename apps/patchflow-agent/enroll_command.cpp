// SPDX-License-Identifier: Apache-2.0
// `patchflow-agent enroll`: a one-time token and the pinned CA → a client certificate and a host
// id, kept in the state directory. The key is made here and never leaves the host.
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "agent_command.hpp"
#include "host_inventory.hpp"
#include "patchflow/agent_client/https_client.hpp"
#include "patchflow/agent_client/protocol.hpp"
#include "patchflow/agent_client/state.hpp"
#include "patchflow/common/files.hpp"
#include "patchflow/pki/certs.hpp"
#include "patchflow/pki/files.hpp"
#include "protocol_support.hpp"

namespace pf::agent_cli {

namespace {

namespace fs = std::filesystem;
namespace ac = agent_client;

struct EnrollFlags {
  std::string server;
  std::string token;
  std::string token_file;
  std::string ca_fingerprint;
  std::string ca_file;
  std::string state_dir;
  bool force{false};
  unsigned timeout_s{60};
  InventoryFlags inventory;
};

std::string trim(std::string s) {
  const auto ws = " \t\r\n";
  s.erase(s.find_last_not_of(ws) + 1);
  s.erase(0, s.find_first_not_of(ws));
  return s;
}

// The first certificate of a PEM text: only the pinned certificate is ever trusted, not others
// that might ride along with it.
std::string first_certificate(const std::string& pem) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  const auto b = pem.find(kBegin);
  if (b == std::string::npos) return {};
  const auto e = pem.find(kEnd, b);
  if (e == std::string::npos) return {};
  return pem.substr(b, e + kEnd.size() - b) + "\n";
}

std::chrono::sys_seconds now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

// The CA the server's certificate must chain to: from --ca, or fetched without verification
// and accepted only when its fingerprint is the pinned one. Nothing secret is sent for it.
Result<std::string> trusted_ca(const EnrollFlags& flags, const std::string& url,
                               const std::string& pin, int& exit_code) {
  if (!flags.ca_file.empty()) {
    auto text = files::read_at_most(flags.ca_file, pki::kMaxPemBytes);
    if (!text) return tl::unexpected(text.error());
    std::string pem = first_certificate(*text);
    if (pem.empty()) return make_error(Errc::invalid_input, "no PEM certificate", flags.ca_file);
    if (auto fp = pki::ca_fingerprint(pem); !fp) {
      return make_error(Errc::invalid_input, fp.error().message, flags.ca_file);
    }
    return pem;
  }
  auto fetched = ac::fetch_ca_unverified(url, std::chrono::seconds(flags.timeout_s));
  if (!fetched) {
    exit_code = exit_code_for(fetched.error());
    Error e = fetched.error().error;
    e.message = "cannot fetch the server's CA certificate: " + e.message;
    return tl::unexpected(std::move(e));
  }
  std::string pem = first_certificate(*fetched);
  if (auto ok = pki::check_ca_fingerprint(pem, pin); !ok) {
    exit_code = kExitPackageManager;  // 3: the server is not the one we were told to trust
    return make_error(Errc::conflict,
                      "refusing to enroll, no token was sent: the server's CA is not the pinned "
                      "one: " +
                          ok.error().message,
                      url);
  }
  return pem;
}

int run_enroll(const EnrollFlags& flags) {
  const fs::path dir =
      flags.state_dir.empty() ? ac::default_state_dir() : fs::path(flags.state_dir);
  const ac::StateFiles files(dir);
  auto url = ac::normalize_server_url(flags.server);
  if (!url) return fail(url.error());
  if (flags.ca_file.empty() == flags.ca_fingerprint.empty()) {
    return fail(
        Error{Errc::invalid_input, "give exactly one of --ca-fingerprint and --ca", "enroll"});
  }
  std::string pin;
  if (!flags.ca_fingerprint.empty()) {
    auto normalized = pki::normalize_fingerprint(flags.ca_fingerprint);
    if (!normalized)
      return fail(Error{Errc::invalid_input, normalized.error().message, "--ca-fingerprint"});
    pin = *normalized;
  }
  std::string token = flags.token;
  if (!flags.token_file.empty()) {
    auto text = files::read_at_most(flags.token_file, 4096);
    if (!text) return fail(text.error());
    token = trim(*text);
  }
  if (token.empty()) {
    return fail(
        Error{Errc::invalid_input, "give the enrollment token: --token or --token-file", "enroll"});
  }

  // One enrollment per state directory: a second one would orphan the first host.
  std::error_code ec;
  if (!flags.force &&
      (fs::exists(files.state, ec) || fs::exists(files.key, ec) || fs::exists(files.cert, ec))) {
    std::string who;
    if (auto state = ac::load_state(files.state); state) {
      who = " as " + state->host_id + " with " + state->server_url;
    }
    fail(Error{Errc::conflict,
               "already enrolled" + who +
                   "; 'patchflow-agent enroll --force' enrolls again (a new host id)",
               dir.string()});
    return kExitUsage;
  }

  // Facts first: a root that cannot be read fails before anything is sent.
  auto inv = collect_host_inventory(flags.inventory);
  if (!inv) return fail(inv.error());
  if (auto ok = ac::ensure_state_dir(dir); !ok) return fail(ok.error());

  int exit_code = kExitInternal;
  auto ca_pem = trusted_ca(flags, *url, pin, exit_code);
  if (!ca_pem) {
    if (ca_pem.error().code == Errc::invalid_input || ca_pem.error().code == Errc::not_found) {
      return fail(ca_pem.error());
    }
    std::cerr << "patchflow-agent: " << to_string(ca_pem.error()) << "\n";
    return exit_code;
  }
  if (auto ok = pki::save_pem(files.ca, *ca_pem, pki::kCertFileMode); !ok) return fail(ok.error());

  auto key = pki::make_key_and_csr(inv->facts.hostname.empty() ? "patchflow-agent"
                                                               : inv->facts.hostname.substr(0, 64));
  if (!key) return fail(key.error());
  ac::ClientOptions options;
  options.base_url = *url;
  options.ca_file = files.ca;
  options.total_timeout = std::chrono::seconds(flags.timeout_s);
  const ac::HttpsClient client(options);
  ac::EnrollRequest request;
  request.token = token;
  request.csr_pem = key->csr_pem;
  request.hostname = inv->facts.hostname;
  request.facts_json = inventory_json(*inv, false);
  auto enrolled = ac::enroll(client, request);
  if (!enrolled) return fail("enrollment failed", enrolled.error());

  // What came back must be a client certificate of the pinned CA for the host id given.
  auto info = pki::certificate_info(enrolled->cert_pem);
  if (!info || info->subject_cn != enrolled->host_id) {
    return fail(Error{Errc::invalid_input,
                      "the server's certificate does not name host " + enrolled->host_id,
                      client.url("/agent/v1/enroll")});
  }
  if (auto ok = pki::verify_chain(enrolled->cert_pem, *ca_pem, now(), pki::Purpose::client); !ok) {
    return fail(Error{Errc::invalid_input,
                      "the server's certificate does not verify: " + ok.error().message,
                      client.url("/agent/v1/enroll")});
  }
  if (first_certificate(enrolled->ca_pem) != *ca_pem) {
    log_line(
        "warning: the enrollment answer names another CA than the pinned one; keeping the "
        "pinned one");
  }

  // The key first, the state file last: state.json is what says "enrolled".
  ac::abandon_rotation(files);
  fs::remove(files.next_cert, ec);
  if (auto ok = pki::save_pem(files.key, key->key_pem, pki::kKeyFileMode); !ok)
    return fail(ok.error());
  if (auto ok = pki::save_pem(files.cert, enrolled->cert_pem, pki::kCertFileMode); !ok) {
    return fail(ok.error());
  }
  if (!enrolled->signing_public_key_pem.empty()) {
    if (auto ok =
            pki::save_pem(files.signing_pub, enrolled->signing_public_key_pem, pki::kCertFileMode);
        !ok) {
      return fail(ok.error());
    }
  }
  ac::State state;
  state.host_id = enrolled->host_id;
  state.server_url = *url;
  if (auto ok = ac::save_state(files.state, state); !ok) return fail(ok.error());
  log_line("enrolled with " + *url + " as host " + enrolled->host_id + " (state in " +
           dir.string() + ")");
  std::cout << enrolled->host_id << "\n";
  return kExitOk;
}

}  // namespace

void add_enroll_command(CLI::App& root, int& exit_code) {
  static EnrollFlags flags;
  auto* cmd = root.add_subcommand(
      "enroll", "enroll this host with a patchflow server (one-time token, pinned CA)");
  cmd->add_option("--server", flags.server, "the server, https://HOST[:PORT]")
      ->required()
      ->option_text("URL");
  auto* token = cmd->add_option("--token", flags.token,
                                "the one-time enrollment token (pfe_...) from the server")
                    ->option_text("TOKEN");
  cmd->add_option("--token-file", flags.token_file,
                  "read the token from FILE (keeps it out of the process list)")
      ->option_text("FILE")
      ->excludes(token);
  auto* fp = cmd->add_option("--ca-fingerprint", flags.ca_fingerprint,
                             "the server CA's SHA-256 fingerprint (sha256:HEX, HEX, or "
                             "AA:BB:... as openssl prints it); the CA is fetched and checked "
                             "against it before anything secret is sent")
                 ->option_text("FINGERPRINT");
  cmd->add_option("--ca", flags.ca_file, "trust this CA certificate file instead")
      ->option_text("FILE")
      ->excludes(fp);
  cmd->add_option("--state-dir", flags.state_dir,
                  "where the key, certificates and state.json are kept (default "
                  "$PATCHFLOW_AGENT_STATE_DIR or /var/lib/patchflow-agent)")
      ->option_text("DIR");
  cmd->add_flag("--force", flags.force,
                "enroll again over an existing state (the old host id is abandoned)");
  cmd->add_option("--timeout", flags.timeout_s, "seconds each request to the server may take")
      ->option_text("SECONDS");
  add_inventory_flags(*cmd, flags.inventory);
  cmd->footer(
      "Prints the host id. Exit codes: 0 enrolled, 2 usage or input error (already enrolled,\n"
      "bad flag, unreadable root), 3 server unreachable, not trusted (wrong fingerprint) or\n"
      "refusing (bad or used token), 4 internal error.\n"
      "Example:\n  patchflow-agent enroll --server https://patchflow.example:8443 \\\n"
      "      --token-file /root/token --ca-fingerprint sha256:3f5c...");
  cmd->callback([&exit_code] { exit_code = run_enroll(flags); });
}

}  // namespace pf::agent_cli
