// SPDX-License-Identifier: Apache-2.0
#include "patchflow/agent_client/https_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace pf::agent_client {
namespace {

using nlohmann::json;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string body;
  std::string content_type;
  std::size_t max_bytes{0};
  bool too_large{false};
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->body.size() + n > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

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
  if (name == "content-type") sink->content_type = value;
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancelled = static_cast<const std::function<bool()>*>(user);
  return (*cancelled && (*cancelled)()) ? 1 : 0;
}

CallError call_error(Failure failure, Errc code, std::string message, std::string url,
                     int status = 0) {
  return CallError{failure, status, "", Error{code, std::move(message), std::move(url)}};
}

// What libcurl's failure means for the caller.
Failure classify(CURLcode rc, std::string_view why) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return Failure::timeout;
    case CURLE_ABORTED_BY_CALLBACK:
      return Failure::interrupted;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
      return Failure::local;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return Failure::tls;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      // With TLS 1.3 a server that refuses the client's certificate says so in an alert that
      // arrives with the first read after the handshake.
      if (why.find("alert") != std::string_view::npos) return Failure::tls;
      return Failure::unreachable;
    default:
      return Failure::unreachable;
  }
}

Errc errc_for(Failure f) {
  switch (f) {
    case Failure::unreachable:
    case Failure::timeout:
    case Failure::tls:
    case Failure::local:
      return Errc::io;
    case Failure::interrupted:
      return Errc::interrupted;
    case Failure::too_large:
    case Failure::bad_response:
    case Failure::client_error:
      return Errc::invalid_input;
    case Failure::unauthenticated:
    case Failure::forbidden:
      return Errc::conflict;
    case Failure::server_error:
      return Errc::backend_failed;
  }
  return Errc::io;
}

std::string what_failed(Failure f) {
  switch (f) {
    case Failure::unreachable:
      return "cannot reach the server: ";
    case Failure::timeout:
      return "the server did not answer in time: ";
    case Failure::tls:
      return "TLS handshake failed: ";
    case Failure::interrupted:
      return "interrupted: ";
    case Failure::local:
      return "cannot set up the request: ";
    default:
      return "";
  }
}

// The server's error document {"error":{"code","message","field"}}, when the body is one.
CallError http_error(long status, const std::string& body, const std::string& url) {
  Failure f = Failure::client_error;
  if (status == 401) f = Failure::unauthenticated;
  if (status == 403) f = Failure::forbidden;
  if (status >= 500) f = Failure::server_error;
  std::string message = "HTTP " + std::to_string(status);
  std::string code;
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const json& e = doc["error"];
    if (e.contains("code") && e["code"].is_string()) code = e["code"].get<std::string>();
    if (!code.empty()) message += " " + code;
    if (e.contains("message") && e["message"].is_string()) {
      message += ": " + e["message"].get<std::string>();
    }
    if (e.contains("field") && e["field"].is_string() && !e["field"].get<std::string>().empty()) {
      message += " (field " + e["field"].get<std::string>() + ")";
    }
  } else if (!body.empty()) {
    // Not our server's document (a proxy's page, ...): a short, printable excerpt.
    std::string excerpt;
    for (char c : body.substr(0, 200)) {
      excerpt += std::isprint(static_cast<unsigned char>(c)) != 0 ? c : ' ';
    }
    message += ": " + excerpt;
  }
  CallError err = call_error(f, errc_for(f), std::move(message), url, static_cast<int>(status));
  err.server_code = std::move(code);
  return err;
}

struct Params {
  std::string method;
  std::string url;
  std::string body;
  bool verify{true};
  std::filesystem::path ca_file;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds total_timeout{120};
  std::size_t max_bytes{std::size_t{32} << 20};
  const std::function<bool()>* cancelled{nullptr};
};

CallResult<Response> perform(const Params& p) {
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    return tl::unexpected(call_error(Failure::local, Errc::io, "cannot initialise libcurl", p.url));
  }
  CURL* c = curl.get();
  Sink sink;
  sink.max_bytes = p.max_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  const auto add_header = [&](const char* h) {
    headers.reset(curl_slist_append(headers.release(), h));
  };
  add_header("Accept: application/json");
  add_header("Expect:");  // no 100-continue round trip
  if (!p.body.empty()) add_header("Content-Type: application/json");

  curl_easy_setopt(c, CURLOPT_URL, p.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(p.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(p.total_timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "patchflow-agent/" PF_VERSION);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  // Proxies: nothing is set here on purpose, so that libcurl reads https_proxy, HTTPS_PROXY,
  // all_proxy and no_proxy / NO_PROXY from the environment.
  if (p.cancelled != nullptr && *p.cancelled) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA,
                     const_cast<void*>(static_cast<const void*>(p.cancelled)));
  }
  if (p.verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CAINFO, p.ca_file.c_str());
    // Only the server's CA: no compiled-in CA directory, no native store.
    curl_easy_setopt(c, CURLOPT_CAPATH, static_cast<char*>(nullptr));
    if (!p.cert_file.empty()) {
      curl_easy_setopt(c, CURLOPT_SSLCERT, p.cert_file.c_str());
      curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(c, CURLOPT_SSLKEY, p.key_file.c_str());
      curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
  } else {
    // fetch_ca_unverified only: the answer is checked against a pinned fingerprint.
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (p.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    if (p.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, p.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(p.body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, p.body.c_str());
  }

  const CURLcode rc = curl_easy_perform(c);
  if (sink.too_large) {
    return tl::unexpected(call_error(
        Failure::too_large, Errc::invalid_input,
        "the answer is larger than the limit of " + std::to_string(p.max_bytes) + " bytes", p.url));
  }
  if (rc != CURLE_OK) {
    const std::string why = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    const Failure f = classify(rc, why);
    return tl::unexpected(call_error(f, errc_for(f), what_failed(f) + why, p.url));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) return tl::unexpected(http_error(status, sink.body, p.url));
  return Response{static_cast<int>(status), std::move(sink.body), std::move(sink.content_type)};
}

}  // namespace

