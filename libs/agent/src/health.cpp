// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent/health.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <system_error>

#include "files.hpp"
#include "health_probe.hpp"
#include "patchflow/agent/services.hpp"
#include "patchflow/common/process.hpp"

namespace pf::agent::health {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxNetLine = 4096;

bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view next_token(std::string_view& rest) noexcept {
  std::size_t i = 0;
  while (i < rest.size() && is_blank(rest[i])) ++i;
  const std::size_t start = i;
  while (i < rest.size() && !is_blank(rest[i])) ++i;
  const std::string_view token = rest.substr(start, i - start);
  rest.remove_prefix(i);
  return token;
}

// `hex` (exactly 1..8 hex digits) as a number; false for anything else.
bool parse_hex32(std::string_view hex, std::uint32_t& out) noexcept {
  if (hex.empty() || hex.size() > 8) return false;
  std::uint32_t v = 0;
  for (char c : hex) {
    std::uint32_t d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<std::uint32_t>(c - 'A' + 10);
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    } else {
      return false;
    }
    v = (v << 4) | d;
  }
  out = v;
  return true;
}

struct Endpoint {
  std::string address;  // text, IPv6 in brackets
  std::uint16_t port{0};
  bool zero_address{false};
};

// "0100007F:0035" or 32 hex digits ':' port. The kernel prints each 32-bit word of the address
// (network byte order in memory) as a native integer, so the word goes back into memory as is.
bool decode_endpoint(std::string_view text, bool v6, Endpoint& out) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view addr = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  std::uint32_t port_value = 0;
  if (port.size() != 4 || !parse_hex32(port, port_value)) return false;
  out.port = static_cast<std::uint16_t>(port_value);
  std::array<unsigned char, 16> bytes{};
  const std::size_t words = v6 ? 4 : 1;
  if (addr.size() != words * 8) return false;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t w = 0;
    if (!parse_hex32(addr.substr(i * 8, 8), w)) return false;
    std::memcpy(bytes.data() + i * 4, &w, 4);
  }
  out.zero_address = std::all_of(bytes.begin(), bytes.begin() + static_cast<long>(words * 4),
                                 [](unsigned char b) { return b == 0; });
  char buf[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf) == nullptr) return false;
  out.address = v6 ? "[" + std::string(buf) + "]" : std::string(buf);
  return true;
}

Result<std::vector<std::string>> read_net(const Options& opt, std::string_view proto,
                                          bool required) {
  const fs::path file = opt.proc / "net" / std::string(proto);
  auto text = files::read_at_most(file, opt.max_net_file);
  if (!text) {
    if (!required && text.error().code == Errc::not_found) return std::vector<std::string>{};
    return tl::unexpected(text.error());
  }
  if (text->size() > opt.max_net_file) {
    return make_error(Errc::invalid_input,
                      "larger than the limit of " + std::to_string(opt.max_net_file) + " bytes",
                      file.string());
  }
  return parse_proc_net(*text, proto, file.string());
}

bool systemd_runs(const Options& opt) {
  std::error_code ec;
  if (fs::is_directory(opt.systemd_marker, ec)) return true;
  auto comm = files::read_at_most(opt.proc / "1" / "comm", 64);
  return comm && agent::detail::trim(*comm) == "systemd";
}

Result<std::vector<std::string>> list_unit_names(const Options& opt,
                                                 std::vector<std::string> selection) {
  process::Spec spec;
  spec.argv = {opt.systemctl, "list-units"};
  spec.argv.insert(spec.argv.end(), selection.begin(), selection.end());
  spec.argv.insert(spec.argv.end(), {"--no-legend", "--plain", "--no-pager"});
  spec.env = {"SYSTEMD_COLORS=0", "SYSTEMD_URLIFY=0"};
  spec.timeout = opt.systemctl_timeout;
  spec.max_capture = std::size_t{16} << 20;
  std::string what = opt.systemctl + " list-units";
  for (const auto& s : selection) what += " " + s;
  auto run = agent::detail::run_tool(std::move(spec), what);
  if (!run) return tl::unexpected(run.error());
  return parse_unit_names(run->out, what);
}

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

