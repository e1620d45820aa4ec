// SPDX-License-Identifier: Apache-2.0
// The job document: parse, validation rules with the JSON path in every error, bounds, the
// canonical text, and the signed envelope.
#include <gtest/gtest.h>

#include <string>

#include "patchflow/jobs/job.hpp"
#include "patchflow/pki/signing.hpp"

namespace {

using pf::jobs::parse_job;

constexpr const char* kJetPatch = R"({
  "format": 1, "run_id": "r-42", "job": "weekly-web", "host_id": "h-1",
  "issued_at": "2026-12-01T10:00:00Z", "expires_at": "2026-12-01T22:00:00Z",
  "preconditions": [
    {"id": "disk", "type": "check", "check": "disk_free", "path": "/", "min_free_mb": 500},
    {"id": "no-recovery", "type": "check", "check": "file_absent", "path": "/var/lib/app/recovery.flag"}],
  "retry": {"interval_s": 60, "until": "2026-12-01T12:00:00Z"},
  "baseline": {"probes": [{"name": "web", "kind": "http", "url": "http://127.0.0.1:8080/health"}],
               "rollback_on_regression": true},
  "pre": [{"id": "stop-app", "type": "command", "argv": ["/usr/bin/systemctl", "stop", "app"],
           "timeout_s": 60},
          {"id": "backup", "type": "command", "shell": "tar czf /var/backups/app.tgz /srv/app",
           "user": "app", "env": {"LANG": "C"}, "cwd": "/srv", "ok_exit_codes": [0, 1]}],
  "install": {"select": "security", "conffiles": "keep-old"},
  "reboot": {"policy": "if_required", "max_reboots": 2,
             "before": [{"id": "drain", "type": "command", "argv": ["/bin/true"]}],
             "after": [{"id": "up", "type": "wait_for", "check": {"check": "port_open", "port": 22},
                        "interval_s": 2, "timeout_s": 120}]},
  "post": [{"id": "start-app", "type": "command", "argv": ["/usr/bin/systemctl", "start", "app"]},
           {"id": "validate", "type": "check", "check": "http_ok", "url": "http://127.0.0.1:8080/", "expect_status": 200}],
  "rollback": {"when": "on_failure", "mode": "packages"}
})";

std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

void expect_error(const std::string& text, const std::string& where, const std::string& words) {
  auto job = parse_job(text);
  ASSERT_FALSE(job) << "accepted: " << text.substr(0, 200);
  EXPECT_EQ(job.error().code, pf::Errc::invalid_input);
  EXPECT_EQ(job.error().where, where) << pf::to_string(job.error());
  EXPECT_NE(job.error().message.find(words), std::string::npos) << pf::to_string(job.error());
}

TEST(JobParse, TheJetPatchWorkflow) {
  auto job = parse_job(kJetPatch);
  ASSERT_TRUE(job) << pf::to_string(job.error());
  EXPECT_EQ(job->run_id, "r-42");
  EXPECT_EQ(job->host_id, "h-1");
  EXPECT_EQ(pf::jobs::format_time(job->issued_at), "2026-12-01T10:00:00Z");
  ASSERT_EQ(job->preconditions.size(), 2u);
  EXPECT_EQ(job->preconditions[0].check.kind, pf::jobs::CheckKind::disk_free);
  EXPECT_EQ(job->preconditions[0].check.min_free_mb, 500u);
  EXPECT_EQ(job->preconditions[0].timeout.count(), 30);  // the default of a check
  ASSERT_TRUE(job->retry);
  EXPECT_EQ(job->retry->interval.count(), 60);
  ASSERT_TRUE(job->baseline);
  EXPECT_TRUE(job->baseline->rollback_on_regression);
  EXPECT_EQ(job->baseline->probes[0].kind, pf::jobs::Probe::Kind::http);
  ASSERT_EQ(job->pre.size(), 2u);
  EXPECT_EQ(job->pre[0].command.argv[0], "/usr/bin/systemctl");
  EXPECT_EQ(job->pre[1].command.shell, "tar czf /var/backups/app.tgz /srv/app");
  EXPECT_EQ(job->pre[1].command.user, "app");
  EXPECT_EQ(job->pre[1].command.env.at("LANG"), "C");
  EXPECT_EQ(job->pre[1].command.ok_exit_codes, (std::vector<int>{0, 1}));
  EXPECT_EQ(job->pre[1].timeout.count(), 300);  // the default of a command
  ASSERT_TRUE(job->install);
  EXPECT_EQ(job->install->select, "security");
  EXPECT_EQ(job->reboot.policy, pf::jobs::Reboot::Policy::if_required);
  EXPECT_EQ(job->reboot.max_reboots, 2);
  EXPECT_EQ(job->reboot.after[0].type, pf::jobs::StepType::wait_for);
  EXPECT_EQ(job->reboot.after[0].check.port, 22);
  EXPECT_EQ(job->reboot.after[0].check.host, "127.0.0.1");
  EXPECT_EQ(job->post[1].check.expect_status, 200);
  EXPECT_EQ(job->rollback.mode, pf::jobs::Rollback::Mode::packages);
}

