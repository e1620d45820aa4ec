// SPDX-License-Identifier: Apache-2.0
// Client commands of the REST API: tokens create, hosts list|show, findings list, audit verify.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_client.hpp"
#include "client_support.hpp"
#include "command.hpp"
#include "patchflow/auth/duration.hpp"
#include "patchflow/auth/labels.hpp"
#include "patchflow/server/store_open.hpp"
#include "server_command.hpp"

namespace pf::cli {
namespace {

using nlohmann::json;

struct TokensOptions {
  ClientOptions client;
  std::string expires{"24h"};
  std::string labels;
  std::string output{"text"};
};

struct HostsOptions {
  ClientOptions client;
  std::vector<std::string> labels;
  std::string ecosystem;
  std::string name_prefix;
  std::string severity;
  int limit{0};
  bool include_revoked{false};
  std::string output{"table"};
  std::string id;
};

struct FindingsOptions {
  ClientOptions client;
  std::string status{"open"};
  std::string severity;
  bool kev{false};
  std::string host;
  std::string advisory;
  std::string package;
  std::vector<std::string> labels;
  int limit{0};
  std::string output{"table"};
};

struct AuditOptions {
  ClientOptions client;
  std::string database;
  std::string output{"text"};
  std::string action;
  int limit{0};
};

int tokens_create(const TokensOptions& opt) {
  auto expires = auth::parse_duration(opt.expires, "--expires");
  if (!expires) return report_client_error(expires.error());
  auto labels = auth::parse_labels(opt.labels, "--labels");
  if (!labels) return report_client_error(labels.error());
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  json body = {{"expires_in", opt.expires}, {"labels", *labels}};
  auto r = call(*client, "POST", "/api/v1/enrollment-tokens", body.dump());
  if (r.exit_code != kExitOk) return r.exit_code;
  if (opt.output == "json") {
    std::cout << r.doc.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "Enrollment token (shown once; one enrollment; valid until "
            << str(r.doc, "expires_at") << "):\n  " << str(r.doc, "token") << "\n"
            << "CA fingerprint (give it to the agent with the token):\n  "
            << str(r.doc, "ca_fingerprint") << "\n";
  const std::string l = labels_text(r.doc["labels"]);
  std::cout << "Labels: " << (l.empty() ? "(none)" : l) << "\n"
            << "Token id: " << str(r.doc, "token_id") << "\n";
  return kExitOk;
}

int hosts_list(const HostsOptions& opt) {
  for (const auto& l : opt.labels) {
    const auto eq = l.find('=');
    if (eq == std::string::npos) {
      return report_client_error({Errc::invalid_input, "expected KEY=VALUE, got '" + l + "'",
                                  "--label"});
    }
    if (auto ok = auth::check_label(l.substr(0, eq), l.substr(eq + 1), "--label"); !ok) {
      return report_client_error(ok.error());
    }
  }
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  json hosts = json::array();
  std::string cursor;
  const int page = opt.limit > 0 ? std::min(opt.limit, 1000) : 500;
  while (true) {
    std::string path = "/api/v1/hosts?limit=" + std::to_string(page);
    for (const auto& l : opt.labels) path += "&label=" + url_encode(l);
    if (!opt.ecosystem.empty()) path += "&ecosystem=" + url_encode(opt.ecosystem);
    if (!opt.name_prefix.empty()) path += "&name_prefix=" + url_encode(opt.name_prefix);
    if (opt.include_revoked) path += "&include_revoked=true";
    if (!opt.severity.empty()) path += "&severity=" + url_encode(opt.severity);
    if (!cursor.empty()) path += "&cursor=" + url_encode(cursor);
    auto r = call(*client, "GET", path);
    if (r.exit_code != kExitOk) return r.exit_code;
    for (auto& h : r.doc["hosts"]) {
      if (opt.limit > 0 && static_cast<int>(hosts.size()) >= opt.limit) break;
      hosts.push_back(std::move(h));
    }
    cursor = str(r.doc, "next_cursor");
    if (cursor.empty() || (opt.limit > 0 && static_cast<int>(hosts.size()) >= opt.limit)) break;
  }
  if (opt.output == "json") {
    std::cout << json{{"hosts", hosts}}.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "ECOSYSTEM", "LAST SEEN", "REBOOT", "FINDINGS", "LABELS"}};
  for (const auto& h : hosts) {
    std::string reboot = h.value("reboot_required", false) ? "required" : "-";
    if (!str(h, "revoked_at").empty()) reboot = "REVOKED";
    std::string findings = "-";
    if (h.contains("findings") && h["findings"].is_object()) {
      const json& f = h["findings"];
      const std::string open = str(f, "open");
      if (!open.empty() && open != "0") findings = open + " (max " + str(f, "max_severity") + ")";
    }
    rows.push_back({str(h, "id"), str(h, "name"), str(h, "ecosystem"),
                    str(h, "last_seen").empty() ? "-" : str(h, "last_seen"), reboot, findings,
                    labels_text(h["labels"])});
  }
  print_table(rows);
  return kExitOk;
}

int findings_list(const FindingsOptions& opt) {
  for (const auto& l : opt.labels) {
    const auto eq = l.find('=');
    if (eq == std::string::npos) {
      return report_client_error({Errc::invalid_input, "expected KEY=VALUE, got '" + l + "'",
                                  "--label"});
    }
  }
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  json findings = json::array();
  std::string cursor;
  const int page = opt.limit > 0 ? std::min(opt.limit, 1000) : 500;
  while (true) {
    std::string path = "/api/v1/findings?limit=" + std::to_string(page) +
                       "&status=" + url_encode(opt.status);
    if (!opt.severity.empty()) path += "&severity=" + url_encode(opt.severity);
    if (opt.kev) path += "&kev=true";
    if (!opt.host.empty()) path += "&host=" + url_encode(opt.host);
    if (!opt.advisory.empty()) path += "&advisory=" + url_encode(opt.advisory);
    if (!opt.package.empty()) path += "&package=" + url_encode(opt.package);
    for (const auto& l : opt.labels) path += "&label=" + url_encode(l);
    if (!cursor.empty()) path += "&cursor=" + url_encode(cursor);
    auto r = call(*client, "GET", path);
    if (r.exit_code != kExitOk) return r.exit_code;
    for (auto& f : r.doc["findings"]) {
      if (opt.limit > 0 && static_cast<int>(findings.size()) >= opt.limit) break;
      findings.push_back(std::move(f));
    }
    cursor = str(r.doc, "next_cursor");
    if (cursor.empty() || (opt.limit > 0 && static_cast<int>(findings.size()) >= opt.limit)) break;
  }
  if (opt.output == "json") {
    std::cout << json{{"findings", findings}}.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"RISK", "SEVERITY", "KEV", "HOST", "ADVISORY", "PACKAGE", "INSTALLED", "FIXED", "STATUS",
       "FIRST SEEN"}};
  for (const auto& f : findings) {
    char risk[32];
    std::snprintf(risk, sizeof risk, "%.1f", f.value("risk", 0.0));
    rows.push_back({risk, str(f, "severity"), f.value("kev", false) ? "KEV" : "-",
                    str(f, "host_id"), str(f, "advisory_id"), str(f, "package"),
                    str(f, "installed_version"),
                    str(f, "fixed_version").empty() ? "no fix yet" : str(f, "fixed_version"),
                    str(f, "status"), str(f, "first_seen")});
  }
  print_table(rows);
  return kExitOk;
}

int hosts_show(const HostsOptions& opt) {
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  auto r = call(*client, "GET", "/api/v1/hosts/" + url_encode(opt.id));
  if (r.exit_code != kExitOk) return r.exit_code;
  const json& h = r.doc;
  if (opt.output == "json") {
    std::cout << h.dump(2) << "\n";
    return kExitOk;
  }
  const json os = h.value("os", json::object());
  print_table({{"id:", str(h, "id")},
               {"name:", str(h, "name")},
               {"os:", str(os, "id") + " " + str(os, "version_id")},
               {"ecosystem:", str(h, "ecosystem")},
               {"arch:", str(h, "arch")},
               {"kernel:", str(h, "kernel_release")},
               {"labels:", labels_text(h["labels"])},
               {"enrolled:", str(h, "enrolled_at")},
               {"last seen:", str(h, "last_seen")},
               {"reboot:", h.value("reboot_required", false) ? "required" : "not required"},
               {"revoked:", str(h, "revoked_at").empty() ? "no" : str(h, "revoked_at")},
               {"packages:", std::to_string(h.value("packages", json::array()).size())}});
  const json updates = h.value("updates", json::array());
  std::cout << "\nupdates: " << updates.size() << "\n";
  if (!updates.empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"PACKAGE", "INSTALLED", "CANDIDATE", "SECURITY", "ORIGIN"}};
    for (const auto& u : updates) {
      rows.push_back({str(u, "name") + (str(u, "arch").empty() ? "" : ":" + str(u, "arch")),
                      str(u, "installed_version"), str(u, "candidate_version"),
                      u.value("security", false) ? "yes" : "no", str(u, "origin")});
    }
    print_table(rows);
  }
  return kExitOk;
}

