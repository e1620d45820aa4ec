// SPDX-License-Identifier: Apache-2.0
// patchflow lab up / status / down (docs/lab.md): packages and repositories built with libs/lab,
// N package roots, a real server (SQLite, TLS on loopback) and one real patchflow-agent per
// root, all detached processes recorded in DIR/lab.json.
#include "lab_fleet.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "command.hpp"
#include "lab_fleet_internal.hpp"
#include "patchflow/common/process.hpp"
#include "patchflow/lab/tools.hpp"
#include "patchflow/server/config.hpp"
#include "patchflow/server/server.hpp"
#include "patchflow/server/store_open.hpp"

namespace pf::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using labfleet::Family;
using labfleet::HostPlan;

constexpr const char* kKind = "patchflow-lab";
constexpr std::chrono::milliseconds kGrace{5000};

struct UpOptions {
  int hosts{4};
  std::string dir{"./pf-lab"};
  int port{0};
  double rpm_share{0.34};
  bool json{false};
  bool replace{false};
  bool keep_failed{false};
  std::string agent;
  int timeout_s{600};
};

struct DirOptions {
  std::string dir{"./pf-lab"};
  bool json{false};
};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void say(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

int fail(const Error& e) {
  std::cerr << "patchflow: error: " << to_string(e) << "\n";
  return e.code == Errc::invalid_input || e.code == Errc::not_found || e.code == Errc::conflict
             ? kExitUsage
             : kExitInternal;
}

fs::path absolute_dir(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p;
}

Result<void> write_text(const fs::path& file, const std::string& text, fs::perms mode) {
  // Written beside and renamed: a reader never sees half a lab.json.
  const fs::path tmp = file.string() + ".tmp";
  if (auto ok = lab::write_file(tmp, text, mode); !ok) return ok;
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return make_error(Errc::io, "cannot rename: " + ec.message(), file.string());
  return {};
}

Result<json> read_lab_json(const fs::path& dir) {
  const fs::path file = dir / "lab.json";
  std::ifstream in(file);
  if (!in) return make_error(Errc::not_found, "no lab here (no lab.json)", dir.string());
  try {
    json doc = json::parse(in);
    if (!doc.is_object() || doc.value("kind", "") != kKind) {
      return make_error(Errc::invalid_input, "not a patchflow lab file", file.string());
    }
    return doc;
  } catch (const json::exception& e) {
    return make_error(Errc::invalid_input, std::string("unreadable: ") + e.what(), file.string());
  }
}

std::vector<std::string> argv_of(const json& proc) {
  std::vector<std::string> out;
  if (proc.contains("argv") && proc["argv"].is_array()) {
    for (const auto& a : proc["argv"]) {
      if (a.is_string()) out.push_back(a.get<std::string>());
    }
  }
  return out;
}

pid_t pid_of(const json& proc) {
  return proc.contains("pid") && proc["pid"].is_number_integer() ? proc["pid"].get<pid_t>() : 0;
}

// Every process of a lab file, agents first (they are stopped before the server).
std::vector<std::pair<std::string, const json*>> processes_of(const json& doc) {
  std::vector<std::pair<std::string, const json*>> out;
  if (doc.contains("hosts") && doc["hosts"].is_array()) {
    for (const auto& h : doc["hosts"]) {
      if (pid_of(h) > 0) out.emplace_back("agent " + h.value("name", "?"), &h);
    }
  }
  if (doc.contains("server") && pid_of(doc["server"]) > 0) {
    out.emplace_back("server", &doc["server"]);
  }
  return out;
}

bool any_running(const json& doc) {
  for (const auto& [what, proc] : processes_of(doc)) {
    if (labfleet::is_ours(pid_of(*proc), argv_of(*proc))) return true;
  }
  return false;
}

// Stops every process of the lab (agents, then the server). Returns one line per process.
std::vector<std::string> stop_all(const json& doc) {
  std::vector<std::string> lines;
  for (const auto& [what, proc] : processes_of(doc)) {
    const auto result = labfleet::stop_process(pid_of(*proc), argv_of(*proc), kGrace);
    lines.push_back(what + " (pid " + std::to_string(pid_of(*proc)) + "): " + result);
  }
  return lines;
}

Result<std::string> program_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return make_error(Errc::io, "cannot read /proc/self/exe: " + ec.message(), "patchflow");
  return self.parent_path().string();
}

Result<fs::path> find_agent(const std::string& given) {
  if (!given.empty()) {
    std::error_code ec;
    fs::path p = fs::absolute(given, ec);
    if (::access(p.c_str(), X_OK) != 0) {
      return make_error(Errc::not_found, "not an executable file", "--agent " + given);
    }
    return p;
  }
  auto dir = program_dir();
  if (!dir) return Unexpected(dir.error());
  const fs::path beside = fs::path(*dir) / "patchflow-agent";
  const fs::path build = fs::path(*dir).parent_path() / "patchflow-agent" / "patchflow-agent";
  for (const auto& p : {beside, build}) {
    if (::access(p.c_str(), X_OK) == 0) return p.lexically_normal();
  }
  return make_error(Errc::not_found,
                    "patchflow-agent not found (looked for " + beside.string() + " and " +
                        build.string() + "): give --agent PATH",
                    "--agent");
}

