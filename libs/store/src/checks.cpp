// SPDX-License-Identifier: Apache-2.0
// The record checks every FleetStore backend applies before writing.
#include <algorithm>

#include "patchflow/store/fleet_store.hpp"

namespace pf::store {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// 1..max characters, each alnum or one of `extra`.
bool is_word(std::string_view s, std::size_t max, std::string_view extra) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return is_alnum(c) || extra.find(c) != std::string_view::npos; });
}

Unexpected invalid(std::string message, std::string where) {
  return make_error(Errc::invalid_input, std::move(message), std::move(where));
}

Result<void> check_fact(std::string_view value, std::string_view field) {
  if (value.size() > kMaxFactField) {
    return invalid(std::string(field) + " longer than " + std::to_string(kMaxFactField) + " bytes",
                   std::string(field));
  }
  if (value.find('\0') != std::string_view::npos) {
    return invalid(std::string(field) + " contains a NUL byte", std::string(field));
  }
  return {};
}

Result<void> check_reasons(const std::vector<std::string>& reasons) {
  if (reasons.size() > kMaxRebootReasons) {
    return invalid("more than " + std::to_string(kMaxRebootReasons) + " reboot reasons",
                   "reboot_reasons");
  }
  for (const auto& r : reasons) {
    if (auto ok = check_fact(r, "reboot_reasons"); !ok) return ok;
  }
  return {};
}

Result<void> check_token_id(std::string_view id) {
  if (!is_word(id, 64, "_-")) {
    return invalid("token_id must be 1..64 characters of [A-Za-z0-9_-]", "token_id");
  }
  return {};
}

}  // namespace

Result<void> validate_labels(const Labels& labels) {
  if (labels.size() > kMaxLabels) {
    return invalid("more than " + std::to_string(kMaxLabels) + " labels", "labels");
  }
  for (const auto& [key, value] : labels) {
    if (!is_word(key, 128, "._/-") || !is_alnum(key.front())) {
      return invalid("label key '" + key.substr(0, 128) +
                         "' must be 1..128 characters of [A-Za-z0-9._/-] starting with a letter "
                         "or digit",
                     "labels");
    }
    const bool printable = std::all_of(value.begin(), value.end(), [](char c) {
      return c >= 0x20 && c <= 0x7e && c != ',';
    });
    if (value.size() > 256 || !printable) {
      return invalid("label '" + key +
                         "': the value must be at most 256 printable ASCII characters without ','",
                     "labels." + key);
    }
  }
  return {};
}

bool is_token_hash(std::string_view text) noexcept {
  constexpr std::string_view kPrefix = "sha256:";
  if (text.size() != kPrefix.size() + 64 || text.substr(0, kPrefix.size()) != kPrefix) return false;
  text.remove_prefix(kPrefix.size());
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_valid_role(std::string_view role) noexcept {
  return std::find(kRoles.begin(), kRoles.end(), role) != kRoles.end();
}

Result<void> validate_host(const Host& host) {
  if (!is_word(host.id, 64, "_-")) {
    return invalid("host id must be 1..64 characters of [A-Za-z0-9_-]", "id");
  }
  if (host.name.empty() || host.name.size() > 253) {
    return invalid("host name must be 1..253 characters", "name");
  }
  if (host.cert_fingerprint.empty()) {
    return invalid("host without a certificate fingerprint", "cert_fingerprint");
  }
  const std::pair<std::string_view, const std::string*> facts[] = {
      {"name", &host.name},
      {"os_id", &host.os_id},
      {"os_version_id", &host.os_version_id},
      {"ecosystem", &host.ecosystem},
      {"arch", &host.arch},
      {"kernel_release", &host.kernel_release},
      {"boot_id", &host.boot_id},
      {"cert_fingerprint", &host.cert_fingerprint},
      {"inventory_hash", &host.inventory_hash}};
  for (const auto& [field, value] : facts) {
    if (auto ok = check_fact(*value, field); !ok) return ok;
  }
  if (auto ok = check_reasons(host.reboot_reasons); !ok) return ok;
  if (!host.inventory_hash.empty()) {
    return invalid("a new host has no inventory yet: inventory_hash is set by put_inventory",
                   "inventory_hash");
  }
  if (host.revoked_at) return invalid("a new host cannot be revoked already", "revoked_at");
  return validate_labels(host.labels);
}

Result<void> validate_checkin(const CheckinFacts& facts) {
  const std::pair<std::string_view, const std::string*> fields[] = {
      {"boot_id", &facts.boot_id},
      {"kernel_release", &facts.kernel_release},
      {"os_id", &facts.os_id},
      {"os_version_id", &facts.os_version_id},
      {"ecosystem", &facts.ecosystem}};
  for (const auto& [field, value] : fields) {
    if (auto ok = check_fact(*value, field); !ok) return ok;
  }
  return check_reasons(facts.reboot_reasons);
}

Result<void> validate_cert_fingerprint(std::string_view fingerprint) {
  if (fingerprint.empty() || fingerprint.size() > kMaxFactField ||
      fingerprint.find('\0') != std::string_view::npos) {
    return invalid("certificate fingerprint must be 1.." + std::to_string(kMaxFactField) +
                       " bytes without NUL",
                   "cert_fingerprint");
  }
  return {};
}

Result<void> validate_inventory(std::string_view hash, std::span<const inventory::Package> packages,
                                std::span<const AvailableUpdate> updates) {
  if (hash.empty()) return invalid("inventory without a hash", "inventory_hash");
  if (auto ok = check_fact(hash, "inventory_hash"); !ok) return ok;
  if (packages.size() > kMaxInventoryRows || updates.size() > kMaxInventoryRows) {
    return invalid("inventory with more than " + std::to_string(kMaxInventoryRows) + " " +
                       (packages.size() > kMaxInventoryRows ? "packages" : "updates"),
                   packages.size() > kMaxInventoryRows ? "packages" : "updates");
  }
  for (std::size_t i = 0; i < packages.size(); ++i) {
    const auto& p = packages[i];
    const std::string where = "packages[" + std::to_string(i) + "]";
    if (p.name.empty()) return invalid("package without a name", where);
    for (const std::string* v : {&p.name, &p.arch, &p.version, &p.source_name, &p.source_version}) {
      if (auto ok = check_fact(*v, where); !ok) return ok;
    }
  }
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const auto& u = updates[i];
    const std::string where = "updates[" + std::to_string(i) + "]";
    if (u.name.empty()) return invalid("update without a package name", where);
    for (const std::string* v : {&u.name, &u.arch, &u.installed_version, &u.candidate_version,
                                 &u.origin, &u.held_reason}) {
      if (auto ok = check_fact(*v, where); !ok) return ok;
    }
    if (u.advisories.size() > 1000) return invalid("update with more than 1000 advisories", where);
    for (const auto& a : u.advisories) {
      if (a.empty()) return invalid("empty advisory id", where);
      if (auto ok = check_fact(a, where); !ok) return ok;
    }
  }
  return {};
}

