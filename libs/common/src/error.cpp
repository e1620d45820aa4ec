// SPDX-License-Identifier: Apache-2.0
#include "patchflow/common/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace pf {

Unexpected make_error(Errc code, std::string message, std::string where) {
  return Unexpected(Error{code, std::move(message), std::move(where)});
}

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_input: return "invalid_input";
    case Errc::not_found: return "not_found";
    case Errc::conflict: return "conflict";
    case Errc::lock_held: return "lock_held";
    case Errc::interrupted: return "interrupted";
    case Errc::timeout: return "timeout";
    case Errc::backend_failed: return "backend_failed";
    case Errc::io: return "io";
  }
  return "unknown";
}

std::string to_string(const Error& error) {
  if (error.where.empty()) return error.message;
  return error.where + ": " + error.message;
}

void assertion_failed(const char* expr, const char* file, int line, const char* func) {
  std::fprintf(stderr, "patchflow: internal error: assertion '%s' failed in %s at %s:%d\n", expr,
               func, file, line);
  std::abort();
}

}  // namespace pf
