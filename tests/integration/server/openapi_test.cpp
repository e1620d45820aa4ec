// SPDX-License-Identifier: Apache-2.0
// docs/openapi.yaml kept honest: the route table and the document list the same operations
// with the same access; a real server's answers (success and errors) and the requests sent to
// it are valid against the document; the validator itself rejects wrong documents.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "openapi_check.hpp"
#include "patchflow/core/advisory.hpp"
#include "patchflow/server/routes.hpp"
#include "patchflow/store_sqlite/sqlite_store.hpp"
#include "server_harness.hpp"

namespace {

using namespace pf::testing::server;
namespace oa = pf::testing::openapi;
namespace adv = pf::advisories;

const fs::path kDocument = fs::path(PF_SOURCE_DIR) / "docs" / "openapi.yaml";

oa::Document document() { return must(oa::Document::load(kDocument)); }

std::string lines(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += "\n  " + p;
  return out;
}

TEST(OpenApiDocument, LoadsAndIsWellFormed) {
  auto doc = oa::Document::load(kDocument);
  ASSERT_TRUE(doc) << pf::to_string(doc.error());
  EXPECT_FALSE(doc->operations().empty());
  const auto problems = doc->lint();
  EXPECT_TRUE(problems.empty()) << "docs/openapi.yaml:" << lines(problems);
}

TEST(OpenApiDocument, RoutesAndDocumentAgreeBothWays) {
  const auto doc = document();
  std::set<std::tuple<std::string, std::string>> table;
  for (const auto& r : pf::server::route_table()) {
    const std::string method(r.method);
    const std::string pattern(r.pattern);
    table.emplace(method, pattern);
    const oa::Operation* op = doc.find(method, pattern);
    if (op == nullptr) {
      ADD_FAILURE() << "docs/openapi.yaml lacks " << method << " " << pattern << " ("
                    << pf::server::access_name(r) << ": " << r.summary << ")";
      continue;
    }
    EXPECT_EQ(op->access, pf::server::access_name(r))
        << method << " " << pattern << ": x-patchflow-access differs from the route table";
  }
  for (const auto& op : doc.operations()) {
    EXPECT_TRUE(table.contains({op.method, op.path}))
        << "docs/openapi.yaml documents " << op.method << " " << op.path
        << ", which the route table (libs/server/src/routes.cpp) does not have";
  }
}

// The validator fails where it must: each wrong document below names its path and reason.
constexpr const char* kSample = R"(
openapi: 3.0.3
info: {title: sample, version: "1"}
security: [{apiToken: []}]
paths:
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getThing
      summary: one thing
      x-patchflow-access: viewer
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10}}
        - {name: kind, in: query, schema: {type: string, enum: [a, b]}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
        "204": {description: nothing yet}
        "401": {$ref: "#/components/responses/Failure"}
        "403": {$ref: "#/components/responses/Failure"}
components:
  securitySchemes:
    apiToken: {type: http, scheme: bearer}
  responses:
    Failure:
      description: failed
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error: {type: string}
    Thing:
      type: object
      additionalProperties: false
      required: [id, count, state, tags, when]
      properties:
        id: {type: string, maxLength: 8}
        count: {type: integer}
        ratio: {type: number, nullable: true}
        state: {type: string, enum: [new, old]}
        tags:
          type: array
          items: {type: string}
        when: {type: string, format: date-time}
        labels:
          type: object
          additionalProperties: {type: string}
        owner: {$ref: "#/components/schemas/Owner"}
    Owner:
      type: object
      required: [name]
      properties:
        name: {type: string}
)";

const json kGoodThing = {{"id", "t1"},
                         {"count", 3},
                         {"ratio", nullptr},
                         {"state", "new"},
                         {"tags", {"x", "y"}},
                         {"when", "2024-05-01T12:00:00Z"},
                         {"labels", {{"tier", "web"}}},
                         {"owner", {{"name", "olga"}}}};

// The one problem of `value` against Thing, which must mention every one of `words`.
void expect_one_problem(const oa::Document& doc, const json& value,
                        const std::vector<std::string>& words) {
  const auto problems = doc.check_schema("Thing", value);
  ASSERT_EQ(problems.size(), 1U) << value.dump() << lines(problems);
  for (const auto& w : words) {
    EXPECT_NE(problems[0].find(w), std::string::npos) << "'" << w << "' in: " << problems[0];
  }
}

