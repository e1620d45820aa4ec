// SPDX-License-Identifier: Apache-2.0
// The agent's state directory: state.json round trips, corrupt or foreign files are refused
// with an error naming the file and the way out, files are written with their modes, the
// rotation journal rolls forward after a crash at any step, and server URLs are checked.
#include "patchflow/agent_client/state.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "patchflow/agent_client/https_client.hpp"

namespace {

namespace fs = std::filesystem;
namespace ac = pf::agent_client;

class AgentClientState : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pf-agent-state-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& f) {
    std::ifstream in(f);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static void write(const fs::path& f, const std::string& text) { std::ofstream(f) << text; }
  static unsigned mode(const fs::path& f) {
    struct stat st {};
    EXPECT_EQ(::stat(f.c_str(), &st), 0) << f;
    return st.st_mode & 07777;
  }

  fs::path dir_;
};

TEST_F(AgentClientState, RoundTripsThroughTheFile) {
  ac::State s;
  s.host_id = "h_0123456789abcdef";
  s.server_url = "https://patchflow.example:8443";
  s.inventory_hash = "sha256:" + std::string(64, 'a');
  const fs::path file = dir_ / "state.json";
  ASSERT_TRUE(ac::save_state(file, s));
  EXPECT_EQ(mode(file), 0600u);
  auto back = ac::load_state(file);
  ASSERT_TRUE(back) << pf::to_string(back.error());
  EXPECT_EQ(back->host_id, s.host_id);
  EXPECT_EQ(back->server_url, s.server_url);
  EXPECT_EQ(back->inventory_hash, s.inventory_hash);
  EXPECT_EQ(read(file), ac::state_json(s));
  // No temporary file is left beside it.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
  // Overwritten in place, atomically: the new content, the same mode.
  s.inventory_hash = "sha256:" + std::string(64, 'b');
  ASSERT_TRUE(ac::save_state(file, s));
  EXPECT_EQ(ac::load_state(file)->inventory_hash, s.inventory_hash);
}

