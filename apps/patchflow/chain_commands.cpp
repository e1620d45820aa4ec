// SPDX-License-Identifier: Apache-2.0
// Policy as code and chains through the REST API: apply, get, delete, plan, and chain
// run|list|status|approve|pause|resume|cancel (docs/chains.md).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_client.hpp"
#include "client_support.hpp"
#include "command.hpp"
#include "server_command.hpp"

namespace pf::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// What the server takes at most in one apply (its body limit is larger).
constexpr std::uintmax_t kMaxPolicyFile = std::uintmax_t{1} << 20;
constexpr std::size_t kMaxPolicyFiles = 200;

struct ApplyOptions {
  ClientOptions client;
  std::vector<std::string> files;
  bool dry_run{false};
  std::string output{"text"};
};

struct GetOptions {
  ClientOptions client;
  std::string kind;
  std::string name;
  std::string output{"json"};
};

struct PlanOptions {
  ClientOptions client;
  std::string chain;
  bool emergency{false};
  std::string output{"text"};
};

struct ChainOptions {
  ClientOptions client;
  std::string chain;
  std::string id;
  std::string stage;
  std::string reason;
  bool emergency{false};
  std::string justification;
  bool follow{false};
  std::string output{"text"};
};

// "chains", "Chain", "chain" → "Chain"; "" when not a kind.
std::string kind_name(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text.ends_with('s')) text.pop_back();  // baselines, groups, windows, chains
  if (text == "baseline") return "Baseline";
  if (text == "group") return "Group";
  if (text == "window") return "Window";
  if (text == "chain") return "Chain";
  return "";
}

int bad_kind(const std::string& given) {
  return report_client_error({Errc::invalid_input,
                              "expected baseline, group, window or chain, got '" + given + "'",
                              "KIND"});
}

// The files of -f: a file, or the *.yaml / *.yml files of a directory in name order.
Result<std::vector<fs::path>> policy_files(const std::vector<std::string>& given) {
  std::vector<fs::path> out;
  for (const auto& g : given) {
    std::error_code ec;
    if (fs::is_directory(g, ec)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(g, ec)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) in_dir.push_back(e.path());
      }
      if (ec) return make_error(Errc::io, "cannot list the directory: " + ec.message(), g);
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) return make_error(Errc::invalid_input, "no .yaml file in it", g);
      out.insert(out.end(), in_dir.begin(), in_dir.end());
    } else {
      out.emplace_back(g);
    }
  }
  if (out.size() > kMaxPolicyFiles) {
    return make_error(Errc::invalid_input,
                      "more than " + std::to_string(kMaxPolicyFiles) + " files at once", "-f");
  }
  return out;
}

