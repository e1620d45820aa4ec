// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pki/files.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

#include "ossl.hpp"
#include "patchflow/common/files.hpp"

namespace pf::pki {

namespace fs = std::filesystem;
using namespace detail;

namespace {

std::string errno_text(int e) { return std::strerror(e); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string mode_text(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777U);
  return buf;
}

Result<std::string> read_pem_file(const fs::path& path) {
  auto data = files::read_at_most(path, kMaxPemBytes);
  if (!data) return tl::unexpected(data.error());
  if (data->size() > kMaxPemBytes) {
    return make_error(Errc::invalid_input,
                      "larger than " + std::to_string(kMaxPemBytes) + " bytes: not a PEM file",
                      path.string());
  }
  return data;
}

// Present (as anything, even a dangling symbolic link) or not.
Result<bool> present(const fs::path& path) {
  std::error_code ec;
  const auto st = fs::symlink_status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return make_error(Errc::io, "cannot stat: " + ec.message(), path.string());
  }
  return !ec && fs::exists(st);
}

Result<void> make_private_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  if (!dir.parent_path().empty()) {
    fs::create_directories(dir.parent_path(), ec);
    if (ec) return make_error(Errc::io, "cannot create: " + ec.message(), dir.parent_path().string());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return make_error(Errc::io, "cannot create: " + errno_text(errno), dir.string());
  }
  return {};
}

// Which of the pair exists; both or neither is fine, one alone is refused.
Result<bool> pair_present(const fs::path& cert_file, const fs::path& key_file) {
  auto cert = present(cert_file);
  if (!cert) return tl::unexpected(cert.error());
  auto key = present(key_file);
  if (!key) return tl::unexpected(key.error());
  if (*cert != *key) {
    const fs::path& missing = *cert ? key_file : cert_file;
    const fs::path& there = *cert ? cert_file : key_file;
    return make_error(Errc::conflict,
                      "missing, while " + there.string() +
                          " exists; refusing to create a new one over half a pair (restore it, "
                          "or remove both to start again)",
                      missing.string());
  }
  return *cert;
}

Result<StoredCertificate> load_pair(const fs::path& cert_file, const fs::path& key_file) {
  if (auto ok = check_key_file_mode(key_file); !ok) return tl::unexpected(ok.error());
  auto cert_pem = read_pem_file(cert_file);
  if (!cert_pem) return tl::unexpected(cert_pem.error());
  auto key_pem = read_pem_file(key_file);
  if (!key_pem) return tl::unexpected(key_pem.error());
  auto cert = read_cert(*cert_pem, cert_file.string());
  if (!cert) return tl::unexpected(cert.error());
  auto key = read_private_key(*key_pem, key_file.string());
  if (!key) return tl::unexpected(key.error());
  if (auto ok = check_key_matches(cert->get(), key->get(), key_file.string()); !ok) {
    auto e = ok.error();
    e.message += " in " + cert_file.string();
    return tl::unexpected(e);
  }
  StoredCertificate out;
  out.pem = CertAndKey{std::move(*cert_pem), std::move(*key_pem)};
  out.cert_file = cert_file;
  out.key_file = key_file;
  return out;
}

Result<void> save_pair(const StoredCertificate& stored) {
  // The key first: a crash between the two leaves a key without a certificate, which the next
  // start refuses rather than silently pairing a new certificate with nothing.
  if (auto ok = save_pem(stored.key_file, stored.pem.key_pem, kKeyFileMode); !ok) return ok;
  return save_pem(stored.cert_file, stored.pem.cert_pem, kCertFileMode);
}

std::string canonical_ip(const std::string& text) {
  unsigned char bytes[16];
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1 &&
      inet_ntop(AF_INET, bytes, buf, sizeof buf) != nullptr) {
    return buf;
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1 &&
      inet_ntop(AF_INET6, bytes, buf, sizeof buf) != nullptr) {
    return buf;
  }
  return text;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Why an existing server certificate must be re-issued, or empty when it is still good.
std::string reissue_reason(const CertificateInfo& info, const ServerCertOptions& options,
                           std::chrono::sys_seconds now) {
  if (now >= info.not_after) return "expired";
  if (now < info.not_before) return "not yet valid (the clock moved back)";
  if (needs_rotation(info, now, 1.0 / 3.0)) return "expires soon";
  if (!options.common_name.empty() && options.common_name != info.subject_cn) {
    return "names changed";
  }
  for (const auto& dns : options.dns_names) {
    if (std::none_of(info.dns_names.begin(), info.dns_names.end(),
                     [&](const std::string& have) { return iequal(have, dns); })) {
      return "names changed";
    }
  }
  for (const auto& ip : options.ip_addresses) {
    if (std::find(info.ip_addresses.begin(), info.ip_addresses.end(), canonical_ip(ip)) ==
        info.ip_addresses.end()) {
      return "names changed";
    }
  }
  return {};
}

}  // namespace