TEST_F(AgentClientState, AFreshStateHasNoHashAndUnknownKeysAreIgnored) {
  auto s = ac::parse_state(
      R"({"version":1,"host_id":"h_1","server_url":"https://a:1/","future":{"x":1}})", "f");
  ASSERT_TRUE(s) << pf::to_string(s.error());
  EXPECT_EQ(s->inventory_hash, "");
  EXPECT_EQ(s->server_url, "https://a:1") << "normalised";
}

TEST_F(AgentClientState, MissingFileSaysNotEnrolled) {
  auto s = ac::load_state(dir_ / "state.json");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, pf::Errc::not_found);
  EXPECT_NE(s.error().message.find("not enrolled"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().where, (dir_ / "state.json").string());
}

TEST_F(AgentClientState, CorruptFilesAreRefusedNamingTheFileAndWhy) {
  const fs::path file = dir_ / "state.json";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not JSON"},
      {R"({"version":1,"host_id":"h_1","server_url":"https://a)", "not JSON"},  // cut short
      {"[1,2]", "not a JSON object"},
      {R"({"host_id":"h_1","server_url":"https://a"})", "version"},
      {R"({"version":2,"host_id":"h_1","server_url":"https://a"})", "version 2"},
      {R"({"version":1,"server_url":"https://a"})", "host_id"},
      {R"({"version":1,"host_id":"","server_url":"https://a"})", "\"host_id\" is empty"},
      {R"({"version":1,"host_id":7,"server_url":"https://a"})", "not a string"},
      {R"({"version":1,"host_id":"h_1","server_url":"http://a"})", "https://"},
      {R"({"version":1,"host_id":"h_1","server_url":"https://a","inventory_hash":[]})",
       "inventory_hash"},
      {std::string(ac::kMaxStateBytes + 1, ' '), "larger than"},
  };
  for (const auto& [text, why] : cases) {
    write(file, text);
    auto s = ac::load_state(file);
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code, pf::Errc::invalid_input) << text;
    EXPECT_EQ(s.error().where, file.string()) << text;
    EXPECT_NE(s.error().message.find(why), std::string::npos)
        << text.substr(0, 80) << " → " << s.error().message;
    EXPECT_NE(s.error().message.find("enroll again with --force"), std::string::npos)
        << "the way out is named";
  }
}

TEST_F(AgentClientState, StateDirIsCreatedPrivateAndAFileIsRefused) {
  const fs::path d = dir_ / "a" / "state";
  ASSERT_TRUE(ac::ensure_state_dir(d));
  EXPECT_TRUE(fs::is_directory(d));
  EXPECT_EQ(mode(d), 0700u);
  EXPECT_TRUE(ac::ensure_state_dir(d)) << "an existing directory is fine";
  write(dir_ / "file", "x");
  auto r = ac::ensure_state_dir(dir_ / "file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::invalid_input);
}

TEST_F(AgentClientState, DefaultStateDirFollowsTheEnvironment) {
  ::unsetenv("PATCHFLOW_AGENT_STATE_DIR");
  EXPECT_EQ(ac::default_state_dir(), fs::path("/var/lib/patchflow-agent"));
  ::setenv("PATCHFLOW_AGENT_STATE_DIR", "/srv/agent", 1);
  EXPECT_EQ(ac::default_state_dir(), fs::path("/srv/agent"));
  ::setenv("PATCHFLOW_AGENT_STATE_DIR", "", 1);
  EXPECT_EQ(ac::default_state_dir(), fs::path("/var/lib/patchflow-agent"));
  ::unsetenv("PATCHFLOW_AGENT_STATE_DIR");
}

TEST_F(AgentClientState, RotationInstallsBothFilesWithTheirModes) {
  const ac::StateFiles f(dir_);
  write(f.key, "old key");
  write(f.cert, "old cert");
  ASSERT_TRUE(ac::begin_rotation(f, "new key"));
  EXPECT_EQ(mode(f.next_key), 0600u);
  EXPECT_EQ(read(f.key), "old key") << "nothing replaced before the certificate arrives";
  ASSERT_TRUE(ac::complete_rotation(f, "new cert"));
  EXPECT_EQ(read(f.key), "new key");
  EXPECT_EQ(read(f.cert), "new cert");
  EXPECT_EQ(mode(f.key), 0600u);
  EXPECT_EQ(mode(f.cert), 0644u);
  EXPECT_FALSE(fs::exists(f.next_key));
  EXPECT_FALSE(fs::exists(f.next_cert));
  EXPECT_EQ(*ac::recover_rotation(f), false) << "nothing left to do";
}

TEST_F(AgentClientState, RecoveryRollsForwardAfterACrashAtEveryStep) {
  const ac::StateFiles f(dir_);
  // Crash before the server answered: the lone new key is dropped, the old pair stays.
  write(f.key, "old key");
  write(f.cert, "old cert");
  write(f.next_key, "new key");
  EXPECT_EQ(*ac::recover_rotation(f), true);
  EXPECT_EQ(read(f.key), "old key");
  EXPECT_FALSE(fs::exists(f.next_key));
  // Crash after the certificate was saved: both are installed.
  write(f.next_key, "new key");
  write(f.next_cert, "new cert");
  EXPECT_EQ(*ac::recover_rotation(f), true);
  EXPECT_EQ(read(f.key), "new key");
  EXPECT_EQ(read(f.cert), "new cert");
  // Crash between the two renames: the key is in place, the certificate follows it.
  write(f.key, "newer key");
  write(f.next_cert, "newer cert");
  EXPECT_EQ(*ac::recover_rotation(f), true);
  EXPECT_EQ(read(f.key), "newer key");
  EXPECT_EQ(read(f.cert), "newer cert");
  EXPECT_FALSE(fs::exists(f.next_cert));
  // Abandoning drops the new key only.
  write(f.next_key, "unused");
  ac::abandon_rotation(f);
  EXPECT_FALSE(fs::exists(f.next_key));
  EXPECT_EQ(read(f.key), "newer key");
}

TEST(AgentClientServerUrl, OnlyHttpsWithoutAPathIsAccepted) {
  EXPECT_EQ(*ac::normalize_server_url("https://pf.example:8443/"), "https://pf.example:8443");
  EXPECT_EQ(*ac::normalize_server_url("https://[::1]:8443"), "https://[::1]:8443");
  for (const char* bad : {"http://pf.example", "pf.example:8443", "https://", "https://a/b",
                          "https://user@a", "https://a?x=1", "https://a b", "ftp://a"}) {
    auto r = ac::normalize_server_url(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, pf::Errc::invalid_input) << bad;
    EXPECT_EQ(r.error().where, bad);
  }
}

TEST(AgentClientTransport, RefusesToRunWithoutACaOrWithHalfAClientIdentity) {
  ac::HttpsClient no_ca({.base_url = "https://127.0.0.1:1"});
  auto r = no_ca.request("GET", "/healthz");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().failure, ac::Failure::local);
  EXPECT_NE(r.error().error.message.find("no CA file"), std::string::npos);
  ac::HttpsClient half({.base_url = "https://127.0.0.1:1", .ca_file = "/x", .cert_file = "/c"});
  auto h = half.request("GET", "/healthz");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().failure, ac::Failure::local);
}

}  // namespace
