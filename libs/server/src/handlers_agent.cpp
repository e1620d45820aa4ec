// SPDX-License-Identifier: Apache-2.0
// Probes, metrics and the agent gateway (/agent/v1): enrollment, check-in, inventory, renewal.
// Agent bodies are read leniently (unknown fields are ignored, so newer agents can send more);
// every field that is read is type- and size-checked. docs/protocol.md describes them.
#include <algorithm>
#include <random>

#include "inventory_parse.hpp"
#include "patchflow/auth/token.hpp"
#include "patchflow/pki/certs.hpp"
#include "service.hpp"

namespace pf::server {
namespace {

// What an agent reports about itself (the facts document of docs/protocol.md). Absent fields
// are nullopt: a check-in keeps the stored value for them.
struct AgentFacts {
  std::optional<std::string> os_id, os_version_id, ecosystem, kernel_release, arch, hostname,
      boot_id;
  std::optional<bool> reboot_required;
  std::optional<std::vector<std::string>> reboot_reasons;
};

Expect<AgentFacts> read_facts(const json& body) {
  AgentFacts f;
  auto facts = object_field(body, "facts", "", false);
  if (!facts) return tl::unexpected(facts.error());
  if (*facts == nullptr) return f;
  const json& doc = **facts;
  const auto str = [](const json& obj, std::string_view key, std::string_view path,
                      std::optional<std::string>& out) -> Expect<void> {
    auto v = string_field(obj, key, path, false, store::kMaxFactField);
    if (!v) return tl::unexpected(v.error());
    out = std::move(*v);
    return {};
  };
  auto os = object_field(doc, "os", "facts", false);
  if (!os) return tl::unexpected(os.error());
  if (*os != nullptr) {
    for (auto [key, out] : {std::pair{"id", &f.os_id}, std::pair{"version_id", &f.os_version_id},
                            std::pair{"ecosystem", &f.ecosystem}}) {
      if (auto ok = str(**os, key, "facts.os", *out); !ok) return tl::unexpected(ok.error());
    }
  }
  auto kernel = object_field(doc, "kernel", "facts", false);
  if (!kernel) return tl::unexpected(kernel.error());
  if (*kernel != nullptr) {
    if (auto ok = str(**kernel, "release", "facts.kernel", f.kernel_release); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  for (auto [key, out] : {std::pair{"arch", &f.arch}, std::pair{"hostname", &f.hostname},
                          std::pair{"boot_id", &f.boot_id}}) {
    if (auto ok = str(doc, key, "facts", *out); !ok) return tl::unexpected(ok.error());
  }
  auto reboot = object_field(doc, "reboot", "facts", false);
  if (!reboot) return tl::unexpected(reboot.error());
  if (*reboot != nullptr) {
    // "required": null is what the agent sends when it could not tell.
    auto required = bool_field(**reboot, "required", "facts.reboot");
    if (!required) return tl::unexpected(required.error());
    f.reboot_required = *required;
    // Reasons are explanations for people: kept up to the store's bounds, never refused for
    // being many or long (a check-in must not fail over them).
    std::vector<std::string> reasons;
    const auto it = reboot.value()->find("reasons");
    if (it != reboot.value()->end() && !it->is_null()) {
      if (!it->is_array()) return invalid("expected an array of strings", "facts.reboot.reasons");
      for (const auto& r : *it) {
        if (!r.is_string()) return invalid("expected an array of strings", "facts.reboot.reasons");
        if (reasons.size() == store::kMaxRebootReasons) break;
        std::string text = r.get<std::string>();
        if (text.size() > store::kMaxFactField) text.resize(store::kMaxFactField);
        text.erase(std::remove(text.begin(), text.end(), '\0'), text.end());
        reasons.push_back(std::move(text));
      }
    }
    f.reboot_reasons = std::move(reasons);
  }
  return f;
}

std::int64_t next_checkin(const Config& config) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double base = static_cast<double>(config.checkin_interval.count());
  std::uniform_real_distribution<double> spread(-config.checkin_jitter, config.checkin_jitter);
  const auto s = static_cast<std::int64_t>(std::llround(base * (1.0 + spread(rng))));
  return s < 1 ? 1 : s;
}

// Signs a CSR for `host_id`; the fingerprint and expiry of the new certificate.
struct Issued {
  std::string cert_pem;
  std::string fingerprint;
  std::int64_t not_after{0};
};

Expect<Issued> issue(Service& svc, const Call& call, const std::string& csr_pem,
                     const std::string& host_id) {
  const int days = static_cast<int>(svc.config.agent_cert_validity.count() / 86400);
  auto cert = pki::sign_client_csr(svc.ca, csr_pem, {.host_id = host_id, .validity_days = days});
  if (!cert) {
    if (cert.error().code == Errc::invalid_input) return invalid(cert.error().message, "csr_pem");
    return from_error(svc, call, cert.error());
  }
  auto info = pki::certificate_info(*cert);
  if (!info) return from_error(svc, call, info.error());
  return Issued{*cert, info->fingerprint, info->not_after.time_since_epoch().count()};
}

}  // namespace

Outcome healthz(Service&, Call&) { return json_reply({{"status", "ok"}}); }

Outcome readyz(Service& svc, Call& call) {
  auto lease = svc.pool->lease();
  if (!lease) {
    svc.metrics.store_error();
    svc.log->warn("not ready", {{"request_id", call.request_id},
                                {"error", to_string(lease.error())}});
    return fail(503, "unavailable", "the store cannot be opened");
  }
  if (auto ok = lease->check_ready(); !ok) {
    svc.log->warn("not ready", {{"request_id", call.request_id}, {"error", to_string(ok.error())}});
    return fail(503, "unavailable", "the store is not ready: " + ok.error().message);
  }
  return json_reply({{"status", "ready"}});
}

Outcome metrics(Service& svc, Call&) {
  return Reply{200, svc.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"};
}

Outcome agent_ca(Service& svc, Call&) {
  return Reply{200, svc.client_ca_pem, "application/x-pem-file"};
}

Outcome agent_enroll(Service& svc, Call& call) {
  const json& body = call.body;
  auto token = string_field(body, "token", "", true, 256);
  if (!token) return tl::unexpected(token.error());
  auto csr = string_field(body, "csr_pem", "", true, pki::kMaxCsrBytes);
  if (!csr) return tl::unexpected(csr.error());
  auto hostname = string_field(body, "hostname", "", true, 253);
  if (!hostname) return tl::unexpected(hostname.error());
  if ((*hostname)->empty()) return invalid("empty", "hostname");
  auto facts = read_facts(body);
  if (!facts) return tl::unexpected(facts.error());

  auto kind = auth::parse_token(**token);
  if (!kind || *kind != auth::TokenKind::enrollment) {
    return fail(401, "unauthenticated", "not an enrollment token (pfe_...)", "token");
  }
  auto id = random_hex(8);
  if (!id) return from_error(svc, call, id.error());
  const std::string host_id = "h_" + *id;
  // The CSR is checked before the token is consumed: a bad CSR does not cost the token.
  auto issued = issue(svc, call, **csr, host_id);
  if (!issued) return tl::unexpected(issued.error());

  store::Host host;
  host.id = host_id;
  host.name = **hostname;
  host.os_id = facts->os_id.value_or("");
  host.os_version_id = facts->os_version_id.value_or("");
  host.ecosystem = facts->ecosystem.value_or("");
  host.arch = facts->arch.value_or("");
  host.kernel_release = facts->kernel_release.value_or("");
  host.boot_id = facts->boot_id.value_or("");
  host.reboot_required = facts->reboot_required.value_or(false);
  host.reboot_reasons = facts->reboot_reasons.value_or(std::vector<std::string>{});
  host.cert_fingerprint = issued->fingerprint;
  host.cert_not_after = issued->not_after;
  host.enrolled_at = call.now;
  host.last_seen = call.now;
  if (auto ok = store::validate_host(host); !ok) {
    return invalid(ok.error().message, ok.error().where);
  }

  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  std::optional<ApiError> refused;
  const std::string hash = auth::token_hash(**token);
  auto done = (*lease)->atomically([&]() -> Result<void> {
    auto used = (*lease)->consume_enrollment_token(hash, call.now, host_id);
    if (!used) {
      const auto& e = used.error();
      if (e.code == Errc::not_found) {
        refused = ApiError{401, "unauthenticated", "unknown enrollment token", "token"};
      } else if (e.code == Errc::conflict) {
        refused = ApiError{401, "unauthenticated", "enrollment token already used", "token"};
      } else if (e.code == Errc::invalid_input) {
        refused = ApiError{401, "unauthenticated", "enrollment token expired", "token"};
      }
      return Unexpected(e);
    }
    host.labels = used->labels;
    if (auto ok = (*lease)->create_host(host); !ok) return ok;
    json after = host_summary(host);
    after["enrollment_token_id"] = used->token_id;
    after["cert_fingerprint"] = host.cert_fingerprint;
    store::AuditEntry audit{"token:" + used->token_id, "host.enroll", host_id, "",
                            after.dump(), call.now};
    auto head = (*lease)->append_audit(audit);
    if (!head) return Unexpected(head.error());
    return {};
  });
  if (refused) return tl::unexpected(*refused);
  if (!done) return from_error(svc, call, done.error());
  svc.metrics.enrollment();
  svc.log->info("host enrolled", {{"request_id", call.request_id},
                                  {"host_id", host_id},
                                  {"hostname", host.name}});
  return json_reply({{"host_id", host_id},
                     {"cert_pem", issued->cert_pem},
                     {"ca_pem", svc.client_ca_pem},
                     {"signing_public_key_pem", svc.signing_public_pem},
                     {"checkin_interval_s", svc.config.checkin_interval.count()}},
                    201);
}

Outcome agent_checkin(Service& svc, Call& call) {
  const store::Host& host = *call.host;
  auto facts = read_facts(call.body);
  if (!facts) return tl::unexpected(facts.error());
  auto hash = string_field(call.body, "inventory_hash", "", false, store::kMaxFactField);
  if (!hash) return tl::unexpected(hash.error());

  store::Checkin c;
  c.host_id = host.id;
  c.facts.at = call.now;
  c.facts.boot_id = facts->boot_id.value_or(host.boot_id);
  c.facts.kernel_release = facts->kernel_release.value_or(host.kernel_release);
  c.facts.reboot_required = facts->reboot_required.value_or(host.reboot_required);
  c.facts.reboot_reasons = facts->reboot_reasons.value_or(host.reboot_reasons);
  c.facts.os_id = facts->os_id.value_or(host.os_id);
  c.facts.os_version_id = facts->os_version_id.value_or(host.os_version_id);
  c.facts.ecosystem = facts->ecosystem.value_or(host.ecosystem);
  // Checked here so that one bad check-in never fails the batch it would share.
  if (auto ok = store::validate_checkin(c.facts); !ok) {
    return invalid(ok.error().message, "facts." + ok.error().where);
  }
  if (auto ok = svc.writer->submit(std::move(c)); !ok) return from_error(svc, call, ok.error());

  const bool needed = !*hash || (*hash)->empty() || host.inventory_hash.empty() ||
                      **hash != host.inventory_hash;
  return json_reply({{"inventory_needed", needed},
                     {"next_checkin_s", next_checkin(svc.config)},
                     {"work", pending_work(svc, call)}});
}

Outcome agent_inventory(Service& svc, Call& call) {
  // Read in one streaming pass straight into rows (inventory_parse.hpp); the route takes the
  // raw body (Body::raw), so no JSON document is built for it.
  auto body = parse_inventory(call.raw);
  if (!body) return invalid(std::move(body.error().message), std::move(body.error().field));
  const std::string& hash = body->hash;
  std::vector<inventory::Package>& packages = body->packages;
  std::vector<store::AvailableUpdate>& updates = body->updates;
  const std::size_t package_count = packages.size();
  const std::size_t update_count = updates.size();
  // The host was read when this call was authenticated: an inventory with the hash it holds
  // is answered without a write. Any other goes to the group-commit writer, which reads the
  // hash again under the write lock and writes only the rows that changed.
  auto outcome = store::InventoryOutcome::unchanged;
  if (hash != call.host->inventory_hash) {
    auto done = svc.inventory_writer->submit(
        {call.host->id, hash, std::move(packages), std::move(updates)});
    if (!done) return from_error(svc, call, done.error());
    outcome = *done;
  }
  if (outcome == store::InventoryOutcome::revoked) {
    return fail(403, "forbidden", "host revoked", "");
  }
  if (outcome == store::InventoryOutcome::unknown_host) {
    return from_error(svc, call,
                      Error{Errc::not_found, "no host " + call.host->id, call.host->id});
  }
  const bool stored = outcome == store::InventoryOutcome::stored;
  svc.metrics.inventory(stored);
  if (stored && svc.findings) svc.findings->poke();
  return json_reply(
      {{"stored", stored}, {"packages", package_count}, {"updates", update_count}});
}

Outcome agent_renew(Service& svc, Call& call) {
  auto csr = string_field(call.body, "csr_pem", "", true, pki::kMaxCsrBytes);
  if (!csr) return tl::unexpected(csr.error());
  const std::string host_id = call.host->id;
  auto issued = issue(svc, call, **csr, host_id);
  if (!issued) return tl::unexpected(issued.error());
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  if (auto ok = (*lease)->set_certificate(host_id, issued->fingerprint, issued->not_after); !ok) {
    if (ok.error().code == Errc::conflict) return fail(403, "forbidden", ok.error().message);
    return from_error(svc, call, ok.error());
  }
  svc.log->info("certificate renewed", {{"request_id", call.request_id},
                                        {"host_id", host_id},
                                        {"fingerprint", issued->fingerprint}});
  return json_reply({{"host_id", host_id},
                     {"cert_pem", issued->cert_pem},
                     {"ca_pem", svc.client_ca_pem},
                     {"not_after", rfc3339(issued->not_after)}});
}

}  // namespace pf::server
