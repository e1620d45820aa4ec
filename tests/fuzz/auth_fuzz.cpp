// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the auth parsers: every input goes to parse_token, parse_duration,
// parse_labels, parse_role and parse_phc. Besides "no crash, no sanitizer report": an error has
// a message and names where; what parses has the documented shape and formats back to an equal
// value; a PHC string with small costs verifies without an error.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "patchflow/auth/duration.hpp"
#include "patchflow/auth/labels.hpp"
#include "patchflow/auth/password.hpp"
#include "patchflow/auth/role.hpp"
#include "patchflow/auth/token.hpp"

namespace auth = pf::auth;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void require_error(const pf::Error& e, std::string_view where) {
  require(e.code == pf::Errc::invalid_input);
  require(!e.message.empty());
  require(e.where == where);
}

void fuzz_token(std::string_view input) {
  auto kind = auth::parse_token(input);
  if (!kind) {
    require_error(kind.error(), "token");
    require(!auth::token_id(input));
    return;
  }
  require(input.size() == auth::kTokenLength);
  require(input.starts_with(auth::token_prefix(*kind)));
  auto id = auth::token_id(input);
  require(id && id->size() == 4 + auth::kTokenIdChars && input.starts_with(*id));
  const std::string hash = auth::token_hash(input);
  require(hash.size() == 7 + 64 && hash.starts_with("sha256:"));
  require(auth::constant_time_equal(hash, auth::token_hash(std::string(input))));
}

void fuzz_duration(std::string_view input) {
  auto d = auth::parse_duration(input);
  if (!d) {
    require_error(d.error(), "duration");
    return;
  }
  require(d->count() > 0 && *d <= auth::kMaxDuration);
  auto again = auth::parse_duration(auth::format_duration(*d));
  require(again && *again == *d);
}

void fuzz_labels(std::string_view input) {
  auto labels = auth::parse_labels(input);
  if (!labels) {
    require_error(labels.error(), "labels");
    return;
  }
  require(labels->size() <= auth::kMaxLabels);
  for (const auto& [key, value] : *labels) require(auth::check_label(key, value).has_value());
  const std::string text = auth::format_labels(*labels);
  require(text.size() == input.size());  // the same items, perhaps in another order
  auto again = auth::parse_labels(text);
  require(again && *again == *labels);
}

void fuzz_role(std::string_view input) {
  auto role = auth::parse_role(input);
  if (!role) {
    require_error(role.error(), "role");
    return;
  }
  require(auth::to_string(*role) == input);
  require(auth::allows(auth::Role::admin, *role) && auth::allows(*role, auth::Role::viewer));
}

void fuzz_phc(std::string_view input) {
  auto phc = auth::parse_phc(input);
  if (!phc) {
    require_error(phc.error(), "password hash");
    // verify_password refuses the same string with the same message, before any hashing.
    auto verified = auth::verify_password("fuzzing password", input);
    require(!verified && verified.error().message == phc.error().message);
    require(auth::needs_rehash(input));
    return;
  }
  require(auth::check_params(phc->params).has_value());
  require(phc->params.m_cost_kib <= auth::kMaxMemoryKib &&
          phc->params.t_cost <= auth::kMaxTimeCost);
  require(auth::format_phc(*phc) == input);  // strict parsing: one spelling per value
  // Verifying costs m KiB times t passes; only small costs are worth a fuzzing iteration.
  if (phc->params.m_cost_kib <= 256 && phc->params.t_cost <= 2) {
    auto verified = auth::verify_password("fuzzing password", input);
    require(verified.has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_token(input);
  fuzz_duration(input);
  fuzz_labels(input);
  fuzz_role(input);
  fuzz_phc(input);
  return 0;
}