TEST(JobParse, CanonicalTextRoundTrips) {
  auto job = parse_job(kJetPatch);
  ASSERT_TRUE(job) << pf::to_string(job.error());
  const std::string canonical = pf::jobs::to_json(*job);
  auto again = parse_job(canonical);
  ASSERT_TRUE(again) << pf::to_string(again.error()) << "\n" << canonical;
  EXPECT_EQ(*again, *job);
  EXPECT_EQ(pf::jobs::to_json(*again), canonical);
  // Keys are sorted: "expires_at" comes before "format", "format" before "host_id".
  EXPECT_LT(canonical.find("\"expires_at\""), canonical.find("\"format\""));
  EXPECT_LT(canonical.find("\"format\""), canonical.find("\"host_id\""));
}

TEST(JobParse, ErrorsNameThePathAndWhy) {
  const std::string j = kJetPatch;
  expect_error("{", "$", "not valid JSON");
  expect_error("[]", "$", "must be a JSON object");
  expect_error(with(j, R"("format": 1)", R"("format": 2)"), "$.format", "not supported");
  expect_error(with(j, R"("run_id": "r-42")", R"("run_id": "../etc")"), "$.run_id", "not a run id");
  expect_error(with(j, R"("issued_at": "2026-12-01T10:00:00Z")", R"("issued_at": "yesterday")"),
               "$.issued_at", "RFC 3339");
  expect_error(with(j, R"("expires_at": "2026-12-01T22:00:00Z")", R"("expires_at": "2026-12-01T09:00:00Z")"),
               "$.expires_at", "after issued_at");
  expect_error(with(j, R"("job": "weekly-web",)", R"("job": "weekly-web", "colour": "red",)"),
               "$.colour", "unknown field");
  expect_error(with(j, R"("argv": ["/usr/bin/systemctl", "stop", "app"])", R"("argv": ["/usr/bin/systemctl", 7])"),
               "$.pre[0].argv[1]", "must be a string");
  expect_error(with(j, R"("argv": ["/usr/bin/systemctl", "stop", "app"])", R"("argv": [])"),
               "$.pre[0].argv", "must name a program");
  expect_error(with(j, R"("id": "backup")", R"("id": "stop-app")"), "$.pre[1].id", "used twice");
  expect_error(with(j, R"("id": "backup")", R"("id": "Backup!")"), "$.pre[1].id", "not a step id");
  expect_error(with(j, R"("id": "backup")", R"("id": "install")"), "$.pre[1].id", "reserved");
  expect_error(with(j, R"("timeout_s": 60})", R"("timeout_s": 0})"), "$.pre[0].timeout_s", "1..86400");
  expect_error(with(j, R"("timeout_s": 60})", R"("timeout_s": 86401})"), "$.pre[0].timeout_s", "1..86400");
  expect_error(with(j, R"("check": "disk_free")", R"("check": "disk_full")"), "$.preconditions[0].check",
               "unknown check");
  expect_error(with(j, R"("min_free_mb": 500)", R"("min_free_mb": "500")"),
               "$.preconditions[0].min_free_mb", "must be an integer");
  expect_error(with(j, R"("path": "/var/lib/app/recovery.flag")", R"("path": "var/lib/app/recovery.flag")"),
               "$.preconditions[1].path", "absolute");
  expect_error(with(j, R"("select": "security")", R"("select": "everything")"), "$.install.select", "");
  expect_error(with(j, R"("policy": "if_required")", R"("policy": "sometimes")"), "$.reboot.policy",
               "never, if_required or always");
  expect_error(with(j, R"("mode": "packages")", R"("mode": "command")"), "$.rollback.command",
               "missing");
  expect_error(with(j, R"("port": 22)", R"("port": 65536)"), "$.reboot.after[0].check.port", "1..65535");
  expect_error(with(j, R"("ok_exit_codes": [0, 1])", R"("ok_exit_codes": [256])"),
               "$.pre[1].ok_exit_codes[0]", "0..255");
  expect_error(with(j, R"("env": {"LANG": "C"})", R"("env": {"1LANG": "C"})"), "$.pre[1].env.1LANG",
               "not a variable name");
  expect_error(with(j, R"("argv": ["/bin/true"])", R"("argv": ["/bin/true"], "shell": "true")"),
               "$.reboot.before[0]", "exactly one");
}

