// SPDX-License-Identifier: Apache-2.0
#include "patchflow/store/audit.hpp"

#include <openssl/evp.h>

#include <array>
#include <memory>

namespace pf::store {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

void add_field(EVP_MD_CTX* ctx, std::string_view bytes) {
  std::array<unsigned char, 8> length{};
  auto n = static_cast<std::uint64_t>(bytes.size());
  for (int i = 7; i >= 0; --i) {
    length[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n & 0xffU);
    n >>= 8;
  }
  PF_ASSERT(EVP_DigestUpdate(ctx, length.data(), length.size()) == 1);
  if (!bytes.empty()) PF_ASSERT(EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) == 1);
}

bool is_lower_hex_64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string audit_hash(std::string_view prev_hash, std::int64_t seq, const AuditEntry& entry) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  PF_ASSERT(ctx != nullptr);
  PF_ASSERT(EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1);
  add_field(ctx.get(), prev_hash);
  add_field(ctx.get(), std::to_string(seq));
  add_field(ctx.get(), entry.actor);
  add_field(ctx.get(), entry.action);
  add_field(ctx.get(), entry.target);
  add_field(ctx.get(), entry.before_json);
  add_field(ctx.get(), entry.after_json);
  add_field(ctx.get(), std::to_string(entry.at));
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  PF_ASSERT(EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2U);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4U]);
    out.push_back(kHex[digest[i] & 0x0fU]);
  }
  return out;
}

Result<void> validate_audit_entry(const AuditEntry& entry) {
  if (entry.actor.empty()) return make_error(Errc::invalid_input, "audit entry without an actor", "actor");
  if (entry.action.empty()) {
    return make_error(Errc::invalid_input, "audit entry without an action", "action");
  }
  const std::pair<std::string_view, const std::string*> fields[] = {
      {"actor", &entry.actor}, {"action", &entry.action}, {"target", &entry.target}};
  for (const auto& [name, value] : fields) {
    if (value->size() > kMaxAuditField) {
      return make_error(Errc::invalid_input,
                        "audit " + std::string(name) + " longer than " +
                            std::to_string(kMaxAuditField) + " bytes",
                        std::string(name));
    }
  }
  if (entry.before_json.size() > kMaxAuditJson || entry.after_json.size() > kMaxAuditJson) {
    return make_error(Errc::invalid_input,
                      "audit before/after document larger than " + std::to_string(kMaxAuditJson) +
                          " bytes",
                      entry.before_json.size() > kMaxAuditJson ? "before_json" : "after_json");
  }
  return {};
}

bool AuditChainVerifier::add(const AuditRecord& record) {
  if (!result_.ok) return false;
  auto fail = [&](std::int64_t seq, std::string problem) {
    result_.ok = false;
    result_.first_bad_seq = seq;
    result_.problem = std::move(problem);
    return false;
  };
  if (record.seq != expected_seq_) {
    if (record.seq > expected_seq_) {
      const std::string missing =
          record.seq == expected_seq_ + 1
              ? "entry " + std::to_string(expected_seq_) + " is missing"
              : "entries " + std::to_string(expected_seq_) + " to " +
                    std::to_string(record.seq - 1) + " are missing";
      return fail(expected_seq_, missing + " (the next stored entry is " +
                                     std::to_string(record.seq) + ")");
    }
    return fail(record.seq, "entry " + std::to_string(record.seq) + " is out of order (expected " +
                                std::to_string(expected_seq_) + ")");
  }
  if (record.prev_hash != prev_hash_) {
    return fail(record.seq, "entry " + std::to_string(record.seq) +
                                ": prev_hash is not the hash of the entry before it");
  }
  if (!is_lower_hex_64(record.hash) || audit_hash(record.prev_hash, record.seq, record.entry) !=
                                           record.hash) {
    return fail(record.seq, "entry " + std::to_string(record.seq) +
                                ": its content does not match its hash (changed after it was written)");
  }
  prev_hash_ = record.hash;
  ++expected_seq_;
  ++result_.entries_checked;
  return true;
}

}  // namespace pf::store
