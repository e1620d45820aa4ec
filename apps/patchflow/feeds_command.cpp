// SPDX-License-Identifier: Apache-2.0
// patchflow feeds import | sync | status
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "command.hpp"
#include "feed_store.hpp"
#include "patchflow/http/fetch.hpp"

namespace pf::cli {
namespace {

namespace fs = std::filesystem;

struct FeedsOptions {
  std::string db;
  std::vector<std::string> paths;
  std::string config = "/etc/patchflow/feeds.yaml";
  std::string cache;
};

struct SyncFeed {
  std::string name;
  std::string url;
};

struct SyncConfig {
  std::string cache_dir;
  std::vector<SyncFeed> feeds;
};

std::string where(const std::string& file, const YAML::Mark& mark) {
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// The feed list: cache_dir (optional) and feeds: [{name, url}].
Result<SyncConfig> load_sync_config(const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return make_error(Errc::not_found,
                      "no feed configuration (see examples/feeds.yaml; --config FILE)", file);
  }
  if (fs::file_size(file, ec) > (1u << 20)) {
    return make_error(Errc::invalid_input, "the feed configuration is larger than 1 MiB", file);
  }
  try {
    const YAML::Node root = YAML::LoadFile(file);
    if (!root.IsMap()) {
      return make_error(Errc::invalid_input, "expected a mapping with a 'feeds' list",
                        where(file, root.Mark()));
    }
    SyncConfig config;
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      if (key == "cache_dir") {
        config.cache_dir = kv.second.as<std::string>();
      } else if (key != "feeds") {
        return make_error(Errc::invalid_input, "unknown key '" + key + "' (expected cache_dir, feeds)",
                          where(file, kv.first.Mark()));
      }
    }
    const YAML::Node list = root["feeds"];
    if (!list || !list.IsSequence() || list.size() == 0) {
      return make_error(Errc::invalid_input, "'feeds' must be a non-empty list",
                        where(file, root.Mark()));
    }
    std::set<std::string> names;
    for (const auto& item : list) {
      if (!item.IsMap() || !item["name"] || !item["url"]) {
        return make_error(Errc::invalid_input, "each feed needs 'name' and 'url'",
                          where(file, item.Mark()));
      }
      SyncFeed feed{item["name"].as<std::string>(), item["url"].as<std::string>()};
      const bool name_ok = !feed.name.empty() && feed.name.size() <= 64 &&
                           feed.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") ==
                               std::string::npos;
      if (!name_ok) {
        return make_error(Errc::invalid_input,
                          "feed name '" + feed.name + "' must be 1-64 of a-z 0-9 . _ -",
                          where(file, item["name"].Mark()));
      }
      if (!names.insert(feed.name).second) {
        return make_error(Errc::invalid_input, "feed name '" + feed.name + "' appears twice",
                          where(file, item["name"].Mark()));
      }
      if (!feed.url.starts_with("https://") && !feed.url.starts_with("http://")) {
        return make_error(Errc::invalid_input, "feed URL must be http:// or https://",
                          where(file, item["url"].Mark()));
      }
      config.feeds.push_back(std::move(feed));
    }
    return config;
  } catch (const YAML::Exception& e) {
    return make_error(Errc::invalid_input, e.msg, where(file, e.mark));
  }
}

int report_error(const Error& e) {
  std::cerr << "patchflow: error: " << to_string(e) << "\n";
  return e.code == Errc::invalid_input || e.code == Errc::not_found ? kExitUsage : kExitInternal;
}

void print_import(const std::string& what, const FeedImport& r) {
  std::printf("%s: %s, %llu advisories, %llu CVE records, %.1f MiB in %.1f s\n", what.c_str(),
              r.format.c_str(), static_cast<unsigned long long>(r.advisories),
              static_cast<unsigned long long>(r.cves), static_cast<double>(r.bytes) / 1048576.0,
              r.seconds);
}

int run_import(const FeedsOptions& opt) {
  const fs::path db = opt.db.empty() ? default_db_path() : fs::path(opt.db);
  auto store = open_store(db);
  if (!store) return report_error(store.error());
  int status = kExitOk;
  for (const auto& p : opt.paths) {
    auto r = import_feed(**store, p, "file:" + fs::absolute(p).string());
    if (!r) {
      // Nothing of this feed was kept; the others go on.
      status = report_error(r.error());
      continue;
    }
    print_import(p, *r);
  }
  return status;
}

int run_sync(const FeedsOptions& opt) {
  auto config = load_sync_config(opt.config);
  if (!config) return report_error(config.error());
  const fs::path db = opt.db.empty() ? default_db_path() : fs::path(opt.db);
  fs::path cache = !opt.cache.empty()            ? fs::path(opt.cache)
                   : !config->cache_dir.empty() ? fs::path(config->cache_dir)
                                                : db.parent_path() / "feeds";
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) return report_error({Errc::io, "cannot create the cache: " + ec.message(), cache});
  auto store = open_store(db);
  if (!store) return report_error(store.error());
  int status = kExitOk;
  for (const auto& feed : config->feeds) {
    const std::string source = "sync:" + feed.name;
    auto previous = (*store)->cursor(source);
    if (!previous) return report_error(previous.error());
    http::FetchRequest request{.url = feed.url, .destination = cache / feed.name};
    // Ask conditionally only when the last download is still there to import again.
    if (previous->has_value() && fs::exists(request.destination)) {
      request.etag = (*previous)->etag;
      request.last_modified = (*previous)->last_modified;
    }
    auto fetched = http::fetch(request);
    if (!fetched) {
      status = report_error(fetched.error());
      continue;
    }
    if (fetched->status == http::FetchStatus::not_modified) {
      std::printf("%s: not modified since the last sync\n", feed.name.c_str());
      continue;
    }
    auto imported = import_feed(**store, request.destination, source, fetched->etag,
                                fetched->last_modified);
    if (!imported) {
      status = report_error(imported.error());
      continue;
    }
    print_import(feed.name, *imported);
  }
  return status;
}