std::string ratio_text(std::chrono::milliseconds after, std::chrono::milliseconds before) {
  std::string s = std::to_string(after.count()) + " ms vs " + std::to_string(before.count()) +
                  " ms";
  if (before.count() > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " (%.1fx)",
                  static_cast<double>(after.count()) / static_cast<double>(before.count()));
    s += buf;
  }
  return s;
}

}  // namespace

Result<std::vector<std::string>> parse_proc_net(std::string_view text, std::string_view proto,
                                                std::string_view name) {
  const bool tcp = proto == "tcp" || proto == "tcp6";
  const bool v6 = proto == "tcp6" || proto == "udp6";
  if (!tcp && proto != "udp" && proto != "udp6") {
    return make_error(Errc::invalid_input,
                      "unknown protocol '" + std::string(proto.substr(0, 16)) +
                          "' (tcp, tcp6, udp or udp6)",
                      std::string(name));
  }
  std::vector<std::string> out;
  std::size_t pos = 0;
  std::size_t line = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view l = text.substr(pos, nl - pos);
    pos = nl + 1;
    const std::string where = agent::detail::at(name, line);
    if (l.size() > kMaxNetLine) {
      return make_error(Errc::invalid_input,
                        "line longer than " + std::to_string(kMaxNetLine) + " bytes", where);
    }
    l = agent::detail::trim(l);
    if (l.empty()) continue;
    if (line == 1 && l.find("local_address") != std::string_view::npos) continue;  // header
    std::string_view rest = l;
    const std::string_view slot = next_token(rest);
    const std::string_view local = next_token(rest);
    const std::string_view remote = next_token(rest);
    const std::string_view state = next_token(rest);
    auto bad = [&](const std::string& why) {
      return make_error(Errc::invalid_input,
                        why + " in '" + health::detail::bounded_text(l.substr(0, 200), 200) + "'",
                        where);
    };
    if (state.empty() || slot.size() < 2 || slot.back() != ':') {
      return bad("expected 'sl: local_address rem_address st ...'");
    }
    std::uint32_t st = 0;
    if (state.size() != 2 || !parse_hex32(state, st)) return bad("bad state '" +
                                                                 std::string(state.substr(0, 16)) + "'");
    Endpoint lo;
    Endpoint re;
    if (!decode_endpoint(local, v6, lo)) {
      return bad(std::string("bad local address (expected ") + (v6 ? "32" : "8") +
                 " hex digits ':' 4 hex digits)");
    }
    if (!decode_endpoint(remote, v6, re)) {
      return bad(std::string("bad remote address (expected ") + (v6 ? "32" : "8") +
                 " hex digits ':' 4 hex digits)");
    }
    const bool listening =
        tcp ? st == 0x0A : (re.zero_address && re.port == 0 && lo.port != 0);
    if (!listening) continue;
    out.push_back(std::string(proto) + ":" + lo.address + ":" + std::to_string(lo.port));
  }
  sort_unique(out);
  return out;
}

Result<std::vector<std::string>> parse_unit_names(std::string_view text, std::string_view name) {
  auto units = agent::parse_systemctl_units(text, name);
  if (!units) return tl::unexpected(units.error());
  std::vector<std::string> names;
  names.reserve(units->size());
  for (auto& u : *units) names.push_back(std::move(u.unit));
  sort_unique(names);
  return names;
}