Result<void> save_pem(const fs::path& path, std::string_view pem, unsigned mode) {
  if ((mode & ~07777U) != 0) {
    return make_error(Errc::invalid_input, "not a file mode: " + std::to_string(mode), path.string());
  }
  if (path.filename().empty()) {
    return make_error(Errc::invalid_input, "not a file name", path.string());
  }
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  Fd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    return make_error(Errc::io, "cannot create a temporary file: " + errno_text(errno),
                      path.string());
  }
  bool renamed = false;
  struct Cleanup {
    const std::string& file;
    const bool& renamed;
    ~Cleanup() {
      if (!renamed) ::unlink(file.c_str());
    }
  } cleanup{tmpl, renamed};

  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    return make_error(Errc::io, "cannot chmod " + mode_text(mode) + ": " + errno_text(errno), tmpl);
  }
  std::size_t done = 0;
  while (done < pem.size()) {
    const ssize_t n = ::write(fd.get(), pem.data() + done, pem.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, "cannot write: " + errno_text(errno), tmpl);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return make_error(Errc::io, "fsync failed: " + errno_text(errno), tmpl);
  if (::close(fd.release()) != 0) {
    return make_error(Errc::io, "close failed: " + errno_text(errno), tmpl);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    return make_error(Errc::io, "cannot rename " + tmpl + " into place: " + errno_text(errno),
                      path.string());
  }
  renamed = true;
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return make_error(Errc::io, "cannot fsync the directory: " + errno_text(errno), dir.string());
  }
  return {};
}

Result<void> check_key_file_mode(const fs::path& key_file) {
  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0) {
    const int e = errno;
    return make_error(e == ENOENT ? Errc::not_found : Errc::io, "cannot stat: " + errno_text(e),
                      key_file.string());
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(Errc::conflict, "a private key must be a regular file", key_file.string());
  }
  const unsigned mode = st.st_mode & 07777U;
  if ((mode & 077U) != 0) {
    return make_error(Errc::conflict,
                      "private key file has mode " + mode_text(mode) +
                          ": group or others may read it; refusing to use it (chmod 600 " +
                          key_file.string() + ", and replace the key if others may have read it)",
                      key_file.string());
  }
  return {};
}

Result<StoredCertificate> load_or_create_ca(const fs::path& dir, const CaOptions& options) {
  const fs::path cert_file = dir / "ca.crt";
  const fs::path key_file = dir / "ca.key";
  auto there = pair_present(cert_file, key_file);
  if (!there) return tl::unexpected(there.error());
  if (*there) {
    auto stored = load_pair(cert_file, key_file);
    if (!stored) return stored;
    auto cert = read_cert(stored->pem.cert_pem, cert_file.string());
    if (!cert) return tl::unexpected(cert.error());
    if ((X509_get_extension_flags(cert->get()) & EXFLAG_CA) == 0) {
      return make_error(Errc::invalid_input,
                        "not a CA certificate (basicConstraints CA:TRUE is missing)",
                        cert_file.string());
    }
    return stored;
  }
  if (auto ok = make_private_dir(dir); !ok) return tl::unexpected(ok.error());
  auto ca = create_ca(options);
  if (!ca) return tl::unexpected(ca.error());
  StoredCertificate stored{std::move(*ca), cert_file, key_file, true, "absent"};
  if (auto ok = save_pair(stored); !ok) return tl::unexpected(ok.error());
  return stored;
}

Result<StoredCertificate> load_or_create_server_cert(const fs::path& dir, const CertAndKey& ca,
                                                     const ServerCertOptions& options) {
  const fs::path cert_file = dir / "server.crt";
  const fs::path key_file = dir / "server.key";
  const auto now = options.now.value_or(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  auto there = pair_present(cert_file, key_file);
  if (!there) return tl::unexpected(there.error());
  std::string reason = "absent";
  if (*there) {
    auto stored = load_pair(cert_file, key_file);
    if (!stored) return stored;
    auto cert = read_cert(stored->pem.cert_pem, cert_file.string());
    if (!cert) return tl::unexpected(cert.error());
    auto ca_cert = read_cert(ca.cert_pem, "ca certificate");
    if (!ca_cert) return tl::unexpected(ca_cert.error());
    if (auto ok = check_issued_by(cert->get(), ca_cert->get(), cert_file.string()); !ok) {
      auto e = ok.error();
      e.message += "; remove " + cert_file.string() + " and " + key_file.string() +
                   " to have a new one issued";
      return tl::unexpected(e);
    }
    auto info = certificate_info(stored->pem.cert_pem);
    if (!info) return tl::unexpected(info.error());
    reason = reissue_reason(*info, options, now);
    if (reason.empty()) return stored;
  }
  if (auto ok = make_private_dir(dir); !ok) return tl::unexpected(ok.error());
  ServerCertOptions issue = options;
  issue.now = now;
  auto cert = issue_server_cert(ca, issue);
  if (!cert) return tl::unexpected(cert.error());
  StoredCertificate stored{std::move(*cert), cert_file, key_file, true, std::move(reason)};
  if (auto ok = save_pair(stored); !ok) return tl::unexpected(ok.error());
  return stored;
}

}  // namespace pf::pki
