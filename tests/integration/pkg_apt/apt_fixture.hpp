// SPDX-License-Identifier: Apache-2.0
// The apt backend tests' world: a dpkg root built by libs/lab, .deb packages, apt repositories
// (dists layout, one directory per suite), and the database read back without the backend.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../lab/lab_fixture.hpp"
#include "patchflow/lab/deb.hpp"
#include "patchflow/pkg/backend.hpp"
#include "patchflow/pkg/dpkg_status.hpp"
#include "patchflow/pkg_apt/apt_backend.hpp"

namespace pf::pkg::apt::testing {

namespace fs = std::filesystem;

class AptWorld : public lab::testing::LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    for (const auto& [tool, package] :
         std::vector<std::pair<std::string, std::string>>{{"dpkg", "dpkg"},
                                                          {"dpkg-deb", "dpkg"},
                                                          {"apt-get", "apt"},
                                                          {"apt-ftparchive", "apt-utils"},
                                                          {"gzip", "gzip"}}) {
      require(tool, package);
    }
    root_ = dir_ / "root";
    auto made = lab::make_dpkg_root(root_);
    ASSERT_TRUE(made) << to_string(made.error());
    // A repository that cannot be reached fails at once instead of after apt's retries.
    auto conf =
        lab::write_file(root_ / "etc/apt/apt.conf.d/90-pf-test", "Acquire::Retries \"0\";\n");
    ASSERT_TRUE(conf) << to_string(conf.error());
  }

  /// A package shipping /usr/share/<name>/version with its version, plus whatever `more` adds.
  fs::path deb(const std::string& name, const std::string& version,
               const std::function<void(lab::DebSpec&)>& more = {}) {
    lab::DebSpec s;
    s.name = name;
    s.version = version;
    s.files = {{"/usr/share/" + name + "/version", version + "\n", 0644}};
    if (more) more(s);
    auto r = lab::build_deb(s, dir_ / "debs");
    EXPECT_TRUE(r) << to_string(r.error());
    return r ? *r : fs::path{};
  }

  /// A dists-layout repository for one suite in its own directory; returns its source line.
  std::string repo(const std::vector<fs::path>& debs, const std::string& suite = "stable") {
    auto r = lab::build_apt_repo(debs, dir_ / ("repo-" + suite),
                                 {.layout = lab::RepoLayout::dists, .suite = suite});
    EXPECT_TRUE(r) << to_string(r.error());
    return r ? r->source_line : std::string();
  }

  void sources(const std::vector<std::string>& lines) {
    auto r = lab::set_apt_sources(root_, lines);
    ASSERT_TRUE(r) << to_string(r.error());
  }

  void install(const std::vector<fs::path>& debs) {
    auto r = lab::install_debs(root_, debs);
    ASSERT_TRUE(r) << to_string(r.error());
  }

  BackendOptions options() const {
    BackendOptions o;
    o.root = root_;
    o.lock_timeout = std::chrono::seconds(30);
    o.tool_timeout = std::chrono::seconds(120);
    return o;
  }

  std::unique_ptr<PackageBackend> backend(std::optional<BackendOptions> o = {}) {
    return make_apt_backend(o ? *o : options());
  }

  /// A backend whose metadata is fetched.
  std::unique_ptr<PackageBackend> refreshed(std::optional<BackendOptions> o = {}) {
    auto b = backend(std::move(o));
    auto r = b->refresh();
    EXPECT_TRUE(r) << to_string(r.error());
    return b;
  }

  /// The installed version of `name` from the status file, read with the inventory reader
  /// (not the backend); "" when it is not cleanly installed.
  std::string version_of(const std::string& name) const {
    auto r = read_dpkg_status(dpkg_status_path(root_));
    EXPECT_TRUE(r) << to_string(r.error());
    if (!r) return {};
    for (const auto& p : *r)
      if (p.name == name) return p.version;
    return {};
  }

  /// The Status line of `name` in the status file ("" when absent).
  std::string status_of(const std::string& name) const {
    const std::string st = stanza(root_ / "var/lib/dpkg/status", name);
    auto at = st.find("Status: ");
    if (at == std::string::npos) return {};
    return st.substr(at + 8, st.find('\n', at) - at - 8);
  }

  std::string status_text() const { return slurp(root_ / "var/lib/dpkg/status"); }

  static const PackageResult* find(const ApplyReport& report, const std::string& name) {
    for (const auto& p : report.packages)
      if (p.name == name) return &p;
    return nullptr;
  }

  static std::string explain(const ApplyReport& r) {
    std::string s = "outcome " + std::string(outcome_name(r.outcome)) + ", exit " +
                    std::to_string(r.exit_code) + "\n";
    for (const auto& p : r.packages)
      s += "  " + p.name + " " + p.before + " -> " + p.after + " " +
           std::string(status_name(p.status)) + " " + std::string(reason_name(p.reason)) + " " +
           p.state + " " + p.detail + "\n";
    for (const auto& c : r.commands) s += "  $ " + c + "\n";
    return s + r.output_tail + (r.error ? "\nerror: " + to_string(*r.error) : "") + "\n" + r.audit;
  }

  static Selection packages(std::vector<std::string> names) {
    Selection s;
    s.kind = Selection::Kind::packages;
    s.names = std::move(names);
    return s;
  }

  static Selection exact(std::vector<PackageRef> refs) {
    Selection s;
    s.kind = Selection::Kind::exact;
    s.exact = std::move(refs);
    return s;
  }

  fs::path root_;
};

}  // namespace pf::pkg::apt::testing
