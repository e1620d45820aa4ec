// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the orchestrator. The input is a state's JSON, a NUL byte, then bytes
// that pick events (kind, run, stage, host, outcome, time step). A state that does not read
// back is replaced by a built-in one. Besides "no crash, no sanitizer report": errors are
// invalid_input with a message; the decided state and every command round-trip through JSON.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/orchestrator/decide.hpp"

namespace {

using namespace std::chrono;
using pf::orch::Time;

void require(bool ok) {
  if (!ok) std::abort();
}

pf::orch::Plan base_plan() {
  pf::orch::Plan p;
  p.chain = "fuzz";
  auto stage = [](std::string name, int n) {
    pf::orch::PlanStage s;
    s.name = std::move(name);
    for (int i = 1; i <= n; ++i) s.hosts.push_back({s.name + "-0" + std::to_string(i), "", {"g"}, -1});
    return s;
  };
  p.stages.push_back(stage("db", 3));
  p.stages[0].max_parallel = {false, 2};
  p.stages[0].max_failed = {false, 1};
  p.stages[0].hosts[2].window_set = 0;
  p.stages.push_back(stage("app", 4));
  p.stages[1].after = {"db"};
  p.stages[1].when = "stages.db.hosts.all(h, h.post['ok'].passed)";
  p.stages[1].max_parallel = {true, 50};
  p.stages[1].approval_required = true;
  p.stages[1].soak = {pf::orch::Soak::Kind::duration, seconds{3600}, 0};
  p.stages.push_back(stage("web", 2));
  p.stages[2].after = {"app"};
  p.stages[2].soak = {pf::orch::Soak::Kind::business_days, seconds{0}, 1};
  p.stages[2].host_timeout = seconds{600};
  auto w = pf::schedule::make_window("daily 22:00", "6h", "UTC", "maintenance");
  if (w) p.window_sets = {{*w}};
  p.group_budgets = {{"g", 2}};
  return p;
}

const char* pick(const std::uint8_t b, std::initializer_list<const char*> options) {
  return options.begin()[b % options.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  const std::string_view bytes = nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);
  Time now = sys_days{year{2026} / 6 / 1} + hours{12};
  pf::orch::State state;
  if (auto s = pf::orch::state_from_json(text)) {
    state = std::move(*s);
    require(pf::orch::to_json(state) == pf::orch::to_json(*pf::orch::state_from_json(pf::orch::to_json(state))));
  } else {
    require(s.error().code == pf::Errc::invalid_input && !s.error().message.empty());
    state = pf::orch::decide({}, std::vector<pf::orch::Event>{pf::orch::ChainStarted{"r1", base_plan(), "f", now}}, now).state;
  }
  std::vector<pf::orch::Event> events;
  for (std::size_t i = 0; i + 4 <= bytes.size() && events.size() < 64; i += 4) {
    const auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(bytes[i + k]); };
    const std::string run = pick(b(1), {"r1", "r2", "zz"});
    const std::string stage = pick(b(2), {"db", "app", "web", "x"});
    const std::string host = stage + "-0" + std::to_string(b(3) % 5);
    switch (b(0) % 9) {
      case 0: events.push_back(pf::orch::ChainStarted{run, base_plan(), "f", now}); break;
      case 1: events.push_back(pf::orch::HostProgress{run, stage, host, now}); break;
      case 2:
      case 3: {
        pf::orch::HostFinished f{run, stage, host, static_cast<pf::orch::HostOutcomeKind>(b(3) % 4), {}, b(2) % 3, now};
        f.post["ok"] = {(b(1) & 4) == 0, b(1) & 8};
        events.push_back(f);
        break;
      }
      case 4: events.push_back(pf::orch::Approve{run, stage, "a"}); break;
      case 5: events.push_back(pf::orch::Pause{run, "p"}); break;
      case 6: events.push_back(pf::orch::Resume{run, "p"}); break;
      case 7: events.push_back(pf::orch::Cancel{run, "c", "r"}); break;
      default: break;
    }
    if (b(0) >= 128) {  // step the clock between decisions
      auto d = pf::orch::decide(state, events, now);
      state = std::move(d.state);
      for (const auto& c : d.commands) {
        auto back = pf::orch::command_from_json(pf::orch::to_json(c));
        require(back && pf::orch::to_json(*back) == pf::orch::to_json(c));
      }
      events.clear();
      now += minutes{b(3)} * 30;
    }
  }
  auto d = pf::orch::decide(state, events, now);
  const std::string out = pf::orch::to_json(d.state);
  auto back = pf::orch::state_from_json(out);
  require(back.has_value());
  require(*back == d.state);
  require(pf::orch::to_json(*back) == out);
  pf::orch::remove_finished(d.state);
  return 0;
}
