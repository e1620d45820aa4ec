// SPDX-License-Identifier: Apache-2.0
#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace pf::server {

std::string rfc3339(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return "1970-01-01T00:00:00Z";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

// Text values are quoted when they hold a space, a quote, '=' or a control character.
std::string text_value(std::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v) {
    if (c <= 0x20 || c == '"' || c == '=' || c == 0x7f) plain = false;
  }
  return plain ? std::string(v) : json_quote(v);
}

std::string now_millis() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch() - secs).count();
  std::string t = rfc3339(secs.count());
  char buf[8];
  std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ms));
  return t.substr(0, t.size() - 1) + buf + "Z";
}

}  // namespace

void Log::write(std::string_view level, std::string_view msg,
                std::initializer_list<LogField> fields) {
  if (!sink_) return;
  std::string line;
  if (format_ == LogFormat::json) {
    line = "{\"ts\":" + json_quote(now_millis()) + ",\"level\":" + json_quote(level) +
           ",\"msg\":" + json_quote(msg);
    for (const auto& f : fields) {
      line += "," + json_quote(f.key) + ":" + (f.number ? f.value : json_quote(f.value));
    }
    line += "}";
  } else {
    line = now_millis() + " " + std::string(level) + " " + std::string(msg);
    for (const auto& f : fields) {
      line += " " + std::string(f.key) + "=" + text_value(f.value);
    }
  }
  sink_(line);
}

}  // namespace pf::server
