// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::auth {

/// Argon2id cost parameters. The defaults (t=3, m=64 MiB, p=1) follow RFC 9106's second
/// recommended option; one hash takes 64 MiB and one core for about 0.45 s with Debian's
/// libargon2 (its portable build) on the 2-core build machine under load.
struct PasswordParams {
  std::uint32_t t_cost{3};              ///< passes over memory, 1..kMaxTimeCost
  std::uint32_t m_cost_kib{64 * 1024};  ///< memory in KiB, 8*parallelism..kMaxMemoryKib
  std::uint32_t parallelism{1};         ///< lanes, 1..kMaxParallelism
};

/// Bounds on parameters, for new hashes and for stored strings alike, so that a stored (or
/// planted) hash string cannot make one verification a denial of service.
inline constexpr std::uint32_t kMaxTimeCost = 100;
inline constexpr std::uint32_t kMaxMemoryKib = 1024 * 1024;  // 1 GiB
inline constexpr std::uint32_t kMaxParallelism = 16;

/// Password policy: at least 12 characters (Unicode code points of valid UTF-8), at most 1024
/// bytes, no NUL byte.
inline constexpr std::size_t kMinPasswordChars = 12;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

/// What new hashes use: 16 random bytes of salt (getrandom(2)) and a 32-byte tag.
inline constexpr std::size_t kSaltBytes = 16;
inline constexpr std::size_t kHashBytes = 32;

/// A parsed PHC string "$argon2id$v=19$m=<kib>,t=<passes>,p=<lanes>$<salt>$<hash>", salt and
/// hash in standard base64 without padding (the encoding libargon2 and the PHC format use).
struct PhcHash {
  PasswordParams params;
  std::vector<std::uint8_t> salt;  ///< 8..64 bytes
  std::vector<std::uint8_t> hash;  ///< 16..64 bytes
};

/// Checks a new password against the policy. Errors (Errc::invalid_input, where = "password")
/// say which rule failed; they never contain the password.
[[nodiscard]] Result<void> check_password_policy(std::string_view password);

/// Checks parameters against the bounds above (and libargon2's m >= 8*p).
[[nodiscard]] Result<void> check_params(const PasswordParams& params);

/// Hashes a new password: policy checked, parameters checked, fresh salt. Errors:
/// invalid_input (policy, parameters), io (no randomness), backend_failed (libargon2, e.g. out
/// of memory).
[[nodiscard]] Result<std::string> hash_password(std::string_view password,
                                                const PasswordParams& params = {});

/// Parses a PHC string strictly: argon2id only, v=19, m, t, p in this order, decimal without
/// leading zeros, canonical base64 without padding, parameters within the bounds, at most 256
/// bytes. Errors (invalid_input, where = "password hash") name the part that is wrong and never
/// quote the salt or the hash. A string that parses formats back to itself (format_phc).
[[nodiscard]] Result<PhcHash> parse_phc(std::string_view phc);

/// The PHC string of a parsed hash.
[[nodiscard]] std::string format_phc(const PhcHash& phc);

/// Recomputes the hash of `password` with the salt and parameters of `phc` and compares in
/// constant time. true: the password matches; false: it does not (also for a password longer
/// than kMaxPasswordBytes, which hash_password never accepted). An error: the PHC string is
/// malformed or out of bounds (invalid_input), or libargon2 failed (backend_failed).
[[nodiscard]] Result<bool> verify_password(std::string_view password, std::string_view phc);

/// true when `phc` should be replaced by a new hash of the same password (after a successful
/// verify): it does not parse, or its parameters, salt or hash length differ from `params`,
/// kSaltBytes and kHashBytes.
[[nodiscard]] bool needs_rehash(std::string_view phc, const PasswordParams& params = {});

}  // namespace pf::auth
