// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>

#include "patchflow/common/error.hpp"

namespace pf::auth::detail {

/// Fills `out` from getrandom(2) (the kernel's CSPRNG; blocks only before it is seeded at
/// boot). Error: io when the call fails for another reason than EINTR.
[[nodiscard]] Result<void> random_bytes(std::span<std::uint8_t> out);

}  // namespace pf::auth::detail
