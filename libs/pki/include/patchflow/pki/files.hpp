// SPDX-License-Identifier: Apache-2.0
// Keys and certificates on disk: atomic writes, and the server's first start (its CA and its
// server certificate created once, then reused).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"
#include "patchflow/pki/certs.hpp"

namespace pf::pki {

inline constexpr unsigned kKeyFileMode = 0600;
inline constexpr unsigned kCertFileMode = 0644;

/// Writes `pem` to `path` atomically: a temporary file in the same directory created with
/// `mode` (umask does not widen or narrow it), written, fsync'ed, renamed over `path`, then the
/// directory fsync'ed. A reader sees the old file or the new one, never a part. Errc::io naming
/// the path on failure (the temporary file is removed).
[[nodiscard]] Result<void> save_pem(const std::filesystem::path& path, std::string_view pem,
                                    unsigned mode);

/// Checks that a key file is a regular file without group or other permissions. Errc::conflict
/// naming the file and its mode otherwise ("chmod 600 it"), Errc::not_found when absent.
[[nodiscard]] Result<void> check_key_file_mode(const std::filesystem::path& key_file);

/// A certificate and key as stored in a directory.
struct StoredCertificate {
  CertAndKey pem;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  bool created{false};  ///< true when this call wrote them (first start, or re-issued)
  std::string reason;   ///< why they were written ("absent", "expires soon", "names changed")
};

/// The server's CA in `dir` (ca.crt 0644, ca.key 0600). When both are absent a CA is created
/// with `options` (and `dir` with mode 0700 if needed); when both are present they are reused.
/// Refused with an error naming the file: only one of the two present (Errc::conflict), a key
/// file with group/other permissions (Errc::conflict), unreadable PEM, a key that does not match
/// the certificate, a certificate that is not a CA (Errc::invalid_input). Never overwrites.
[[nodiscard]] Result<StoredCertificate> load_or_create_ca(const std::filesystem::path& dir,
                                                          const CaOptions& options = {});

/// The server's certificate in `dir` (server.crt 0644, server.key 0600), issued by `ca`.
/// Created when absent; reused when present, the key file's mode is right, the key matches,
/// it was issued by `ca` and is valid at `options.now` (default: the clock). It is re-issued
/// (reason says why) when less than a third of its validity remains or when a DNS name or IP
/// address of `options` is missing from it. A certificate issued by another CA, a key that
/// does not match, or a key file with group/other permissions is an error naming the file.
[[nodiscard]] Result<StoredCertificate> load_or_create_server_cert(
    const std::filesystem::path& dir, const CertAndKey& ca, const ServerCertOptions& options);

}  // namespace pf::pki
