// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent_client/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "patchflow/agent_client/https_client.hpp"
#include "patchflow/common/files.hpp"
#include "patchflow/pki/files.hpp"

namespace pf::agent_client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kStateVersion = 1;

Unexpected corrupt(std::string_view name, const std::string& why) {
  return make_error(
      Errc::invalid_input,
      "the agent state is unreadable: " + why + " (restore the file, or enroll again with --force)",
      std::string(name));
}

Result<void> rename_over(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return make_error(Errc::io,
                      "cannot rename " + from.string() + " into place: " + std::strerror(errno),
                      to.string());
  }
  return {};
}

Result<void> sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return make_error(Errc::io, std::string("cannot open: ") + std::strerror(errno), dir.string());
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0)
    return make_error(Errc::io, std::string("fsync failed: ") + std::strerror(e), dir.string());
  return {};
}

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

}  // namespace

fs::path default_state_dir() {
  const char* env = std::getenv("PATCHFLOW_AGENT_STATE_DIR");
  if (env != nullptr && *env != '\0') return env;
  return "/var/lib/patchflow-agent";
}

StateFiles::StateFiles(const fs::path& d)
    : dir(d),
      key(d / "agent.key"),
      cert(d / "agent.crt"),
      ca(d / "ca.crt"),
      signing_pub(d / "signing.pub"),
      state(d / "state.json"),
      next_key(d / "agent.key.next"),
      next_cert(d / "agent.crt.next") {}

std::string state_json(const State& state) {
  const json doc = {{"version", kStateVersion},
                    {"host_id", state.host_id},
                    {"server_url", state.server_url},
                    {"inventory_hash", state.inventory_hash}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<State> parse_state(std::string_view text, std::string_view name) {
  if (text.size() > kMaxStateBytes) {
    return corrupt(name, "larger than " + std::to_string(kMaxStateBytes) + " bytes");
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return corrupt(name, std::string("not JSON: ") + e.what());
  }
  if (!doc.is_object()) return corrupt(name, "not a JSON object");
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer()) {
    return corrupt(name, "no integer \"version\"");
  }
  if (version->get<std::int64_t>() != kStateVersion) {
    return corrupt(name, "version " + std::to_string(version->get<std::int64_t>()) +
                             " is not the one this agent knows (" + std::to_string(kStateVersion) +
                             ")");
  }
  State s;
  for (auto [key, out, required] :
       {std::tuple{"host_id", &s.host_id, true}, std::tuple{"server_url", &s.server_url, true},
        std::tuple{"inventory_hash", &s.inventory_hash, false}}) {
    const auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) {
      if (required) return corrupt(name, std::string("no \"") + key + "\"");
      continue;
    }
    if (!it->is_string()) return corrupt(name, std::string("\"") + key + "\" is not a string");
    *out = it->get<std::string>();
    if (required && out->empty()) return corrupt(name, std::string("\"") + key + "\" is empty");
  }
  auto url = normalize_server_url(s.server_url);
  if (!url) return corrupt(name, "\"server_url\": " + url.error().message);
  s.server_url = *url;
  return s;
}

Result<State> load_state(const fs::path& file) {
  auto text = files::read_at_most(file, kMaxStateBytes);
  if (!text) {
    if (text.error().code == Errc::not_found) {
      return make_error(Errc::not_found,
                        "not enrolled: no state file (run 'patchflow-agent enroll' first, or "
                        "give --state-dir)",
                        file.string());
    }
    return tl::unexpected(text.error());
  }
  return parse_state(*text, file.string());
}

Result<void> save_state(const fs::path& file, const State& state) {
  return pki::save_pem(file, state_json(state), kStateFileMode);
}

Result<void> ensure_state_dir(const fs::path& dir) {
  std::error_code ec;
  const auto st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      return make_error(Errc::invalid_input, "the state directory is not a directory",
                        dir.string());
    }
    return {};
  }
  if (!dir.parent_path().empty()) {
    fs::create_directories(dir.parent_path(), ec);
    if (ec)
      return make_error(Errc::io, "cannot create: " + ec.message(), dir.parent_path().string());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return make_error(Errc::io, std::string("cannot create: ") + std::strerror(errno),
                      dir.string());
  }
  return {};
}

Result<void> begin_rotation(const StateFiles& files, std::string_view key_pem) {
  return pki::save_pem(files.next_key, key_pem, pki::kKeyFileMode);
}

Result<void> complete_rotation(const StateFiles& files, std::string_view cert_pem) {
  if (auto ok = pki::save_pem(files.next_cert, cert_pem, pki::kCertFileMode); !ok) return ok;
  if (auto ok = rename_over(files.next_key, files.key); !ok) return ok;
  if (auto ok = rename_over(files.next_cert, files.cert); !ok) return ok;
  return sync_dir(files.dir);
}

void abandon_rotation(const StateFiles& files) {
  std::error_code ec;
  fs::remove(files.next_key, ec);
}

Result<bool> recover_rotation(const StateFiles& files) {
  if (present(files.next_cert)) {
    // The certificate arrived and was saved: finish installing the pair.
    if (present(files.next_key)) {
      if (auto ok = rename_over(files.next_key, files.key); !ok) return Unexpected(ok.error());
    }
    if (auto ok = rename_over(files.next_cert, files.cert); !ok) return Unexpected(ok.error());
    if (auto ok = sync_dir(files.dir); !ok) return Unexpected(ok.error());
    return true;
  }
  if (present(files.next_key)) {
    std::error_code ec;
    fs::remove(files.next_key, ec);
    if (ec) return make_error(Errc::io, "cannot remove: " + ec.message(), files.next_key.string());
    return true;
  }
  return false;
}

}  // namespace pf::agent_client
