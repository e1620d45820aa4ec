// SPDX-License-Identifier: Apache-2.0
#include "chain_plan.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "patchflow/orchestrator/plan_view.hpp"
#include "patchflow/policy/baseline.hpp"
#include "patchflow/policy/selector.hpp"
#include "patchflow/schedule/window.hpp"

namespace pf::server {
namespace {

using json = nlohmann::json;
using policy::DocKind;

struct Docs {
  std::map<std::pair<DocKind, std::string>, policy::Document> by;

  [[nodiscard]] const policy::Document* find(DocKind kind, const std::string& name) const {
    auto it = by.find({kind, name});
    return it == by.end() ? nullptr : &it->second;
  }
};

Result<Docs> load_docs(store::PolicyStore& policies) {
  auto all = policies.policies("");
  if (!all) return Unexpected(all.error());
  Docs docs;
  for (const auto& p : *all) {
    auto d = policy::from_json(p.json);
    if (!d) {
      return make_error(Errc::invalid_input,
                        "the stored document cannot be read: " + d.error().message,
                        p.kind + "/" + p.name);
    }
    docs.by.emplace(std::pair{d->kind, d->name}, std::move(*d));
  }
  return docs;
}

Result<std::vector<store::Host>> all_hosts(store::FleetStore& fleet) {
  std::vector<store::Host> out;
  store::HostQuery q;
  q.limit = store::kMaxPageSize;
  while (true) {
    auto page = fleet.list_hosts(q);
    if (!page) return Unexpected(page.error());
    for (auto& h : page->hosts) out.push_back(std::move(h));
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.id) < std::tie(b.name, b.id);
  });
  return out;
}

bool member(const policy::Group& g, const store::Host& h) {
  if (g.selector && policy::matches(*g.selector, h.labels)) return true;
  return std::find(g.hosts.begin(), g.hosts.end(), h.name) != g.hosts.end();
}

orch::Limit limit(const policy::Limit& l) { return orch::Limit{l.percent, l.value}; }

// What the store knows about the advisories of one ecosystem, by id.
struct AdvisoryInfo {
  advisories::Kind kind{advisories::Kind::security};
  advisories::Severity severity{advisories::Severity::unknown};
  std::int64_t published{0};
  std::vector<std::string> cves;
};

class Verdicts {
 public:
  Verdicts(OpenedStore& store, const policy::Baseline& baseline, std::chrono::sys_seconds now)
      : store_(store), baseline_(baseline), now_(now) {}

  Result<std::vector<UpdateVerdict>> of(const store::Host& host) {
    auto updates = store_.fleet->updates(host.id);
    if (!updates) return Unexpected(updates.error());
    auto known = advisories(host.ecosystem);
    if (!known) return Unexpected(known.error());
    // The host's open findings by package: the advisories its updates fix.
    std::map<std::string, std::vector<store::StoredFinding>> findings;
    store::FindingQuery q;
    q.host_id = host.id;
    q.limit = store::kMaxPageSize;
    while (true) {
      auto page = store_.findings->list_findings(q);
      if (!page) return Unexpected(page.error());
      for (auto& f : page->findings) findings[f.row.package].push_back(std::move(f));
      if (page->next_cursor.empty()) break;
      q.cursor = page->next_cursor;
    }
    std::vector<UpdateVerdict> out;
    for (const auto& u : *updates) {
      policy::Candidate c;
      c.package = u.name;
      c.arch = u.arch;
      c.installed = u.installed_version;
      c.candidate = u.candidate_version;
      std::set<std::string> ids(u.advisories.begin(), u.advisories.end());
      std::set<std::string> cves;
      int severity = static_cast<int>(advisories::Severity::unknown);
      bool security = u.security;
      if (auto it = findings.find(u.name); it != findings.end()) {
        security = true;
        for (const auto& f : it->second) {
          ids.insert(f.row.advisory_id);
          severity = std::max(severity, f.row.severity);
          c.kev = c.kev || f.row.kev;
          const json detail = json::parse(f.row.detail, nullptr, false);
          if (detail.is_object() && detail.contains("cves") && detail["cves"].is_array()) {
            for (const auto& cve : detail["cves"]) {
              if (cve.is_string()) cves.insert(cve.get<std::string>());
            }
          }
        }
      }
      std::optional<advisories::Kind> kind;
      for (const auto& id : ids) {
        auto it = (*known)->find(id);
        if (it == (*known)->end()) continue;
        const AdvisoryInfo& a = it->second;
        if (!kind || a.kind == advisories::Kind::security) kind = a.kind;
        severity = std::max(severity, static_cast<int>(a.severity));
        if (a.published > 0 && (c.released_at == 0 || a.published < c.released_at)) {
          c.released_at = a.published;
        }
        cves.insert(a.cves.begin(), a.cves.end());
      }
      c.kind = security ? advisories::Kind::security : kind.value_or(advisories::Kind::bugfix);
      c.severity = static_cast<advisories::Severity>(severity);
      c.advisory_ids.assign(ids.begin(), ids.end());
      c.cves.assign(cves.begin(), cves.end());
      auto verdict = policy::evaluate(baseline_, c, now_);
      out.push_back({std::move(c), std::move(verdict)});
    }
    return out;
  }

