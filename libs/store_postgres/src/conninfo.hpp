// SPDX-License-Identifier: Apache-2.0
// Connection strings: what libpq is given, and how a connection is named in errors without its
// password (private to store_postgres).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::store::postgres {

struct ConnInfo {
  /// What libpq gets: the caller's string, with connect_timeout=10, client_encoding=UTF8 and
  /// fallback_application_name=patchflow added unless it (or the environment) sets them.
  std::string conninfo;
  /// "host:port" as libpq will use them ("localhost" and 5432 by default, PGHOST/PGPORT
  /// respected); a Unix socket directory is shown as the host.
  std::string host_port;
  /// "postgresql://user@host:port/database": the connection without its password.
  std::string location;
  /// The password as written and as decoded (and PGPASSWORD): removed from every message.
  std::vector<std::string> secrets;
};

/// Parses a `postgresql://` / `postgres://` URL or a libpq `key=value` string with libpq's own
/// parser. An empty or malformed string is Errc::invalid_input, its message free of the password.
[[nodiscard]] Result<ConnInfo> parse_conninfo(std::string_view text);

/// `message` with every occurrence of each secret replaced by "***".
[[nodiscard]] std::string scrub(std::string message, const std::vector<std::string>& secrets);

/// A libpq or server message on one line: "ERROR:" prefixes dropped, new lines and tabs folded
/// into single spaces, surrounding white space trimmed.
[[nodiscard]] std::string one_line(std::string_view message);

}  // namespace pf::store::postgres
