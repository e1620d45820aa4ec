// SPDX-License-Identifier: Apache-2.0
#include "patchflow/http/fetch.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace pf::http {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Sink {
  int fd{-1};
  std::uint64_t bytes{0};
  std::uint64_t max_bytes{0};
  bool too_large{false};
  bool write_failed{false};
  std::string etag;
  std::string last_modified;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->bytes + n > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  std::size_t off = 0;
  while (off < n) {
    const ssize_t w = ::write(sink->fd, data + off, n - off);
    if (w <= 0) {
      sink->write_failed = true;
      return 0;
    }
    off += static_cast<std::size_t>(w);
  }
  sink->bytes += n;
  return n;
}

// Header lines arrive one at a time, also those of redirects: the last response's win.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (name == "etag") sink->etag = value;
  if (name == "last-modified") sink->last_modified = value;
  return n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<FetchResult> fetch(const FetchRequest& request) {
  const std::string& url = request.url;
  if (!(url.starts_with("https://") || url.starts_with("http://"))) {
    return make_error(Errc::invalid_input, "only http:// and https:// URLs can be fetched", url);
  }
  if (request.destination.empty()) {
    return make_error(Errc::invalid_input, "no destination file", url);
  }
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return make_error(Errc::io, "cannot initialise libcurl", url);

  const std::filesystem::path tmp = request.destination.string() + ".part";
  Sink sink;
  sink.max_bytes = request.max_bytes;
  sink.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (sink.fd < 0) {
    return make_error(Errc::io, std::string("cannot create ") + tmp.string() + ": " +
                                    std::strerror(errno), url);
  }
  struct Cleanup {
    Sink& sink;
    const std::filesystem::path& tmp;
    bool keep{false};
    ~Cleanup() {
      if (sink.fd >= 0) ::close(sink.fd);
      if (!keep) ::unlink(tmp.c_str());
    }
  } cleanup{sink, tmp};

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  if (!request.etag.empty()) add_header("If-None-Match: " + request.etag);
  if (!request.last_modified.empty()) add_header("If-Modified-Since: " + request.last_modified);

  CURL* c = curl.get();
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate/br as the server offers
  curl_easy_setopt(c, CURLOPT_USERAGENT, "patchflow/" PF_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.proxy.empty()) curl_easy_setopt(c, CURLOPT_PROXY, request.proxy.c_str());

  const CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (sink.too_large) {
    return make_error(Errc::invalid_input,
                      "the response is larger than the limit of " +
                          std::to_string(request.max_bytes) + " bytes",
                      url);
  }
  if (sink.write_failed) {
    return make_error(Errc::io, "cannot write " + tmp.string() + ": " + std::strerror(errno), url);
  }
  if (rc != CURLE_OK) {
    const Errc kind = rc == CURLE_OPERATION_TIMEDOUT ? Errc::timeout : Errc::io;
    std::string why = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    return make_error(kind, "download failed: " + why, url);
  }

  FetchResult result;
  result.http_code = code;
  result.etag = sink.etag;
  result.last_modified = sink.last_modified;
  if (code == 304) {
    result.status = FetchStatus::not_modified;
    return result;
  }
  if (code != 200) {
    return make_error(Errc::backend_failed, "the server answered HTTP " + std::to_string(code),
                      url);
  }
  // Durable before visible: flush the body, then rename it into place, then flush the
  // directory entry.
  if (::fsync(sink.fd) != 0) {
    return make_error(Errc::io, "cannot flush " + tmp.string() + ": " + std::strerror(errno), url);
  }
  ::close(sink.fd);
  sink.fd = -1;
  if (::rename(tmp.c_str(), request.destination.c_str()) != 0) {
    return make_error(Errc::io, "cannot rename to " + request.destination.string() + ": " +
                                    std::strerror(errno), url);
  }
  cleanup.keep = true;
  const auto dir = request.destination.parent_path().empty() ? std::filesystem::path(".")
                                                              : request.destination.parent_path();
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  result.status = FetchStatus::downloaded;
  result.bytes = sink.bytes;
  return result;
}

}  // namespace pf::http