Result<std::vector<std::string>> process_names(const fs::path& proc) {
  std::error_code ec;
  fs::directory_iterator it(proc, ec);
  if (ec) {
    return make_error(ec == std::errc::no_such_file_or_directory ? Errc::not_found : Errc::io,
                      "cannot list the process directory: " + ec.message(), proc.string());
  }
  std::set<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string pid = it->path().filename().string();
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(),
                                    [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    // A process may end between the listing and the read: then there is nothing to record.
    auto comm = files::read_at_most(it->path() / "comm", 256);
    if (!comm) continue;
    std::string_view n = *comm;
    if (!n.empty() && n.back() == '\n') n.remove_suffix(1);
    if (n.empty()) continue;
    names.insert(health::detail::bounded_text(n, 64));
  }
  if (ec) {
    return make_error(Errc::io, "cannot list the process directory: " + ec.message(),
                      proc.string());
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Result<Snapshot> take_snapshot(std::span<const Probe> probes, const Options& opt) {
  std::set<std::string_view> seen;
  for (const auto& p : probes) {
    if (auto ok = health::detail::validate(p); !ok) return tl::unexpected(ok.error());
    if (!seen.insert(p.name).second) {
      return make_error(Errc::invalid_input, "two probes have this name",
                        "probe '" + p.name + "'");
    }
  }
  Snapshot snap;
  snap.taken_at = agent::detail::rfc3339(
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  for (const auto& [proto, required] :
       {std::pair{"tcp", true}, {"tcp6", false}, {"udp", true}, {"udp6", false}}) {
    auto sockets = read_net(opt, proto, required);
    if (!sockets) return tl::unexpected(sockets.error());
    snap.listening.insert(snap.listening.end(), sockets->begin(), sockets->end());
  }
  sort_unique(snap.listening);

  snap.systemd = systemd_runs(opt);
  if (snap.systemd) {
    auto running = list_unit_names(opt, {"--type=service", "--state=running"});
    if (!running) return tl::unexpected(running.error());
    snap.services_running = std::move(*running);
    auto failed = list_unit_names(opt, {"--state=failed"});
    if (!failed) return tl::unexpected(failed.error());
    snap.failed_units = std::move(*failed);
  }

  auto procs = process_names(opt.proc);
  if (!procs) return tl::unexpected(procs.error());
  snap.processes = std::move(*procs);

  snap.probes.reserve(probes.size());
  for (const auto& p : probes) snap.probes.push_back(health::detail::run_probe(p));
  return snap;
}

std::vector<Regression> compare(const Snapshot& before, const Snapshot& after,
                                const CompareOptions& opt) {
  std::vector<Regression> out;
  auto missing = [](const std::vector<std::string>& from, const std::vector<std::string>& in) {
    const std::set<std::string_view> have(in.begin(), in.end());
    std::set<std::string_view> gone;
    for (const auto& s : from) {
      if (!have.contains(s)) gone.insert(s);
    }
    return gone;
  };
  for (auto port : missing(before.listening, after.listening)) {
    out.push_back({"port_closed", std::string(port), "was listening before the install"});
  }
  for (auto unit : missing(before.services_running, after.services_running)) {
    out.push_back({"service_stopped", std::string(unit),
                   "was running before the install, is not running after it"});
  }
  for (auto unit : missing(after.failed_units, before.failed_units)) {
    out.push_back({"unit_failed", std::string(unit), "failed after the install, not before it"});
  }
  std::map<std::string_view, const ProbeResult*> after_probes;
  for (const auto& p : after.probes) after_probes.emplace(p.name, &p);
  for (const auto& b : before.probes) {
    if (!b.ok) continue;  // already broken before the install
    const auto it = after_probes.find(b.name);
    if (it == after_probes.end()) {
      out.push_back({"probe_failed", b.name, "passed before the install, not run after it"});
      continue;
    }
    const ProbeResult& a = *it->second;
    if (!a.ok) {
      out.push_back({"probe_failed", b.name,
                     health::detail::bounded_text(
                         "passed before the install, fails after it: " + a.detail, kMaxDetail)});
      continue;
    }
    if (a.latency >= opt.latency_floor &&
        static_cast<double>(a.latency.count()) >=
            opt.slower_factor * static_cast<double>(b.latency.count())) {
      out.push_back({"probe_slower", b.name, ratio_text(a.latency, b.latency)});
    }
  }
  return out;
}

}  // namespace pf::agent::health