int run_status(const FeedsOptions& opt) {
  const fs::path db = opt.db.empty() ? default_db_path() : fs::path(opt.db);
  auto store = open_store(db);
  if (!store) return report_error(store.error());
  auto counts = (*store)->counts();
  if (!counts) return report_error(counts.error());
  std::printf("database %s: %lld advisories, %lld affected entries, %lld CVE records\n",
              db.c_str(), static_cast<long long>(counts->advisories),
              static_cast<long long>(counts->affected), static_cast<long long>(counts->cves));
  return kExitOk;
}

}  // namespace

void add_feeds_command(CLI::App& root, int& exit_code) {
  auto* feeds = root.add_subcommand("feeds", "Import and update advisory and enrichment feeds");
  feeds->require_subcommand(1);
  auto opt = std::make_shared<FeedsOptions>();
  auto add_db = [&](CLI::App* cmd) {
    cmd->add_option("--db", opt->db,
                    "SQLite database (default: $PATCHFLOW_DB, /var/lib/patchflow/patchflow.db "
                    "as root, else ~/.local/share/patchflow/patchflow.db)");
  };

  auto* import = feeds->add_subcommand(
      "import", "Import feed files: OSV (file, directory, zip), Debian tracker JSON, Red Hat "
                "CSAF, CISA KEV, EPSS CSV, NVD 2.0 JSON (format detected from the content)");
  add_db(import);
  import->add_option("paths", opt->paths, "Feed files or directories")->required();
  import->footer(R"(Each file is imported in one transaction: a malformed feed leaves nothing behind
and the others are still imported. Exit status 2 when any file was refused.

Examples:
  patchflow feeds import debian-tracker.json known_exploited_vulnerabilities.json
  patchflow feeds import --db ./feeds.db AlmaLinux-all.zip epss_scores-current.csv.gz)");
  import->callback([opt, &exit_code] { exit_code = run_import(*opt); });

  auto* sync = feeds->add_subcommand(
      "sync", "Download the configured feeds (conditional GET) and import what changed");
  add_db(sync);
  sync->add_option("--config", opt->config, "Feed list (YAML)")->capture_default_str();
  sync->add_option("--cache", opt->cache, "Where downloads are kept (default: beside the db)");
  sync->footer(R"(The feed list names each feed and its URL (see examples/feeds.yaml). Proxies come
from https_proxy / http_proxy / no_proxy.

Example:
  patchflow feeds sync --config /etc/patchflow/feeds.yaml)");
  sync->callback([opt, &exit_code] { exit_code = run_sync(*opt); });

  auto* status = feeds->add_subcommand("status", "Show what the database holds");
  add_db(status);
  status->callback([opt, &exit_code] { exit_code = run_status(*opt); });
}

}  // namespace pf::cli
