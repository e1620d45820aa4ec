// SPDX-License-Identifier: Apache-2.0
// Running the custom probes of a health snapshot (private to pf::agent).
#pragma once

#include <string>
#include <string_view>

#include "patchflow/agent/health.hpp"

namespace pf::agent::health::detail {

/// invalid_input naming the probe when it cannot be run as given (see take_snapshot).
[[nodiscard]] Result<void> validate(const Probe& probe);

/// Runs one validated probe; every outcome (cannot start, timeout, wrong exit code or status) is
/// a result.
[[nodiscard]] ProbeResult run_probe(const Probe& probe);

/// `s` cut to at most `n` bytes (not inside a UTF-8 sequence), control bytes other than tab and
/// newline shown as '?'.
[[nodiscard]] std::string bounded_text(std::string_view s, std::size_t n);

}  // namespace pf::agent::health::detail
