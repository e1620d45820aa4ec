// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the job parser (parse_job) and the envelope reader (open_envelope).
// Besides "no crash, no sanitizer report": an error is invalid_input with a message and a JSON
// path; a job that parses is valid, and its canonical text parses back to an equal job and is
// a fixed point.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "patchflow/jobs/job.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto job = pf::jobs::parse_job(input);
  if (!job) {
    require(job.error().code == pf::Errc::invalid_input);
    require(!job.error().message.empty());
    require(job.error().where.starts_with("$"));
  } else {
    require(pf::jobs::validate(*job).has_value());
    const std::string canonical = pf::jobs::to_json(*job);
    auto again = pf::jobs::parse_job(canonical);
    require(again.has_value());
    require(*again == *job);
    require(pf::jobs::to_json(*again) == canonical);
  }
  // No key verifies anything: the envelope is always refused, never parsed past the signature.
  auto env = pf::jobs::open_envelope(input, "not a key");
  require(!env);
  require(env.error().code == pf::Errc::invalid_input);
  return 0;
}