Result<std::string> read_policy_file(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return make_error(Errc::io, "cannot read: " + ec.message(), path.string());
  if (size > kMaxPolicyFile) {
    return make_error(Errc::invalid_input, "larger than 1 MiB", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return make_error(Errc::io, "cannot read", path.string());
  return text.str();
}

int apply(const ApplyOptions& opt) {
  auto files = policy_files(opt.files);
  if (!files) return report_client_error(files.error());
  json list = json::array();
  for (const auto& f : *files) {
    auto text = read_policy_file(f);
    if (!text) return report_client_error(text.error());
    list.push_back({{"name", f.string()}, {"source", *text}});
  }
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  json body = {{"files", list}, {"dry_run", opt.dry_run}};
  auto r = call(*client, "POST", "/api/v1/policies", body.dump());
  if (r.exit_code != kExitOk) return r.exit_code;
  if (opt.output == "json") {
    std::cout << r.doc.dump(2) << "\n";
    return kExitOk;
  }
  const std::string prefix = opt.dry_run ? "(dry run) " : "";
  for (const auto& d : r.doc.value("documents", json::array())) {
    const std::string outcome = str(d, "outcome");
    std::cout << prefix << str(d, "kind") << "/" << str(d, "name") << " " << outcome;
    if (outcome != "unchanged") std::cout << " (revision " << str(d, "revision") << ")";
    std::cout << "\n";
    if (outcome != "changed") continue;  // a new document's "diff" is all of it
    for (const auto& line : d.value("diff", json::array())) {
      std::cout << "    " << line.get<std::string>() << "\n";
    }
  }
  return kExitOk;
}

int get(const GetOptions& opt) {
  const std::string kind = kind_name(opt.kind);
  if (kind.empty()) return bad_kind(opt.kind);
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  if (opt.name.empty()) {
    auto r = call(*client, "GET", "/api/v1/policies?kind=" + url_encode(kind));
    if (r.exit_code != kExitOk) return r.exit_code;
    if (opt.output == "json") {
      std::cout << r.doc.dump(2) << "\n";
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {{"KIND", "NAME", "REVISION", "UPDATED", "BY"}};
    for (const auto& p : r.doc.value("policies", json::array())) {
      rows.push_back({str(p, "kind"), str(p, "name"), str(p, "revision"), str(p, "updated_at"),
                      str(p, "updated_by")});
    }
    print_table(rows);
    return kExitOk;
  }
  auto r = call(*client, "GET", "/api/v1/policies/" + url_encode(kind) + "/" + url_encode(opt.name));
  if (r.exit_code != kExitOk) return r.exit_code;
  std::cout << (opt.output == "json" ? r.doc.dump(2) : r.doc.value("document", json()).dump(2))
            << "\n";
  return kExitOk;
}

int del(const GetOptions& opt) {
  const std::string kind = kind_name(opt.kind);
  if (kind.empty()) return bad_kind(opt.kind);
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  auto r = call(*client, "DELETE",
                "/api/v1/policies/" + url_encode(kind) + "/" + url_encode(opt.name));
  if (r.exit_code != kExitOk) return r.exit_code;
  std::cout << kind << "/" << opt.name << " deleted\n";
  return kExitOk;
}

void print_plan(const json& doc) {
  std::cout << "Chain " << str(doc, "chain") << " (revision " << str(doc, "chain_revision")
            << "), baseline " << str(doc, "baseline") << ", as of " << str(doc, "as_of") << "\n";
  if (doc.value("emergency", false)) std::cout << "Emergency run: soak periods are skipped\n";
  for (const auto& s : doc.value("stages", json::array())) {
    std::cout << "\nStage " << str(s, "name");
    const auto after = s.value("after", json::array());
    if (!after.empty()) {
      std::cout << " (after";
      for (const auto& a : after) std::cout << " " << a.get<std::string>();
      std::cout << ")";
    }
    std::cout << ": max_parallel " << str(s, "max_parallel") << ", max_failed "
              << str(s, "max_failed");
    if (!str(s, "soak").empty()) std::cout << ", soak " << str(s, "soak");
    if (s.value("approval_required", false)) std::cout << ", needs approval";
    std::cout << "\n";
    if (!str(s, "when").empty()) std::cout << "  when: " << str(s, "when") << "\n";
    std::vector<std::vector<std::string>> rows = {{"  WAVE", "HOST", "WINDOW", "UPDATES"}};
    for (const auto& h : s.value("hosts", json::array())) {
      std::string updates;
      for (const auto& u : h.value("updates", json::array())) {
        if (!updates.empty()) updates += ", ";
        updates += str(u, "package") + " " + str(u, "installed") + " → " + str(u, "candidate");
      }
      rows.push_back({"  " + str(h, "wave"), str(h, "name"), str(h, "window"),
                      updates.empty() ? "(none approved)" : updates});
    }
    if (rows.size() == 1) {
      std::cout << "  (no host)\n";
    } else {
      print_table(rows);
    }
  }
  const auto excluded = doc.value("excluded", json::array());
  if (!excluded.empty()) {
    std::cout << "\nExcluded:\n";
    std::vector<std::vector<std::string>> rows = {{"  HOST", "STAGE", "WHY"}};
    for (const auto& e : excluded) {
      rows.push_back({"  " + str(e, "name"), str(e, "stage"), str(e, "reason")});
    }
    print_table(rows);
  }
}

int plan(const PlanOptions& opt) {
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  std::string path = "/api/v1/chains/" + url_encode(opt.chain) + "/plan";
  if (opt.emergency) path += "?emergency=true";
  auto r = call(*client, "GET", path);
  if (r.exit_code != kExitOk) return r.exit_code;
  if (opt.output == "json") {
    std::cout << r.doc.dump(2) << "\n";
  } else {
    print_plan(r.doc);
  }
  return kExitOk;
}

bool is_final(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "halted" ||
         status == "blocked" || status == "canceled";
}

void print_status(const json& doc) {
  std::cout << "Chain run " << str(doc, "id") << " of " << str(doc, "chain") << ": "
            << str(doc, "status") << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"  STAGE", "STATUS", "HOSTS", "OK", "FAILED", "SKIPPED", "IN WORK", "NOTE"}};
  for (const auto& s : doc.value("stages", json::array())) {
    const json c = s.value("counts", json::object());
    rows.push_back({"  " + str(s, "name"), str(s, "status"), str(c, "total"), str(c, "succeeded"),
                    str(c, "failed"), str(c, "skipped"), str(c, "in_work"), str(s, "note")});
  }
  print_table(rows);
}

// Prints the run's log lines after `seq` as they come until the run is final; the exit code
// says how it ended (0 succeeded, 1 any other final state).
int follow(ApiClient& client, const std::string& id, std::int64_t seq) {
  while (true) {
    auto r = call(client, "GET",
                  "/api/v1/chain-runs/" + url_encode(id) + "?log_after=" + std::to_string(seq));
    if (r.exit_code != kExitOk) return r.exit_code;
    for (const auto& l : r.doc.value("log", json::array())) {
      std::cout << str(l, "at") << "  " << str(l, "line") << "\n" << std::flush;
      seq = std::max<std::int64_t>(seq, l.value("seq", std::int64_t{0}));
    }
    const std::string status = str(r.doc, "status");
    if (is_final(status) && !r.doc.value("log_more", false)) {
      std::cout << "\n";
      print_status(r.doc);
      return status == "succeeded" ? kExitOk : kExitFound;
    }
    if (r.doc.value("log_more", false)) continue;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int chain_run(const ChainOptions& opt) {
  if (opt.emergency && opt.justification.empty()) {
    return report_client_error({Errc::invalid_input,
                                "an emergency run needs --justification (recorded in the audit log)",
                                "--justification"});
  }
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  json body = {{"emergency", opt.emergency}};
  if (!opt.justification.empty()) body["justification"] = opt.justification;
  auto r = call(*client, "POST", "/api/v1/chains/" + url_encode(opt.chain) + "/runs", body.dump());
  if (r.exit_code != kExitOk) return r.exit_code;
  const std::string id = str(r.doc, "id");
  if (opt.output == "json" && !opt.follow) {
    std::cout << r.doc.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "Started chain run " << id << " of " << opt.chain
            << (opt.emergency ? " (emergency)" : "") << "\n";
  if (!opt.follow) {
    std::cout << "Follow it with: patchflow chain status " << id << " --follow\n";
    return kExitOk;
  }
  return follow(*client, id, 0);
}

int chain_list(const ChainOptions& opt) {
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  auto r = call(*client, "GET", "/api/v1/chain-runs");
  if (r.exit_code != kExitOk) return r.exit_code;
  if (opt.output == "json") {
    std::cout << r.doc.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "CHAIN", "STATUS", "STARTED", "BY"}};
  for (const auto& c : r.doc.value("chain_runs", json::array())) {
    rows.push_back({str(c, "id"), str(c, "chain"), str(c, "status"), str(c, "created_at"),
                    str(c, "created_by")});
  }
  print_table(rows);
  return kExitOk;
}

int chain_status(const ChainOptions& opt) {
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  if (opt.follow) return follow(*client, opt.id, 0);
  auto r = call(*client, "GET", "/api/v1/chain-runs/" + url_encode(opt.id) + "?log_after=0");
  if (r.exit_code != kExitOk) return r.exit_code;
  if (opt.output == "json") {
    std::cout << r.doc.dump(2) << "\n";
    return kExitOk;
  }
  print_status(r.doc);
  for (const auto& s : r.doc.value("stages", json::array())) {
    for (const auto& line : s.value("explanation", json::array())) {
      std::cout << "  " << str(s, "name") << ": " << line.get<std::string>() << "\n";
    }
  }
  return kExitOk;
}

int chain_action(const ChainOptions& opt, const std::string& action) {
  auto client = ApiClient::connect(opt.client);
  if (!client) return report_client_error(client.error());
  json body = json::object();
  if (action == "approve") body["stage"] = opt.stage;
  if (!opt.reason.empty()) body["reason"] = opt.reason;
  auto r = call(*client, "POST", "/api/v1/chain-runs/" + url_encode(opt.id) + "/" + action,
                body.dump());
  if (r.exit_code != kExitOk) return r.exit_code;
  std::cout << "Chain run " << opt.id << ": " << action
            << (action == "approve" ? " of stage " + opt.stage : std::string()) << " recorded\n";
  return kExitOk;
}

void output_option(CLI::App& cmd, std::string& output, std::vector<std::string> choices) {
  cmd.add_option("--output,-o", output, "Output format")
      ->check(CLI::IsMember(std::move(choices)))
      ->capture_default_str();
}

}  // namespace

void add_chain_commands(CLI::App& root, int& exit_code) {
  auto aopt = std::make_shared<ApplyOptions>();
  auto* apply_cmd = root.add_subcommand(
      "apply", "Apply policy documents (Baseline, Group, Window, Chain) from YAML files");
  add_client_options(*apply_cmd, aopt->client);
  apply_cmd->add_option("-f,--file", aopt->files, "A YAML file, or a directory of them (repeatable)")
      ->required();
  apply_cmd->add_flag("--dry-run", aopt->dry_run, "Validate and show the changes, store nothing");
  output_option(*apply_cmd, aopt->output, {"text", "json"});
  apply_cmd->footer(R"(All files are validated together and applied in one transaction: either
every document is stored or none. Errors name FILE:LINE:COLUMN and what was expected.
Each change is recorded in the audit log with its diff. Format: docs/policy.md.

Examples:
  patchflow apply -f examples/chains/
  patchflow apply -f baselines.yaml -f three-tier.yaml --dry-run

Exit status: 0 applied; 2 invalid documents or bad input; 3 not reachable or not authorised.)");
  apply_cmd->callback([aopt, &exit_code] { exit_code = apply(*aopt); });

  auto gopt = std::make_shared<GetOptions>();
  auto* get_cmd = root.add_subcommand("get", "Show stored policy documents");
  add_client_options(*get_cmd, gopt->client);
  get_cmd->add_option("kind", gopt->kind, "baseline, group, window or chain (plural accepted)")
      ->required();
  get_cmd->add_option("name", gopt->name, "One document's name; without it, list them");
  output_option(*get_cmd, gopt->output, {"json", "text"});
  get_cmd->footer(R"(Examples:
  patchflow get chains
  patchflow get chain three-tier

Exit status: 0 shown; 2 no such document or bad input; 3 not reachable or not authorised.)");
  get_cmd->callback([gopt, &exit_code] {
    if (gopt->name.empty() && gopt->output == "json") gopt->output = "text";
    exit_code = get(*gopt);
  });

  auto dopt = std::make_shared<GetOptions>();
  auto* del_cmd = root.add_subcommand("delete", "Delete a stored policy document");
  add_client_options(*del_cmd, dopt->client);
  del_cmd->add_option("kind", dopt->kind, "baseline, group, window or chain")->required();
  del_cmd->add_option("name", dopt->name, "The document's name")->required();
  del_cmd->footer(R"(A document that another one still names (a baseline of a chain, a group of a
stage) cannot be deleted: the error names who uses it. Recorded in the audit log.

Exit status: 0 deleted; 2 no such document, still in use, or bad input; 3 not reachable.)");
  del_cmd->callback([dopt, &exit_code] { exit_code = del(*dopt); });

  auto popt = std::make_shared<PlanOptions>();
  auto* plan_cmd = root.add_subcommand(
      "plan", "Show what a chain would do now: hosts, updates, stages, waves, windows (runs nothing)");
  add_client_options(*plan_cmd, popt->client);
  plan_cmd->add_option("chain", popt->chain, "The chain's name")->required();
  plan_cmd->add_flag("--emergency", popt->emergency, "Plan an emergency run (soak skipped)");
  output_option(*plan_cmd, popt->output, {"text", "json"});
  plan_cmd->footer(R"(For each stage: its hosts in waves, each host's next window (local time and
UTC) and the updates its baseline approves; then the hosts left out and why.

Example:
  patchflow plan three-tier

Exit status: 0 shown; 2 no such chain or bad input; 3 not reachable or not authorised.)");
  plan_cmd->callback([popt, &exit_code] { exit_code = plan(*popt); });

  auto copt = std::make_shared<ChainOptions>();
  auto* chain = root.add_subcommand("chain", "Run chains and watch, approve, pause, resume or cancel them");
  chain->require_subcommand(1);
  auto* run = chain->add_subcommand("run", "Start a run of a chain");
  add_client_options(*run, copt->client);
  run->add_option("chain", copt->chain, "The chain's name")->required();
  run->add_flag("--emergency", copt->emergency,
                "Skip soak periods (the chain must allow emergency runs)");
  run->add_option("--justification", copt->justification,
                  "Why (required with --emergency; recorded in the audit log)");
  run->add_flag("--follow", copt->follow, "Print progress until the run ends");
  output_option(*run, copt->output, {"text", "json"});
  run->footer(R"(Examples:
  patchflow chain run three-tier --follow
  patchflow chain run emergency-kev --emergency --justification "CVE-2026-1234 exploited" --follow

Exit status: 0 started (with --follow: succeeded); 1 with --follow: ended otherwise
(halted, blocked, failed, canceled); 2 bad input; 3 not reachable or not authorised.)");
  run->callback([copt, &exit_code] { exit_code = chain_run(*copt); });

  auto* list = chain->add_subcommand("list", "List chain runs, newest first");
  add_client_options(*list, copt->client);
  output_option(*list, copt->output, {"text", "json"});
  list->callback([copt, &exit_code] { exit_code = chain_list(*copt); });

  auto* status = chain->add_subcommand("status", "Show a chain run: stages, hosts, gates");
  add_client_options(*status, copt->client);
  status->add_option("id", copt->id, "The chain run's id (c_...)")->required();
  status->add_flag("--follow", copt->follow, "Print its log as it grows until it ends");
  output_option(*status, copt->output, {"text", "json"});
  status->footer("Exit status: 0 shown (with --follow: succeeded); 1 with --follow: ended "
                 "otherwise; 2 no such run; 3 not reachable.");
  status->callback([copt, &exit_code] { exit_code = chain_status(*copt); });

  auto* approve = chain->add_subcommand("approve", "Approve a stage that waits for approval");
  add_client_options(*approve, copt->client);
  approve->add_option("id", copt->id, "The chain run's id")->required();
  approve->add_option("stage", copt->stage, "The stage's name")->required();
  approve->footer("Needs the approver role (an operator cannot approve).");
  approve->callback([copt, &exit_code] { exit_code = chain_action(*copt, "approve"); });

  for (const char* action : {"pause", "resume", "cancel"}) {
    const std::string a = action;
    auto* cmd = chain->add_subcommand(
        a, a == "pause"    ? "Start no more hosts (hosts in work finish)"
           : a == "resume" ? "Continue a paused run"
                           : "Cancel the run: hosts in work are canceled, nothing more starts");
    add_client_options(*cmd, copt->client);
    cmd->add_option("id", copt->id, "The chain run's id")->required();
    cmd->add_option("--reason", copt->reason, "Recorded in the audit log");
    cmd->callback([copt, a, &exit_code] { exit_code = chain_action(*copt, a); });
  }
}

}  // namespace pf::cli