TEST(OpenApiValidator, AcceptsTheRightDocumentAndRejectsWrongOnes) {
  const auto doc = must(oa::Document::parse(kSample, "sample"));
  EXPECT_TRUE(doc.lint().empty()) << lines(doc.lint());
  EXPECT_TRUE(doc.check_schema("Thing", kGoodThing).empty())
      << lines(doc.check_schema("Thing", kGoodThing));

  auto wrong = kGoodThing;
  wrong["count"] = "3";
  expect_one_problem(doc, wrong, {"$.count", "expected integer", "a string"});
  wrong = kGoodThing;
  wrong["count"] = 2.5;
  expect_one_problem(doc, wrong, {"$.count", "expected integer", "a number"});
  wrong = kGoodThing;
  wrong.erase("state");
  expect_one_problem(doc, wrong, {"$", "missing required property \"state\""});
  wrong = kGoodThing;
  wrong["state"] = "ancient";
  expect_one_problem(doc, wrong, {"$.state", "\"ancient\" is not one of"});
  wrong = kGoodThing;
  wrong["colour"] = "red";
  expect_one_problem(doc, wrong, {"$.colour", "additionalProperties: false"});
  wrong = kGoodThing;
  wrong["id"] = nullptr;
  expect_one_problem(doc, wrong, {"$.id", "not nullable"});
  wrong = kGoodThing;
  wrong["tags"][1] = 7;
  expect_one_problem(doc, wrong, {"$.tags[1]", "expected string"});
  wrong = kGoodThing;
  wrong["labels"]["tier"] = true;
  expect_one_problem(doc, wrong, {"$.labels.tier", "expected string", "a boolean"});
  wrong = kGoodThing;
  wrong["owner"] = json::object();
  expect_one_problem(doc, wrong, {"$.owner", "missing required property \"name\""});
  wrong = kGoodThing;
  wrong["when"] = "1 May 2024";
  expect_one_problem(doc, wrong, {"$.when", "RFC 3339"});
  wrong = kGoodThing;
  wrong["id"] = "much-too-long";
  expect_one_problem(doc, wrong, {"$.id", "maxLength"});
  expect_one_problem(doc, json::array(), {"$", "expected object", "an array"});

  // Answers: status, content type and body, each named with the operation.
  const std::string good = kGoodThing.dump();
  EXPECT_TRUE(doc.check_response("GET", "/things/{id}", 200, "application/json", good).empty());
  auto p = doc.check_response("GET", "/things/{id}", 404, "application/json", good);
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("GET /things/{id} → 404: status not documented"), std::string::npos) << p[0];
  p = doc.check_response("GET", "/things/{id}", 200, "text/plain", good);
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("content type 'text/plain'"), std::string::npos) << p[0];
  p = doc.check_response("GET", "/things/{id}", 200, "application/json", "{not json");
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("not JSON"), std::string::npos) << p[0];
  p = doc.check_response("GET", "/things/{id}", 401, "application/json", R"({"error":5})");
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("GET /things/{id} → 401: $.error: expected string"), std::string::npos)
      << p[0];
  p = doc.check_response("POST", "/things/{id}", 200, "application/json", good);
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("not in the document"), std::string::npos) << p[0];
  // A 204 has no body: none is right whatever content type the answer names; one is wrong.
  EXPECT_TRUE(doc.check_response("GET", "/things/{id}", 204, "application/json", "").empty());
  EXPECT_TRUE(doc.check_response("GET", "/things/{id}", 204, "", "").empty());
  p = doc.check_response("GET", "/things/{id}", 204, "application/json", good);
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("GET /things/{id} → 204: a body in a 204 answer"), std::string::npos)
      << p[0];

  // Requests: query parameters declared and of their type, no body where none is taken.
  EXPECT_TRUE(doc.check_request("GET", "/things/{id}", "limit=5&kind=a", nullptr).empty());
  p = doc.check_request("GET", "/things/{id}", "limit=5&colour=red", nullptr);
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("query parameter 'colour' is not documented"), std::string::npos) << p[0];
  p = doc.check_request("GET", "/things/{id}", "limit=many", nullptr);
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("?limit: expected integer"), std::string::npos) << p[0];
  p = doc.check_request("GET", "/things/{id}", "limit=11", nullptr);
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("above maximum"), std::string::npos) << p[0];
  p = doc.check_request("GET", "/things/{id}", "kind=c", nullptr);
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("?kind: \"c\" is not one of"), std::string::npos) << p[0];
  p = doc.check_request("GET", "/things/{id}", "", json::object());
  ASSERT_EQ(p.size(), 1U) << lines(p);
  EXPECT_NE(p[0].find("takes none"), std::string::npos) << p[0];
}

TEST(OpenApiValidator, LintFindsBrokenDocuments) {
  const auto problems_of = [](std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return must(oa::Document::parse(text, "sample")).lint();
  };
  const auto expect_lint = [&](const std::string& from, const std::string& to,
                               const std::string& words) {
    const auto p = problems_of(kSample, from, to);
    bool found = false;
    for (const auto& line : p) found = found || line.find(words) != std::string::npos;
    EXPECT_TRUE(found) << "'" << words << "' after replacing '" << from << "':" << lines(p);
  };
  expect_lint("schemas/Owner\"}", "schemas/Ownr\"}", "#/components/schemas/Ownr names nothing");
  expect_lint("type: object\n      required: [name]", "anyOf: []\n      required: [name]",
              "keyword 'anyOf' is not checked");
  expect_lint("x-patchflow-access: viewer", "x-patchflow-access: everyone",
              "is not one of public, agent");
  expect_lint("- {name: id, in: path, required: true, schema: {type: string}}", "[]",
              "path parameter {id} not declared");
  expect_lint("\"403\": {$ref: \"#/components/responses/Failure\"}", "",
              "must document 403");
  expect_lint("required: [id, count,", "required: [id, cnt, count,",
              "required \"cnt\" is not among its properties");
  expect_lint("summary: one thing", "summary: ''", "no summary");
  expect_lint("\"204\": {description: nothing yet}",
              "\"204\": {$ref: \"#/components/responses/Failure\"}",
              "GET /things/{id} 204: a 204 answer has no body");
  // Not YAML, not OpenAPI: errors, not crashes.
  EXPECT_FALSE(oa::Document::parse("paths: [unclosed", "bad"));
  EXPECT_FALSE(oa::Document::parse("openapi: 3.1.0\npaths: {}\n", "bad"));
  EXPECT_FALSE(oa::Document::load("/nonexistent/openapi.yaml"));
}

// --- a real server against the document --------------------------------------------------

adv::Advisory advisory(std::string id, std::string package, std::string fixed,
                       adv::Severity severity, std::string cve) {
  adv::Advisory a;
  a.id = std::move(id);
  a.severity = severity;
  a.cves = {std::move(cve)};
  a.summary = "test advisory " + a.id;
  a.source = "debian";
  a.published = 1700000000;
  adv::Affected e;
  e.ecosystem = "Debian:12";
  e.package = std::move(package);
  e.package_kind = adv::PackageKind::source;
  e.severity = severity;
  e.events = {{adv::EventType::introduced, "0"}, {adv::EventType::fixed, std::move(fixed)}};
  a.affected.push_back(std::move(e));
  return a;
}

