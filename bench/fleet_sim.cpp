// SPDX-License-Identifier: Apache-2.0
// Fleet simulator (issue 5, item 7): a real `patchflow server` started in-process on 127.0.0.1,
// N simulated agents enrolled over TLS (one-time enrollment tokens from the operator API, keys
// and CSRs from libs/pki), then driven from a pool of client threads, each owning several
// agents with their own keep-alive mTLS connection (cpp-httplib SSLClient). Per store (SQLite,
// PostgreSQL on a throwaway cluster) it prints:
//   - enrollments/s,
//   - unchanged check-ins/s (inventory hash matches) with p50/p95/p99/max latency,
//   - full inventory uploads/s (each a changed --packages inventory with a new hash).
// Targets on a 2-core machine: >= 2,000 check-ins/s with p99 <= 50 ms, >= 200 inventories/s.
// The figures are printed, not asserted. Client and server share the machine's cores: after
// each measured phase a "cpu" line splits the CPU time per request between the client threads,
// the server (the rest of this process) and other processes (PostgreSQL, other load).
//
//   fleet_sim [--agents N] [--threads N] [--seconds S] [--store sqlite|postgres|both]
//             [--packages N]
#include <httplib.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "patchflow/pki/certs.hpp"
#include "patchflow/pki/files.hpp"
#include "patchflow/server/config.hpp"
#include "patchflow/server/server.hpp"
#include "patchflow/testing/pg_cluster.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int agents{256};
  int threads{32};
  int seconds{10};
  std::string store{"both"};
  int packages{1500};
};

template <class T>
T must(pf::Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + pf::to_string(r.error()));
  return std::move(*r);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pf-fleet-sim-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct SimAgent {
  std::string host_id;
  fs::path cert_file, key_file;
  std::unique_ptr<httplib::SSLClient> cli;
  std::string hash;  ///< the inventory hash the server holds for this agent
  int generation{0};
};

json facts(const std::string& hostname) {
  return {{"os", {{"id", "debian"}, {"version_id", "12"}, {"ecosystem", "Debian:12"}}},
          {"kernel", {{"release", "6.1.0-18-amd64"}, {"version", "#1 SMP"}}},
          {"arch", "x86_64"},
          {"hostname", hostname},
          {"boot_id", "0b3c1f0e-1d2a-4c55-9a77-1e2f3a4b5c6d"},
          {"reboot", {{"required", false}, {"reasons", json::array()}}}};
}

std::unique_ptr<httplib::SSLClient> make_client(int port, const fs::path& ca,
                                                const SimAgent* agent) {
  auto cli = agent == nullptr
                 ? std::make_unique<httplib::SSLClient>("127.0.0.1", port)
                 : std::make_unique<httplib::SSLClient>("127.0.0.1", port,
                                                        agent->cert_file.string(),
                                                        agent->key_file.string());
  cli->set_ca_cert_path(ca.c_str());
  cli->enable_server_certificate_verification(true);
  cli->set_tcp_nodelay(true);
  cli->set_keep_alive(true);
  cli->set_connection_timeout(10);
  cli->set_read_timeout(60);
  cli->set_write_timeout(60);
  return cli;
}

// A changed inventory of `n` packages for generation `gen`: every package's version carries
// the generation for 1 package in 20 (rotating), so each upload differs from the last.
std::string inventory_body(const std::string& hash, int n, int gen) {
  std::string out;
  out.reserve(static_cast<std::size_t>(n) * 110 + 2048);
  out += "{\"hash\":\"";
  out += hash;
  out += "\",\"packages\":[";
  for (int i = 0; i < n; ++i) {
    if (i) out += ',';
    const std::string idx = std::to_string(i);
    out += "{\"name\":\"pkg-";
    out += idx;
    out += "\",\"arch\":\"amd64\",\"version\":\"1.";
    out += idx;
    out += (i % 20 == gen % 20) ? "-" + std::to_string(gen + 1) : std::string("-1");
    out += "\",\"source\":\"src-";
    out += std::to_string(i / 3);
    out += "\",\"source_version\":\"1.";
    out += idx;
    out += "\"}";
  }
  out += "],\"updates\":[";
  for (int i = 0; i < 20 && i < n; ++i) {
    if (i) out += ',';
    const std::string idx = std::to_string(i * 7);
    out += "{\"name\":\"pkg-" + idx + "\",\"arch\":\"amd64\",\"installed\":\"1." + idx +
           "-1\",\"candidate\":\"1." + idx + "-9\",\"origin\":\"Debian-Security\",\"security\":" +
           (i % 2 ? "true" : "false") + ",\"advisories\":[\"DSA-" + idx + "-1\"]}";
  }
  out += "]}";
  return out;
}

