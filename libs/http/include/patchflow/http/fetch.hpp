// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "patchflow/common/error.hpp"

/// Downloading a feed: HTTP(S) GET into a file, conditional on what was fetched last time.
namespace pf::http {

struct FetchRequest {
  std::string url;  ///< http:// or https:// only
  /// Written atomically: the body goes to a temporary file beside it, is flushed to disk and
  /// renamed over the destination only when complete.
  std::filesystem::path destination;
  /// From the previous download (FeedCursor): sent as If-None-Match / If-Modified-Since.
  std::string etag;
  std::string last_modified;
  std::chrono::seconds timeout{600};
  std::chrono::seconds connect_timeout{30};
  /// A larger body is refused (and nothing is written).
  std::uint64_t max_bytes{std::uint64_t{4} << 30};
  /// Extra CA bundle for private mirrors; the system's trust store otherwise.
  std::string ca_file;
  /// An explicit proxy; when empty, libcurl honours http_proxy / https_proxy / no_proxy.
  std::string proxy;
};

enum class FetchStatus { downloaded, not_modified };

struct FetchResult {
  FetchStatus status{FetchStatus::downloaded};
  long http_code{0};
  std::uint64_t bytes{0};
  std::string etag;           ///< as the server sent it (for the next conditional GET)
  std::string last_modified;  ///< likewise
};

/// One GET with redirects (at most 5). Errors: Errc::invalid_input for a bad URL or scheme,
/// Errc::timeout, Errc::io for network and file-system failures, Errc::backend_failed for an
/// HTTP status other than 200 and 304 (the message names the URL and the status).
[[nodiscard]] Result<FetchResult> fetch(const FetchRequest& request);

}  // namespace pf::http
