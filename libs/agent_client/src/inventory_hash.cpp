// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent_client/inventory_hash.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "patchflow/common/error.hpp"

namespace pf::agent_client {
namespace {

void field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
}

std::string package_record(const inventory::Package& p) {
  std::string r;
  for (const std::string* f : {&p.name, &p.arch, &p.version, &p.source_name, &p.source_version}) {
    field(r, *f);
  }
  r += '\n';
  return r;
}

std::string update_record(const pkg::Update& u) {
  std::string r;
  for (const std::string* f : {&u.name, &u.arch, &u.installed, &u.candidate, &u.origin}) {
    field(r, *f);
  }
  field(r, u.security ? "1" : "0");
  std::vector<std::string> advisories = u.advisories;
  std::sort(advisories.begin(), advisories.end());
  field(r, std::to_string(advisories.size()));
  for (const auto& a : advisories) field(r, a);
  field(r, u.held_reason);
  r += '\n';
  return r;
}

template <class T, class F>
void section(std::string& out, const char* name, const std::vector<T>& rows, F record) {
  std::vector<std::string> records;
  records.reserve(rows.size());
  for (const auto& row : rows) records.push_back(record(row));
  std::sort(records.begin(), records.end());
  out += name;
  out += ' ';
  out += std::to_string(records.size());
  out += '\n';
  for (const auto& r : records) out += r;
}

}  // namespace

std::string canonical_inventory(const std::vector<inventory::Package>& packages,
                                const std::vector<pkg::Update>& updates) {
  std::string out = "patchflow-inventory-v1\n";
  section(out, "packages", packages, package_record);
  section(out, "updates", updates, update_record);
  return out;
}

std::string inventory_hash(const std::vector<inventory::Package>& packages,
                           const std::vector<pkg::Update>& updates) {
  const std::string text = canonical_inventory(packages, updates);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  PF_ASSERT(ok == 1 && len == 32);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

}  // namespace pf::agent_client
