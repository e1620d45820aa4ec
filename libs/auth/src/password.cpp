// SPDX-License-Identifier: Apache-2.0
#include "patchflow/auth/password.hpp"

#include <argon2.h>
#include <openssl/crypto.h>

#include <array>
#include <charconv>
#include <optional>

#include "base64.hpp"
#include "random.hpp"
#include "text.hpp"

namespace pf::auth {
namespace {

constexpr std::string_view kWhere = "password hash";
constexpr std::string_view kPrefix = "$argon2id$";
constexpr std::size_t kMaxPhcBytes = 256;
constexpr std::size_t kMinSaltBytes = 8;
constexpr std::size_t kMaxSaltBytes = 64;
constexpr std::size_t kMinHashBytes = 16;
constexpr std::size_t kMaxHashBytes = 64;

Unexpected phc_error(std::string message) {
  return make_error(Errc::invalid_input, std::move(message), std::string(kWhere));
}

// Number of code points when `s` is valid UTF-8 (no overlong forms, no surrogates, at most
// U+10FFFF), else nullopt.
std::optional<std::size_t> utf8_length(std::string_view s) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1Fu;
      min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0Fu;
      min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07u;
      min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (s.size() - i < len) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    i += len;
    ++count;
  }
  return count;
}

// A decimal field value: 1 to 10 digits, no sign, no leading zero, fits 32 bits.
std::optional<std::uint32_t> parse_u32(std::string_view s) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

// One "name=value" cost field of the parameter list, e.g. "m=65536".
Result<std::uint32_t> parse_cost(std::string_view field, char name) {
  if (field.size() < 2 || field[0] != name || field[1] != '=') {
    return phc_error(std::string("expected parameter '") + name + "=' at " +
                     detail::quote(field, 24) + " (the parameters are m=,t=,p= in this order)");
  }
  auto v = parse_u32(field.substr(2));
  if (!v) {
    return phc_error(std::string("parameter ") + name + "= is not a decimal number without " +
                     "sign or leading zeros below 2^32: " + detail::quote(field, 24));
  }
  return *v;
}

Result<void> check_params_in(const PasswordParams& p, std::string_view where) {
  auto fail = [&](std::string message) {
    return make_error(Errc::invalid_input, std::move(message), std::string(where));
  };
  if (p.t_cost < 1 || p.t_cost > kMaxTimeCost) {
    return fail("t=" + std::to_string(p.t_cost) + " is outside 1.." +
                std::to_string(kMaxTimeCost));
  }
  if (p.parallelism < 1 || p.parallelism > kMaxParallelism) {
    return fail("p=" + std::to_string(p.parallelism) + " is outside 1.." +
                std::to_string(kMaxParallelism));
  }
  if (p.m_cost_kib > kMaxMemoryKib) {
    return fail("m=" + std::to_string(p.m_cost_kib) + " KiB exceeds the limit of " +
                std::to_string(kMaxMemoryKib) + " KiB (1 GiB)");
  }
  if (p.m_cost_kib < 8 * p.parallelism) {
    return fail("m=" + std::to_string(p.m_cost_kib) + " KiB is below 8 KiB per lane (p=" +
                std::to_string(p.parallelism) + ")");
  }
  return {};
}

Result<std::vector<std::uint8_t>> decode_part(std::string_view text, std::string_view what,
                                              std::size_t min, std::size_t max) {
  if (text.empty()) return phc_error("the " + std::string(what) + " is empty");
  // Length first, so that an oversize part is refused before it is decoded.
  if (text.size() > (max * 4 + 2) / 3) {
    return phc_error("the " + std::string(what) + " is longer than " + std::to_string(max) +
                     " bytes");
  }
  auto bytes = detail::base64_decode(text, detail::Alphabet::standard);
  if (!bytes) {
    return phc_error("the " + std::string(what) +
                     " is not canonical base64 (A-Z a-z 0-9 + /, no padding)");
  }
  if (bytes->size() < min || bytes->size() > max) {
    return phc_error("the " + std::string(what) + " is " + std::to_string(bytes->size()) +
                     " bytes; " + std::to_string(min) + " to " + std::to_string(max) +
                     " expected");
  }
  return std::move(*bytes);
}

Result<std::vector<std::uint8_t>> compute(std::string_view password, const PasswordParams& p,
                                          std::span<const std::uint8_t> salt,
                                          std::size_t hash_len) {
  std::vector<std::uint8_t> out(hash_len);
  const int rc = argon2id_hash_raw(p.t_cost, p.m_cost_kib, p.parallelism, password.data(),
                                   password.size(), salt.data(), salt.size(), out.data(),
                                   out.size());
  if (rc != ARGON2_OK) {
    return make_error(Errc::backend_failed,
                      std::string("argon2id failed: ") + argon2_error_message(rc), "argon2");
  }
  return out;
}

}  // namespace

