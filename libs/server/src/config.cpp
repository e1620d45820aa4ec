// SPDX-License-Identifier: Apache-2.0
#include "patchflow/server/config.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "patchflow/auth/duration.hpp"
#include "patchflow/common/files.hpp"

namespace pf::server {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxConfigFileBytes = 1 << 20;

using Parse = Result<void> (*)(Config&, std::string_view);
using Format = std::string (*)(const Config&);

struct Setting {
  SettingInfo info;
  Parse parse;
  Format format;
};

Unexpected bad(std::string message) { return make_error(Errc::invalid_input, std::move(message)); }

std::string shown(std::string_view s) {
  return "'" + std::string(s.substr(0, 80)) + (s.size() > 80 ? "...'" : "'");
}

bool is_blank_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

Result<long long> parse_int(std::string_view s, long long lo, long long hi, std::string_view what) {
  long long v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return bad("expected a whole number for " + std::string(what) + ", got " + shown(s));
  }
  if (v < lo || v > hi) {
    return bad(std::string(what) + " must be " + std::to_string(lo) + ".." + std::to_string(hi) +
               ", got " + std::string(s));
  }
  return v;
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// A DNS host name: labels of [A-Za-z0-9-] (not starting or ending with '-'), 1..253 bytes.
bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    const auto label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-')) {
        return false;
      }
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

Result<void> parse_listen(Config& c, std::string_view s) {
  std::string host;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return bad("expected [IPv6]:port, got " + shown(s));
    }
    host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
    unsigned char buf[16];
    if (::inet_pton(AF_INET6, host.c_str(), buf) != 1) {
      return bad("not an IPv6 address in " + shown(s));
    }
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port, got " + shown(s));
    host = std::string(s.substr(0, colon));
    port_text = s.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return bad("write an IPv6 address in brackets ([::1]:8443), got " + shown(s));
    }
    if (!is_ip(host) && !is_host_name(host)) {
      return bad("not an IP address or host name: " + shown(host));
    }
  }
  auto port = parse_int(port_text, 0, 65535, "the port");
  if (!port) return Unexpected(port.error());
  c.listen_host = host;
  c.listen_port = static_cast<int>(*port);
  return {};
}

Result<void> parse_nonempty_path(fs::path& out, std::string_view s) {
  if (s.empty()) return bad("expected a path, got nothing");
  if (is_blank_or_control(s)) return bad("control characters in the path");
  out = fs::path(std::string(s));
  return {};
}

Result<void> parse_optional_path(fs::path& out, std::string_view s) {
  if (is_blank_or_control(s)) return bad("control characters in the path");
  out = fs::path(std::string(s));
  return {};
}

Result<void> parse_database(Config& c, std::string_view s) {
  if (s.empty()) return bad("expected a SQLite file path or a postgresql:// URL, got nothing");
  if (is_blank_or_control(s)) return bad("control characters in the database");
  c.database = std::string(s);
  return {};
}

Result<void> parse_names(Config& c, std::string_view s) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    std::string name(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start));
    // " a, b" is forgiven: spaces around names are dropped.
    const auto first = name.find_first_not_of(' ');
    const auto last = name.find_last_not_of(' ');
    name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
    if (name.empty()) return bad("empty name in the list " + shown(s));
    if (!is_ip(name) && !is_host_name(name) &&
        !(name.starts_with("*.") && is_host_name(name.substr(2)))) {
      return bad("not a DNS name or IP address: " + shown(name));
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    if (names.size() > 100) return bad("more than 100 server names");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  c.server_names = std::move(names);
  return {};
}

Result<void> parse_size(Config& c, std::string_view s) {
  std::string_view digits = s;
  std::uint64_t unit = 1;
  for (const auto& [suffix, mult] : {std::pair<std::string_view, std::uint64_t>{"KiB", 1u << 10},
                                     {"MiB", 1u << 20},
                                     {"GiB", 1u << 30},
                                     {"B", 1}}) {
    if (s.ends_with(suffix)) {
      digits = s.substr(0, s.size() - suffix.size());
      unit = mult;
      break;
    }
  }
  constexpr long long kMin = 1024;
  constexpr long long kMax = 1LL << 30;
  long long n = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || n <= 0) {
    return bad("expected a size such as 16MiB, 512KiB or 1048576, got " + shown(s));
  }
  if (static_cast<std::uint64_t>(n) > static_cast<std::uint64_t>(kMax) / unit ||
      static_cast<std::uint64_t>(n) * unit < kMin) {
    return bad("the size must be 1KiB..1GiB, got " + shown(s));
  }
  c.max_body_bytes = static_cast<std::uint64_t>(n) * unit;
  return {};
}