 private:
  Result<const std::map<std::string, AdvisoryInfo>*> advisories(const std::string& ecosystem) {
    if (auto it = cache_.find(ecosystem); it != cache_.end()) return &it->second;
    auto all = store_.advisories->advisories(ecosystem);
    if (!all) return Unexpected(all.error());
    auto& map = cache_[ecosystem];
    for (const auto& a : *all) {
      map[a.id] = AdvisoryInfo{a.kind, a.severity, a.published, a.cves};
    }
    return &map;
  }

  OpenedStore& store_;
  const policy::Baseline& baseline_;
  std::chrono::sys_seconds now_;
  std::map<std::string, std::map<std::string, AdvisoryInfo>> cache_;
};

std::string not_approved_reason(const std::vector<UpdateVerdict>& updates) {
  if (updates.empty()) return "no update available";
  std::string out = "no update approved:";
  std::size_t shown = 0;
  for (const auto& u : updates) {
    if (shown == 3) {
      out += " (and " + std::to_string(updates.size() - shown) + " more)";
      break;
    }
    out += (shown == 0 ? " " : "; ") + u.candidate.package + " " + u.candidate.candidate + ": " +
           u.verdict.reason;
    ++shown;
  }
  return out;
}

std::string selection_of(const std::vector<UpdateVerdict>& updates) {
  std::string sel;
  std::set<std::string> seen;
  for (const auto& u : updates) {
    if (!u.verdict.approved || !seen.insert(u.candidate.package).second) continue;
    sel += (sel.empty() ? "exact:" : ",") + u.candidate.package + "=" + u.candidate.candidate;
  }
  return sel;
}

bool is_maintenance(const schedule::Window& w) { return w.kind == schedule::Kind::maintenance; }

}  // namespace