const json kInventory = {
    {"hash", "sha256:openapi"},
    {"packages",
     {{{"name", "openssl"},
       {"arch", "amd64"},
       {"version", "3.0.11-1~deb12u1"},
       {"source", "openssl"},
       {"source_version", "3.0.11-1~deb12u1"}},
      {{"name", "bash"},
       {"arch", "amd64"},
       {"version", "5.2.15-2+b2"},
       {"source", "bash"},
       {"source_version", "5.2.15-2"}}}},
    {"updates",
     {{{"name", "openssl"},
       {"arch", "amd64"},
       {"installed", "3.0.11-1~deb12u1"},
       {"candidate", "3.0.13-1~deb12u1"},
       {"origin", "Debian-Security"},
       {"security", true},
       {"advisories", {"DSA-1000-1"}},
       {"held_reason", ""}}}}};

/// What the document must say about a request sent: it is valid (the normal case), the document
/// refuses it too (a 400 the schemas can express), or it is not checked (a 400 they cannot).
enum class Request { valid, invalid, unchecked };

std::string_view code_for(int status) {
  switch (status) {
    case 400: return "invalid_request";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    default: return "";
  }
}

class OpenApiAnswers : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = must(pf::store::SqliteStore::open(h_.database()));
    must(store_->put_advisories(std::vector<adv::Advisory>{
        advisory("DSA-1000-1", "openssl", "3.0.13-1~deb12u1", adv::Severity::high,
                 "CVE-2024-1000"),
        advisory("DSA-1100-1", "bash", "5.2.15-3", adv::Severity::medium, "CVE-2024-1100")}));
    // One CVE with every score, so that epss and cvss are numbers somewhere.
    adv::CveInfo cve;
    cve.id = "CVE-2024-1000";
    cve.cvss3_score = 7.5;
    cve.epss = 0.25;
    cve.epss_percentile = 0.9;
    cve.kev = true;
    cve.kev_date_added = "2024-05-01";
    must(store_->put_cves(std::vector<adv::CveInfo>{cve},
                          static_cast<unsigned>(pf::store::CveFields::cvss) |
                              static_cast<unsigned>(pf::store::CveFields::epss) |
                              static_cast<unsigned>(pf::store::CveFields::kev)));
  }

  /// One call: the request checked against the document, the answer's status compared with
  /// `status`, and the answer checked against the document (for `pattern`). For an error, its
  /// code must fit the status and, when given, `field` must be the one named.
  Answer call(httplib::SSLClient& cli, const std::string& method, const std::string& pattern,
              const std::string& path, int status, const json& body = nullptr,
              const std::string& token = "", const std::string& field = "",
              Request request = Request::valid) {
    const std::string where = method + " " + path;
    const auto q = path.find('?');
    const std::string query = q == std::string::npos ? "" : path.substr(q + 1);
    const auto req = doc_.check_request(method, pattern, query, body);
    if (request == Request::valid) {
      EXPECT_TRUE(req.empty()) << where << lines(req);
    }
    if (request == Request::invalid) {
      EXPECT_FALSE(req.empty()) << where << ": the server refuses it, the document does not";
    }
    const Answer a = send(cli, method, path, body.is_null() ? "" : body.dump(), token);
    EXPECT_TRUE(a.responded) << where;
    EXPECT_EQ(a.status, status) << where << ": " << a.body.substr(0, 500);
    const auto problems = doc_.check_response(method, pattern, a.status, a.content_type, a.body);
    EXPECT_TRUE(problems.empty()) << where << lines(problems) << "\nbody: " << a.body.substr(0, 2000);
    if (a.status >= 400 && a.doc.is_object() && a.doc.contains("error")) {
      const auto code = code_for(a.status);
      if (!code.empty()) {
        EXPECT_EQ(a.doc["error"].value("code", ""), code) << where;
      }
      if (!field.empty()) {
        EXPECT_EQ(a.doc["error"].value("field", ""), field) << where;
      }
    }
    if (a.status == status) checked_.emplace(method, pattern, status);
    return a;
  }

  Answer api(const std::string& method, const std::string& pattern, const std::string& path,
             int status, const json& body = nullptr, std::string token = "",
             const std::string& field = "", Request request = Request::valid) {
    auto cli = h_.client();
    if (token.empty()) token = h_.admin_token();
    return call(*cli, method, pattern, path, status, body, token, field, request);
  }

  /// Sends `path` (GET, admin) until `done(answer)` or 20 s; the last answer. Not checked:
  /// the caller checks the call it cares about once the server has caught up.
  template <class Done>
  Answer poll(const std::string& path, Done done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    Answer a = h_.api("GET", path);
    while (!done(a) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      a = h_.api("GET", path);
    }
    return a;
  }

  /// A job using every part of the job document (docs/jobs.md) the schema describes.
  static json job(const std::string& name) {
    return {{"job", name},
            {"preconditions", json::array({{{"id", "disk"},
                                            {"type", "check"},
                                            {"check", "disk_free"},
                                            {"path", "/"},
                                            {"min_free_mb", 500}}})},
            {"retry", {{"interval_s", 60}, {"until", "2030-01-01T00:00:00Z"}}},
            {"baseline",
             {{"probes", json::array({{{"name", "web"},
                                       {"kind", "http"},
                                       {"url", "http://127.0.0.1:8080/health"},
                                       {"timeout_s", 5}}})},
              {"rollback_on_regression", true}}},
            {"pre", json::array({{{"id", "stop-app"},
                                  {"type", "command"},
                                  {"argv", {"/usr/bin/systemctl", "stop", "app"}},
                                  {"env", {{"LANG", "C"}}},
                                  {"timeout_s", 120}}})},
            {"install", {{"select", "security"}, {"conffiles", "keep-old"}}},
            {"reboot",
             {{"policy", "if_required"},
              {"max_reboots", 1},
              {"after", json::array({{{"id", "ssh-up"},
                                      {"type", "wait_for"},
                                      {"check", {{"check", "port_open"}, {"port", 22}}},
                                      {"interval_s", 2},
                                      {"timeout_s", 300}}})}}},
            {"post", json::array({{{"id", "validate"},
                                   {"type", "check"},
                                   {"check", "http_ok"},
                                   {"url", "http://127.0.0.1:8080/"},
                                   {"expect_status", 200}}})},
            {"rollback", {{"when", "on_failure"}, {"mode", "packages"}}}};
  }

  /// A user of `role` and a token for it.
  std::string user_token(const std::string& name, const std::string& role) {
    api("POST", "/api/v1/users", "/api/v1/users", 201, {{"name", name}, {"role", role}});
    auto t = api("POST", "/api/v1/api-tokens", "/api/v1/api-tokens", 201, {{"user", name}});
    return t.doc.value("token", "");
  }

  /// Policy documents and a chain run through every route of docs/api.md, "Policies and
  /// chains": the agent's host (tier=web, an approvable openssl update) is the chain's one host.
  void policies_and_chains(const std::string& viewer, const std::string& op) {
    const std::string approver = user_token("alma", "approver");
    const json files = {
        {"files",
         {{{"name", "baselines.yaml"},
           {"source",
            "apiVersion: patchflow/v1\nkind: Baseline\nmetadata: {name: sec-high}\n"
            "spec: {classifications: [security], min_severity: high}\n---\n"
            "apiVersion: patchflow/v1\nkind: Window\nmetadata: {name: spare}\n"
            "spec: {schedule: \"daily 22:00\", duration: 6h, timezone: UTC}\n"}},
          {{"name", "web.yaml"},
           {"source",
            "apiVersion: patchflow/v1\nkind: Chain\nmetadata: {name: web-chain}\nspec:\n"
            "  patches: {baseline: sec-high}\n  stages:\n    - name: web\n"
            "      targets: {selector: \"tier=web\"}\n      approval: {required: true}\n"
            "      post:\n        - {name: web-healthy, run: \"true\"}\n"}}}}};
    json dry = files;
    dry["dry_run"] = true;
    auto tried = api("POST", "/api/v1/policies", "/api/v1/policies", 200, dry, op);
    EXPECT_EQ(tried.doc["documents"].size(), 3U) << tried.body;
    auto applied = api("POST", "/api/v1/policies", "/api/v1/policies", 200, files, op);
    ASSERT_EQ(applied.doc["documents"].size(), 3U) << applied.body;
    EXPECT_EQ(applied.doc["documents"][0].value("outcome", ""), "created");
    api("POST", "/api/v1/policies", "/api/v1/policies", 400,
        {{"files", {{{"name", "bad.yaml"}, {"source", "kind: [unclosed"}}}}}, op,
        "files[0].source", Request::unchecked);
    api("POST", "/api/v1/policies", "/api/v1/policies", 400,
        {{"files", json::array()}, {"dryrun", true}}, op, "dryrun", Request::invalid);
    api("GET", "/api/v1/policies", "/api/v1/policies", 200, nullptr, viewer);
    auto chains = api("GET", "/api/v1/policies", "/api/v1/policies?kind=chains", 200, nullptr,
                      viewer);
    EXPECT_EQ(chains.doc["policies"].size(), 1U) << chains.body;
    api("GET", "/api/v1/policies", "/api/v1/policies?kind=widgets", 400, nullptr, viewer, "kind",
        Request::unchecked);
    api("GET", "/api/v1/policies/{kind}/{name}", "/api/v1/policies/chain/web-chain", 200,
        nullptr, viewer);
    api("GET", "/api/v1/policies/{kind}/{name}", "/api/v1/policies/chain/nowhere", 404, nullptr,
        viewer, "name");
    api("GET", "/api/v1/policies/{kind}/{name}", "/api/v1/policies/widget/x", 400, nullptr,
        viewer, "kind");
    api("DELETE", "/api/v1/policies/{kind}/{name}", "/api/v1/policies/baseline/sec-high", 409,
        nullptr, op, "name");
    api("DELETE", "/api/v1/policies/{kind}/{name}", "/api/v1/policies/window/spare", 200,
        nullptr, op);
    api("DELETE", "/api/v1/policies/{kind}/{name}", "/api/v1/policies/window/spare", 404,
        nullptr, op, "name");

    const std::string plan_of = "/api/v1/chains/web-chain/plan";
    auto plan = api("GET", "/api/v1/chains/{name}/plan", plan_of, 200, nullptr, viewer);
    ASSERT_EQ(plan.doc["stages"].size(), 1U) << plan.body;
    EXPECT_EQ(plan.doc["stages"][0]["hosts"].size(), 1U) << plan.body;
    api("GET", "/api/v1/chains/{name}/plan", plan_of + "?emergency=true", 409, nullptr, viewer);
    api("GET", "/api/v1/chains/{name}/plan", "/api/v1/chains/nowhere/plan", 404, nullptr, viewer,
        "name");
    const std::string runs_of = "/api/v1/chains/web-chain/runs";
    api("POST", "/api/v1/chains/{name}/runs", runs_of, 400, {{"emergency", true}}, op,
        "justification", Request::unchecked);
    api("POST", "/api/v1/chains/{name}/runs", runs_of, 409,
        {{"emergency", true}, {"justification", "test"}}, op, "emergency");
    api("POST", "/api/v1/chains/{name}/runs", "/api/v1/chains/nowhere/runs", 404,
        json::object(), op, "name");
    auto started = api("POST", "/api/v1/chains/{name}/runs", runs_of, 201, json::object(), op);
    ASSERT_EQ(started.status, 201) << started.body;
    const std::string run = "/api/v1/chain-runs/" + started.doc.value("id", "");
    api("GET", "/api/v1/chain-runs", "/api/v1/chain-runs?active=true", 200, nullptr, viewer);

    // The orchestrator's tick: the stage waits for approval, then (approved) its host works.
    const auto stage_is = [](const std::string& field, const std::string& value) {
      return [field, value](const Answer& a) {
        return a.status == 200 && !a.doc["stages"].empty() &&
               a.doc["stages"][0].value(field, "") == value;
      };
    };
    ASSERT_TRUE(stage_is("status", "waiting_approval")(poll(run, stage_is("status", "waiting_approval"))));
    api("GET", "/api/v1/chain-runs/{id}", run, 200, nullptr, viewer);
    api("POST", "/api/v1/chain-runs/{id}/approve", run + "/approve", 403, {{"stage", "web"}}, op);
    api("POST", "/api/v1/chain-runs/{id}/approve", run + "/approve", 400, {{"stage", 7}}, approver,
        "stage", Request::invalid);
    api("POST", "/api/v1/chain-runs/{id}/approve", run + "/approve", 202, {{"stage", "web"}},
        approver);
    ASSERT_TRUE(stage_is("approved_by", "alma")(poll(run, stage_is("approved_by", "alma"))));
    const auto dispatched = [](const Answer& a) {
      return a.status == 200 && !a.doc["stages"].empty() &&
             !a.doc["stages"][0]["hosts"].empty() &&
             a.doc["stages"][0]["hosts"][0]["job_run_id"].is_string();
    };
    EXPECT_TRUE(dispatched(poll(run, dispatched)));
    auto detail = api("GET", "/api/v1/chain-runs/{id}", run + "?log_after=0", 200, nullptr, viewer);
    EXPECT_FALSE(detail.doc["log"].empty()) << detail.body;
    api("POST", "/api/v1/chain-runs/{id}/pause", run + "/pause", 202,
        {{"reason", "incident 4711"}}, op);
    api("POST", "/api/v1/chain-runs/{id}/resume", run + "/resume", 202, json::object(), op);
    api("POST", "/api/v1/chain-runs/{id}/cancel", run + "/cancel", 202, {{"reason", "done"}}, op);
    const auto ended = [](const Answer& a) { return a.status == 200 && !a.doc.value("active", true); };
    ASSERT_TRUE(ended(poll(run, ended))) << "the cancel was not consumed";
    api("GET", "/api/v1/chain-runs/{id}", run, 200, nullptr, viewer);
    api("POST", "/api/v1/chain-runs/{id}/approve", run + "/approve", 409, {{"stage", "web"}},
        approver, "id");
    api("POST", "/api/v1/chain-runs/{id}/cancel", "/api/v1/chain-runs/c_0000000000000000/cancel",
        404, json::object(), op, "id");
    api("GET", "/api/v1/chain-runs/{id}", "/api/v1/chain-runs/c_0000000000000000", 404, nullptr,
        viewer, "id");
    api("GET", "/api/v1/chain-runs/{id}", run + "?log_after=-1", 400, nullptr, viewer,
        "log_after", Request::invalid);
  }

  TempDir tmp_;
  Harness h_{tmp_.path(), [](pf::server::Config& c) {
               c.max_body_bytes = 256 * 1024;
               c.findings_interval = std::chrono::seconds(1);
             }};
  const oa::Document doc_ = document();
  std::unique_ptr<pf::store::SqliteStore> store_;
  std::set<std::tuple<std::string, std::string, int>> checked_;
};