std::string server_url(int port) {
  return "https://127.0.0.1:" + std::to_string(port);
}

Result<ApiClient> client_for(const json& doc) {
  const json& s = doc["server"];
  std::ifstream in(s.value("token_file", ""));
  std::string token;
  std::getline(in, token);
  ClientOptions o;
  o.server = s.value("url", "");
  o.token = token;
  o.ca = s.value("ca", "");
  if (o.token.empty()) {
    return make_error(Errc::not_found, "no admin token", s.value("token_file", "admin.token"));
  }
  return ApiClient::connect(o);
}

Result<json> api_json(ApiClient& api, const std::string& method, const std::string& path,
                      const json& body = nullptr) {
  auto r = api.request(method, path, body.is_null() ? std::string() : body.dump());
  if (!r) return Unexpected(r.error());
  if (r->status < 200 || r->status > 299) {
    return make_error(Errc::backend_failed,
                      "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 300),
                      method + " " + path);
  }
  try {
    return r->body.empty() ? json::object() : json::parse(r->body);
  } catch (const json::exception& e) {
    return make_error(Errc::backend_failed, std::string("not JSON: ") + e.what(),
                      method + " " + path);
  }
}

// Every host of the server, by id (all pages).
Result<std::map<std::string, json>> list_hosts(ApiClient& api) {
  std::map<std::string, json> out;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    auto doc = api_json(api, "GET",
                        "/api/v1/hosts?limit=500" +
                            (cursor.empty() ? std::string() : "&cursor=" + url_encode(cursor)));
    if (!doc) return Unexpected(doc.error());
    for (const auto& h : (*doc)["hosts"]) out[h.value("id", "")] = h;
    cursor = doc->value("next_cursor", "");
    if (cursor.empty()) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// lab up

class LabUp {
 public:
  explicit LabUp(UpOptions opt) : opt_(std::move(opt)) {}

  int run() {
    const auto started = std::chrono::steady_clock::now();
    if (auto ok = check_options(); !ok) return fail(ok.error());
    dir_ = absolute_dir(opt_.dir);
    if (auto ok = check_dir(); !ok) return fail(ok.error());
    auto agent = find_agent(opt_.agent);
    if (!agent) return fail(agent.error());
    agent_ = *agent;
    auto self = fs::read_symlink("/proc/self/exe");
    patchflow_ = self;
    if (opt_.port != 0) {
      if (auto ok = labfleet::check_port_free(opt_.port); !ok) return fail(ok.error());
      port_ = opt_.port;
    } else {
      auto p = labfleet::pick_free_port();
      if (!p) return fail(p.error());
      port_ = *p;
    }

    auto ok = build_and_start();
    if (!ok) {
      const int code = fail(ok.error());
      for (const auto& line : stop_all(doc_)) say("  " + line);
      if (opt_.keep_failed) {
        doc_["state"] = "failed";
        (void)save();
        say("patchflow: the failed lab is left in " + dir_.string() +
            " for inspection (nothing runs); 'patchflow lab down --dir " + dir_.string() +
            "' removes it");
      } else {
        std::error_code ec;
        if (created_dir_) {
          fs::remove_all(dir_, ec);
        } else {
          // It was empty before: empty again.
          std::vector<fs::path> entries;
          for (const auto& e : fs::directory_iterator(dir_, ec)) entries.push_back(e.path());
          for (const auto& e : entries) fs::remove_all(e, ec);
        }
        say("patchflow: nothing was kept: the processes are stopped and " + dir_.string() +
            " is removed (--keep-failed keeps it)");
      }
      return code;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    doc_["up_seconds"] = std::round(seconds * 10) / 10;
    if (auto saved = save(); !saved) return fail(saved.error());
    if (auto env = write_env(doc_, dir_); !env) return fail(env.error());
    if (opt_.json) {
      std::cout << doc_.dump(2) << "\n";
    } else {
      print_summary(seconds);
    }
    return kExitOk;
  }

 private:
  Result<void> check_options() {
    if (opt_.hosts < 1 || opt_.hosts > labfleet::kMaxHosts) {
      return make_error(Errc::invalid_input,
                        "must be 1.." + std::to_string(labfleet::kMaxHosts) + ", got " +
                            std::to_string(opt_.hosts),
                        "--hosts");
    }
    if (!(opt_.rpm_share >= 0.0 && opt_.rpm_share <= 1.0)) {
      return make_error(Errc::invalid_input, "must be 0..1 (the share of rpm hosts)",
                        "--rpm-share");
    }
    if (opt_.port < 0 || opt_.port > 65535) {
      return make_error(Errc::invalid_input, "must be 1..65535 (0 or absent: a free port)",
                        "--port");
    }
    return {};
  }

  // The dir must be absent, empty, or (with --replace) a lab, which is taken down first.
  Result<void> check_dir() {
    std::error_code ec;
    if (!fs::exists(dir_, ec)) {
      created_dir_ = true;
      return {};
    }
    if (!fs::is_directory(dir_, ec)) {
      return make_error(Errc::conflict, "exists and is not a directory", dir_.string());
    }
    if (fs::is_empty(dir_, ec)) return {};
    auto doc = read_lab_json(dir_);
    if (!doc) {
      return make_error(Errc::conflict,
                        "the directory is not empty and holds no lab: choose another --dir",
                        dir_.string());
    }
    const bool running = any_running(*doc);
    if (!opt_.replace) {
      return make_error(Errc::conflict,
                        running ? "a lab is already running here (see 'patchflow lab status "
                                  "--dir " +
                                      dir_.string() +
                                      "'); stop it with 'patchflow lab down' or give --replace"
                                : "a lab (not running) is already here; remove it with "
                                  "'patchflow lab down' or give --replace",
                        dir_.string());
    }
    say("replacing the lab in " + dir_.string());
    for (const auto& line : stop_all(*doc)) say("  " + line);
    if (any_running(*doc)) {
      return make_error(Errc::conflict, "the old lab's processes did not stop", dir_.string());
    }
    fs::remove_all(dir_, ec);
    if (ec)
      return make_error(Errc::io, "cannot remove the old lab: " + ec.message(), dir_.string());
    created_dir_ = true;
    return {};
  }

  Result<void> save() {
    return write_text(dir_ / "lab.json", doc_.dump(2) + "\n", fs::perms(0644));
  }

  fs::path host_dir(const HostPlan& h) const { return dir_ / "hosts" / h.name; }

  Result<void> build_and_start() {
    const std::int64_t now = unix_now();
    std::error_code ec;
    fs::create_directories(dir_ / "hosts", ec);
    if (ec) return make_error(Errc::io, "cannot create: " + ec.message(), dir_.string());
    plan_ = labfleet::plan_hosts(opt_.hosts, opt_.rpm_share);

    doc_ = {{"kind", kKind},           {"version", 1},      {"state", "building"},
            {"dir", dir_.string()},    {"created_at", now}, {"patchflow", patchflow_.string()},
            {"agent", agent_.string()}};
    if (auto ok = save(); !ok) return ok;

    // 1. Packages and repositories.
    auto repos = labfleet::build_repos(dir_, now, say);
    if (!repos) return Unexpected(repos.error());
    doc_["repos"] = {{"apt", repos->apt_dir.string()},
                     {"apt_source_line", repos->apt_source_line},
                     {"rpm", repos->rpm_dir.string()}};
    json packages = json::array();
    for (const auto& p : labfleet::lab_packages()) {
      packages.push_back({{"name", p.name},
                          {"installed", std::string(labfleet::kOldVersion) + "-1"},
                          {"available", std::string(labfleet::kNewVersion) + "-1"},
                          {"advisories", {p.deb_id, p.rpm_id}},
                          {"kind", p.kind == advisories::Kind::security ? "security"
                                   : p.kind == advisories::Kind::bugfix ? "bugfix"
                                                                        : "enhancement"},
                          {"severity", advisories::severity_name(p.severity)},
                          {"cve", p.cve.empty() ? json(nullptr) : json(p.cve)},
                          {"kev", p.kev}});
    }
    doc_["packages"] = packages;

    // 2. Package roots.
    json hosts = json::array();
    for (std::size_t i = 0; i < plan_.size(); ++i) {
      const auto& h = plan_[i];
      const fs::path hd = host_dir(h);
      say("making " + std::string(h.family == Family::deb ? "deb" : "rpm") + " root " + h.name +
          " (" + std::to_string(i + 1) + "/" + std::to_string(plan_.size()) + ")");
      if (auto ok = labfleet::build_root(h, hd / "root", *repos); !ok) {
        return make_error(ok.error().code, "host " + h.name + ": " + ok.error().message,
                          ok.error().where);
      }
      if (auto ok = lab::write_file(hd / "boot_id", random_boot_id(i) + "\n"); !ok) return ok;
      // The lab runs its jobs' pre and post commands for real.
      if (auto ok = lab::write_file(hd / "policy.json", "{\"commands\": \"allow\"}\n"); !ok) {
        return ok;
      }
      hosts.push_back({{"name", h.name},
                       {"family", h.family == Family::deb ? "deb" : "rpm"},
                       {"ecosystem", h.family == Family::deb ? labfleet::kDebEcosystem
                                                             : labfleet::kRpmEcosystem},
                       {"labels", h.labels},
                       {"root", (hd / "root").string()},
                       {"state_dir", (hd / "agent").string()},
                       {"boot_id_file", (hd / "boot_id").string()},
                       {"policy", (hd / "policy.json").string()},
                       {"log", (hd / "agent.log").string()},
                       {"pid", 0}});
    }
    doc_["hosts"] = hosts;
    doc_["state"] = "starting";
    if (auto ok = save(); !ok) return ok;

    // 3. The server: its store prepared first (admin token, advisories, CVE records), then the
    // process.
    if (auto ok = prepare_server(now); !ok) return ok;
    if (auto ok = start_server(); !ok) return ok;

    // 4. Enrollment, labels, agents.
    auto api = client_for(doc_);
    if (!api) return Unexpected(api.error());
    for (std::size_t i = 0; i < plan_.size(); ++i) {
      if (auto ok = enroll(*api, i); !ok) return ok;
      say("enrolled " + std::to_string(i + 1) + "/" + std::to_string(plan_.size()));
    }
    for (std::size_t i = 0; i < plan_.size(); ++i) {
      if (auto ok = start_agent(i); !ok) return ok;
    }
    say("started " + std::to_string(plan_.size()) + " agents");

    // 5. Wait for every check-in and inventory.
    if (auto ok = wait_for_inventories(*api); !ok) return ok;
    doc_["state"] = "up";
    return save();
  }

  static std::string random_boot_id(std::size_t salt) {
    std::ifstream in("/proc/sys/kernel/random/uuid");
    std::string id;
    std::getline(in, id);
    if (id.size() == 36) return id;
    char buf[48];  // 36 for a salt below 2^48, room for any size_t
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012zx", salt + 1);
    return buf;
  }

  Result<void> prepare_server(std::int64_t now) {
    const fs::path state = dir_ / "server";
    std::error_code ec;
    fs::create_directories(state, ec);
    fs::permissions(state, fs::perms::owner_all, ec);
    const fs::path config_file = dir_ / "server.yaml";
    // Short check-ins and findings passes: a lab reacts in seconds. Two worker threads per host
    // (one may hold a long-poll) plus room for the operators.
    const int threads = std::max(32, 2 * opt_.hosts + 16);
    std::ostringstream yaml;
    yaml << "# patchflow lab server (written by 'patchflow lab up')\n"
         << "listen: 127.0.0.1:" << port_ << "\n"
         << "state_dir: " << state.string() << "\n"
         << "database: " << (state / "patchflow.db").string() << "\n"
         << "server_names: localhost,127.0.0.1\n"
         << "checkin_interval: 5s\n"
         << "findings_interval: 2s\n"
         << "long_poll_timeout: 30s\n"
         << "threads: " << threads << "\n"
         // The orchestrator's clock, moved by `patchflow lab clock` (docs/chains.md).
         << "clock_file: " << (dir_ / "clock").string() << "\n"
         << "chain_interval: 1s\n";
    if (auto ok = lab::write_file(config_file, yaml.str(), fs::perms(0600)); !ok) return ok;
    server::ConfigInputs inputs;
    inputs.file = config_file;
    inputs.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    auto loaded = server::load_config(inputs);
    if (!loaded) return Unexpected(loaded.error());

    // Advisories and CVE enrichment: the REST API takes neither, so they go into the store
    // directly (the server reloads advisories when their generation changes). Opening the
    // store creates the database.
    const auto advisories = labfleet::server_advisories(now);
    const auto cves = labfleet::server_cves(now);
    {
      auto store = server::open_store(loaded->config.database);
      if (!store) return Unexpected(store.error());
      if (auto ok = store->advisories->put_advisories(advisories); !ok) return ok;
      if (auto ok =
              store->advisories->put_cves(cves, static_cast<unsigned>(store::CveFields::kev) |
                                                    static_cast<unsigned>(store::CveFields::cvss));
          !ok) {
        return ok;
      }
    }
    // The admin token is made here, before the first start, so that it is never printed to the
    // server log: the server then finds a user and a token and shows no banner.
    auto admin = server::reset_admin_token(loaded->config);
    if (!admin) return Unexpected(admin.error());
    const fs::path token_file = dir_ / "admin.token";
    if (auto ok = lab::write_file(token_file, admin->token + "\n", fs::perms(0600)); !ok) return ok;
    json ids = json::array();
    for (const auto& a : advisories) ids.push_back(a.id);
    doc_["advisories"] = ids;
    doc_["server"] = {{"url", server_url(port_)},
                      {"port", port_},
                      {"config", config_file.string()},
                      {"state_dir", state.string()},
                      {"database", loaded->config.database},
                      {"ca", (state / "ca.crt").string()},
                      {"token_file", token_file.string()},
                      {"log", (dir_ / "server.log").string()},
                      {"pid", 0}};
    say("server store ready: " + std::to_string(advisories.size()) + " advisories, " +
        std::to_string(cves.size()) + " CVE records (1 in KEV)");
    return save();
  }

  Result<void> start_server() {
    json& s = doc_["server"];
    const std::vector<std::string> argv = {patchflow_.string(), "server", "--config",
                                           s["config"].get<std::string>()};
    auto pid = labfleet::spawn_detached(argv, s["log"].get<std::string>());
    if (!pid) return Unexpected(pid.error());
    s["pid"] = *pid;
    s["argv"] = argv;
    if (auto ok = write_text(dir_ / "server.pid", std::to_string(*pid) + "\n", fs::perms(0644));
        !ok) {
      return ok;
    }
    if (auto ok = save(); !ok) return ok;
    say("starting the server on " + server_url(port_) + " (pid " + std::to_string(*pid) + ")");
    const fs::path ca = s["ca"].get<std::string>();
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::optional<ApiClient> api;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      if (labfleet::reap_if_exited(*pid)) {
        s["pid"] = 0;
        return make_error(Errc::backend_failed,
                          "the server stopped while starting; the end of " +
                              s["log"].get<std::string>() + ":\n" +
                              labfleet::tail_of(s["log"].get<std::string>()),
                          "server");
      }
      std::error_code ec;
      if (fs::exists(ca, ec)) {
        if (!api) {
          auto c = client_for(doc_);
          if (!c) return Unexpected(c.error());
          api.emplace(std::move(*c));
        }
        auto me = api->request("GET", "/api/v1/whoami");
        if (me && me->status == 200) return {};
        last = me ? "HTTP " + std::to_string(me->status) + ": " + me->body : to_string(me.error());
      }
      std::this_thread::sleep_for(200ms);
    }
    return make_error(Errc::timeout,
                      "the server did not answer within 60 s (" + last +
                          "); the end of its log:\n" +
                          labfleet::tail_of(s["log"].get<std::string>()),
                      "server");
  }

  std::vector<std::string> root_flags(const json& h) const {
    return {"--root", h["root"].get<std::string>(), "--boot-id-file",
            h["boot_id_file"].get<std::string>(), "--no-services"};
  }

  Result<void> enroll(ApiClient& api, std::size_t i) {
    json& h = doc_["hosts"][i];
    const std::string name = h["name"].get<std::string>();
    auto token = api_json(api, "POST", "/api/v1/enrollment-tokens", {{"expires_in", "1h"}});
    if (!token) return Unexpected(token.error());
    const fs::path token_file = host_dir(plan_[i]) / "enroll.token";
    if (auto ok = lab::write_file(token_file, token->value("token", "") + "\n", fs::perms(0600));
        !ok) {
      return ok;
    }
    std::vector<std::string> argv = {agent_.string(), "enroll",
                                     "--server",      server_url(port_),
                                     "--token-file",  token_file.string(),
                                     "--ca",          doc_["server"]["ca"].get<std::string>(),
                                     "--state-dir",   h["state_dir"].get<std::string>()};
    for (auto& f : root_flags(h)) argv.push_back(std::move(f));
    auto r = process::run({.argv = argv, .timeout = 120s});
    std::error_code ec;
    fs::remove(token_file, ec);  // one-time anyway; not left lying around
    if (!r) return Unexpected(r.error());
    if (!r->ok()) {
      return make_error(Errc::backend_failed,
                        "patchflow-agent enroll failed (exit " + std::to_string(r->exit_code) +
                            "): " + r->err.substr(0, 2000),
                        name);
    }
    std::string id = r->out;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    if (id.find('\n') != std::string::npos) id = id.substr(id.rfind('\n') + 1);
    if (id.empty()) return make_error(Errc::backend_failed, "enroll printed no host id", name);
    h["host_id"] = id;
    auto labels = api_json(api, "PUT", "/api/v1/hosts/" + url_encode(id) + "/labels",
                           {{"labels", h["labels"]}});
    if (!labels) return Unexpected(labels.error());
    return save();
  }

  Result<void> start_agent(std::size_t i) {
    json& h = doc_["hosts"][i];
    std::vector<std::string> argv = {agent_.string(), "run", "--state-dir",
                                     h["state_dir"].get<std::string>()};
    for (auto& f : root_flags(h)) argv.push_back(std::move(f));
    for (const auto& f : {"--reboot", "lab", "--policy"}) argv.emplace_back(f);
    argv.push_back(h["policy"].get<std::string>());
    auto pid = labfleet::spawn_detached(argv, h["log"].get<std::string>());
    if (!pid) return Unexpected(pid.error());
    h["pid"] = *pid;
    h["argv"] = argv;
    const fs::path hd = host_dir(plan_[i]);
    if (auto ok = write_text(hd / "agent.pid", std::to_string(*pid) + "\n", fs::perms(0644)); !ok) {
      return ok;
    }
    return save();
  }

  Result<void> wait_for_inventories(ApiClient& api) {
    const std::size_t n = plan_.size();
    const std::size_t expected_updates = labfleet::lab_packages().size();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opt_.timeout_s);
    std::set<std::string> stored;  // host ids whose inventory with updates is stored
    std::size_t shown_seen = n + 1;
    std::size_t shown_stored = n + 1;
    std::string detail;
    while (true) {
      for (const auto& h : doc_["hosts"]) {
        const pid_t pid = pid_of(h);
        if (labfleet::reap_if_exited(pid) || !labfleet::is_ours(pid, argv_of(h))) {
          return make_error(Errc::backend_failed,
                            "the agent stopped; the end of " + h["log"].get<std::string>() + ":\n" +
                                labfleet::tail_of(h["log"].get<std::string>()),
                            h["name"].get<std::string>());
        }
      }
      if (labfleet::reap_if_exited(pid_of(doc_["server"])) ||
          !labfleet::is_ours(pid_of(doc_["server"]), argv_of(doc_["server"]))) {
        return make_error(Errc::backend_failed,
                          "the server stopped; the end of its log:\n" +
                              labfleet::tail_of(doc_["server"]["log"].get<std::string>()),
                          "server");
      }
      auto all = list_hosts(api);
      if (!all) return Unexpected(all.error());
      std::size_t seen = 0;
      detail.clear();
      for (const auto& h : doc_["hosts"]) {
        const std::string id = h.value("host_id", "");
        auto it = all->find(id);
        if (it == all->end() || it->second["last_seen"].is_null()) {
          detail += " " + h["name"].get<std::string>() + "(no check-in)";
          continue;
        }
        ++seen;
        if (stored.contains(id)) continue;
        auto one = api_json(api, "GET", "/api/v1/hosts/" + url_encode(id));
        if (!one) return Unexpected(one.error());
        const auto updates = (*one)["updates"].size();
        if (!one->value("inventory_hash", "").empty() && updates >= expected_updates) {
          stored.insert(id);
        } else {
          detail += " " + h["name"].get<std::string>() + "(" + std::to_string(updates) + "/" +
                    std::to_string(expected_updates) + " updates)";
        }
      }
      if (seen != shown_seen) {
        say("checked in " + std::to_string(seen) + "/" + std::to_string(n));
        shown_seen = seen;
      }
      if (stored.size() != shown_stored) {
        say("inventories " + std::to_string(stored.size()) + "/" + std::to_string(n));
        shown_stored = stored.size();
      }
      if (stored.size() == n) return {};
      if (std::chrono::steady_clock::now() > deadline) {
        return make_error(Errc::timeout,
                          "not every host reported its inventory with " +
                              std::to_string(expected_updates) + " updates within " +
                              std::to_string(opt_.timeout_s) + " s; waiting for:" + detail +
                              " (logs in " + (dir_ / "hosts").string() + "/NAME/agent.log)",
                          dir_.string());
      }
      std::this_thread::sleep_for(1s);
    }
  }

  void print_summary(double seconds) const {
    const json& s = doc_["server"];
    std::printf("lab up: %zu hosts in %s (%.1f s)\n", plan_.size(), dir_.c_str(), seconds);
    std::printf("  server    %s  (pid %d, log %s)\n", s["url"].get<std::string>().c_str(),
                pid_of(s), s["log"].get<std::string>().c_str());
    std::printf("  the CLI:  . %s/env.sh     # or:\n", dir_.c_str());
    std::printf("            export PATCHFLOW_SERVER=%s PATCHFLOW_CA=%s\n",
                s["url"].get<std::string>().c_str(), s["ca"].get<std::string>().c_str());
    std::printf("            export PATCHFLOW_TOKEN=\"$(cat %s)\"\n",
                s["token_file"].get<std::string>().c_str());
    std::printf("            patchflow hosts list; patchflow findings list\n");
    std::printf("  hosts:\n");
    for (const auto& h : doc_["hosts"]) {
      std::printf("    %-8s %-4s %-19s pid %-7d %s\n", h["name"].get<std::string>().c_str(),
                  h["family"].get<std::string>().c_str(), h.value("host_id", "").c_str(), pid_of(h),
                  auth_labels(h["labels"]).c_str());
    }
    std::map<std::string, std::vector<std::string>> by_label;
    for (const auto& h : doc_["hosts"]) {
      for (const auto& [k, v] : h["labels"].items()) {
        by_label[k + "=" + v.get<std::string>()].push_back(h["name"].get<std::string>());
      }
    }
    std::printf("  by label:\n");
    for (const auto& [label, names] : by_label) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      std::printf("    %-18s %s\n", label.c_str(), list.c_str());
    }
    std::printf("  updates: 1.0-1 installed, 1.1-1 available:\n");
    for (const auto& p : labfleet::lab_packages()) {
      std::printf("    %-14s %s / %s  %s %s%s%s\n", p.name.c_str(), p.deb_id.c_str(),
                  p.rpm_id.c_str(),
                  p.kind == advisories::Kind::security ? "security"
                  : p.kind == advisories::Kind::bugfix ? "bugfix"
                                                       : "enhancement",
                  std::string(advisories::severity_name(p.severity)).c_str(),
                  p.cve.empty() ? "" : (" " + p.cve).c_str(), p.kev ? " (KEV)" : "");
    }
    std::printf("  status:   patchflow lab status --dir %s\n", dir_.c_str());
    std::printf("  stop:     patchflow lab down --dir %s\n", dir_.c_str());
  }

  static std::string auth_labels(const json& labels) {
    std::string out;
    for (const auto& [k, v] : labels.items()) {
      out += (out.empty() ? "" : ",") + k + "=" + v.get<std::string>();
    }
    return out;
  }

  UpOptions opt_;
  fs::path dir_;
  fs::path agent_;
  fs::path patchflow_;
  int port_{0};
  bool created_dir_{false};
  std::vector<HostPlan> plan_;
  json doc_ = json::object();

  // After a successful run: DIR/env.sh for `. DIR/env.sh`.
  static Result<void> write_env(const json& doc, const fs::path& dir) {
    const json& s = doc["server"];
    std::string text = "# patchflow lab: the CLI's settings (. " + (dir / "env.sh").string() +
                       ")\nexport PATCHFLOW_SERVER='" + s["url"].get<std::string>() +
                       "'\nexport PATCHFLOW_CA='" + s["ca"].get<std::string>() +
                       "'\nexport PATCHFLOW_TOKEN=\"$(cat '" + s["token_file"].get<std::string>() +
                       "')\"\n";
    return lab::write_file(dir / "env.sh", text, fs::perms(0644));
  }
};

