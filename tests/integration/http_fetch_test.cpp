// SPDX-License-Identifier: Apache-2.0
// Feed downloads against a real HTTP server on loopback.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "patchflow/http/fetch.hpp"

namespace fs = std::filesystem;
using pf::http::FetchStatus;

namespace {

class FeedServer : public ::testing::Test {
 protected:
  void SetUp() override {
    body_ = std::string(100000, 'x') + "\n";
    server_.Get("/feed.json", [this](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      if (req.get_header_value("If-None-Match") == "\"v1\"") {
        res.status = 304;
        return;
      }
      res.set_header("ETag", "\"v1\"");
      res.set_header("Last-Modified", "Tue, 01 Oct 2024 00:00:00 GMT");
      res.set_content(body_, "application/json");
    });
    server_.Get("/moved", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/feed.json");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    char tmpl[] = "/tmp/pf-fetch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
    fs::remove_all(dir_);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  httplib::Server server_;
  std::thread thread_;
  int port_{0};
  std::string body_;
  int hits_{0};
  fs::path dir_;
};

TEST_F(FeedServer, DownloadsThenAsksConditionally) {
  pf::http::FetchRequest req{.url = url("/feed.json"), .destination = dir_ / "feed.json"};
  auto first = pf::http::fetch(req);
  ASSERT_TRUE(first) << pf::to_string(first.error());
  EXPECT_EQ(first->status, FetchStatus::downloaded);
  EXPECT_EQ(first->http_code, 200);
  EXPECT_EQ(first->bytes, body_.size());
  EXPECT_EQ(first->etag, "\"v1\"");
  EXPECT_EQ(first->last_modified, "Tue, 01 Oct 2024 00:00:00 GMT");
  EXPECT_EQ(slurp(req.destination), body_);
  EXPECT_FALSE(fs::exists(dir_ / "feed.json.part"));

  req.etag = first->etag;
  auto second = pf::http::fetch(req);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, FetchStatus::not_modified);
  EXPECT_EQ(slurp(req.destination), body_) << "a 304 leaves the previous file in place";
  EXPECT_EQ(hits_, 2);
}

TEST_F(FeedServer, FollowsRedirects) {
  auto r = pf::http::fetch({.url = url("/moved"), .destination = dir_ / "f"});
  ASSERT_TRUE(r) << pf::to_string(r.error());
  EXPECT_EQ(slurp(dir_ / "f"), body_);
}

TEST_F(FeedServer, ErrorsNameTheUrlAndLeaveNoPartialFile) {
  const fs::path dest = dir_ / "out";
  std::ofstream(dest) << "previous";
  auto missing = pf::http::fetch({.url = url("/nope"), .destination = dest});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::backend_failed);
  EXPECT_NE(missing.error().message.find("404"), std::string::npos);
  EXPECT_EQ(missing.error().where, url("/nope"));

  auto big = pf::http::fetch({.url = url("/feed.json"), .destination = dest, .max_bytes = 1000});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, pf::Errc::invalid_input);

  auto slow = pf::http::fetch({.url = url("/slow"), .destination = dest,
                               .timeout = std::chrono::seconds(1)});
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, pf::Errc::timeout);

  EXPECT_EQ(slurp(dest), "previous") << "a failed download never replaces the old file";
  EXPECT_FALSE(fs::exists(dir_ / "out.part"));

  auto scheme = pf::http::fetch({.url = "file:///etc/passwd", .destination = dest});
  ASSERT_FALSE(scheme);
  EXPECT_EQ(scheme.error().code, pf::Errc::invalid_input);
}

TEST_F(FeedServer, HonoursTheProxyEnvironment) {
  // Nothing listens on port 9 of loopback: a proxy there makes the download fail, which shows
  // that libcurl took the proxy from the environment.
  ::setenv("http_proxy", "http://127.0.0.1:9", 1);
  ::setenv("no_proxy", "", 1);
  auto r = pf::http::fetch({.url = url("/feed.json"), .destination = dir_ / "p"});
  ::unsetenv("http_proxy");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pf::Errc::io);
  auto direct = pf::http::fetch({.url = url("/feed.json"), .destination = dir_ / "p"});
  EXPECT_TRUE(direct) << pf::to_string(direct.error());
}

}  // namespace