std::string format_size(std::uint64_t n) {
  if (n % (1u << 30) == 0) return std::to_string(n >> 30) + "GiB";
  if (n % (1u << 20) == 0) return std::to_string(n >> 20) + "MiB";
  if (n % (1u << 10) == 0) return std::to_string(n >> 10) + "KiB";
  return std::to_string(n);
}

// Seconds below two minutes ("60s" reads better than "1m"), else the largest unit that divides.
std::string format_seconds(std::chrono::seconds d) {
  if (d.count() < 120) return std::to_string(d.count()) + "s";
  return auth::format_duration(d);
}

Result<std::chrono::seconds> parse_bounded_duration(std::string_view s, std::chrono::seconds lo,
                                                    std::chrono::seconds hi) {
  auto d = auth::parse_duration(s, "");
  if (!d) return bad(d.error().message);
  if (*d < lo || *d > hi) {
    return bad("must be " + auth::format_duration(lo) + ".." + auth::format_duration(hi) +
               ", got " + std::string(s));
  }
  return *d;
}

Result<void> parse_interval(Config& c, std::string_view s) {
  auto d = parse_bounded_duration(s, std::chrono::seconds(1), std::chrono::seconds(86400));
  if (!d) return Unexpected(d.error());
  c.checkin_interval = *d;
  return {};
}

Result<void> parse_keep_alive(Config& c, std::string_view s) {
  auto d = parse_bounded_duration(s, std::chrono::seconds(1), std::chrono::seconds(300));
  if (!d) return Unexpected(d.error());
  c.keep_alive_timeout = *d;
  return {};
}

Result<void> parse_cert_validity(Config& c, std::string_view s) {
  auto d = parse_bounded_duration(s, std::chrono::seconds(86400),
                                  std::chrono::seconds(3650LL * 86400));
  if (!d) return Unexpected(d.error());
  if (d->count() % 86400 != 0) return bad("must be whole days (90d), got " + std::string(s));
  c.agent_cert_validity = *d;
  return {};
}

// A duration setting bounded to [lo, hi], stored in `field`.
template <std::chrono::seconds Config::*field>
Result<void> parse_duration_setting(Config& c, std::string_view s, std::chrono::seconds lo,
                                    std::chrono::seconds hi) {
  auto d = parse_bounded_duration(s, lo, hi);
  if (!d) return Unexpected(d.error());
  c.*field = *d;
  return {};
}

Result<void> parse_jitter(Config& c, std::string_view s) {
  const bool percent = s.ends_with('%');
  const std::string number(percent ? s.substr(0, s.size() - 1) : s);
  char* end = nullptr;
  errno = 0;
  const double v = number.empty() ? NAN : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || errno != 0 || !std::isfinite(v)) {
    return bad("expected a fraction (0.1) or a percentage (10%), got " + shown(s));
  }
  const double fraction = percent ? v / 100.0 : v;
  if (fraction < 0 || fraction > 0.5) return bad("must be 0%..50%, got " + std::string(s));
  c.checkin_jitter = fraction;
  return {};
}

std::string format_jitter(double j) {
  std::ostringstream out;
  out << std::round(j * 10000) / 100 << "%";
  return out.str();
}

Result<void> parse_log_format(Config& c, std::string_view s) {
  if (s == "text") {
    c.log_format = LogFormat::text;
  } else if (s == "json") {
    c.log_format = LogFormat::json;
  } else {
    return bad("expected text or json, got " + shown(s));
  }
  return {};
}