struct PhaseResult {
  std::string name;
  long count{0};
  long errors{0};
  double seconds{0};
  std::vector<double> ms;  ///< per-request latency, sorted
  std::string first_error;
  // CPU seconds during the phase: the client threads, this whole process (client + in-process
  // server), and the machine (every process: PostgreSQL, and whatever else runs).
  double client_cpu{0};
  double process_cpu{0};
  double machine_cpu{0};
};

double seconds_of(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

double cpu_seconds(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return seconds_of(u.ru_utime) + seconds_of(u.ru_stime);
}

// Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait).
double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  static const double kTicks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (user + nice + system + irq + softirq + steal) / kTicks;
}

double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

// Runs `step(thread, agent_index)` from `threads` threads, each cycling over its own slice of
// the agents, until `seconds` elapse (seconds > 0) or every agent did `rounds` steps. `step`
// returns an empty string on success, else an error text.
PhaseResult run_phase(const std::string& name, int threads, int agents, double seconds,
                      int rounds,
                      const std::function<std::string(int agent)>& step) {
  PhaseResult res;
  res.name = name;
  struct PerThread {
    std::vector<double> ms;
    long errors{0};
    std::string first_error;
  };
  std::vector<PerThread> per(static_cast<std::size_t>(threads));
  std::atomic<bool> stop{false};
  std::atomic<double> client_cpu{0};
  const double process_cpu0 = cpu_seconds(RUSAGE_SELF);
  const double machine_cpu0 = machine_busy_seconds();
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& me = per[static_cast<std::size_t>(t)];
      std::vector<int> mine;
      for (int a = t; a < agents; a += threads) mine.push_back(a);
      if (mine.empty()) return;
      const double cpu0 = cpu_seconds(RUSAGE_THREAD);
      struct AddCpu {
        std::atomic<double>& sum;
        double cpu0;
        ~AddCpu() {
          const double used = cpu_seconds(RUSAGE_THREAD) - cpu0;
          double seen = sum.load();
          while (!sum.compare_exchange_weak(seen, seen + used)) {
          }
        }
      } add_cpu{client_cpu, cpu0};
      for (long k = 0;; ++k) {
        if (seconds > 0 ? stop.load(std::memory_order_relaxed)
                        : k >= static_cast<long>(mine.size()) * rounds) {
          break;
        }
        const int a = mine[static_cast<std::size_t>(k) % mine.size()];
        const auto t0 = Clock::now();
        std::string err = step(a);
        const auto t1 = Clock::now();
        if (err.empty()) {
          me.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        } else {
          if (me.errors++ == 0) me.first_error = err;
        }
      }
    });
  }
  if (seconds > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
  }
  for (auto& th : pool) th.join();
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  res.client_cpu = client_cpu.load();
  res.process_cpu = cpu_seconds(RUSAGE_SELF) - process_cpu0;
  res.machine_cpu = machine_busy_seconds() - machine_cpu0;
  for (auto& p : per) {
    res.ms.insert(res.ms.end(), p.ms.begin(), p.ms.end());
    res.errors += p.errors;
    if (res.first_error.empty()) res.first_error = p.first_error;
  }
  std::sort(res.ms.begin(), res.ms.end());
  res.count = static_cast<long>(res.ms.size());
  return res;
}

void print_row(const std::string& store, const PhaseResult& r) {
  std::printf("%-9s %-22s %8ld %9.1f %8.2f %8.2f %8.2f %8.2f %7ld\n", store.c_str(),
              r.name.c_str(), r.count, static_cast<double>(r.count) / r.seconds,
              pct(r.ms, 50), pct(r.ms, 95), pct(r.ms, 99), r.ms.empty() ? 0.0 : r.ms.back(),
              r.errors);
  if (!r.first_error.empty()) std::printf("          first error: %s\n", r.first_error.c_str());
  std::fflush(stdout);
}

// Where the CPU went during a measured phase, in ms per request and in cores used.
void print_cpu(const std::string& store, const PhaseResult& r) {
  if (r.count == 0 || r.seconds <= 0) return;
  const double n = static_cast<double>(r.count);
  const double server = r.process_cpu - r.client_cpu;
  const double other = r.machine_cpu - r.process_cpu;
  std::printf("%-9s   cpu ms/request: client %.2f, server process %.2f, other processes %.2f"
              " (PostgreSQL and anything else running); cores busy: %.2f of %u\n",
              store.c_str(), 1000 * r.client_cpu / n, 1000 * server / n, 1000 * other / n,
              r.machine_cpu / r.seconds, std::thread::hardware_concurrency());
  std::fflush(stdout);
}

