// SPDX-License-Identifier: Apache-2.0
#include "conninfo.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <map>
#include <memory>

namespace pf::store::postgres {
namespace {

bool is_url(std::string_view text) {
  return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

// The password exactly as written in a URL (still percent-encoded): in the user info, which
// libpq ends at the first '@' or '/', and in a `password=` query parameter.
std::vector<std::string> raw_url_passwords(std::string_view url) {
  std::vector<std::string> out;
  std::string_view rest = url.substr(url.find("://") + 3);
  const auto end = rest.find_first_of("@/");
  if (end != std::string_view::npos && rest[end] == '@') {
    std::string_view userinfo = rest.substr(0, end);
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      out.emplace_back(userinfo.substr(colon + 1));
    }
  }
  if (auto q = url.find('?'); q != std::string_view::npos) {
    std::string_view query = url.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      std::string_view param = query.substr(0, amp);
      if (param.starts_with("password=")) out.emplace_back(param.substr(9));
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
  }
  return out;
}

struct OptionsFree {
  void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

}  // namespace

std::string scrub(std::string message, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (auto pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + 3)) {
      message.replace(pos, secret.size(), "***");
    }
  }
  return message;
}

std::string one_line(std::string_view message) {
  std::string out;
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  for (std::string_view prefix : {"ERROR: ", "FATAL: "}) {
    if (out.starts_with(prefix)) out.erase(0, prefix.size());
  }
  return out;
}

Result<ConnInfo> parse_conninfo(std::string_view text) {
  ConnInfo info;
  if (is_url(text)) info.secrets = raw_url_passwords(text);
  info.secrets.push_back(env_or("PGPASSWORD", ""));
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return make_error(Errc::invalid_input, "empty PostgreSQL connection string", "database");
  }
  if (text.find('\0') != std::string_view::npos) {
    return make_error(Errc::invalid_input, "PostgreSQL connection string with a NUL byte",
                      "database");
  }
  const std::string owned(text);
  char* errmsg = nullptr;
  std::unique_ptr<PQconninfoOption, OptionsFree> options(PQconninfoParse(owned.c_str(), &errmsg));
  if (!options) {
    std::string why = errmsg != nullptr ? one_line(errmsg) : "out of memory";
    if (errmsg != nullptr) PQfreemem(errmsg);
    return make_error(Errc::invalid_input,
                      "invalid PostgreSQL connection string: " + scrub(why, info.secrets),
                      "database");
  }
  std::map<std::string, std::string, std::less<>> set;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val != nullptr) set.emplace(o->keyword, o->val);
  }
  auto get = [&](std::string_view key) {
    auto it = set.find(key);
    return it == set.end() ? std::string() : it->second;
  };
  info.secrets.push_back(get("password"));

  std::string host = get("host");
  if (host.empty()) host = get("hostaddr");
  if (host.empty()) host = env_or("PGHOST", "localhost");
  const std::string port = !get("port").empty() ? get("port") : env_or("PGPORT", "5432");
  info.host_port = host + ":" + port;
  const std::string user = !get("user").empty() ? get("user") : env_or("PGUSER", "");
  const std::string dbname = !get("dbname").empty() ? get("dbname") : env_or("PGDATABASE", user);
  info.location =
      "postgresql://" + (user.empty() ? "" : user + "@") + info.host_port + "/" + dbname;
  info.location = scrub(info.location, info.secrets);
  info.host_port = scrub(info.host_port, info.secrets);

  // Defaults that matter to a server: a dead address fails in bounded time, text is UTF-8.
  std::vector<std::pair<std::string, std::string>> extra;
  if (get("connect_timeout").empty() && env_or("PGCONNECT_TIMEOUT", "").empty()) {
    extra.emplace_back("connect_timeout", "10");
  }
  if (get("client_encoding").empty() && env_or("PGCLIENTENCODING", "").empty()) {
    extra.emplace_back("client_encoding", "UTF8");
  }
  if (get("fallback_application_name").empty()) {
    extra.emplace_back("fallback_application_name", "patchflow");
  }
  info.conninfo = owned;
  for (const auto& [key, value] : extra) {
    if (is_url(owned)) {
      if (info.conninfo.find('?') == std::string::npos) {
        info.conninfo += '?';
      } else if (!info.conninfo.ends_with('?') && !info.conninfo.ends_with('&')) {
        info.conninfo += '&';
      }
    } else {
      info.conninfo += ' ';
    }
    info.conninfo += key + "=" + value;
  }
  return info;
}

}  // namespace pf::store::postgres