int run_up(const UpOptions& opt) {
  LabUp up(opt);
  return up.run();
}

// ---------------------------------------------------------------------------------------------
// lab status / down

std::string age_of(const std::string& rfc3339, std::int64_t now) {
  std::tm tm{};
  if (rfc3339.size() < 19 || ::strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return rfc3339;
  }
  const std::int64_t t = ::timegm(&tm);
  return std::to_string(std::max<std::int64_t>(0, now - t)) + "s ago";
}

int run_status(const DirOptions& opt) {
  const fs::path dir = absolute_dir(opt.dir);
  auto doc = read_lab_json(dir);
  if (!doc) {
    if (doc.error().code == Errc::not_found) {
      std::cerr << "patchflow: no lab in " << dir.string() << "\n";
      return kExitFound;
    }
    return fail(doc.error());
  }
  const std::int64_t now = unix_now();
  json out = {{"dir", dir.string()}, {"state", doc->value("state", "")}};
  const json& s = (*doc)["server"];
  const bool server_alive = s.is_object() && labfleet::is_ours(pid_of(s), argv_of(s));
  out["server"] = {{"url", s.is_object() ? s.value("url", "") : ""},
                   {"pid", s.is_object() ? pid_of(s) : 0},
                   {"alive", server_alive}};
  std::map<std::string, json> hosts;
  std::string api_error;
  if (server_alive) {
    auto api = client_for(*doc);
    if (api) {
      auto all = list_hosts(*api);
      if (all) {
        hosts = std::move(*all);
      } else {
        api_error = to_string(all.error());
      }
    } else {
      api_error = to_string(api.error());
    }
  }
  out["api_error"] = api_error.empty() ? json(nullptr) : json(api_error);
  bool all_alive = server_alive && api_error.empty();
  json list = json::array();
  for (const auto& h : (*doc)["hosts"]) {
    const bool alive = labfleet::is_ours(pid_of(h), argv_of(h));
    all_alive = all_alive && alive;
    json row = {{"name", h.value("name", "")},
                {"host_id", h.value("host_id", "")},
                {"family", h.value("family", "")},
                {"labels", h.value("labels", json::object())},
                {"pid", pid_of(h)},
                {"alive", alive},
                {"last_seen", nullptr},
                {"open_findings", nullptr}};
    auto it = hosts.find(h.value("host_id", ""));
    if (it != hosts.end()) {
      row["last_seen"] = it->second["last_seen"];
      row["open_findings"] = it->second["findings"]["open"];
    }
    list.push_back(row);
  }
  out["hosts"] = list;
  out["all_alive"] = all_alive;
  if (opt.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("lab in %s (%s)\n", dir.c_str(), doc->value("state", "").c_str());
    std::printf("  server  %s  pid %d  %s\n", out["server"]["url"].get<std::string>().c_str(),
                pid_of(out["server"]), server_alive ? "alive" : "NOT RUNNING");
    if (!api_error.empty()) std::printf("  the API did not answer: %s\n", api_error.c_str());
    std::printf("  %-8s %-4s %-8s %-8s %-12s %-8s %s\n", "HOST", "FAM", "PID", "PROCESS",
                "LAST SEEN", "FINDINGS", "ID");
    for (const auto& r : list) {
      const std::string seen =
          r["last_seen"].is_string() ? age_of(r["last_seen"].get<std::string>(), now) : "never";
      const std::string findings =
          r["open_findings"].is_number() ? std::to_string(r["open_findings"].get<long>()) : "-";
      std::printf("  %-8s %-4s %-8d %-8s %-12s %-8s %s\n", r["name"].get<std::string>().c_str(),
                  r["family"].get<std::string>().c_str(), pid_of(r),
                  r["alive"].get<bool>() ? "alive" : "DEAD", seen.c_str(), findings.c_str(),
                  r["host_id"].get<std::string>().c_str());
    }
  }
  return all_alive ? kExitOk : kExitFound;
}

