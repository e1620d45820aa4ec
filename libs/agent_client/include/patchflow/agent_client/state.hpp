// SPDX-License-Identifier: Apache-2.0
// The agent's state directory: its key and certificate, the server's CA and signing key, and
// state.json. Every file is written atomically (temporary file, fsync, rename, directory fsync).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::agent_client {

/// /var/lib/patchflow-agent unless PATCHFLOW_AGENT_STATE_DIR is set (and not empty).
[[nodiscard]] std::filesystem::path default_state_dir();

/// The files of a state directory.
struct StateFiles {
  explicit StateFiles(const std::filesystem::path& dir);
  std::filesystem::path dir;
  std::filesystem::path key;          ///< agent.key: the agent's private key, 0600, never sent
  std::filesystem::path cert;         ///< agent.crt: its client certificate from the server
  std::filesystem::path ca;           ///< ca.crt: the CA the server's certificate chains to
  std::filesystem::path signing_pub;  ///< signing.pub: the server's Ed25519 public key
  std::filesystem::path state;        ///< state.json
  std::filesystem::path next_key;     ///< agent.key.next: a rotation in progress
  std::filesystem::path next_cert;    ///< agent.crt.next: a rotation about to be installed
};

/// What state.json records. Its document: {"version":1,"host_id","server_url",
/// "inventory_hash"}; unknown keys are ignored (a newer agent may add some).
struct State {
  std::string host_id;
  std::string server_url;      ///< https://host:port, as normalize_server_url returns it
  std::string inventory_hash;  ///< of the last inventory the server stored; "" before the first
};

inline constexpr std::size_t kMaxStateBytes = 64 * 1024;
inline constexpr unsigned kStateFileMode = 0600;

/// The JSON text of `state` (one line and a newline).
[[nodiscard]] std::string state_json(const State& state);

/// Reads a state.json text; `name` (the file) locates errors. Errc::invalid_input naming the
/// file and what is wrong (not JSON, another version, a missing or empty field, a server URL
/// that is not https) with the advice to enroll again.
[[nodiscard]] Result<State> parse_state(std::string_view text, std::string_view name);

/// Errc::not_found ("not enrolled") when the file does not exist, else parse_state.
[[nodiscard]] Result<State> load_state(const std::filesystem::path& file);

/// Writes state.json atomically, mode 0600.
[[nodiscard]] Result<void> save_state(const std::filesystem::path& file, const State& state);

/// Creates `dir` (and its parents) with mode 0700 when absent; Errc::invalid_input when it
/// exists and is not a directory, Errc::io when it cannot be created.
[[nodiscard]] Result<void> ensure_state_dir(const std::filesystem::path& dir);

/// Certificate rotation, crash-safe as a journal that only rolls forward:
/// begin_rotation writes the new key to agent.key.next; complete_rotation writes the new
/// certificate to agent.crt.next, then renames agent.key.next over agent.key and
/// agent.crt.next over agent.crt. recover_rotation (at every start) finishes a rotation that a
/// crash interrupted after agent.crt.next was written, and drops a lone agent.key.next (the
/// server had not answered). abandon_rotation drops agent.key.next.
[[nodiscard]] Result<void> begin_rotation(const StateFiles& files, std::string_view key_pem);
[[nodiscard]] Result<void> complete_rotation(const StateFiles& files, std::string_view cert_pem);
void abandon_rotation(const StateFiles& files);
/// True when it changed something.
[[nodiscard]] Result<bool> recover_rotation(const StateFiles& files);

}  // namespace pf::agent_client