std::string post(httplib::SSLClient& cli, const char* method, const std::string& path,
                 const std::string& body, int want, json* doc, const std::string& token = {}) {
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto r = std::string_view(method) == "PUT"
               ? cli.Put(path, headers, body, "application/json")
               : cli.Post(path, headers, body, "application/json");
  if (!r) return path + ": " + httplib::to_string(r.error());
  if (r->status != want) {
    return path + ": HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200);
  }
  if (doc != nullptr) {
    *doc = json::parse(r->body, nullptr, false);
    if (doc->is_discarded()) return path + ": body is not JSON";
  }
  return {};
}

void run_store(const std::string& store, const Options& opt) {
  TempDir tmp;
  pf::testing::PgCluster* pg = nullptr;
  pf::server::Config config;
  config.state_dir = tmp.path() / "state";
  config.listen_host = "127.0.0.1";
  config.listen_port = 0;
  // Every agent keeps its connection open, and an open connection holds a server worker.
  config.threads = opt.agents + opt.threads + 8;
  config.keep_alive_timeout = std::chrono::seconds(30);
  if (store == "postgres") {
    const auto t0 = Clock::now();
    // The shared cluster: placed where the `postgres` user can reach it (a mkdtemp
    // directory is not), removed at exit.
    pg = must(pf::testing::PgCluster::shared(), "PostgreSQL cluster");
    config.database = must(pg->create_database(), "PostgreSQL database");
    std::printf("%-9s PostgreSQL cluster up in %.1f s\n", store.c_str(),
                std::chrono::duration<double>(Clock::now() - t0).count());
  } else {
    config.database = (config.state_dir / "patchflow.db").string();
  }
  auto server = must(pf::server::Server::start(
                         config, {[](std::string_view) {}, [](std::string_view) {}}),
                     "server start");
  const std::string admin = server->bootstrap().admin_token;
  const int port = server->port();
  const fs::path ca = server->ca_file();
  const int n = opt.agents;
  std::vector<SimAgent> agents(static_cast<std::size_t>(n));

  // Keys and CSRs (client side only; not a server figure).
  std::vector<pf::pki::KeyAndCsr> keys(static_cast<std::size_t>(n));
  auto keygen = run_phase("keys+CSRs (client)", opt.threads, n, 0, 1, [&](int a) {
    auto kc = pf::pki::make_key_and_csr("sim-" + std::to_string(a));
    if (!kc) return pf::to_string(kc.error());
    keys[static_cast<std::size_t>(a)] = std::move(*kc);
    return std::string();
  });
  print_row(store, keygen);

  // One-time enrollment tokens from the operator API (no bulk creation exists).
  std::vector<std::string> tokens(static_cast<std::size_t>(n));
  std::vector<std::unique_ptr<httplib::SSLClient>> admin_clients(
      static_cast<std::size_t>(opt.threads));
  for (auto& c : admin_clients) c = make_client(port, ca, nullptr);
  auto tok = run_phase("enrollment tokens", opt.threads, n, 0, 1, [&](int a) {
    json doc;
    auto err = post(*admin_clients[static_cast<std::size_t>(a % opt.threads)], "POST",
                    "/api/v1/enrollment-tokens", R"({"expires_in":"1h"})", 201, &doc, admin);
    if (!err.empty()) return err;
    tokens[static_cast<std::size_t>(a)] = doc.value("token", "");
    return std::string();
  });
  print_row(store, tok);

  auto enroll = run_phase("enroll", opt.threads, n, 0, 1, [&](int a) {
    const auto i = static_cast<std::size_t>(a);
    const std::string hostname = "sim-" + std::to_string(a) + ".example.org";
    json doc;
    auto err = post(*admin_clients[i % admin_clients.size()], "POST", "/agent/v1/enroll",
                    json{{"token", tokens[i]},
                         {"csr_pem", keys[i].csr_pem},
                         {"hostname", hostname},
                         {"facts", facts(hostname)}}
                        .dump(),
                    201, &doc);
    if (!err.empty()) return err;
    auto& ag = agents[i];
    ag.host_id = doc.value("host_id", "");
    const fs::path d = tmp.path() / "agents" / ag.host_id;
    fs::create_directories(d);
    ag.cert_file = d / "agent.crt";
    ag.key_file = d / "agent.key";
    if (auto ok = pf::pki::save_pem(ag.key_file, keys[i].key_pem, pf::pki::kKeyFileMode); !ok) {
      return pf::to_string(ok.error());
    }
    if (auto ok = pf::pki::save_pem(ag.cert_file, doc.value("cert_pem", ""),
                                    pf::pki::kCertFileMode);
        !ok) {
      return pf::to_string(ok.error());
    }
    ag.cli = make_client(port, ca, &ag);
    return std::string();
  });
  print_row(store, enroll);
  admin_clients.clear();
  if (enroll.errors > 0) throw std::runtime_error("enrollment failed: " + enroll.first_error);

  const auto checkin_body = [](const SimAgent& ag) {
    return json{{"facts", facts("sim")}, {"inventory_hash", ag.hash}}.dump();
  };
  const auto upload = [&](int a) {
    auto& ag = agents[static_cast<std::size_t>(a)];
    const int gen = ag.generation + 1;
    const std::string hash = "sha256:" + ag.host_id + "-" + std::to_string(gen);
    auto err = post(*ag.cli, "PUT", "/agent/v1/inventory",
                    inventory_body(hash, opt.packages, gen), 200, nullptr);
    if (!err.empty()) return err;
    ag.generation = gen;
    ag.hash = hash;
    return std::string();
  };

  // Warm-up: first check-in (inventory needed), the first inventory, a few check-ins (opens
  // every agent's connection and handshake before the measured phases).
  auto warm = run_phase("warm-up (first inv.)", opt.threads, n, 0, 1, [&](int a) {
    auto& ag = agents[static_cast<std::size_t>(a)];
    json doc;
    auto err = post(*ag.cli, "POST", "/agent/v1/checkin", checkin_body(ag), 200, &doc);
    if (!err.empty()) return err;
    if (!doc.value("inventory_needed", false)) return std::string("first check-in: no inventory asked");
    // Retried on 503 (store busy) so that every agent holds an inventory before the check-ins.
    for (int attempt = 0;; ++attempt) {
      err = upload(a);
      if (err.empty() || attempt == 9 || err.find("HTTP 503") == std::string::npos) return err;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  print_row(store, warm);
  const auto checkin = [&](int a) {
    auto& ag = agents[static_cast<std::size_t>(a)];
    json doc;
    auto err = post(*ag.cli, "POST", "/agent/v1/checkin", checkin_body(ag), 200, &doc);
    if (!err.empty()) return err;
    if (doc.value("inventory_needed", true)) return std::string("unchanged check-in asked for inventory");
    return std::string();
  };
  (void)run_phase("warm-up (check-ins)", opt.threads, n, 0, 3, checkin);

  for (auto& [name, step] : {std::pair{"unchanged check-ins", std::function<std::string(int)>(checkin)},
                             std::pair{"full inventories", std::function<std::string(int)>(upload)}}) {
    const auto r = run_phase(name, opt.threads, n, opt.seconds, 0, step);
    print_row(store, r);
    print_cpu(store, r);
  }

  for (auto& ag : agents) ag.cli.reset();
  server->stop();
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      if (c != std::string::npos) return line.substr(c + 2);
    }
  }
  return "unknown";
}

int usage(const char* why) {
  std::fprintf(stderr,
               "fleet_sim: %s\nusage: fleet_sim [--agents N] [--threads N] [--seconds S] "
               "[--store sqlite|postgres|both] [--packages N]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + a).c_str());
    const std::string v = argv[++i];
    int* num = a == "--agents"     ? &opt.agents
               : a == "--threads"  ? &opt.threads
               : a == "--seconds"  ? &opt.seconds
               : a == "--packages" ? &opt.packages
                                   : nullptr;
    if (num != nullptr) {
      char* end = nullptr;
      const long x = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || x < 1 || x > 200000) {
        return usage(("bad value for " + a).c_str());
      }
      *num = static_cast<int>(x);
    } else if (a == "--store") {
      if (v != "sqlite" && v != "postgres" && v != "both") return usage("bad --store");
      opt.store = v;
    } else {
      return usage(("unknown flag " + a).c_str());
    }
  }
  if (opt.agents > 4000) return usage("--agents at most 4000 (one server thread each)");
  opt.threads = std::min(opt.threads, opt.agents);

  std::printf("fleet_sim: %d agents, %d client threads, %d s per phase, %d packages per "
              "inventory\nmachine: %u CPUs, %s\n\n",
              opt.agents, opt.threads, opt.seconds, opt.packages,
              std::thread::hardware_concurrency(), cpu_model().c_str());
  std::printf("%-9s %-22s %8s %9s %8s %8s %8s %8s %7s\n", "store", "phase", "count", "per_s",
              "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors");
  std::fflush(stdout);
  try {
    for (const std::string s : {"sqlite", "postgres"}) {
      if (opt.store == s || opt.store == "both") run_store(s, opt);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fleet_sim: %s\n", e.what());
    return 1;
  }
  return 0;
}
