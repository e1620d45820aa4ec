// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace pf {

/// The kinds of expected failure. Each maps to one HTTP status and one CLI exit code.
enum class Errc {
  invalid_input,
  not_found,
  conflict,
  lock_held,
  interrupted,
  timeout,
  backend_failed,
  io,
};

/// An expected failure: what kind, a message for a person, and where it happened
/// (file:line:col, a field name, a host, a byte position — whatever locates it best).
struct Error {
  Errc code{Errc::invalid_input};
  std::string message;
  std::string where;
};

template <class T>
using Result = tl::expected<T, Error>;

using Unexpected = tl::unexpected<Error>;

/// Builds the error half of a Result.
[[nodiscard]] Unexpected make_error(Errc code, std::string message, std::string where = {});

/// Stable lower-case name of an error kind ("invalid_input", ...).
[[nodiscard]] std::string_view errc_name(Errc code) noexcept;

/// "where: message", or just the message when where is empty.
[[nodiscard]] std::string to_string(const Error& error);

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const char* func);

}  // namespace pf

/// Programmer-error check that stays on in release builds and names the source location.
#define PF_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::pf::assertion_failed(#expr, __FILE__, __LINE__, __func__))
