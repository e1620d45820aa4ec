// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for policy documents: parse_documents on any bytes; on success every
// document round-trips exactly through its canonical JSON (and diffs empty against itself) and
// validate_set answers; on failure the error is invalid_input at "f.yaml:LINE:COL" with a
// message. The same bytes as a label selector: errors at a column, or a canonical text that
// parses back to the same selector.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "patchflow/policy/document.hpp"
#include "patchflow/policy/selector.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto docs = pf::policy::parse_documents(input, "f.yaml");
  if (!docs) {
    require(docs.error().code == pf::Errc::invalid_input);
    require(!docs.error().message.empty());
    require(docs.error().where.starts_with("f.yaml:"));
  } else {
    require(!docs->empty());
    for (const auto& d : *docs) {
      const std::string j = pf::policy::to_json(d);
      auto back = pf::policy::from_json(j);
      require(back.has_value());
      require(*back == d);
      require(pf::policy::to_json(*back) == j);
      require(pf::policy::diff(j, j).empty());
    }
    auto set = pf::policy::validate_set(*docs);
    if (!set) require(!set.error().message.empty());
  }
  auto sel = pf::policy::parse_selector(input);
  if (sel) {
    auto again = pf::policy::parse_selector(pf::policy::to_string(*sel));
    require(again.has_value() && *again == *sel);
    (void)pf::policy::matches(*sel, {{"tier", "web"}, {"env", "prod"}});
  } else {
    require(sel.error().where.starts_with("column "));
  }
  // from_json and diff on raw bytes: no crash.
  (void)pf::policy::from_json(input);
  (void)pf::policy::diff(input, "{}");
  return 0;
}
