// SPDX-License-Identifier: Apache-2.0
// Policy documents (DESIGN.md §3, §7; docs/policy.md): `apiVersion: patchflow/v1` YAML
// documents of kind Baseline, Group, Window and Chain; parsed with bounds and FILE:LINE:COL
// errors, checked as a set, stored as canonical JSON, diffed for the audit log.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "patchflow/common/error.hpp"
#include "patchflow/jobs/job.hpp"
#include "patchflow/policy/baseline.hpp"
#include "patchflow/policy/selector.hpp"
#include "patchflow/schedule/calendar.hpp"
#include "patchflow/schedule/window.hpp"

namespace pf::policy {

inline constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxNodes = 200'000;  ///< YAML nodes read, aliases counted
inline constexpr std::size_t kMaxDocuments = 1000;
inline constexpr std::size_t kMaxItems = 1000;     ///< items of any one list
inline constexpr std::size_t kMaxString = 4096;    ///< any scalar but shell text
inline constexpr std::size_t kMaxShell = 64 * 1024;

/// A count (3) or a percentage ("25%").
struct Limit {
  bool percent{false};
  int value{0};
  /// Absolute: value. Percent of total: rounded up and at least 1 when at_least_one
  /// (max_parallel, budgets), rounded down otherwise (max_failed).
  [[nodiscard]] int resolve(int total, bool at_least_one) const;
  friend bool operator==(const Limit&, const Limit&) = default;
};

struct Group {
  std::optional<Selector> selector;
  std::vector<std::string> hosts;
  std::optional<Limit> budget;  ///< max hosts of the group in work at once, across chains
  std::vector<std::string> windows;
  friend bool operator==(const Group&, const Group&) = default;
};

/// kind maintenance|blackout: `window`; kind calendar: `calendar`.
struct WindowDoc {
  std::optional<schedule::Window> window;
  std::optional<schedule::Calendar> calendar;
  friend bool operator==(const WindowDoc& a, const WindowDoc& b);
};

struct Targets {
  std::optional<Selector> selector;
  std::string group;
  std::vector<std::string> hosts;
  friend bool operator==(const Targets&, const Targets&) = default;
};

struct Rollout {
  Limit max_parallel{false, 1};
  Limit max_failed{false, 0};
  friend bool operator==(const Rollout&, const Rollout&) = default;
};

struct RetryPolicy {
  std::chrono::seconds interval{60};
  std::chrono::seconds for_duration{0};  ///< YAML key `for`
  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

/// "3 business days" (calendar of the chain), or a duration ("2h", "1d").
struct Soak {
  int business_days{0};
  std::chrono::seconds duration{0};
  [[nodiscard]] bool none() const noexcept { return business_days == 0 && duration.count() == 0; }
  friend bool operator==(const Soak&, const Soak&) = default;
};

struct Stage {
  std::string name;
  std::string where;  ///< FILE:LINE:COL of the stage
  std::vector<std::string> after;
  std::string when;        ///< CEL gate text, empty: none
  std::string when_where;  ///< FILE:LINE:COL of the `when` value
  Targets targets;
  Rollout rollout;
  std::vector<jobs::Step> preconditions;
  std::optional<RetryPolicy> retry;
  std::vector<jobs::Step> pre;
  std::vector<jobs::Step> post;
  jobs::Reboot::Policy reboot{jobs::Reboot::Policy::if_required};
  std::optional<jobs::Baseline> health;
  Soak soak;
  bool approval_required{false};
  std::chrono::seconds timeout{2 * 3600};
  std::chrono::seconds expected_duration{3600};
  friend bool operator==(const Stage&, const Stage&) = default;
};

struct Chain {
  std::string baseline;                     ///< patches.baseline
  std::vector<std::string> windows;         ///< Window documents by name
  std::optional<schedule::Window> window;   ///< inline chain window
  std::string calendar;                     ///< a calendar Window document, for soaks
  bool emergency_allowed{false};
  std::vector<Stage> stages;
  friend bool operator==(const Chain&, const Chain&) = default;
};

enum class DocKind { baseline, group, window, chain };
[[nodiscard]] std::string_view doc_kind_name(DocKind kind) noexcept;  ///< "Baseline", ...

struct Document {
  DocKind kind{DocKind::baseline};
  std::string name;
  std::map<std::string, std::string> labels;
  std::string where;  ///< "file:line" of the document's start
  std::variant<Baseline, Group, WindowDoc, Chain> spec;
  friend bool operator==(const Document&, const Document&) = default;
};

/// Parses a multi-document YAML file. Errors: invalid_input, where = "FILE:LINE:COL", message
/// "<path>: expected ..., found ...". Unknown keys, duplicate (kind, name), bounds exceeded,
/// and everything a document alone can get wrong (gates that do not type-check, steps that
/// break the job rules) are errors.
[[nodiscard]] Result<std::vector<Document>> parse_documents(std::string_view text,
                                                            std::string_view file);

/// Checks across documents: names unique per kind; a chain's baseline, windows, calendar and
/// groups exist (with the right window kind); stage `after` names exist and have no cycle;
/// a gate reads only stages reachable through `after`; a group's windows exist.
[[nodiscard]] Result<void> validate_set(const std::vector<Document>& all);

/// Canonical JSON: compact, keys sorted, every field present.
[[nodiscard]] std::string to_json(const Document& doc);
/// Inverse of to_json: from_json(to_json(d)) == d. Bounded (1 MiB, depth 32), strict.
[[nodiscard]] Result<Document> from_json(std::string_view text);

/// One line per difference between two to_json texts: "path: old → new", "+ path: value",
/// "- path: value". Empty when equal. A text that is not JSON differs as a whole ("$").
[[nodiscard]] std::vector<std::string> diff(std::string_view old_json, std::string_view new_json);

/// Whether a name is a valid document/stage name: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?
[[nodiscard]] bool valid_name(std::string_view name) noexcept;

}  // namespace pf::policy
