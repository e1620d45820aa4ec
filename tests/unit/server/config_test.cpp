// SPDX-License-Identifier: Apache-2.0
// The server's configuration: defaults, the YAML file, PATCHFLOW_* variables and flags in that
// order of precedence; --print-config; errors that name file:line:column, the variable or the
// flag.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "patchflow/server/config.hpp"

namespace {

namespace fs = std::filesystem;
using pf::server::ConfigInputs;
using pf::server::load_config;
using pf::server::Source;

class ServerConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pf-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path file(const std::string& text) {
    const fs::path p = dir_ / "server.yaml";
    std::ofstream(p) << text;
    return p;
  }

  // Inputs with a fixed environment (the test's own is not read).
  ConfigInputs inputs(std::map<std::string, std::string> env = {},
                      std::map<std::string, std::string> flags = {},
                      std::optional<fs::path> f = std::nullopt) {
    ConfigInputs in;
    in.file = std::move(f);
    in.getenv = [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    in.flags = std::move(flags);
    return in;
  }

  fs::path dir_;
};

TEST_F(ServerConfig, DefaultsAreTheDocumentedOnes) {
  auto c = load_config(inputs());
  ASSERT_TRUE(c) << pf::to_string(c.error());
  EXPECT_EQ(c->config.listen(), "127.0.0.1:8443");
  EXPECT_EQ(c->config.state_dir, "/var/lib/patchflow");
  EXPECT_EQ(c->config.database, "/var/lib/patchflow/patchflow.db");
  EXPECT_EQ(c->config.server_names, (std::vector<std::string>{"localhost", "127.0.0.1"}));
  EXPECT_EQ(c->config.max_body_bytes, 16u << 20);
  EXPECT_EQ(c->config.checkin_interval, std::chrono::seconds(60));
  EXPECT_DOUBLE_EQ(c->config.checkin_jitter, 0.10);
  EXPECT_EQ(c->config.log_format, pf::server::LogFormat::text);
  EXPECT_TRUE(c->config.tls_cert.empty());
  for (const auto& s : pf::server::settings()) {
    EXPECT_EQ(c->origins.at(std::string(s.key)).source, Source::default_value) << s.key;
    // Each setting's default, as printed, is what the table documents.
    if (s.key != "database") {
      EXPECT_EQ(pf::server::format_setting(c->config, s.key), s.default_text) << s.key;
    }
  }
}

TEST_F(ServerConfig, FlagBeatsEnvBeatsFileBeatsDefault) {
  const auto f = file("listen: 0.0.0.0:1000\nthreads: 2\ncheckin_jitter: 20%\nlog_format: json\n");
  auto c = load_config(inputs({{"PATCHFLOW_THREADS", "3"}, {"PATCHFLOW_LOG_FORMAT", "text"}},
                              {{"threads", "4"}}, f));
  ASSERT_TRUE(c) << pf::to_string(c.error());
  EXPECT_EQ(c->config.threads, 4);
  EXPECT_EQ(c->origins.at("threads").source, Source::flag);
  EXPECT_EQ(c->origins.at("threads").detail, "--threads");
  EXPECT_EQ(c->config.log_format, pf::server::LogFormat::text);
  EXPECT_EQ(c->origins.at("log_format").source, Source::env);
  EXPECT_EQ(c->origins.at("log_format").detail, "PATCHFLOW_LOG_FORMAT");
  EXPECT_EQ(c->config.listen_host, "0.0.0.0");
  EXPECT_EQ(c->config.listen_port, 1000);
  EXPECT_EQ(c->origins.at("listen").source, Source::file);
  EXPECT_EQ(c->origins.at("listen").detail, f.string() + ":1:9");
  EXPECT_DOUBLE_EQ(c->config.checkin_jitter, 0.20);
  EXPECT_EQ(c->origins.at("max_body_bytes").source, Source::default_value);

  const std::string printed = pf::server::print_config(*c);
  EXPECT_NE(printed.find("threads: 4"), std::string::npos) << printed;
  EXPECT_NE(printed.find("# flag (--threads)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("# env (PATCHFLOW_LOG_FORMAT)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("# file (" + f.string() + ":1:9)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("max_body_bytes: 16MiB"), std::string::npos) << printed;
}

TEST_F(ServerConfig, PrintedConfigReadsBackToTheSameValues) {
  auto c = load_config(inputs({}, {{"listen", "[::1]:0"},
                                   {"server_names", "pf.example.org,10.0.0.1,::1"},
                                   {"max_body_bytes", "512KiB"},
                                   {"checkin_interval", "5m"},
                                   {"checkin_jitter", "0.05"},
                                   {"state_dir", "/tmp/state dir"}}));
  ASSERT_TRUE(c) << pf::to_string(c.error());
  auto again = load_config(inputs({}, {}, file(pf::server::print_config(*c))));
  ASSERT_TRUE(again) << pf::to_string(again.error()) << "\n" << pf::server::print_config(*c);
  for (const auto& s : pf::server::settings()) {
    EXPECT_EQ(pf::server::format_setting(again->config, s.key),
              pf::server::format_setting(c->config, s.key))
        << s.key;
  }
  EXPECT_EQ(again->config.listen_host, "::1");
  EXPECT_EQ(again->config.max_body_bytes, 512u * 1024);
}

TEST_F(ServerConfig, DatabaseFollowsStateDirUnlessSet) {
  auto c = load_config(inputs({{"PATCHFLOW_STATE_DIR", "/srv/pf"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->config.database, "/srv/pf/patchflow.db");
  EXPECT_EQ(c->origins.at("database").source, Source::default_value);
  auto pg = load_config(inputs({}, {{"database", "postgresql://pf@db.example/patchflow"}}));
  ASSERT_TRUE(pg);
  EXPECT_EQ(pg->config.database, "postgresql://pf@db.example/patchflow");
  // An empty variable counts as unset.
  auto empty = load_config(inputs({{"PATCHFLOW_THREADS", ""}}));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->origins.at("threads").source, Source::default_value);
}

TEST_F(ServerConfig, ListsComeAsYamlSequencesOrCommaSeparated) {
  auto c = load_config(inputs({}, {}, file("server_names: [pf.example.org, 192.0.2.7]\n")));
  ASSERT_TRUE(c) << pf::to_string(c.error());
  EXPECT_EQ(c->config.server_names, (std::vector<std::string>{"pf.example.org", "192.0.2.7"}));
  auto env = load_config(inputs({{"PATCHFLOW_SERVER_NAMES", "a.example, b.example"}}));
  ASSERT_TRUE(env);
  EXPECT_EQ(env->config.server_names, (std::vector<std::string>{"a.example", "b.example"}));
}

TEST_F(ServerConfig, UnknownKeysAndBadValuesNameTheirPlace) {
  const auto f = file("listen: 127.0.0.1:8443\n\nstate-dir: /x\n");
  auto unknown = load_config(inputs({}, {}, f));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().where, f.string() + ":3:1");
  EXPECT_NE(unknown.error().message.find("unknown key 'state-dir'"), std::string::npos)
      << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("state_dir"), std::string::npos) << "lists known keys";

  struct Case {
    std::string yaml;
    std::string where_suffix;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"threads: 0\n", ":1:10", "threads must be 1..1024"},
      {"threads: many\n", ":1:10", "whole number"},
      {"listen: 127.0.0.1\n", ":1:9", "host:port"},
      {"listen: 127.0.0.1:70000\n", ":1:9", "port"},
      {"listen: ::1:8443\n", ":1:9", "brackets"},
      {"max_body_bytes: 16MB\n", ":1:17", "size"},
      {"max_body_bytes: 2GiB\n", ":1:17", "1KiB..1GiB"},
      {"checkin_interval: 1h30m\n", ":1:19", ""},
      {"checkin_jitter: 60%\n", ":1:17", "0%..50%"},
      {"log_format: xml\n", ":1:13", "text or json"},
      {"server_names: ['bad name']\n", ":1:15", "not a DNS name"},
      {"threads: [1, 2]\n", ":1:10", "single value"},
      {"threads: 1\nthreads: 2\n", ":2:1", "twice"},
      {"- listen\n", ":1:1", "mapping"},
      {"listen: [\n", "", "invalid YAML"},
  };
  for (const auto& c : cases) {
    auto r = load_config(inputs({}, {}, file(c.yaml)));
    ASSERT_FALSE(r) << c.yaml;
    EXPECT_TRUE(r.error().where.starts_with(f.string() + c.where_suffix))
        << c.yaml << " → " << r.error().where;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.yaml << " → " << r.error().message;
  }
  auto env = load_config(inputs({{"PATCHFLOW_MAX_BODY_BYTES", "lots"}}));
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().where, "PATCHFLOW_MAX_BODY_BYTES");
  auto flag = load_config(inputs({}, {{"checkin_interval", "0s"}}));
  ASSERT_FALSE(flag);
  EXPECT_EQ(flag.error().where, "--checkin-interval");
  auto missing = load_config(inputs({}, {}, dir_ / "absent.yaml"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::not_found);
  auto half_tls = load_config(inputs({}, {{"tls_cert", "/etc/pf/server.crt"}}));
  ASSERT_FALSE(half_tls);
  EXPECT_EQ(half_tls.error().where, "tls_key");
}

TEST_F(ServerConfig, EmptyFileMeansDefaults) {
  auto c = load_config(inputs({}, {}, file("# nothing set\n")));
  ASSERT_TRUE(c) << pf::to_string(c.error());
  EXPECT_EQ(c->config.listen(), "127.0.0.1:8443");
}

TEST_F(ServerConfig, NamesOfEnvironmentVariablesAndFlags) {
  EXPECT_EQ(pf::server::env_name("state_dir"), "PATCHFLOW_STATE_DIR");
  EXPECT_EQ(pf::server::flag_name("max_body_bytes"), "--max-body-bytes");
}

}  // namespace