int print_verification(bool ok, std::int64_t checked, const std::string& first_bad,
                       const std::string& problem, const std::string& head_seq,
                       const std::string& head_hash) {
  if (ok) {
    std::cout << "audit log ok: " << checked << " entries verified; head " << head_seq << " "
              << head_hash << "\n";
    return kExitOk;
  }
  std::cout << "audit log BROKEN at entry " << first_bad << ": " << problem << " (" << checked
            << " entries before it verified)\n";
  return kExitFound;
}

// Every entry (all pages), oldest first; only actions starting with opt.action when given.
int audit_list(const AuditOptions& opt) {
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  json entries = json::array();
  std::string cursor;
  while (true) {
    std::string path = "/api/v1/audit?limit=1000";
    if (!cursor.empty()) path += "&cursor=" + url_encode(cursor);
    auto r = call(*client, "GET", path);
    if (r.exit_code != kExitOk) return r.exit_code;
    for (auto& e : r.doc["entries"]) {
      if (!opt.action.empty() && !str(e, "action").starts_with(opt.action)) continue;
      entries.push_back(std::move(e));
    }
    cursor = str(r.doc, "next_cursor");
    if (cursor.empty()) break;
  }
  if (opt.limit > 0 && static_cast<int>(entries.size()) > opt.limit) {
    entries.erase(entries.begin(), entries.end() - opt.limit);  // the newest ones
  }
  if (opt.output == "json") {
    std::cout << json{{"entries", entries}}.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"SEQ", "AT", "ACTOR", "ACTION", "TARGET"}};
  for (const auto& e : entries) {
    rows.push_back({str(e, "seq"), str(e, "at"), str(e, "actor"), str(e, "action"), str(e, "target")});
  }
  print_table(rows);
  return kExitOk;
}

