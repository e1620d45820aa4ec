// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for one Red Hat CSAF/VEX document. Besides "no crash, no sanitizer report, no
// leak" it checks the error contract (invalid_input, a message, a where naming the input) and
// the mapping's invariants: ids are unique, every Affected has a status and a Red Hat
// ecosystem, and a fixed entry has exactly introduced "0" and one fix.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "feeds_fuzz.hpp"

using pf::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const pf::feeds::ImportOptions options = pf::fuzz::small_limits();
  std::uint64_t delivered = 0;
  std::set<std::string> ids;
  const auto sink = [&](pf::advisories::Advisory&& a, const pf::feeds::RecordNotes& notes) {
    require(notes.affected_status.size() == a.affected.size());
    require(!a.id.empty() && a.cves.size() == 1 && a.id.ends_with(a.cves[0]));
    require(ids.insert(a.id).second);
    require(a.source == "csaf");
    for (std::size_t i = 0; i < a.affected.size(); ++i) {
      const auto& affected = a.affected[i];
      require(affected.ecosystem.starts_with("Red Hat:") && !affected.package.empty());
      require(!affected.events.empty() && affected.events[0].version == "0");
      const bool fixed = notes.affected_status[i] == pf::feeds::AffectedStatus::fixed;
      require(affected.events.size() == (fixed ? 2u : 1u));
    }
    ++delivered;
    return true;
  };
  const auto result = pf::feeds::import_csaf_bytes(input, "fuzz.json", options, sink);
  if (result) {
    require(result->records == delivered);
  } else {
    require(result.error().code == pf::Errc::invalid_input);
    require(!result.error().message.empty());
    require(std::string_view(result.error().where).starts_with("fuzz"));
    require(delivered == 0);  // a bad document delivers nothing
  }
  return 0;
}