Result<void> validate_enrollment_token(const EnrollmentToken& token) {
  if (!is_token_hash(token.token_hash)) {
    return invalid("token_hash must be sha256:<64 lower-case hex digits>", "token_hash");
  }
  if (auto ok = check_token_id(token.token_id); !ok) return ok;
  if (token.created_by.empty()) return invalid("enrollment token without created_by", "created_by");
  if (auto ok = check_fact(token.created_by, "created_by"); !ok) return ok;
  if (token.expires_at <= token.created_at) {
    return invalid("enrollment token expires before it is created", "expires_at");
  }
  if (token.used_at || token.used_by_host) {
    return invalid("a new enrollment token cannot be used already", "used_at");
  }
  return validate_labels(token.labels);
}

Result<void> validate_user_name(std::string_view name) {
  if (!is_word(name, 64, "._@-")) {
    return invalid("user name must be 1..64 characters of [A-Za-z0-9._@-]", "name");
  }
  return {};
}

Result<void> validate_password_hash(std::string_view phc) {
  if (phc.empty()) return {};
  const bool printable = std::all_of(phc.begin(), phc.end(), [](char c) { return c > 0x20 && c <= 0x7e; });
  if (phc.front() != '$' || phc.size() > 512 || !printable) {
    return invalid("password_hash must be a PHC string ($id$...), at most 512 characters",
                   "password_hash");
  }
  return {};
}

Result<void> validate_user(const User& user) {
  if (auto ok = validate_user_name(user.name); !ok) return ok;
  if (auto ok = validate_password_hash(user.password_hash); !ok) return ok;
  if (!is_valid_role(user.role)) {
    return invalid("unknown role '" + user.role.substr(0, 64) +
                       "' (admin, operator, approver or viewer)",
                   "role");
  }
  return {};
}

Result<void> validate_api_token(const ApiToken& token) {
  if (!is_token_hash(token.token_hash)) {
    return invalid("token_hash must be sha256:<64 lower-case hex digits>", "token_hash");
  }
  if (auto ok = check_token_id(token.token_id); !ok) return ok;
  if (auto ok = validate_user_name(token.user); !ok) {
    ok.error().where = "user";
    return ok;
  }
  if (!is_valid_role(token.role)) {
    return invalid("unknown role '" + token.role.substr(0, 64) +
                       "' (admin, operator, approver or viewer)",
                   "role");
  }
  if (token.expires_at && *token.expires_at <= token.created_at) {
    return invalid("API token expires before it is created", "expires_at");
  }
  if (token.revoked_at || token.last_used_at) {
    return invalid("a new API token cannot be revoked or used already", "revoked_at");
  }
  return {};
}

Result<void> validate_host_query(const HostQuery& query) {
  if (query.limit < 1 || query.limit > kMaxPageSize) {
    return invalid("limit must be 1.." + std::to_string(kMaxPageSize), "limit");
  }
  if (!query.cursor.empty() && !is_word(query.cursor, 64, "_-")) {
    return invalid("not a cursor returned by this listing", "cursor");
  }
  if (auto ok = check_fact(query.ecosystem, "ecosystem"); !ok) return ok;
  if (auto ok = check_fact(query.name_prefix, "name_prefix"); !ok) return ok;
  return validate_labels(query.labels);
}

}  // namespace pf::store