TEST_F(OpenApiAnswers, EveryRouteAnswersAsDocumented) {
  // Probes and the CA (not JSON: the content type is what is checked).
  auto anon = h_.client();
  call(*anon, "GET", "/healthz", "/healthz", 200);
  call(*anon, "GET", "/readyz", "/readyz", 200);
  call(*anon, "GET", "/metrics", "/metrics", 200);
  call(*anon, "GET", "/agent/v1/ca", "/agent/v1/ca", 200);

  // Users and tokens of each role that the calls below use.
  const std::string viewer = user_token("vera", "viewer");
  const std::string op = user_token("otto", "operator");
  api("GET", "/api/v1/whoami", "/api/v1/whoami", 200, nullptr, viewer);

  // Enrollment: two hosts, one with labels from its token.
  auto et = api("POST", "/api/v1/enrollment-tokens", "/api/v1/enrollment-tokens", 201,
                {{"expires_in", "1h"}, {"labels", {{"tier", "web"}}}}, op);
  const std::string token = et.doc.value("token", "");
  const auto kc = must(pf::pki::make_key_and_csr("openapi"));
  const json enroll = {{"token", token},
                       {"csr_pem", kc.csr_pem},
                       {"hostname", "web-1.example.org"},
                       {"facts", Harness::facts()}};
  auto enrolled = call(*anon, "POST", "/agent/v1/enroll", "/agent/v1/enroll", 201, enroll);
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  // The same token again: used up.
  call(*anon, "POST", "/agent/v1/enroll", "/agent/v1/enroll", 401, enroll, "", "token");
  Agent agent;
  agent.host_id = enrolled.doc.value("host_id", "");
  agent.cert_pem = enrolled.doc.value("cert_pem", "");
  agent.cert_file = tmp_.path() / "agent.crt";
  agent.key_file = tmp_.path() / "agent.key";
  must(pf::pki::save_pem(agent.key_file, kc.key_pem, pf::pki::kKeyFileMode));
  must(pf::pki::save_pem(agent.cert_file, agent.cert_pem, pf::pki::kCertFileMode));
  const Agent other = h_.enroll(h_.enrollment_token(), "db-1.example.org");

  // The agent: check-in, inventory, check-in again; errors of the gateway.
  auto cli = h_.client(&agent);
  const json checkin = {{"facts", Harness::facts()}, {"inventory_hash", "sha256:openapi"}};
  auto first = call(*cli, "POST", "/agent/v1/checkin", "/agent/v1/checkin", 200, checkin);
  EXPECT_EQ(first.doc.value("inventory_needed", false), true);
  call(*cli, "PUT", "/agent/v1/inventory", "/agent/v1/inventory", 200, kInventory);
  auto second = call(*cli, "POST", "/agent/v1/checkin", "/agent/v1/checkin", 200, checkin);
  EXPECT_EQ(second.doc.value("inventory_needed", true), false);
  call(*cli, "PUT", "/agent/v1/inventory", "/agent/v1/inventory", 400,
       {{"hash", "h"}, {"packages", {{{"name", "x"}}}}}, "", "packages[0].version",
       Request::invalid);
  call(*anon, "POST", "/agent/v1/checkin", "/agent/v1/checkin", 401, checkin);

  // Every read of the operator API, with data in it.
  const std::string id = agent.host_id;
  auto hosts = api("GET", "/api/v1/hosts", "/api/v1/hosts?limit=1", 200, nullptr, viewer);
  EXPECT_EQ(hosts.doc["hosts"].size(), 1U);
  EXPECT_NE(hosts.doc.value("next_cursor", ""), "");
  api("GET", "/api/v1/hosts",
      "/api/v1/hosts?limit=1&cursor=" + hosts.doc.value("next_cursor", ""), 200, nullptr, viewer);
  auto web = api("GET", "/api/v1/hosts",
                 "/api/v1/hosts?label=tier=web&ecosystem=Debian:12&name_prefix=web"
                 "&include_revoked=true",
                 200, nullptr, viewer);
  EXPECT_EQ(web.doc["hosts"].size(), 1U) << web.body;
  auto detail = api("GET", "/api/v1/hosts/{id}", "/api/v1/hosts/" + id, 200, nullptr, viewer);
  EXPECT_EQ(detail.doc["packages"].size(), 2U);
  EXPECT_EQ(detail.doc["updates"].size(), 1U);
  auto findings = api("GET", "/api/v1/hosts/{id}/findings", "/api/v1/hosts/" + id + "/findings",
                      200, nullptr, viewer);
  ASSERT_EQ(findings.doc["findings"].size(), 2U) << findings.body;
  EXPECT_TRUE(findings.doc["findings"][0]["epss"].is_number()) << "a number somewhere";
  EXPECT_TRUE(findings.doc["findings"][1]["epss"].is_null()) << "a null somewhere";
  auto advisories = api("GET", "/api/v1/advisories", "/api/v1/advisories?limit=1", 200, nullptr,
                        viewer);
  EXPECT_EQ(advisories.doc["advisories"].size(), 1U);
  api("GET", "/api/v1/advisories",
      "/api/v1/advisories?ecosystem=Debian:12&severity=high&kev=true&cursor=", 200, nullptr,
      viewer);
  api("GET", "/api/v1/enrollment-tokens", "/api/v1/enrollment-tokens", 200, nullptr, op);
  api("GET", "/api/v1/api-tokens", "/api/v1/api-tokens", 200);
  auto veras = api("GET", "/api/v1/api-tokens", "/api/v1/api-tokens?user=vera", 200);
  api("GET", "/api/v1/users", "/api/v1/users", 200);

  // Findings across the fleet: kept by the server in the background, so wait until both of
  // the host's are there, then check the calls.
  const auto two = [](const Answer& a) { return a.status == 200 && a.doc["findings"].size() == 2; };
  ASSERT_TRUE(two(poll("/api/v1/findings", two))) << "the findings updater did not catch up";
  auto fleet = api("GET", "/api/v1/findings", "/api/v1/findings?limit=1", 200, nullptr, viewer);
  ASSERT_EQ(fleet.doc["findings"].size(), 1U) << fleet.body;
  EXPECT_NE(fleet.doc.value("next_cursor", ""), "");
  api("GET", "/api/v1/findings",
      "/api/v1/findings?limit=1&cursor=" + fleet.doc.value("next_cursor", ""), 200, nullptr,
      viewer);
  auto picked = api("GET", "/api/v1/findings",
                    "/api/v1/findings?status=any&severity=high&kev=true&host=" + id +
                        "&advisory=DSA-1000-1&package=openssl&label=tier=web"
                        "&include_revoked=true",
                    200, nullptr, viewer);
  ASSERT_EQ(picked.doc["findings"].size(), 1U) << picked.body;
  EXPECT_TRUE(picked.doc["findings"][0]["epss"].is_number()) << "a number somewhere";
  EXPECT_TRUE(picked.doc["findings"][0]["fixed_at"].is_null()) << "a null somewhere";

  // Runs: queued, handed out by check-in and long-poll, reported, listed; then one canceled.
  const std::string runs_of = "/api/v1/hosts/" + id + "/runs";
  auto created = api("POST", "/api/v1/hosts/{id}/runs", runs_of, 201,
                     {{"job", job("weekly-web")}, {"expires_in", "2h"}}, op);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string run_id = created.doc.value("id", "");
  EXPECT_EQ(created.doc.value("state", ""), "queued");
  auto with_work = call(*cli, "POST", "/agent/v1/checkin", "/agent/v1/checkin", 200, checkin);
  ASSERT_EQ(with_work.doc["work"].size(), 1U) << with_work.body;
  EXPECT_EQ(with_work.doc["work"][0].value("run_id", ""), run_id);
  auto work = call(*cli, "GET", "/agent/v1/wait", "/agent/v1/wait?timeout=0", 200);
  EXPECT_EQ(work.doc.value("run_id", ""), run_id);
  const std::string events_of = "/agent/v1/runs/" + run_id + "/events";
  const json report = {
      {"events", json::array({{{"id", run_id + ":1"},
                               {"seq", 1},
                               {"kind", "state"},
                               {"state", "running"},
                               {"body", {{"step", "start"}}}},
                              {{"id", run_id + ":2"},
                               {"seq", 2},
                               {"kind", "step"},
                               {"body", {{"step_id", "disk"}, {"status", "passed"}}}}})}};
  auto reported = call(*cli, "POST", "/agent/v1/runs/{id}/events", events_of, 200, report);
  EXPECT_EQ(reported.doc.value("accepted", -1), 2);
  auto again = call(*cli, "POST", "/agent/v1/runs/{id}/events", events_of, 200, report);
  EXPECT_EQ(again.doc.value("duplicates", -1), 2);
  auto finished = call(*cli, "POST", "/agent/v1/runs/{id}/events", events_of, 200,
                       {{"events", json::array({{{"id", run_id + ":3"},
                                                 {"seq", 3},
                                                 {"kind", "outcome"},
                                                 {"state", "succeeded"},
                                                 {"body", {{"outcome", "succeeded"}}}}})}});
  EXPECT_EQ(finished.doc.value("state", ""), "succeeded");
  auto run = api("GET", "/api/v1/runs/{id}", "/api/v1/runs/" + run_id, 200, nullptr, viewer);
  EXPECT_EQ(run.doc["event_log"].size(), 3U) << run.body;
  EXPECT_TRUE(run.doc["outcome"].is_object()) << run.body;
  // Nothing pending now: a wait with timeout=0 is 204 at once, with no body.
  auto idle = call(*cli, "GET", "/agent/v1/wait", "/agent/v1/wait?timeout=0", 204);
  EXPECT_TRUE(idle.body.empty()) << idle.body;

  auto queued = api("POST", "/api/v1/hosts/{id}/runs", runs_of, 201, {{"job", job("again")}}, op);
  const std::string second_id = queued.doc.value("id", "");
  auto canceled =
      api("DELETE", "/api/v1/runs/{id}", "/api/v1/runs/" + second_id, 200, nullptr, op);
  EXPECT_EQ(canceled.doc.value("state", ""), "canceled");
  auto runs = api("GET", "/api/v1/runs", "/api/v1/runs?limit=1", 200, nullptr, viewer);
  ASSERT_EQ(runs.doc["runs"].size(), 1U) << runs.body;
  EXPECT_NE(runs.doc.value("next_cursor", ""), "");
  api("GET", "/api/v1/runs", "/api/v1/runs?limit=1&cursor=" + runs.doc.value("next_cursor", ""),
      200, nullptr, viewer);
  auto succeeded = api("GET", "/api/v1/runs",
                       "/api/v1/runs?host=" + id + "&state=succeeded", 200, nullptr, viewer);
  EXPECT_EQ(succeeded.doc["runs"].size(), 1U) << succeeded.body;

  // Errors of runs and the agent's work routes.
  json mine = job("mine");
  mine["run_id"] = "mine";
  api("POST", "/api/v1/hosts/{id}/runs", runs_of, 400, {{"job", mine}}, op, "job.run_id",
      Request::invalid);
  json broken = job("broken");
  broken["pre"][0]["timeout_s"] = 0;
  api("POST", "/api/v1/hosts/{id}/runs", runs_of, 400, {{"job", broken}}, op,
      "job.pre[0].timeout_s", Request::invalid);
  api("POST", "/api/v1/hosts/{id}/runs", runs_of, 400, {{"job", job("x")}, {"expires_in", "5s"}},
      op, "expires_in", Request::unchecked);
  api("POST", "/api/v1/hosts/{id}/runs", "/api/v1/hosts/h_0000000000000000/runs", 404,
      {{"job", job("nowhere")}}, op, "id");
  api("GET", "/api/v1/runs/{id}", "/api/v1/runs/r_000000000000000000000000", 404, nullptr, viewer,
      "id");
  api("DELETE", "/api/v1/runs/{id}", "/api/v1/runs/r_000000000000000000000000", 404, nullptr, op,
      "id");
  api("DELETE", "/api/v1/runs/{id}", "/api/v1/runs/" + second_id, 409, nullptr, op, "id");
  api("DELETE", "/api/v1/runs/{id}", "/api/v1/runs/" + run_id, 409, nullptr, op, "id");
  api("GET", "/api/v1/runs", "/api/v1/runs?state=lost", 400, nullptr, viewer, "state",
      Request::invalid);
  api("GET", "/api/v1/findings", "/api/v1/findings?status=closed", 400, nullptr, viewer,
      "status", Request::invalid);
  call(*cli, "GET", "/agent/v1/wait", "/agent/v1/wait?timeout=-1", 400, nullptr, "", "timeout",
       Request::invalid);
  call(*cli, "POST", "/agent/v1/runs/{id}/events", events_of, 400,
       {{"events", json::array({{{"id", "x"}, {"seq", -1}, {"kind", "step"},
                                 {"body", json::object()}}})}},
       "", "events[0].seq", Request::invalid);
  call(*cli, "POST", "/agent/v1/runs/{id}/events",
       "/agent/v1/runs/r_000000000000000000000000/events", 404, report, "", "id");
  {
    // A report for the canceled run: 409 with its own code, which tells the agent to stop.
    const json late = {{"events", json::array({{{"id", second_id + ":1"},
                                                {"seq", 1},
                                                {"kind", "step"},
                                                {"body", json::object()}}})}};
    const std::string path = "/agent/v1/runs/" + second_id + "/events";
    const auto req = doc_.check_request("POST", "/agent/v1/runs/{id}/events", "", late);
    EXPECT_TRUE(req.empty()) << lines(req);
    const Answer a = send(*cli, "POST", path, late.dump());
    EXPECT_EQ(a.status, 409) << a.body;
    EXPECT_EQ(a.doc["error"].value("code", ""), "canceled") << a.body;
    EXPECT_EQ(a.doc["error"].value("field", ""), "id") << a.body;
    const auto p = doc_.check_response("POST", "/agent/v1/runs/{id}/events", a.status,
                                       a.content_type, a.body);
    EXPECT_TRUE(p.empty()) << lines(p) << "\nbody: " << a.body;
  }

  // Changes.
  api("PUT", "/api/v1/hosts/{id}/labels", "/api/v1/hosts/" + id + "/labels", 200,
      {{"labels", {{"tier", "web"}, {"env", "prod"}}}}, op);
  api("PUT", "/api/v1/users/{name}", "/api/v1/users/vera", 200,
      {{"role", "approver"}, {"password", "a long enough passphrase"}});
  auto extra = api("POST", "/api/v1/api-tokens", "/api/v1/api-tokens", 201,
                   {{"user", "vera"}, {"role", "viewer"}, {"expires_in", "7d"}});
  api("DELETE", "/api/v1/api-tokens/{token_id}",
      "/api/v1/api-tokens/" + extra.doc.value("token_id", ""), 200);
  api("DELETE", "/api/v1/hosts/{id}", "/api/v1/hosts/" + other.host_id, 200, nullptr, op);
  api("POST", "/api/v1/hosts/{id}/runs", "/api/v1/hosts/" + other.host_id + "/runs", 409,
      {{"job", job("revoked")}}, op, "id");
  api("GET", "/api/v1/hosts/{id}", "/api/v1/hosts/" + other.host_id, 200, nullptr, viewer);
  api("POST", "/api/v1/audit/verify", "/api/v1/audit/verify", 200);

  // Password login (vera has a password now) and logout of the session it gives.
  const json login = {{"user", "vera"}, {"password", "a long enough passphrase"}};
  auto session = call(*anon, "POST", "/api/v1/login", "/api/v1/login", 201, login);
  const std::string pfs = session.doc.value("token", "");
  EXPECT_TRUE(pfs.starts_with("pfs_")) << session.body;
  auto me = api("GET", "/api/v1/whoami", "/api/v1/whoami", 200, nullptr, pfs);
  EXPECT_EQ(me.doc.value("user", ""), "vera");
  api("POST", "/api/v1/logout", "/api/v1/logout", 200, nullptr, pfs);
  api("GET", "/api/v1/whoami", "/api/v1/whoami", 401, nullptr, pfs);
  call(*anon, "POST", "/api/v1/login", "/api/v1/login", 401,
       {{"user", "vera"}, {"password", "not the passphrase"}});
  call(*anon, "POST", "/api/v1/login", "/api/v1/login", 400, {{"user", "vera"}}, "", "password",
       Request::invalid);

  // A fixed finding: the host's bash is upgraded past the advisory's fix.
  json upgraded = kInventory;
  upgraded["hash"] = "sha256:openapi-2";
  upgraded["packages"][1]["version"] = "5.2.15-3";
  upgraded["packages"][1]["source_version"] = "5.2.15-3";
  call(*cli, "PUT", "/agent/v1/inventory", "/agent/v1/inventory", 200, upgraded);
  const auto one = [](const Answer& a) { return a.status == 200 && a.doc["findings"].size() == 1; };
  ASSERT_TRUE(one(poll("/api/v1/findings?status=fixed", one))) << "no fixed finding";
  auto fixed = api("GET", "/api/v1/findings", "/api/v1/findings?status=fixed", 200, nullptr,
                   viewer);
  ASSERT_EQ(fixed.doc["findings"].size(), 1U) << fixed.body;
  EXPECT_EQ(fixed.doc["findings"][0].value("status", ""), "fixed");
  EXPECT_TRUE(fixed.doc["findings"][0]["fixed_at"].is_string()) << fixed.body;
  auto audit = api("GET", "/api/v1/audit", "/api/v1/audit?limit=2", 200, nullptr, viewer);
  EXPECT_NE(audit.doc.value("next_cursor", ""), "");
  api("GET", "/api/v1/audit", "/api/v1/audit?cursor=" + audit.doc.value("next_cursor", ""), 200,
      nullptr, viewer);

  // Renewal last: the old certificate names nobody afterwards.
  const auto next = must(pf::pki::make_key_and_csr("openapi-next"));
  call(*cli, "POST", "/agent/v1/renew", "/agent/v1/renew", 200, {{"csr_pem", next.csr_pem}});
  call(*h_.client(&agent), "POST", "/agent/v1/checkin", "/agent/v1/checkin", 401, checkin);
  call(*h_.client(&other), "PUT", "/agent/v1/inventory", "/agent/v1/inventory", 403, kInventory);

  // Error answers of the operator API.
  call(*anon, "GET", "/api/v1/hosts", "/api/v1/hosts", 401);
  api("GET", "/api/v1/users", "/api/v1/users", 403, nullptr, viewer);
  api("GET", "/api/v1/hosts/{id}", "/api/v1/hosts/h_0000000000000000", 404, nullptr, viewer, "id");
  api("GET", "/api/v1/hosts", "/api/v1/hosts?limit=0", 400, nullptr, viewer, "limit",
      Request::invalid);
  api("GET", "/api/v1/advisories", "/api/v1/advisories?severity=critical&kev=maybe", 400,
      nullptr, viewer, "kev", Request::invalid);
  api("DELETE", "/api/v1/hosts/{id}", "/api/v1/hosts/" + other.host_id, 409, nullptr, op, "id");
  api("POST", "/api/v1/users", "/api/v1/users", 409, {{"name", "vera"}, {"role", "viewer"}}, "",
      "name");
  api("PUT", "/api/v1/users/{name}", "/api/v1/users/nobody", 404, {{"disabled", true}}, "",
      "name");
  // A role above the user's: valid as a document, refused by the server.
  api("POST", "/api/v1/api-tokens", "/api/v1/api-tokens", 400,
      {{"user", "otto"}, {"role", "admin"}}, "", "role", Request::unchecked);
  // Strict bodies: an unknown field is refused by both.
  api("POST", "/api/v1/users", "/api/v1/users", 400, {{"nmae", "x"}, {"role", "viewer"}}, "",
      "nmae", Request::invalid);
  api("PUT", "/api/v1/hosts/{id}/labels", "/api/v1/hosts/" + id + "/labels", 400,
      {{"labels", {{"tier", 5}}}}, op, "labels.tier", Request::invalid);
  {
    auto c = h_.client();
    const Answer a = send(*c, "POST", "/api/v1/users", std::string(300 * 1024, ' '),
                          h_.admin_token());
    EXPECT_EQ(a.status, 413) << a.body;
    const auto p = doc_.check_response("POST", "/api/v1/users", a.status, a.content_type, a.body);
    EXPECT_TRUE(p.empty()) << lines(p);
  }

  // Policy as code and chain runs.
  policies_and_chains(viewer, op);

  // Every route of the table answered with a success checked against the document at least
  // once: a new route needs a call in this test.
  for (const auto& r : pf::server::route_table()) {
    bool success = false;
    for (const auto& [m, p, s] : checked_) {
      success = success || (m == r.method && p == r.pattern && s >= 200 && s < 300);
    }
    EXPECT_TRUE(success) << std::string(r.method) << " " << std::string(r.pattern)
                         << ": no successful call checked against docs/openapi.yaml; add one "
                            "to tests/integration/server/openapi_test.cpp";
  }
  EXPECT_FALSE(veras.doc["api_tokens"].empty());
}

}  // namespace
