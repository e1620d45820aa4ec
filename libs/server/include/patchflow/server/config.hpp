// SPDX-License-Identifier: Apache-2.0
// The server's configuration: one declared table of settings drives the YAML keys, the
// PATCHFLOW_* environment variables, the command-line flags, --print-config and the docs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::server {

enum class LogFormat { text, json };

/// Every setting of `patchflow server`, with its default.
struct Config {
  std::string listen_host{"127.0.0.1"};  ///< listen = "host:port" ("[::1]:8443" for IPv6)
  int listen_port{8443};                 ///< 0: any free port (tests)
  std::filesystem::path state_dir{"/var/lib/patchflow"};
  /// A SQLite file path or a postgresql:// URL; by default <state_dir>/patchflow.db.
  std::string database;
  std::vector<std::string> server_names{"localhost", "127.0.0.1"};
  std::filesystem::path tls_cert;  ///< given server certificate (with tls_key) instead of ours
  std::filesystem::path tls_key;
  std::filesystem::path tls_ca;    ///< the CA agents and clients trust for the server certificate
  std::uint64_t max_body_bytes{16u << 20};
  std::chrono::seconds checkin_interval{60};
  double checkin_jitter{0.10};  ///< 0..0.5: next check-in in interval * (1 ± jitter)
  LogFormat log_format{LogFormat::text};
  int threads{64};  ///< HTTP worker threads
  std::chrono::seconds keep_alive_timeout{2};
  std::chrono::seconds agent_cert_validity{90 * 86400};
  std::chrono::seconds session_ttl{12 * 3600};  ///< lifetime of a token from password login
  std::chrono::seconds long_poll_timeout{30};   ///< longest GET /agent/v1/wait
  /// Waits held at once (each holds a worker thread); 0: half of `threads`. Beyond it a wait
  /// answers at once with "no work" and the agent falls back to its check-in interval.
  int long_poll_slots{0};
  std::chrono::seconds findings_interval{10};   ///< how often stale findings are looked for
  std::chrono::seconds work_ttl{86400};         ///< default validity of a signed work item
  std::chrono::seconds chain_interval{2};       ///< between two ticks of the chain orchestrator
  std::string clock_file;  ///< lab/tests: seconds added to the orchestrator's clock ("" none)

  /// "host:port" as written in the config ("[::1]:8443" for IPv6).
  [[nodiscard]] std::string listen() const;
};

/// One row of the settings table.
struct SettingInfo {
  std::string_view key;           ///< YAML key; flag --key-with-dashes; env PATCHFLOW_KEY
  std::string_view type;          ///< "host:port", "path", "list", "size", "duration", ...
  std::string_view default_text;  ///< as --print-config shows the default
  std::string_view description;
};

/// The settings, in the order --print-config and the docs list them.
[[nodiscard]] const std::vector<SettingInfo>& settings();

/// "PATCHFLOW_STATE_DIR" for "state_dir".
[[nodiscard]] std::string env_name(std::string_view key);
/// "--state-dir" for "state_dir".
[[nodiscard]] std::string flag_name(std::string_view key);

enum class Source { default_value, file, env, flag };
[[nodiscard]] std::string_view to_string(Source source) noexcept;

/// Where the effective value of a setting came from.
struct Origin {
  Source source{Source::default_value};
  std::string detail;  ///< "FILE:line:col", "PATCHFLOW_LISTEN", "--listen", or a note
};

struct ConfigInputs {
  /// The YAML file (--config); none: defaults, environment and flags only.
  std::optional<std::filesystem::path> file;
  /// Looks up an environment variable; the default reads the process environment. An empty
  /// value counts as unset.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  /// Flags given on the command line, by setting key ("state_dir" → value).
  std::map<std::string, std::string> flags;
};

struct LoadedConfig {
  Config config;
  std::map<std::string, Origin, std::less<>> origins;  ///< one per setting key
};

/// Defaults, overridden by the file, then by PATCHFLOW_* variables, then by flags. Errors
/// (Errc::invalid_input, or not_found/io for the file) name where: FILE:line:col for the file
/// (an unknown key, a bad value, a list where a value belongs), the variable, or the flag.
[[nodiscard]] Result<LoadedConfig> load_config(const ConfigInputs& inputs);

/// The effective value of one setting as text that load_config reads back.
[[nodiscard]] std::string format_setting(const Config& config, std::string_view key);

/// One line per setting, "key: value  # source (detail)"; valid YAML for load_config.
[[nodiscard]] std::string print_config(const LoadedConfig& loaded);

}  // namespace pf::server
