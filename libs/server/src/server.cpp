// SPDX-License-Identifier: Apache-2.0
// The HTTP side of the server: one TLS listener (cpp-httplib's SSLServer) that requests, but
// does not require, a client certificate; dispatch through the route table; the middleware
// (request id, authentication, role check, body limit, JSON parsing, error documents, access
// log, metrics); start and stop.
#include "patchflow/server/server.hpp"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <csignal>
#include <random>
#include <thread>

#include "bootstrap.hpp"
#include "patchflow/auth/token.hpp"
#include "patchflow/pki/certs.hpp"
#include "service.hpp"

// cpp-httplib 0.11.4 as Debian builds it (libcpp-httplib.so) waits for the next request on a
// keep-alive connection in detail::keep_alive: select() with a 10 ms timeout, then a 1 ms sleep,
// in a loop until the keep-alive timeout. The interval is compiled into the library; no setting
// and no CPPHTTPLIB_* macro reaches it, so every idle connection's worker thread woke ~90 times
// a second (a fifth of the server's CPU with a few hundred agents connected). The library calls
// the function through its PLT, so this definition in the executable takes its place: one
// poll() for the whole timeout, the same answer (true: readable or closed by the peer, false:
// timed out or failed), and no added delay when the next request comes. Should a later library
// change the signature, this is simply not called (the old loop runs again).
namespace httplib::detail {
bool keep_alive(socket_t sock, time_t keep_alive_timeout_sec);
bool keep_alive(socket_t sock, time_t keep_alive_timeout_sec) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(keep_alive_timeout_sec);
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left < 0) return false;
    pollfd p{sock, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}
}  // namespace httplib::detail