TEST(JobParse, BoundsAreEnforced) {
  const std::string j = kJetPatch;
  // More than 200 steps.
  std::string steps;
  for (int i = 0; i < 201; ++i) {
    steps += std::string(i ? "," : "") + R"({"id":"s)" + std::to_string(i) + R"(","type":"command","argv":["/bin/true"]})";
  }
  expect_error(with(j, R"("post": [)", R"("post": [)" + steps + ","), "$.post[194]", "more than 200 steps");
  // An argv of 257 items.
  std::string argv = R"("/bin/echo")";
  for (int i = 0; i < 256; ++i) argv += R"(,"x")";
  expect_error(with(j, R"("argv": ["/bin/true"])", "\"argv\": [" + argv + "]"), "$.reboot.before[0].argv",
               "more than 256");
  // A string over 64 KiB.
  expect_error(with(j, R"("job": "weekly-web")", "\"job\": \"" + std::string(64 * 1024 + 1, 'a') + "\""),
               "$.job", "64 KiB");
  // A document over 1 MiB.
  expect_error(std::string(pf::jobs::kMaxDocumentBytes + 1, ' '), "$", "1 MiB");
  // Deep nesting is refused before it is parsed.
  expect_error(std::string(100000, '[') + std::string(100000, ']'), "$", "nested deeper");
  // Hostile bytes never crash.
  for (std::string bad : {std::string("\0\xff\xfe", 3), std::string("{\"format\":1e999}"),
                          std::string("{\"format\":-0}"), std::string("\"\\ud800\"")}) {
    EXPECT_FALSE(parse_job(bad));
  }
}

TEST(JobTime, Rfc3339) {
  auto t = pf::jobs::parse_time("2026-12-01T15:54:19Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(pf::jobs::format_time(*t), "2026-12-01T15:54:19Z");
  auto offset = pf::jobs::parse_time("2026-12-01T17:54:19.123+02:00");
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, *t);
  EXPECT_FALSE(pf::jobs::parse_time("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(pf::jobs::parse_time("2026-12-01 15:54:19Z"));
  EXPECT_FALSE(pf::jobs::parse_time("2026-12-01T15:54:19"));
  EXPECT_FALSE(pf::jobs::parse_time("2026-12-01T15:54:19Zjunk"));
}

class Envelope : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = pf::pki::generate_signing_key();
    ASSERT_TRUE(k);
    key_ = *k;
    auto other = pf::pki::generate_signing_key();
    ASSERT_TRUE(other);
    other_ = *other;
    auto job = parse_job(kJetPatch);
    ASSERT_TRUE(job);
    job_ = *job;
  }
  pf::pki::SigningKey key_, other_;
  pf::jobs::Job job_;
};

TEST_F(Envelope, SignedWorkOpens) {
  auto env = pf::jobs::make_envelope(job_, key_.private_pem);
  ASSERT_TRUE(env) << pf::to_string(env.error());
  auto opened = pf::jobs::open_envelope(*env, key_.public_pem);
  ASSERT_TRUE(opened) << pf::to_string(opened.error());
  EXPECT_EQ(*opened, job_);
}

TEST_F(Envelope, UnsignedAlteredAndForeignWorkIsRefused) {
  const std::string work = pf::jobs::to_json(job_);
  auto sig = pf::pki::sign(key_.private_pem, work);
  ASSERT_TRUE(sig);
  // Unsigned.
  auto unsigned_work = pf::jobs::open_envelope(pf::jobs::envelope_json(work, ""), key_.public_pem);
  ASSERT_FALSE(unsigned_work);
  EXPECT_EQ(unsigned_work.error().where, "envelope.signature");
  EXPECT_FALSE(pf::jobs::open_envelope(work, key_.public_pem));  // the bare job is no envelope
  // Altered: one byte of the work changed after signing.
  std::string altered = work;
  altered.replace(altered.find("security"), 8, "all\"    ");
  altered = work;
  altered.replace(altered.find("\"security\""), 10, "\"all\"     ");
  auto tampered = pf::jobs::open_envelope(pf::jobs::envelope_json(altered, *sig), key_.public_pem);
  ASSERT_FALSE(tampered);
  EXPECT_NE(tampered.error().message.find("not signed by the server's key"), std::string::npos)
      << pf::to_string(tampered.error());
  // Signed by another key.
  auto foreign_sig = pf::pki::sign(other_.private_pem, work);
  ASSERT_TRUE(foreign_sig);
  auto foreign = pf::jobs::open_envelope(pf::jobs::envelope_json(work, *foreign_sig), key_.public_pem);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().where, "envelope.signature");
  // Verified first: a signed but invalid job is refused for what it is, with the path.
  const std::string invalid = R"({"format":1})";
  auto sig2 = pf::pki::sign(key_.private_pem, invalid);
  ASSERT_TRUE(sig2);
  auto bad = pf::jobs::open_envelope(pf::jobs::envelope_json(invalid, *sig2), key_.public_pem);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "work:$.run_id") << pf::to_string(bad.error());
  // An invalid job with a bad signature is refused for the signature, never parsed.
  auto bad_sig = pf::jobs::open_envelope(pf::jobs::envelope_json(invalid, *sig), key_.public_pem);
  ASSERT_FALSE(bad_sig);
  EXPECT_EQ(bad_sig.error().where, "envelope.signature");
}

}  // namespace
