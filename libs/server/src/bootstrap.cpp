// SPDX-License-Identifier: Apache-2.0
#include "bootstrap.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <system_error>

#include "log.hpp"
#include "patchflow/auth/token.hpp"
#include "patchflow/common/files.hpp"
#include "patchflow/pki/files.hpp"
#include "patchflow/pki/signing.hpp"
#include "patchflow/server/server.hpp"
#include "patchflow/server/store_open.hpp"

namespace pf::server {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxKeyFile = 64 * 1024;

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<std::string> read_pem(const fs::path& file) {
  auto text = files::read_at_most(file, pki::kMaxPemBytes);
  if (!text) return text;
  if (text->size() > pki::kMaxPemBytes) {
    return make_error(Errc::invalid_input, "larger than 256 KiB", file.string());
  }
  return text;
}

Result<void> make_state_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return make_error(Errc::invalid_input, "state_dir is not a directory", dir.string());
    }
    return {};
  }
  fs::create_directories(dir, ec);
  if (ec) return make_error(Errc::io, "cannot create state_dir: " + ec.message(), dir.string());
  if (::chmod(dir.c_str(), 0700) != 0) {
    return make_error(Errc::io, "cannot chmod 0700", dir.string());
  }
  return {};
}

// signing.key: the Ed25519 key that signs work items; created once, then reused.
Result<bool> load_or_create_signing_key(const fs::path& file, PkiState& out) {
  std::error_code ec;
  if (fs::exists(file, ec)) {
    if (auto ok = pki::check_key_file_mode(file); !ok) return Unexpected(ok.error());
    auto pem = files::read_at_most(file, kMaxKeyFile);
    if (!pem) return Unexpected(pem.error());
    auto pub = pki::signing_public_key(*pem);
    if (!pub) {
      return make_error(Errc::invalid_input,
                        "not an Ed25519 private key: " + pub.error().message, file.string());
    }
    out.signing_key_pem = std::move(*pem);
    out.signing_public_pem = std::move(*pub);
    return false;
  }
  auto key = pki::generate_signing_key();
  if (!key) return Unexpected(key.error());
  if (auto ok = pki::save_pem(file, key->private_pem, pki::kKeyFileMode); !ok) {
    return Unexpected(ok.error());
  }
  out.signing_key_pem = std::move(key->private_pem);
  out.signing_public_pem = std::move(key->public_pem);
  return true;
}

}  // namespace

Result<PkiState> prepare_pki(const Config& config) {
  PkiState out;
  const fs::path& dir = config.state_dir;
  if (auto ok = make_state_dir(dir); !ok) return Unexpected(ok.error());
  auto ca = pki::load_or_create_ca(dir);
  if (!ca) return Unexpected(ca.error());
  out.ca = ca->pem;
  out.ca_file = ca->cert_file;
  out.ca_created = ca->created;

  if (!config.tls_cert.empty()) {
    if (auto ok = pki::check_key_file_mode(config.tls_key); !ok) return Unexpected(ok.error());
    auto cert = read_pem(config.tls_cert);
    if (!cert) return Unexpected(cert.error());
    if (auto fp = pki::fingerprint_sha256(*cert); !fp) {
      return make_error(Errc::invalid_input, "no certificate in tls_cert", config.tls_cert.string());
    }
    out.server_cert_file = config.tls_cert;
    out.server_key_file = config.tls_key;
    if (!config.tls_ca.empty()) {
      auto ca_pem = read_pem(config.tls_ca);
      if (!ca_pem) return Unexpected(ca_pem.error());
      out.client_ca_pem = std::move(*ca_pem);
      out.client_ca_file = config.tls_ca;
    } else {
      out.client_ca_pem = out.ca.cert_pem;
      out.client_ca_file = out.ca_file;
    }
  } else {
    pki::ServerCertOptions options;
    options.common_name = config.server_names.empty() ? "localhost" : config.server_names.front();
    for (const auto& n : config.server_names) {
      (is_ip(n) ? options.ip_addresses : options.dns_names).push_back(n);
    }
    auto server = pki::load_or_create_server_cert(dir, out.ca, options);
    if (!server) return Unexpected(server.error());
    out.server_cert_file = server->cert_file;
    out.server_key_file = server->key_file;
    out.server_cert_created = server->created;
    out.server_cert_reason = server->reason;
    out.client_ca_pem = out.ca.cert_pem;
    out.client_ca_file = out.ca_file;
  }
  auto created = load_or_create_signing_key(dir / "signing.key", out);
  if (!created) return Unexpected(created.error());
  out.signing_key_created = *created;
  return out;
}