namespace pf::server {
namespace {

using Clock = std::chrono::steady_clock;

// The state of the request a worker thread is serving: httplib runs the pre-routing handler,
// the route handler, the error handler and the logger of one request on one thread.
struct RequestState {
  bool active{false};
  Clock::time_point start;
  std::string request_id;
  std::string route;      // the matched pattern, for metrics and the log
  std::string principal;  // user or host, for the log
};
thread_local RequestState tl_request;

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string out(16, '0');
  for (auto& c : out) {
    c = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// "{name}" matches one non-empty segment.
bool match(std::string_view pattern, std::string_view path,
           std::map<std::string, std::string>& params) {
  params.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') {
      return false;
    }
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pseg = pattern.substr(0, pattern.find('/'));
    const auto seg = path.substr(0, path.find('/'));
    if (pseg.size() > 2 && pseg.front() == '{' && pseg.back() == '}') {
      if (seg.empty()) return false;
      params[std::string(pseg.substr(1, pseg.size() - 2))] = std::string(seg);
    } else if (pseg != seg) {
      return false;
    }
    pattern.remove_prefix(pseg.size());
    path.remove_prefix(seg.size());
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The query of the raw target, each item split at its first '=' (so "label=tier=web" is the
// key "label" with the value "tier=web", as is "label=tier%3Dweb").
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view target) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty() && out.size() < 256) {
    const auto amp = rest.find('&');
    const auto item = rest.substr(0, amp);
    if (!item.empty()) {
      const auto eq = item.find('=');
      out.emplace_back(percent_decode(item.substr(0, eq)),
                       eq == std::string_view::npos ? "" : percent_decode(item.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

// Nesting depth of a JSON text (brackets outside strings), so that no document can make the
// parser or the code walking it go deep.
constexpr int kMaxJsonDepth = 64;
bool json_depth_ok(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// The lesser of two roles: what both allow (approver and operator share only viewer).
auth::Role lesser(auth::Role a, auth::Role b) {
  if (auth::allows(a, b)) return b;
  if (auth::allows(b, a)) return a;
  return auth::Role::viewer;
}

Expect<void> authenticate_agent(Service& svc, const httplib::Request& req, Call& call) {
  const SSL* ssl = req.ssl;
  X509* peer = ssl != nullptr ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (peer == nullptr) {
    return fail(401, "unauthenticated", "agent routes need the host's client certificate");
  }
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    return fail(401, "unauthenticated", "the client certificate did not verify");
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509(peer, &der);
  if (n <= 0) return fail(401, "unauthenticated", "unreadable client certificate");
  const std::string bytes(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  const std::string fingerprint = pki::fingerprint_sha256_der(bytes);
  // Looked up on every call: a revocation takes effect at the next request.
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto host = (*lease)->host_by_fingerprint(fingerprint);
  if (!host) return from_error(svc, call, host.error());
  if (!*host) {
    return fail(401, "unauthenticated",
                "this client certificate belongs to no host (replaced by a renewal?)");
  }
  tl_request.principal = "host:" + (*host)->id;
  if ((*host)->revoked_at) return fail(403, "forbidden", "this host is revoked");
  call.host = std::move(**host);
  return {};
}

Expect<void> authenticate_api(Service& svc, const httplib::Request& req, Call& call,
                              auth::Role need) {
  const std::string header = req.get_header_value("Authorization");
  if (header.empty()) {
    return fail(401, "unauthenticated", "missing 'Authorization: Bearer <API token>'");
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) {
    return fail(401, "unauthenticated", "expected 'Authorization: Bearer <API token>'");
  }
  const std::string token = header.substr(kBearer.size());
  auto kind = auth::parse_token(token);
  if (!kind) return fail(401, "unauthenticated", "malformed token: " + kind.error().message);
  // API tokens, and the session tokens POST /api/v1/login hands out (kept the same way).
  if (*kind != auth::TokenKind::api && *kind != auth::TokenKind::session) {
    return fail(401, "unauthenticated", "not an API or session token (pfa_... or pfs_...)");
  }
  auto lease = svc.pool->lease();
  if (!lease) return from_error(svc, call, lease.error());
  auto t = (*lease)->api_token(auth::token_hash(token));
  if (!t) return from_error(svc, call, t.error());
  if (!*t) return fail(401, "unauthenticated", "unknown API token");
  const store::ApiToken& rec = **t;
  tl_request.principal = rec.user;
  if (rec.revoked_at) return fail(401, "unauthenticated", "API token revoked");
  if (rec.expires_at && *rec.expires_at <= call.now) {
    return fail(401, "unauthenticated", "API token expired");
  }
  auto user = (*lease)->user(rec.user);
  if (!user) return from_error(svc, call, user.error());
  if (!*user || (*user)->disabled) {
    return fail(401, "unauthenticated", "the token's user is disabled or gone");
  }
  auto token_role = auth::parse_role(rec.role);
  auto user_role = auth::parse_role((*user)->role);
  if (!token_role || !user_role) return fail(401, "unauthenticated", "the token has no valid role");
  const auth::Role role = lesser(*token_role, *user_role);
  if (auto used = (*lease)->record_api_token_use(rec.token_id, call.now); !used) {
    svc.log->warn("cannot record token use", {{"request_id", call.request_id},
                                              {"error", to_string(used.error())}});
  }
  call.principal = Principal{rec.user, role, rec.token_id};
  if (!auth::allows(role, need)) {
    return fail(403, "forbidden",
                "this route needs role " + std::string(auth::to_string(need)) + "; the token has " +
                    std::string(auth::to_string(role)));
  }
  return {};
}

void write_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_body(e), "application/json");
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"patchflow\"");
}

Outcome route_request(Service& svc, const httplib::Request& req, httplib::Response& res,
                      Call& call) {
  call.method = req.method == "HEAD" ? "GET" : req.method;
  call.path = req.path;
  call.request_id = tl_request.request_id;
  call.now = unix_now();

  const Route* route = nullptr;
  std::string allow;
  std::map<std::string, std::string> params;
  for (const auto& r : routes()) {
    if (!match(r.info.pattern, call.path, params)) continue;
    if (r.info.method == call.method) {
      route = &r;
      call.params = params;
      break;
    }
    allow += (allow.empty() ? "" : ", ") + std::string(r.info.method);
  }
  if (route == nullptr) {
    if (!allow.empty()) {
      res.set_header("Allow", allow);
      return fail(405, "method_not_allowed", call.method + " is not allowed here (" + allow + ")");
    }
    return fail(404, "not_found", "no route " + call.method + " " + call.path.substr(0, 200));
  }
  tl_request.route = std::string(route->info.pattern);

  switch (route->info.access) {
    case Access::public_:
      break;
    case Access::agent:
      if (auto ok = authenticate_agent(svc, req, call); !ok) return tl::unexpected(ok.error());
      break;
    case Access::api: {
      auto need = auth::parse_role(route->info.role);
      PF_ASSERT(need.has_value());
      if (auto ok = authenticate_api(svc, req, call, *need); !ok) {
        return tl::unexpected(ok.error());
      }
      break;
    }
  }

  call.query = parse_query(req.target);
  if (route->body != Body::none) {
    if (req.body.empty()) return invalid("the request needs a JSON object as its body", "body");
    if (!json_depth_ok(req.body)) {
      return invalid("JSON nested deeper than " + std::to_string(kMaxJsonDepth), "body");
    }
  }
  if (route->body == Body::raw) call.raw = req.body;
  if (route->body == Body::json_object) {
    try {
      call.body = json::parse(req.body);
    } catch (const json::parse_error& e) {
      std::string what = e.what();
      // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." → the message.
      if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
      return invalid("malformed JSON: " + what, "body");
    }
    if (!call.body.is_object()) return invalid("the body must be a JSON object", "body");
  }
  return route->handler(svc, call);
}

void dispatch(Service& svc, const httplib::Request& req, httplib::Response& res) {
  Call call;
  Outcome out = fail(500, "internal", "no answer");
  try {
    out = route_request(svc, req, res, call);
  } catch (const std::exception& e) {
    svc.log->error("request failed", {{"request_id", tl_request.request_id},
                                      {"error", e.what()}});
    out = fail(500, "internal", "internal error (request " + tl_request.request_id + ")");
  }
  if (!out) {
    write_error(res, out.error());
    return;
  }
  res.status = out->status;
  res.set_content(out->body, out->content_type);
}

}  // namespace

struct Server::Impl {
  Service svc;
  PkiState pki;
  BootstrapReport report;
  std::unique_ptr<httplib::SSLServer> http;
  std::thread listener;
  std::atomic<bool> listen_ended{false};
  std::atomic<int> listen_fd{-1};
  int port{0};
  bool stopped{false};
  std::mutex stop_mutex;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

int Server::port() const noexcept { return impl_->port; }
const BootstrapReport& Server::bootstrap() const noexcept { return impl_->report; }
std::filesystem::path Server::ca_file() const { return impl_->pki.client_ca_file; }
std::string Server::ca_fingerprint() const { return impl_->svc.ca_fingerprint; }

void Server::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  // Stop accepting; listen_after_bind returns once the worker threads finished what they
  // were serving.
  // Long-polls end first: their threads are what http->stop() waits for.
  impl_->svc.work.stop();
  if (impl_->http) impl_->http->stop();
  if (impl_->listener.joinable()) impl_->listener.join();
  // Nothing can queue a check-in any more: commit what is queued.
  if (impl_->svc.writer) impl_->svc.writer->stop();
  if (impl_->svc.inventory_writer) impl_->svc.inventory_writer->stop();
  if (impl_->svc.findings) impl_->svc.findings->stop();
  if (impl_->svc.chains) impl_->svc.chains->stop();
  impl_->svc.log->info("stopped", {{"checkins", std::to_string(impl_->svc.metrics.checkins_total()),
                                    true}});
  impl_->svc.pool.reset();
}

Result<std::unique_ptr<Server>> Server::start(const Config& config, StartOptions options) {
  // A peer closing its connection must not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  Service& svc = impl->svc;
  svc.config = config;
  const auto stderr_sink = [](std::string_view line) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  svc.log = std::make_unique<Log>(config.log_format,
                                  options.log ? options.log : LineSink(stderr_sink));
  const LineSink banner = options.banner ? options.banner : LineSink(stderr_sink);

  auto pki = prepare_pki(config);
  if (!pki) return Unexpected(pki.error());
  impl->pki = std::move(*pki);
  const PkiState& p = impl->pki;
  svc.ca = p.ca;
  svc.client_ca_pem = p.client_ca_pem;
  auto fp = pki::fingerprint_sha256(p.client_ca_pem);
  if (!fp) return Unexpected(fp.error());
  svc.ca_fingerprint = *fp;
  svc.signing_key_pem = p.signing_key_pem;
  svc.signing_public_pem = p.signing_public_pem;
  impl->report.ca_created = p.ca_created;
  impl->report.server_cert_created = p.server_cert_created;
  impl->report.signing_key_created = p.signing_key_created;
  if (p.ca_created) svc.log->info("created the CA", {{"file", p.ca_file.string()}});
  if (p.server_cert_created) {
    svc.log->info("issued the server certificate", {{"file", p.server_cert_file.string()},
                                                    {"reason", p.server_cert_reason}});
  }
  if (p.signing_key_created) {
    svc.log->info("created the work-signing key",
                  {{"file", (config.state_dir / "signing.key").string()}});
  }

  auto first = open_store(config.database);
  if (!first) return Unexpected(first.error());
  const std::string store_name = first->description;
  auto admin = ensure_admin(*first->fleet, unix_now());
  if (!admin) return Unexpected(admin.error());
  if (*admin) {
    impl->report.admin_created = true;
    impl->report.admin_token = **admin;
    banner(admin_token_banner(**admin, "first start: an administrator API token was created."));
    svc.log->info("created user admin and its first API token (shown once on stderr)");
  }
  auto writer_store = open_store(config.database);
  if (!writer_store) return Unexpected(writer_store.error());
  svc.writer = std::make_unique<CheckinWriter>(
      std::move(*writer_store), [&svc](std::size_t queued, const Result<std::size_t>& r) {
        if (r) {
          svc.metrics.checkins(queued);
          svc.metrics.checkin_batch();
        } else {
          svc.metrics.store_error();
          svc.log->error("check-in batch failed", {{"checkins", std::to_string(queued), true},
                                                   {"error", to_string(r.error())}});
        }
      });
  // One inventory writer on SQLite's single write lock; several on PostgreSQL.
  std::vector<OpenedStore> inventory_stores;
  const std::size_t inventory_writers = is_postgres_url(config.database) ? 4 : 1;
  for (std::size_t i = 0; i < inventory_writers; ++i) {
    auto opened = open_store(config.database);
    if (!opened) return Unexpected(opened.error());
    inventory_stores.push_back(std::move(*opened));
  }
  svc.inventory_writer = std::make_unique<InventoryWriter>(
      std::move(inventory_stores),
      [&svc](std::size_t queued, const InventoryWriter::Outcomes& r) {
        if (r) return;
        svc.metrics.store_error();
        svc.log->error("inventory batch failed", {{"inventories", std::to_string(queued), true},
                                                  {"error", to_string(r.error())}});
      });
  const std::size_t pool_size = std::min<std::size_t>(static_cast<std::size_t>(config.threads), 16);
  svc.pool = std::make_unique<StorePool>(config.database, pool_size, std::move(*first));
  svc.work.set_slots(config.long_poll_slots > 0 ? config.long_poll_slots
                                               : std::max(1, config.threads / 2));
  // Findings are derived state with their own connection and thread (findings_updater.hpp).
  auto findings_store = open_store(config.database);
  if (!findings_store) return Unexpected(findings_store.error());
  svc.findings = std::make_unique<FindingsUpdater>(std::move(*findings_store),
                                                   config.findings_interval, *svc.log);
  // The chain orchestrator: its own connection and thread; it acts only while this server
  // holds the leadership (one leader among replicas sharing the store).
  auto chain_store = open_store(config.database);
  if (!chain_store) return Unexpected(chain_store.error());
  auto leadership = open_leadership(config.database);
  if (!leadership) return Unexpected(leadership.error());
  ChainLoopOptions chain_options;
  chain_options.interval = config.chain_interval;
  chain_options.clock_file = config.clock_file;
  chain_options.signing_key_pem = svc.signing_key_pem;
  if (const char* crash = std::getenv("PF_SERVER_CRASH_AT"); crash != nullptr) {
    chain_options.crash_at = std::strtoull(crash, nullptr, 10);
  }
  svc.chains = std::make_unique<ChainLoop>(std::move(*chain_store), std::move(*leadership),
                                           chain_options, *svc.log, &svc.work);

  // TLS: TLS 1.2+, the server certificate (chain), and client certificates requested (not
  // required) and verified against our CA: a certificate of another CA fails the handshake,
  // no certificate is fine (the routes decide).
  std::string tls_error;
  const std::string cert_file = p.server_cert_file.string();
  const std::string key_file = p.server_key_file.string();
  const std::string ca_file = p.ca_file.string();
  impl->http = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) -> bool {
    const auto failed = [&](std::string what) {
      tls_error = what + ": " + openssl_errors();
      return false;
    };
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(&ctx, cert_file.c_str()) != 1) {
      return failed("cannot use " + cert_file);
    }
    if (SSL_CTX_use_PrivateKey_file(&ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return failed("cannot use " + key_file);
    }
    if (SSL_CTX_check_private_key(&ctx) != 1) return failed(key_file + " does not match");
    if (SSL_CTX_load_verify_locations(&ctx, ca_file.c_str(), nullptr) != 1) {
      return failed("cannot load " + ca_file);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
    if (names == nullptr) return failed("cannot read " + ca_file);
    SSL_CTX_set_client_CA_list(&ctx, names);
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
    static const unsigned char kContext[] = "patchflow";
    SSL_CTX_set_session_id_context(&ctx, kContext, sizeof kContext - 1);
    return true;
  });
  auto& http = *impl->http;
  if (!http.is_valid()) {
    return make_error(Errc::invalid_input, "TLS set-up failed: " + tls_error);
  }
  const auto threads = static_cast<std::size_t>(config.threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(config.max_body_bytes);
  // Headers and body go out as separate TLS records: without TCP_NODELAY, Nagle's algorithm
  // and the peer's delayed ACK add ~40 ms to every answer.
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(1000);
  http.set_keep_alive_timeout(config.keep_alive_timeout.count());
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  http.set_socket_options([raw = impl.get()](socket_t sock) {
    httplib::default_socket_options(sock);
    int none = -1;
    raw->listen_fd.compare_exchange_strong(none, sock);
  });
  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response& res) {
    tl_request = RequestState{true, Clock::now(), new_request_id(), "", ""};
    res.set_header("X-Request-Id", tl_request.request_id);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  const auto handler = [&svc](const httplib::Request& req, httplib::Response& res) {
    dispatch(svc, req, res);
  };
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Delete(".*", handler);
  http.Patch(".*", handler);
  const std::uint64_t max_body = config.max_body_bytes;
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e{res.status, std::string(default_code(res.status)), "", ""};
    if (res.status == 413) {
      e.message = "request body larger than " + std::to_string(max_body) + " bytes";
      e.field = "body";
    } else if (res.status == 404) {
      e.message = "no route " + req.method + " " + req.path.substr(0, 200);
    } else {
      e.message = "HTTP " + std::to_string(res.status);
    }
    res.set_content(error_body(e), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler(
      [&svc](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        svc.log->error("request failed", {{"request_id", tl_request.request_id}});
        write_error(res, ApiError{500, "internal",
                                  "internal error (request " + tl_request.request_id + ")", ""});
      });
  http.set_logger([&svc](const httplib::Request& req, const httplib::Response& res) {
    RequestState st = std::move(tl_request);
    tl_request = RequestState{};
    const double seconds =
        st.active ? std::chrono::duration<double>(Clock::now() - st.start).count() : 0.0;
    const std::string route = st.route.empty() ? "unmatched" : st.route;
    svc.metrics.request(route, res.status, seconds);
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3f", seconds * 1000);
    svc.log->info("request", {{"request_id", st.request_id.empty() ? "-" : st.request_id},
                              {"method", req.method},
                              {"path", req.path.substr(0, 512)},
                              {"route", route},
                              {"status", std::to_string(res.status), true},
                              {"duration_ms", ms, true},
                              {"bytes_in", std::to_string(req.body.size()), true},
                              {"remote", req.remote_addr},
                              {"principal", st.principal.empty() ? "-" : st.principal}});
  });

  if (config.listen_port == 0) {
    impl->port = http.bind_to_any_port(config.listen_host);
    if (impl->port <= 0) impl->port = 0;
  } else if (http.bind_to_port(config.listen_host, config.listen_port)) {
    impl->port = config.listen_port;
  }
  if (impl->port == 0) {
    return make_error(Errc::io, "cannot listen (address in use, or not an address of this host?)",
                      config.listen());
  }
  // httplib listens with a backlog of 5; agents connect in bursts.
  if (impl->listen_fd >= 0) ::listen(impl->listen_fd, 1024);

  Impl* raw = impl.get();
  impl->listener = std::thread([raw] {
    raw->http->listen_after_bind();
    raw->listen_ended = true;
  });
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!http.is_running() && !impl->listen_ended && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!http.is_running()) {
    http.stop();
    if (impl->listener.joinable()) impl->listener.join();
    return make_error(Errc::io, "the listener did not start", config.listen());
  }
  svc.log->info("listening", {{"address", "https://" + config.listen_host + ":" +
                                              std::to_string(impl->port)},
                              {"database", store_name},
                              {"state_dir", config.state_dir.string()},
                              {"ca_fingerprint", svc.ca_fingerprint},
                              {"threads", std::to_string(config.threads), true}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

}  // namespace pf::server