Result<void> parse_threads(Config& c, std::string_view s) {
  auto n = parse_int(s, 1, 1024, "threads");
  if (!n) return Unexpected(n.error());
  c.threads = static_cast<int>(*n);
  return {};
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

const std::vector<Setting>& table() {
  static const std::vector<Setting> kTable = {
      {{"listen", "host:port", "127.0.0.1:8443",
        "address and port of the one TLS listener (agents and API); port 0 picks a free one"},
       parse_listen, [](const Config& c) { return c.listen(); }},
      {{"state_dir", "path", "/var/lib/patchflow",
        "the CA, the server certificate and keys, the signing key, the default database"},
       [](Config& c, std::string_view s) { return parse_nonempty_path(c.state_dir, s); },
       [](const Config& c) { return c.state_dir.string(); }},
      {{"database", "string", "<state_dir>/patchflow.db",
        "a SQLite file path, or a postgresql:// URL"},
       parse_database, [](const Config& c) { return c.database; }},
      {{"server_names", "list", "localhost,127.0.0.1",
        "DNS names and IP addresses of the generated server certificate (comma-separated)"},
       parse_names, [](const Config& c) { return join(c.server_names, ","); }},
      {{"tls_cert", "path", "",
        "a server certificate (PEM, chain allowed) to use instead of the generated one"},
       [](Config& c, std::string_view s) { return parse_optional_path(c.tls_cert, s); },
       [](const Config& c) { return c.tls_cert.string(); }},
      {{"tls_key", "path", "", "the private key of tls_cert (mode 0600)"},
       [](Config& c, std::string_view s) { return parse_optional_path(c.tls_key, s); },
       [](const Config& c) { return c.tls_key.string(); }},
      {{"tls_ca", "path", "",
        "the CA that issued tls_cert, handed to agents and clients to verify the server"},
       [](Config& c, std::string_view s) { return parse_optional_path(c.tls_ca, s); },
       [](const Config& c) { return c.tls_ca.string(); }},
      {{"max_body_bytes", "size", "16MiB", "largest request body (413 beyond); 1KiB..1GiB"},
       parse_size, [](const Config& c) { return format_size(c.max_body_bytes); }},
      {{"checkin_interval", "duration", "60s", "how often agents check in"},
       parse_interval,
       [](const Config& c) { return format_seconds(c.checkin_interval); }},
      {{"checkin_jitter", "percent", "10%",
        "random spread of the next check-in: interval * (1 +- jitter); 0%..50%"},
       parse_jitter, [](const Config& c) { return format_jitter(c.checkin_jitter); }},
      {{"log_format", "text|json", "text", "access and server log lines on stderr"},
       parse_log_format,
       [](const Config& c) {
         return std::string(c.log_format == LogFormat::json ? "json" : "text");
       }},
      {{"threads", "integer", "64",
        "HTTP worker threads (each serves one connection at a time)"},
       parse_threads, [](const Config& c) { return std::to_string(c.threads); }},
      {{"keep_alive_timeout", "duration", "2s",
        "how long an idle connection may hold a worker thread"},
       parse_keep_alive,
       [](const Config& c) { return format_seconds(c.keep_alive_timeout); }},
      {{"agent_cert_validity", "duration", "90d", "validity of the agents' client certificates"},
       parse_cert_validity,
       [](const Config& c) { return format_seconds(c.agent_cert_validity); }},
      {{"session_ttl", "duration", "12h",
        "lifetime of the token POST /api/v1/login hands out; 5m..30d"},
       [](Config& c, std::string_view s) {
         return parse_duration_setting<&Config::session_ttl>(c, s, std::chrono::minutes(5),
                                                             std::chrono::hours(24 * 30));
       },
       [](const Config& c) { return format_seconds(c.session_ttl); }},
      {{"long_poll_timeout", "duration", "30s",
        "longest an agent's GET /agent/v1/wait is held open; 1s..5m"},
       [](Config& c, std::string_view s) {
         return parse_duration_setting<&Config::long_poll_timeout>(
             c, s, std::chrono::seconds(1), std::chrono::minutes(5));
       },
       [](const Config& c) { return format_seconds(c.long_poll_timeout); }},
      {{"long_poll_slots", "integer", "0",
        "long-polls held at once, each on a worker thread (0: half of threads); beyond it a"
        " wait answers at once and the agent keeps to its check-in interval"},
       [](Config& c, std::string_view s) -> Result<void> {
         auto n = parse_int(s, 0, 1024, "long_poll_slots");
         if (!n) return Unexpected(n.error());
         c.long_poll_slots = static_cast<int>(*n);
         return {};
       },
       [](const Config& c) { return std::to_string(c.long_poll_slots); }},
      {{"findings_interval", "duration", "10s",
        "how often hosts whose inventory or advisories changed get their findings recomputed"
        " (a changed inventory also triggers it at once); 1s..1h"},
       [](Config& c, std::string_view s) {
         return parse_duration_setting<&Config::findings_interval>(c, s, std::chrono::seconds(1),
                                                                   std::chrono::hours(1));
       },
       [](const Config& c) { return format_seconds(c.findings_interval); }},
      {{"work_ttl", "duration", "1d",
        "how long a signed work item stays valid when the request names no expiry; 1m..30d"},
       [](Config& c, std::string_view s) {
         return parse_duration_setting<&Config::work_ttl>(c, s, std::chrono::minutes(1),
                                                          std::chrono::hours(24 * 30));
       },
       [](const Config& c) { return format_seconds(c.work_ttl); }},
      {{"chain_interval", "duration", "2s",
        "how often the chain orchestrator looks at its runs when nothing pokes it (a started"
        " run, an approval or a job's report make it look at once); 1s..1m"},
       [](Config& c, std::string_view s) {
         return parse_duration_setting<&Config::chain_interval>(c, s, std::chrono::seconds(1),
                                                                std::chrono::minutes(1));
       },
       [](const Config& c) { return format_seconds(c.chain_interval); }},
      {{"clock_file", "path", "",
        "labs and tests only: a file holding a number of seconds the chain orchestrator adds to"
        " its clock (soaks over business days without waiting); empty: the system clock"},
       [](Config& c, std::string_view s) -> Result<void> {
         c.clock_file = std::string(s);
         return {};
       },
       [](const Config& c) { return c.clock_file; }},
  };
  return kTable;
}

const Setting* find_setting(std::string_view key) {
  for (const auto& s : table()) {
    if (s.info.key == key) return &s;
  }
  return nullptr;
}

std::string known_keys() {
  std::vector<std::string> keys;
  for (const auto& s : table()) keys.emplace_back(s.info.key);
  return join(keys, ", ");
}

std::string mark_of(const std::string& file, const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

Result<std::string> read_file(const fs::path& file) {
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (!fs::exists(st)) return make_error(Errc::not_found, "no such config file", file.string());
  if (!fs::is_regular_file(st)) {
    return make_error(Errc::invalid_input, "not a regular file", file.string());
  }
  auto text = files::read_at_most(file, kMaxConfigFileBytes);
  if (!text) return text;
  if (text->size() > kMaxConfigFileBytes) {
    return make_error(Errc::invalid_input, "config file larger than 1 MiB", file.string());
  }
  return text;
}

Result<void> apply_file(LoadedConfig& out, const fs::path& file) {
  auto text = read_file(file);
  if (!text) return Unexpected(text.error());
  const std::string name = file.string();
  try {
    const YAML::Node doc = YAML::Load(*text);
    if (!doc || doc.IsNull()) return {};  // an empty file: defaults
    if (!doc.IsMap()) {
      return make_error(Errc::invalid_input, "expected a mapping of settings (key: value)",
                        mark_of(name, doc.Mark()));
    }
    std::set<std::string> seen;
    for (const auto& kv : doc) {
      const std::string where = mark_of(name, kv.first.Mark());
      if (!kv.first.IsScalar()) {
        return make_error(Errc::invalid_input, "expected a setting name", where);
      }
      const std::string key = kv.first.Scalar();
      const Setting* setting = find_setting(key);
      if (setting == nullptr) {
        return make_error(Errc::invalid_input,
                          "unknown key " + shown(key) + " (known keys: " + known_keys() + ")",
                          where);
      }
      if (!seen.insert(key).second) {
        return make_error(Errc::invalid_input, "key '" + key + "' given twice", where);
      }
      const YAML::Node& v = kv.second;
      const std::string vwhere = mark_of(name, v.Mark());
      std::string value;
      if (v.IsScalar()) {
        value = v.Scalar();
      } else if (v.IsNull()) {
        value.clear();
      } else if (v.IsSequence() && setting->info.type == "list") {
        std::vector<std::string> items;
        for (const auto& item : v) {
          if (!item.IsScalar()) {
            return make_error(Errc::invalid_input, key + ": expected a list of names",
                              mark_of(name, item.Mark()));
          }
          items.push_back(item.Scalar());
        }
        value = join(items, ",");
      } else {
        return make_error(Errc::invalid_input,
                          key + ": expected a single value (" + std::string(setting->info.type) +
                              ")",
                          vwhere);
      }
      if (auto ok = setting->parse(out.config, value); !ok) {
        return make_error(Errc::invalid_input, key + ": " + ok.error().message, vwhere);
      }
      out.origins[key] = Origin{Source::file, vwhere};
    }
  } catch (const YAML::Exception& e) {
    return make_error(Errc::invalid_input, "invalid YAML: " + e.msg, mark_of(name, e.mark));
  }
  return {};
}

}  // namespace

std::string Config::listen() const {
  const bool v6 = listen_host.find(':') != std::string::npos;
  return (v6 ? "[" + listen_host + "]" : listen_host) + ":" + std::to_string(listen_port);
}

const std::vector<SettingInfo>& settings() {
  static const std::vector<SettingInfo> kInfos = [] {
    std::vector<SettingInfo> out;
    for (const auto& s : table()) out.push_back(s.info);
    return out;
  }();
  return kInfos;
}

std::string env_name(std::string_view key) {
  std::string out = "PATCHFLOW_";
  for (char c : key) out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

std::string flag_name(std::string_view key) {
  std::string out = "--";
  for (char c : key) out += c == '_' ? '-' : c;
  return out;
}

std::string_view to_string(Source source) noexcept {
  switch (source) {
    case Source::default_value: return "default";
    case Source::file: return "file";
    case Source::env: return "env";
    case Source::flag: return "flag";
  }
  return "default";
}

Result<LoadedConfig> load_config(const ConfigInputs& inputs) {
  LoadedConfig out;
  for (const auto& s : table()) out.origins[std::string(s.info.key)] = Origin{};
  if (inputs.file) {
    if (auto ok = apply_file(out, *inputs.file); !ok) return Unexpected(ok.error());
  }
  const auto getenv = inputs.getenv ? inputs.getenv
                                    : [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  for (const auto& s : table()) {
    const std::string name = env_name(s.info.key);
    auto v = getenv(name);
    if (!v || v->empty()) continue;
    if (auto ok = s.parse(out.config, *v); !ok) {
      return make_error(Errc::invalid_input, ok.error().message, name);
    }
    out.origins[std::string(s.info.key)] = Origin{Source::env, name};
  }
  for (const auto& [key, value] : inputs.flags) {
    const Setting* s = find_setting(key);
    if (s == nullptr) {
      return make_error(Errc::invalid_input, "unknown setting (known: " + known_keys() + ")",
                        flag_name(key));
    }
    if (auto ok = s->parse(out.config, value); !ok) {
      return make_error(Errc::invalid_input, ok.error().message, flag_name(key));
    }
    out.origins[key] = Origin{Source::flag, flag_name(key)};
  }
  auto& c = out.config;
  if (out.origins["database"].source == Source::default_value) {
    c.database = (c.state_dir / "patchflow.db").string();
    out.origins["database"].detail = "<state_dir>/patchflow.db";
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    // Named: the one that is missing.
    return make_error(Errc::invalid_input, "tls_cert and tls_key go together: give both or neither",
                      c.tls_cert.empty() ? "tls_cert" : "tls_key");
  }
  if (!c.tls_ca.empty() && c.tls_cert.empty()) {
    return make_error(Errc::invalid_input,
                      "tls_ca names the CA of a given tls_cert; without tls_cert the server's own "
                      "CA is used",
                      "tls_ca");
  }
  return out;
}

std::string format_setting(const Config& config, std::string_view key) {
  const Setting* s = find_setting(key);
  return s == nullptr ? std::string() : s->format(config);
}

std::string print_config(const LoadedConfig& loaded) {
  std::size_t width = 0;
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& s : table()) {
    std::string value = s.format(loaded.config);
    // Quoted when YAML would read it otherwise (empty, '#', ': ', leading special characters).
    if (value.empty() || value.find_first_of("#\"'") != std::string::npos ||
        value.find(": ") != std::string::npos || value.front() == '[' || value.front() == '{' ||
        value.front() == '*' || value.front() == '&' || value.front() == '!' ||
        value.front() == '%' || value.front() == '@' || value.front() == '`') {
      std::string q = "\"";
      for (char ch : value) {
        if (ch == '"' || ch == '\\') q += '\\';
        q += ch;
      }
      value = q + "\"";
    }
    std::string line = std::string(s.info.key) + ": " + value;
    width = std::max(width, line.size());
    const auto it = loaded.origins.find(s.info.key);
    const Origin origin = it == loaded.origins.end() ? Origin{} : it->second;
    std::string src(to_string(origin.source));
    if (!origin.detail.empty()) src += " (" + origin.detail + ")";
    rows.emplace_back(std::move(line), std::move(src));
  }
  std::string out;
  for (const auto& [line, src] : rows) {
    out += line + std::string(width - line.size() + 2, ' ') + "# " + src + "\n";
  }
  return out;
}

}  // namespace pf::server