int audit_verify(const AuditOptions& opt) {
  if (!opt.database.empty()) {
    std::error_code ec;
    if (!server::is_postgres_url(opt.database) && !std::filesystem::exists(opt.database, ec)) {
      std::cerr << "patchflow: error: " << opt.database << ": no such database\n";
      return kExitUsage;
    }
    auto store = server::open_store(opt.database);
    if (!store) {
      std::cerr << "patchflow: error: " << to_string(store.error()) << "\n";
      return store.error().code == Errc::io ? kExitInternal : kExitUsage;
    }
    auto v = store->fleet->verify_audit();
    auto head = store->fleet->audit_head();
    if (!v || !head) {
      std::cerr << "patchflow: error: " << to_string(v ? head.error() : v.error()) << "\n";
      return kExitInternal;
    }
    return print_verification(v->ok, v->entries_checked, std::to_string(v->first_bad_seq),
                              v->problem, std::to_string(head->seq), head->hash);
  }
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  auto r = call(*client, "POST", "/api/v1/audit/verify");
  if (r.exit_code != kExitOk) return r.exit_code;
  const json head = r.doc.value("head", json::object());
  return print_verification(r.doc.value("ok", false), r.doc.value("entries_checked", 0),
                            str(r.doc, "first_bad_seq"), str(r.doc, "problem"), str(head, "seq"),
                            str(head, "hash"));
}

}  // namespace