Result<ResolvedChain> resolve_chain(OpenedStore& store, std::string_view name, bool emergency,
                                    std::string justification, std::chrono::sys_seconds now) {
  auto docs = load_docs(*store.policies);
  if (!docs) return Unexpected(docs.error());
  const std::string chain_name(name);
  const policy::Document* chain_doc = docs->find(DocKind::chain, chain_name);
  if (chain_doc == nullptr) return make_error(Errc::not_found, "no chain with this name", "name");
  const auto& chain = std::get<policy::Chain>(chain_doc->spec);
  if (emergency && !chain.emergency_allowed) {
    return make_error(Errc::invalid_input,
                      "chain " + chain_name +
                          " does not allow emergency runs (spec.emergency.allowed is false)",
                      "emergency");
  }
  if (emergency && justification.empty()) {
    return make_error(Errc::invalid_input, "an emergency run needs a justification",
                      "justification");
  }
  const policy::Document* baseline_doc = docs->find(DocKind::baseline, chain.baseline);
  if (baseline_doc == nullptr) {
    return make_error(Errc::invalid_input,
                      "chain " + chain_name + " names baseline " + chain.baseline +
                          ", which is not stored",
                      "spec.patches.baseline");
  }
  const auto& baseline = std::get<policy::Baseline>(baseline_doc->spec);
  auto stored = store.policies->policy("Chain", chain_name);
  if (!stored) return Unexpected(stored.error());
  if (!*stored) return make_error(Errc::not_found, "no chain with this name", "name");

  ResolvedChain out;
  out.chain = chain_name;
  out.revision = (*stored)->revision;
  out.chain_json = (*stored)->json;
  out.baseline = chain.baseline;
  out.plan.chain = chain_name;
  out.plan.chain_revision = out.revision;
  out.plan.emergency = emergency;
  out.plan.justification = std::move(justification);

  auto hosts = all_hosts(*store.fleet);
  if (!hosts) return Unexpected(hosts.error());

  // Groups: members, budgets, windows.
  std::vector<std::pair<std::string, const policy::Group*>> groups;
  for (const auto& [key, doc] : docs->by) {
    if (key.first == DocKind::group) groups.emplace_back(key.second, &std::get<policy::Group>(doc.spec));
  }
  std::map<std::string, std::vector<std::string>> groups_of;  // host id -> group names
  for (const auto& [gname, g] : groups) {
    int members = 0;
    for (const auto& h : *hosts) {
      if (member(*g, h)) {
        groups_of[h.id].push_back(gname);
        ++members;
      }
    }
    if (g->budget) out.plan.group_budgets[gname] = g->budget->resolve(members, true);
  }
  auto window_named = [&](const std::string& wname) -> const policy::WindowDoc* {
    const policy::Document* d = docs->find(DocKind::window, wname);
    return d == nullptr ? nullptr : &std::get<policy::WindowDoc>(d->spec);
  };
  std::vector<schedule::Window> chain_windows;
  for (const auto& wname : chain.windows) {
    const auto* w = window_named(wname);
    if (w != nullptr && w->window) chain_windows.push_back(*w->window);
  }
  if (chain.window) chain_windows.push_back(*chain.window);
  if (!chain.calendar.empty()) {
    const auto* w = window_named(chain.calendar);
    if (w != nullptr && w->calendar) out.plan.calendar = *w->calendar;
  }
  // Blackouts alone restrict nothing else: work may run at any time outside them.
  auto always = schedule::make_window("daily 00:00", "1d", "UTC", "maintenance");
  if (!always) return Unexpected(always.error());
  auto window_set = [&](const store::Host& h) -> int {
    std::vector<schedule::Window> set = chain_windows;
    for (const auto& gname : groups_of[h.id]) {
      for (const auto& [n, g] : groups) {
        if (n != gname) continue;
        for (const auto& wname : g->windows) {
          const auto* w = window_named(wname);
          if (w != nullptr && w->window &&
              std::find(set.begin(), set.end(), *w->window) == set.end()) {
            set.push_back(*w->window);
          }
        }
      }
    }
    if (set.empty()) return -1;
    if (std::none_of(set.begin(), set.end(), is_maintenance)) set.push_back(*always);
    auto& sets = out.plan.window_sets;
    auto it = std::find(sets.begin(), sets.end(), set);
    if (it != sets.end()) return static_cast<int>(it - sets.begin());
    sets.push_back(std::move(set));
    return static_cast<int>(sets.size() - 1);
  };

  Verdicts verdicts(store, baseline, now);
  std::map<std::string, std::string> taken;  // host id -> stage
  for (const auto& stage : chain.stages) {
    orch::PlanStage ps;
    ps.name = stage.name;
    ps.after = stage.after;
    ps.when = stage.when;
    ps.max_parallel = limit(stage.rollout.max_parallel);
    ps.max_failed = limit(stage.rollout.max_failed);
    if (stage.soak.business_days > 0) {
      ps.soak.kind = orch::Soak::Kind::business_days;
      ps.soak.days = stage.soak.business_days;
    } else if (stage.soak.duration.count() > 0) {
      ps.soak.kind = orch::Soak::Kind::duration;
      ps.soak.duration = stage.soak.duration;
    }
    ps.approval_required = stage.approval_required;
    ps.expected_duration = stage.expected_duration;
    ps.host_timeout = stage.timeout;
    const policy::Group* target_group = nullptr;
    if (!stage.targets.group.empty()) {
      for (const auto& [n, g] : groups) {
        if (n == stage.targets.group) target_group = g;
      }
      if (target_group == nullptr) {
        return make_error(Errc::invalid_input,
                          "stage " + stage.name + " targets group " + stage.targets.group +
                              ", which is not stored",
                          "spec.stages.targets.group");
      }
    }
    for (const auto& h : *hosts) {
      // A target matches every criterion the stage gives.
      if (stage.targets.selector && !policy::matches(*stage.targets.selector, h.labels)) continue;
      if (target_group != nullptr && !member(*target_group, h)) continue;
      if (!stage.targets.hosts.empty() &&
          std::find(stage.targets.hosts.begin(), stage.targets.hosts.end(), h.name) ==
              stage.targets.hosts.end()) {
        continue;
      }
      if (auto it = taken.find(h.id); it != taken.end()) {
        out.excluded.push_back({h.id, h.name, stage.name, "already in stage " + it->second});
        continue;
      }
      taken[h.id] = stage.name;
      if (h.inventory_hash.empty()) {
        out.excluded.push_back({h.id, h.name, stage.name, "no inventory received yet"});
        continue;
      }
      auto updates = verdicts.of(h);
      if (!updates) return Unexpected(updates.error());
      HostWork work{h.id, h.name, stage.name, std::move(*updates), ""};
      work.selection = selection_of(work.updates);
      if (work.selection.empty()) {
        out.excluded.push_back({h.id, h.name, stage.name, not_approved_reason(work.updates)});
        continue;
      }
      ps.hosts.push_back(orch::PlanHost{h.id, h.name, groups_of[h.id], window_set(h)});
      out.work.emplace(h.id, std::move(work));
    }
    out.plan.stages.push_back(std::move(ps));
  }
  if (auto ok = orch::validate(out.plan); !ok) {
    return make_error(Errc::invalid_input, "the chain does not make a valid plan: " + ok.error().message,
                      ok.error().where);
  }
  return out;
}

