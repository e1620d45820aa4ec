// SPDX-License-Identifier: Apache-2.0
// The agent's local commands policy: what a signed job may run on this host.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/jobs/job.hpp"

namespace pf::runner {

/// {"commands": "allow" | "deny" | "allow_list", "allowed": ["/usr/bin/systemctl", ...]}.
/// Commands are command steps, command checks, command probes and the rollback command.
/// Built-in checks and installs are always allowed.
struct Policy {
  enum class Commands { allow, deny, allow_list } commands{Commands::deny};
  /// allow_list: absolute program paths; a command's argv[0] must be one of them exactly;
  /// a shell command runs /bin/sh, so it needs "/bin/sh" in the list.
  std::vector<std::string> allowed;
};

inline constexpr std::size_t kMaxPolicyBytes = 64 * 1024;

/// Errc::invalid_input naming `name` and the field for a document that is not a policy.
[[nodiscard]] Result<Policy> parse_policy(std::string_view text, std::string_view name = "policy");

/// The policy in `file`. A file that does not exist is the safe default: commands denied.
[[nodiscard]] Result<Policy> load_policy(const std::filesystem::path& file);

/// Checks every command of the job before anything runs. Errc::invalid_input naming the first
/// step the policy refuses and why.
[[nodiscard]] Result<void> check_policy(const jobs::Job& job, const Policy& policy);

}  // namespace pf::runner
