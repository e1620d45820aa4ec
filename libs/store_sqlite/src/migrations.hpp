// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string_view>

namespace pf::store::sqlite {

/// One numbered schema change. Numbers start at 1, have no gaps and are never edited once
/// released: a change to the schema is a new migration.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

[[nodiscard]] std::span<const Migration> migrations() noexcept;

}  // namespace pf::store::sqlite