Result<void> check_password_policy(std::string_view password) {
  auto fail = [](std::string message) {
    return make_error(Errc::invalid_input, std::move(message), "password");
  };
  if (password.size() > kMaxPasswordBytes) {
    return fail("the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  if (password.find('\0') != std::string_view::npos) {
    return fail("the password contains a NUL byte");
  }
  const auto chars = utf8_length(password);
  if (!chars) return fail("the password is not valid UTF-8");
  if (*chars < kMinPasswordChars) {
    return fail("the password has " + std::to_string(*chars) + " characters; at least " +
                std::to_string(kMinPasswordChars) + " are required");
  }
  return {};
}

Result<void> check_params(const PasswordParams& params) {
  return check_params_in(params, "password parameters");
}

Result<std::string> hash_password(std::string_view password, const PasswordParams& params) {
  if (auto ok = check_password_policy(password); !ok) return Unexpected(ok.error());
  if (auto ok = check_params(params); !ok) return Unexpected(ok.error());
  PhcHash phc;
  phc.params = params;
  phc.salt.resize(kSaltBytes);
  if (auto ok = detail::random_bytes(phc.salt); !ok) return Unexpected(ok.error());
  auto hash = compute(password, params, phc.salt, kHashBytes);
  if (!hash) return Unexpected(hash.error());
  phc.hash = std::move(*hash);
  return format_phc(phc);
}

Result<PhcHash> parse_phc(std::string_view phc) {
  if (phc.empty()) return phc_error("empty");
  if (phc.size() > kMaxPhcBytes) {
    return phc_error("longer than " + std::to_string(kMaxPhcBytes) + " bytes");
  }
  if (!phc.starts_with(kPrefix)) {
    if (phc.starts_with("$argon2i$") || phc.starts_with("$argon2d$")) {
      return phc_error("only argon2id is accepted, not " +
                       detail::quote(phc.substr(1, phc.find('$', 1) - 1)));
    }
    return phc_error("not an argon2id PHC string (expected \"$argon2id$v=19$m=...,t=...,p=..."
                     "$<salt>$<hash>\")");
  }
  // Fields after the algorithm: "v=19", "m=..,t=..,p=..", salt, hash.
  std::array<std::string_view, 4> fields;
  std::string_view rest = phc.substr(kPrefix.size());
  // The version first: an older or newer format is named as such, not as a missing field.
  const std::string_view version = rest.substr(0, rest.find('$'));
  if (!version.starts_with("v=")) {
    return phc_error("expected the version field \"v=19\" after \"$argon2id$\"");
  }
  if (version != "v=19") {
    return phc_error("version " + detail::quote(version, 24) +
                     " is not supported (only v=19, Argon2 1.3)");
  }
  static constexpr std::array<std::string_view, 4> kNames{"version", "parameters", "salt",
                                                          "hash"};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto dollar = rest.find('$');
    if (i + 1 < fields.size()) {
      if (dollar == std::string_view::npos) {
        return phc_error("missing the " + std::string(kNames[i + 1]) + " field");
      }
      fields[i] = rest.substr(0, dollar);
      rest = rest.substr(dollar + 1);
    } else {
      if (dollar != std::string_view::npos) return phc_error("unexpected '$' field after the hash");
      fields[i] = rest;
    }
  }

  PhcHash out;
  std::string_view params = fields[1];
  std::array<std::string_view, 3> costs;
  for (std::size_t i = 0; i < costs.size(); ++i) {
    const auto comma = params.find(',');
    if (i + 1 < costs.size()) {
      if (comma == std::string_view::npos) {
        return phc_error("the parameters must be m=,t=,p= (got " + detail::quote(fields[1], 40) +
                         ")");
      }
      costs[i] = params.substr(0, comma);
      params = params.substr(comma + 1);
    } else {
      if (comma != std::string_view::npos) {
        return phc_error("unexpected parameter after p= (only m=,t=,p= are accepted)");
      }
      costs[i] = params;
    }
  }
  auto m = parse_cost(costs[0], 'm');
  if (!m) return Unexpected(m.error());
  auto t = parse_cost(costs[1], 't');
  if (!t) return Unexpected(t.error());
  auto p = parse_cost(costs[2], 'p');
  if (!p) return Unexpected(p.error());
  out.params = PasswordParams{*t, *m, *p};
  if (auto ok = check_params_in(out.params, kWhere); !ok) return Unexpected(ok.error());

  auto salt = decode_part(fields[2], "salt", kMinSaltBytes, kMaxSaltBytes);
  if (!salt) return Unexpected(salt.error());
  auto hash = decode_part(fields[3], "hash", kMinHashBytes, kMaxHashBytes);
  if (!hash) return Unexpected(hash.error());
  out.salt = std::move(*salt);
  out.hash = std::move(*hash);
  return out;
}

std::string format_phc(const PhcHash& phc) {
  std::string out(kPrefix);
  out += "v=19$m=" + std::to_string(phc.params.m_cost_kib) +
         ",t=" + std::to_string(phc.params.t_cost) +
         ",p=" + std::to_string(phc.params.parallelism) + "$";
  out += detail::base64_encode(phc.salt, detail::Alphabet::standard);
  out += '$';
  out += detail::base64_encode(phc.hash, detail::Alphabet::standard);
  return out;
}

Result<bool> verify_password(std::string_view password, std::string_view phc) {
  auto parsed = parse_phc(phc);
  if (!parsed) return Unexpected(parsed.error());
  // hash_password never accepted such a password; no need to spend the work on it.
  if (password.size() > kMaxPasswordBytes) return false;
  auto computed = compute(password, parsed->params, parsed->salt, parsed->hash.size());
  if (!computed) return Unexpected(computed.error());
  const bool equal =
      CRYPTO_memcmp(computed->data(), parsed->hash.data(), parsed->hash.size()) == 0;
  OPENSSL_cleanse(computed->data(), computed->size());
  return equal;
}

bool needs_rehash(std::string_view phc, const PasswordParams& params) {
  auto parsed = parse_phc(phc);
  if (!parsed) return true;
  const PasswordParams& p = parsed->params;
  return p.t_cost != params.t_cost || p.m_cost_kib != params.m_cost_kib ||
         p.parallelism != params.parallelism || parsed->salt.size() != kSaltBytes ||
         parsed->hash.size() != kHashBytes;
}

}  // namespace pf::auth