std::string_view failure_name(Failure failure) noexcept {
  switch (failure) {
    case Failure::unreachable:
      return "unreachable";
    case Failure::timeout:
      return "timeout";
    case Failure::tls:
      return "tls";
    case Failure::interrupted:
      return "interrupted";
    case Failure::too_large:
      return "too_large";
    case Failure::bad_response:
      return "bad_response";
    case Failure::unauthenticated:
      return "unauthenticated";
    case Failure::forbidden:
      return "forbidden";
    case Failure::client_error:
      return "client_error";
    case Failure::server_error:
      return "server_error";
    case Failure::local:
      return "local";
  }
  return "unreachable";
}

std::string to_string(const CallError& error) {
  return pf::to_string(error.error);
}

Result<std::string> normalize_server_url(std::string_view url) {
  std::string_view u = url;
  if (!u.starts_with("https://")) {
    return make_error(Errc::invalid_input, "the server URL must start with https://",
                      std::string(url));
  }
  std::string_view authority = u.substr(8);
  while (authority.ends_with('/')) authority.remove_suffix(1);
  if (authority.empty()) return make_error(Errc::invalid_input, "no host", std::string(url));
  for (char c : authority) {
    const auto uc = static_cast<unsigned char>(c);
    if (c == '/' || c == '?' || c == '#' || c == '@' || std::isspace(uc) != 0 ||
        std::iscntrl(uc) != 0) {
      return make_error(Errc::invalid_input,
                        "expected https://host[:port] without a path, query or user name",
                        std::string(url));
    }
  }
  return "https://" + std::string(authority);
}

HttpsClient::HttpsClient(ClientOptions options) : options_(std::move(options)) {
  while (options_.base_url.ends_with('/')) options_.base_url.pop_back();
}

std::string HttpsClient::url(std::string_view path) const {
  return options_.base_url + std::string(path);
}

CallResult<Response> HttpsClient::request(std::string_view method, std::string_view path,
                                          std::string_view json_body) const {
  Params p;
  p.method = std::string(method);
  p.url = url(path);
  if (p.method != "GET" && p.method != "POST" && p.method != "PUT" && p.method != "DELETE") {
    return tl::unexpected(
        call_error(Failure::local, Errc::invalid_input, "unsupported method " + p.method, p.url));
  }
  if (options_.ca_file.empty()) {
    return tl::unexpected(call_error(Failure::local, Errc::invalid_input,
                                     "no CA file: the server cannot be verified", p.url));
  }
  if (options_.cert_file.empty() != options_.key_file.empty()) {
    return tl::unexpected(call_error(Failure::local, Errc::invalid_input,
                                     "a client certificate needs its key (and the other way round)",
                                     p.url));
  }
  p.body = std::string(json_body);
  p.ca_file = options_.ca_file;
  p.cert_file = options_.cert_file;
  p.key_file = options_.key_file;
  p.connect_timeout = options_.connect_timeout;
  p.total_timeout = options_.total_timeout;
  p.max_bytes = options_.max_response_bytes;
  p.cancelled = &options_.cancelled;
  return perform(p);
}

CallResult<std::string> fetch_ca_unverified(const std::string& base_url,
                                            std::chrono::seconds timeout,
                                            const std::function<bool()>& cancelled) {
  Params p;
  p.method = "GET";
  std::string base = base_url;
  while (base.ends_with('/')) base.pop_back();
  p.url = base + "/agent/v1/ca";
  p.verify = false;
  p.connect_timeout = timeout;
  p.total_timeout = timeout;
  p.max_bytes = 256 * 1024;
  p.cancelled = &cancelled;
  auto r = perform(p);
  if (!r) return tl::unexpected(r.error());
  std::string pem = std::move(r->body);
  if (!pem.empty() && pem.front() == '{') {
    const json doc = json::parse(pem, nullptr, false);
    if (!doc.is_object() || !doc.contains("ca_pem") || !doc["ca_pem"].is_string()) {
      return tl::unexpected(call_error(Failure::bad_response, Errc::invalid_input,
                                       "expected {\"ca_pem\": \"...\"} or a PEM certificate",
                                       p.url));
    }
    pem = doc["ca_pem"].get<std::string>();
  }
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return tl::unexpected(call_error(Failure::bad_response, Errc::invalid_input,
                                     "the answer holds no PEM certificate", p.url));
  }
  return pem;
}

}  // namespace pf::agent_client