int run_down(const DirOptions& opt) {
  const fs::path dir = absolute_dir(opt.dir);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    std::printf("no lab in %s: nothing to do\n", dir.c_str());
    return kExitOk;
  }
  auto doc = read_lab_json(dir);
  if (!doc) {
    // Never remove a directory that is not a lab.
    return fail(Error{Errc::conflict,
                      doc.error().message + ": not removing a directory that holds no lab",
                      dir.string()});
  }
  for (const auto& line : stop_all(*doc)) std::printf("  %s\n", line.c_str());
  if (any_running(*doc)) {
    return fail(Error{Errc::backend_failed,
                      "some of the lab's processes did not stop; the "
                      "directory is kept",
                      dir.string()});
  }
  fs::remove_all(dir, ec);
  if (ec) return fail(Error{Errc::io, "cannot remove: " + ec.message(), dir.string()});
  std::printf("lab in %s stopped and removed\n", dir.c_str());
  return kExitOk;
}

}  // namespace

void add_lab_fleet_commands(CLI::App& lab, int& exit_code) {
  auto up_opt = std::make_shared<UpOptions>();
  auto* up = lab.add_subcommand(
      "up", "Start a local fleet: packages, repositories, N package roots, a server, N agents");
  up->add_option("--hosts", up_opt->hosts, "How many hosts (1..200)")->capture_default_str();
  up->add_option("--dir", up_opt->dir, "Where the lab lives (absent or empty)")
      ->capture_default_str();
  up->add_option("--port", up_opt->port, "The server's port on 127.0.0.1 (default: a free one)");
  up->add_option("--rpm-share", up_opt->rpm_share, "The share of rpm hosts, 0..1")
      ->capture_default_str();
  up->add_option("--agent", up_opt->agent,
                 "The patchflow-agent binary (default: beside this program, or "
                 "../patchflow-agent/ in a build tree)");
  up->add_option("--timeout", up_opt->timeout_s, "Seconds to wait for every host's first inventory")
      ->capture_default_str();
  up->add_flag("--replace", up_opt->replace, "Take down a lab already in --dir first");
  up->add_flag("--keep-failed", up_opt->keep_failed,
               "When starting fails, keep the directory (logs) for inspection");
  up->add_flag("--json", up_opt->json, "Print DIR/lab.json when the lab is up");
  up->footer(
      R"(Builds pf-web, pf-app, pf-db and pf-libssl-lab 1.0 and 1.1 (.deb and .rpm), an apt and an
rpm repository (with updateinfo), one package root per host with 1.0 installed, starts
a server (SQLite, TLS on 127.0.0.1; advisories and CVE records in its store) and one
patchflow-agent per host, and waits until every host's inventory is stored. Progress on
stderr; the summary (or --json) on stdout; everything recorded in DIR/lab.json.
Labels: tier=db|app|web, group=pilot|executives|general, family=deb|rpm, env=lab.
docs/lab.md has the details.

Examples:
  patchflow lab up --hosts 12
  . ./pf-lab/env.sh && patchflow hosts list --label tier=db
  patchflow lab down

Exit status: 0 up; 2 bad options, a port in use, a lab already in --dir; 4 a step failed
(the processes are stopped and the directory removed unless --keep-failed).)");
  up->callback([up_opt, &exit_code] { exit_code = run_up(*up_opt); });

  auto status_opt = std::make_shared<DirOptions>();
  auto* status =
      lab.add_subcommand("status", "Show a lab's processes and its hosts' last check-in");
  status->add_option("--dir", status_opt->dir, "The lab's directory")->capture_default_str();
  status->add_flag("--json", status_opt->json, "JSON");
  status->footer(
      "Exit status: 0 the server and every agent run; 1 something is not running "
      "(or no lab); 2 unreadable lab.json.");
  status->callback([status_opt, &exit_code] { exit_code = run_status(*status_opt); });

  auto down_opt = std::make_shared<DirOptions>();
  auto* down =
      lab.add_subcommand("down", "Stop a lab's agents and server and remove its directory");
  down->add_option("--dir", down_opt->dir, "The lab's directory")->capture_default_str();
  down->footer(
      "Each process is signalled only when /proc shows the very command line the lab started\n"
      "(SIGTERM, SIGKILL after 5 s). Safe to run again: no lab, nothing to do (exit 0). A\n"
      "directory without lab.json is never removed (exit 2).");
  down->callback([down_opt, &exit_code] { exit_code = run_down(*down_opt); });
}

}  // namespace pf::cli