std::string plan_document(const ResolvedChain& r, std::chrono::sys_seconds now) {
  const orch::Projection view = orch::plan_view(r.plan, now);
  json stages = json::array();
  for (std::size_t i = 0; i < view.stages.size(); ++i) {
    const auto& sv = view.stages[i];
    const auto& ps = r.plan.stages[i];
    json hosts = json::array();
    for (const auto& hv : sv.hosts) {
      json updates = json::array();
      json not_approved = json::array();
      if (auto it = r.work.find(hv.id); it != r.work.end()) {
        for (const auto& u : it->second.updates) {
          json doc = {{"package", u.candidate.package},
                      {"arch", u.candidate.arch},
                      {"installed", u.candidate.installed},
                      {"candidate", u.candidate.candidate},
                      {"advisories", u.candidate.advisory_ids},
                      {"kev", u.candidate.kev},
                      {"reason", u.verdict.reason}};
          (u.verdict.approved ? updates : not_approved).push_back(std::move(doc));
        }
      }
      hosts.push_back({{"id", hv.id},
                       {"name", hv.name},
                       {"wave", hv.wave},
                       {"window", hv.window},
                       {"window_opening", hv.opening ? json(schedule::format_utc(*hv.opening))
                                                     : json(nullptr)},
                       {"updates", std::move(updates)},
                       {"not_approved", std::move(not_approved)}});
    }
    auto limit_text = [](const orch::Limit& l) {
      return std::to_string(l.value) + (l.percent ? "%" : "");
    };
    stages.push_back({{"name", sv.name},
                      {"after", sv.after},
                      {"when", sv.gate},
                      {"max_parallel", limit_text(ps.max_parallel)},
                      {"wave_size", sv.wave_size},
                      {"waves", sv.waves},
                      {"max_failed", limit_text(ps.max_failed)},
                      {"max_failed_hosts", sv.max_failed},
                      {"soak", sv.soak == "none" ? "" : sv.soak},
                      {"approval_required", sv.approval_required},
                      {"hosts", std::move(hosts)}});
  }
  json excluded = json::array();
  for (const auto& e : r.excluded) {
    excluded.push_back(
        {{"host_id", e.host_id}, {"name", e.name}, {"stage", e.stage}, {"reason", e.reason}});
  }
  return json{{"chain", r.chain},
              {"chain_revision", r.revision},
              {"baseline", r.baseline},
              {"as_of", schedule::format_utc(now)},
              {"emergency", r.plan.emergency},
              {"stages", std::move(stages)},
              {"excluded", std::move(excluded)}}
      .dump();
}

Result<jobs::Job> stage_job(const policy::Chain& chain, std::string_view chain_name,
                            std::string_view stage_name, std::string_view selection,
                            std::string job_run_id, std::string host_id,
                            std::chrono::sys_seconds now) {
  const policy::Stage* stage = nullptr;
  for (const auto& s : chain.stages) {
    if (s.name == stage_name) stage = &s;
  }
  if (stage == nullptr) {
    return make_error(Errc::not_found, "the chain has no stage " + std::string(stage_name), "stage");
  }
  jobs::Job job;
  job.run_id = std::move(job_run_id);
  job.job = std::string(chain_name) + "/" + stage->name;
  job.host_id = std::move(host_id);
  job.issued_at = now;
  std::chrono::seconds life = std::max(stage->timeout, std::chrono::seconds(60));
  job.preconditions = stage->preconditions;
  if (stage->retry && !stage->preconditions.empty() && stage->retry->for_duration.count() > 0) {
    job.retry = jobs::Retry{stage->retry->interval, now + stage->retry->for_duration};
    life = std::max(life, stage->retry->for_duration + std::chrono::seconds(60));
  }
  job.expires_at = now + life;
  job.baseline = stage->health;
  job.pre = stage->pre;
  if (!selection.empty()) job.install = jobs::Install{std::string(selection), {}};
  job.reboot.policy = stage->reboot;
  job.post = stage->post;
  if (auto ok = jobs::validate(job); !ok) return Unexpected(ok.error());
  return job;
}

}  // namespace pf::server