namespace {

struct NewToken {
  std::string token;
  store::ApiToken record;
};

Result<NewToken> new_admin_token(const std::string& user, std::int64_t now) {
  auto token = auth::generate_token(auth::TokenKind::api);
  if (!token) return Unexpected(token.error());
  NewToken out;
  out.token = *token;
  out.record.token_hash = auth::token_hash(*token);
  out.record.token_id = auth::token_id(*token).value();
  out.record.user = user;
  out.record.role = "admin";
  out.record.created_at = now;
  return out;
}

std::string token_json(const store::ApiToken& t) {
  return "{\"token_id\":" + json_quote(t.token_id) + ",\"user\":" + json_quote(t.user) +
         ",\"role\":" + json_quote(t.role) + "}";
}

std::string user_json(const store::User& u) {
  return "{\"name\":" + json_quote(u.name) + ",\"role\":" + json_quote(u.role) +
         ",\"disabled\":" + (u.disabled ? "true" : "false") + "}";
}

}  // namespace

Result<std::optional<std::string>> ensure_admin(store::FleetStore& store, std::int64_t now) {
  auto users = store.list_users();
  if (!users) return Unexpected(users.error());
  auto tokens = store.list_api_tokens(std::nullopt);
  if (!tokens) return Unexpected(tokens.error());
  if (!users->empty() || !tokens->empty()) return std::nullopt;

  auto token = new_admin_token("admin", now);
  if (!token) return Unexpected(token.error());
  store::User admin{"admin", "", "admin", false, now};
  auto done = store.atomically([&]() -> Result<void> {
    if (auto ok = store.create_user(
            admin, {"system", "user.create", "admin", "", user_json(admin), now});
        !ok) {
      return ok;
    }
    return store.create_api_token(token->record, {"system", "api_token.create",
                                                  token->record.token_id, "",
                                                  token_json(token->record), now});
  });
  if (!done) {
    // Another server sharing the database made the first admin at the same moment.
    if (done.error().code == Errc::conflict) return std::nullopt;
    return Unexpected(done.error());
  }
  return token->token;
}

Result<ResetAdminResult> reset_admin_token(const Config& config) {
  if (!is_postgres_url(config.database)) {
    std::error_code ec;
    if (!fs::exists(config.database, ec)) {
      return make_error(Errc::not_found,
                        "no database here: start the server once first (or pass --config with "
                        "the server's database)",
                        config.database);
    }
  }
  auto opened = open_store(config.database);
  if (!opened) return Unexpected(opened.error());
  store::FleetStore& s = *opened->fleet;
  const std::int64_t now = unix_now();
  const std::string actor = "system:reset-admin-token";
  auto token = new_admin_token("admin", now);
  if (!token) return Unexpected(token.error());
  ResetAdminResult out;
  auto done = s.atomically([&]() -> Result<void> {
    auto user = s.user("admin");
    if (!user) return Unexpected(user.error());
    if (!*user) {
      store::User admin{"admin", "", "admin", false, now};
      if (auto ok = s.create_user(admin, {actor, "user.create", "admin", "", user_json(admin), now});
          !ok) {
        return ok;
      }
    } else {
      if ((*user)->role != "admin") {
        if (auto ok = s.set_role("admin", "admin",
                                 {actor, "user.set_role", "admin",
                                  "{\"role\":" + json_quote((*user)->role) + "}",
                                  "{\"role\":\"admin\"}", now});
            !ok) {
          return ok;
        }
      }
      if ((*user)->disabled) {
        if (auto ok = s.set_disabled("admin", false,
                                     {actor, "user.set_disabled", "admin", "{\"disabled\":true}",
                                      "{\"disabled\":false}", now});
            !ok) {
          return ok;
        }
      }
    }
    auto tokens = s.list_api_tokens(std::nullopt);
    if (!tokens) return Unexpected(tokens.error());
    for (const auto& t : *tokens) {
      if (t.role != "admin" || t.revoked_at) continue;
      if (auto ok = s.revoke_api_token(t.token_id, now,
                                       {actor, "api_token.revoke", t.token_id, token_json(t),
                                        "", now});
          !ok) {
        return ok;
      }
      ++out.revoked;
    }
    return s.create_api_token(token->record, {actor, "api_token.create", token->record.token_id,
                                              "", token_json(token->record), now});
  });
  if (!done) return Unexpected(done.error());
  out.token = token->token;
  out.token_id = token->record.token_id;
  return out;
}

std::string admin_token_banner(std::string_view token, std::string_view headline) {
  const std::string rule(72, '=');
  std::string out;
  out += rule + "\n";
  out += "patchflow: " + std::string(headline) + "\n";
  out += "This API token (role admin, user \"admin\") is shown ONCE: only its hash is kept.\n";
  out += "Store it now (a password manager, a secret store):\n\n";
  out += "    " + std::string(token) + "\n\n";
  out += "Use it:  export PATCHFLOW_TOKEN=<token>\n";
  out += "         patchflow hosts list --server https://HOST:PORT --ca STATE_DIR/ca.crt\n";
  out += "Lost it? patchflow server reset-admin-token --config FILE\n";
  out += rule + "\n";
  return out;
}

}  // namespace pf::server