void add_client_commands(CLI::App& root, int& exit_code) {
  auto* tokens = root.add_subcommand("tokens", "Enrollment tokens for agents");
  tokens->require_subcommand(1);
  auto topt = std::make_shared<TokensOptions>();
  auto* create = tokens->add_subcommand("create", "Create a one-time enrollment token");
  add_client_options(*create, topt->client);
  create->add_option("--expires", topt->expires, "How long it may be used (30m, 24h, 7d)")
      ->capture_default_str();
  create->add_option("--labels", topt->labels,
                     "Labels the enrolled host gets, key=value,... (e.g. tier=web,env=prod)");
  create->add_option("--output", topt->output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  create->footer(R"(Prints the token (shown once) and the CA fingerprint: give both to the agent.

Example:
  patchflow tokens create --server https://pf.example:8443 --ca ca.crt --expires 24h --labels tier=web

Exit status: 0 created; 2 bad input; 3 server not reachable or not authorised.)");
  create->callback([topt, &exit_code] { exit_code = tokens_create(*topt); });

  auto* hosts = root.add_subcommand("hosts", "Enrolled hosts");
  hosts->require_subcommand(1);
  auto hopt = std::make_shared<HostsOptions>();
  auto* list = hosts->add_subcommand("list", "List hosts (all pages)");
  add_client_options(*list, hopt->client);
  list->add_option("--label", hopt->labels, "Only hosts with this label, KEY=VALUE (repeatable)");
  list->add_option("--ecosystem", hopt->ecosystem, "Only this ecosystem (Debian:12)");
  list->add_option("--name-prefix", hopt->name_prefix, "Only names starting with this");
  list->add_option("--limit", hopt->limit, "At most this many hosts")->check(CLI::Range(1, 1000000));
  list->add_flag("--include-revoked", hopt->include_revoked, "Also revoked hosts");
  list->add_option("--severity", hopt->severity,
                   "Only hosts with an open finding of at least this severity (low, medium, high,"
                   " critical)");
  list->add_option("--output", hopt->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  list->footer(R"(Example:
  patchflow hosts list --label tier=web --output json

Exit status: 0 listed; 2 bad input; 3 server not reachable or not authorised.)");
  list->callback([hopt, &exit_code] { exit_code = hosts_list(*hopt); });
  auto* show = hosts->add_subcommand("show", "One host: facts, labels, packages, updates");
  add_client_options(*show, hopt->client);
  show->add_option("id", hopt->id, "The host id (h_...)")->required();
  show->add_option("--output", hopt->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  show->footer(R"(Example:
  patchflow hosts show h_0123456789abcdef --output json

Exit status: 0 shown; 2 no such host or bad input; 3 not reachable or not authorised.)");
  show->callback([hopt, &exit_code] { exit_code = hosts_show(*hopt); });

  auto* findings = root.add_subcommand("findings", "Findings across the fleet");
  findings->require_subcommand(1);
  auto fopt = std::make_shared<FindingsOptions>();
  auto* flist = findings->add_subcommand("list", "List findings, highest risk first (all pages)");
  add_client_options(*flist, fopt->client);
  flist->add_option("--status", fopt->status, "open, fixed or any")
      ->check(CLI::IsMember({"open", "fixed", "any"}))
      ->capture_default_str();
  flist->add_option("--severity", fopt->severity, "At least this severity (low .. critical)");
  flist->add_flag("--kev", fopt->kev, "Only findings with a CVE in CISA KEV");
  flist->add_option("--host", fopt->host, "Only this host id");
  flist->add_option("--advisory", fopt->advisory, "Only this advisory (DSA-5678-1)");
  flist->add_option("--package", fopt->package, "Only this package");
  flist->add_option("--label", fopt->labels, "Only hosts with this label, KEY=VALUE (repeatable)");
  flist->add_option("--limit", fopt->limit, "At most this many findings")
      ->check(CLI::Range(1, 10000000));
  flist->add_option("--output", fopt->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  flist->footer(R"(The server keeps findings current as inventories and advisories change.

Examples:
  patchflow findings list --severity high --label tier=web
  patchflow findings list --kev --output json
  patchflow findings list --status fixed --host h_0123456789abcdef

Exit status: 0 listed; 2 bad input; 3 server not reachable or not authorised.)");
  flist->callback([fopt, &exit_code] { exit_code = findings_list(*fopt); });

  auto* audit = root.add_subcommand("audit", "The audit log");
  audit->require_subcommand(1);
  auto aopt = std::make_shared<AuditOptions>();
  auto* verify = audit->add_subcommand(
      "verify", "Recompute the audit log's hash chain (on the server, or locally with --database)");
  add_client_options(*verify, aopt->client);
  verify->add_option("--database", aopt->database,
                     "Verify this database directly (SQLite file or postgresql:// URL)");
  verify->footer(R"(Examples:
  patchflow audit verify --server https://pf.example:8443 --ca ca.crt
  patchflow audit verify --database /var/lib/patchflow/patchflow.db

Exit status: 0 the chain is intact; 1 it is broken (the first bad entry is named);
2 bad input; 3 server not reachable or not authorised; 4 the database cannot be read.)");
  verify->callback([aopt, &exit_code] { exit_code = audit_verify(*aopt); });
  auto* alist = audit->add_subcommand("list", "List audit log entries (oldest first)");
  add_client_options(*alist, aopt->client);
  alist->add_option("--action", aopt->action,
                    "Only actions starting with this (policy., chain.run, run.create, ...)");
  alist->add_option("--limit", aopt->limit, "Only the newest N entries")->check(CLI::Range(1, 10000000));
  alist->add_option("--output", aopt->output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  alist->footer(R"(Each entry shows who did what to which object; --output json adds the
object before and after (for policy applies: the diff).

Examples:
  patchflow audit list --action policy.
  patchflow audit list --action chain.run --output json

Exit status: 0 listed; 2 bad input; 3 server not reachable or not authorised.)");
  alist->callback([aopt, &exit_code] { exit_code = audit_list(*aopt); });
}

}  // namespace pf::cli
