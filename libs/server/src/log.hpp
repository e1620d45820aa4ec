// SPDX-License-Identifier: Apache-2.0
// Log lines of the server: text ("<time> <level> <msg> key=value ...") or one JSON object per
// line, written whole to a sink. Private to libs/server.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "patchflow/server/config.hpp"
#include "patchflow/server/server.hpp"

namespace pf::server {

struct LogField {
  std::string_view key;
  std::string value;
  bool number{false};  ///< written without quotes in JSON
};

class Log {
 public:
  Log(LogFormat format, LineSink sink) : format_(format), sink_(std::move(sink)) {}

  void info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    write("info", msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    write("warn", msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    write("error", msg, fields);
  }
  void write(std::string_view level, std::string_view msg, std::initializer_list<LogField> fields);

 private:
  LogFormat format_;
  LineSink sink_;
};

/// RFC 3339 UTC with seconds ("2024-05-01T12:00:00Z").
[[nodiscard]] std::string rfc3339(std::int64_t unix_seconds);
/// The current time as Unix seconds.
[[nodiscard]] std::int64_t unix_now();
/// `s` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_quote(std::string_view s);

}  // namespace pf::server
