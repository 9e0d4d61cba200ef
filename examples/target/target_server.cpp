// The target server's endpoints:
//   GET  /                 an HTML page containing "Search"
//   ANY  /delay?ms=N       replies after N ms
//   ANY  /status/N         replies with status N
//   ANY  /echo             method, target, path, args, headers and body as JSON
//   ANY  /redirect?n=K     302 chain of K redirects ending at /
//   ANY  /redirect-to?url=U[&status=S]   one redirect to U (302 unless S)
//   ANY  /cookies/set?a=1  Set-Cookie for each parameter
//   ANY  /cookies/delete?a Set-Cookie expiring each parameter
//   ANY  /cookies          the cookies received, as JSON
//   POST /comments         JSON body in, 201 with it and an id out
//   ANY  /static           a small fixed body (benchmarks)
//   ANY  /hit/ANYTHING     "hit", counted under its own path in /stats (tests tell
//                          requests apart by user or run this way)
//   ANY  /close            replies, then closes the connection
//   ANY  /reset            closes the connection without a reply (RST)
//   GET  /ws/echo[?close_after=N&code=C]  WebSocket: echoes every message (text or
//                          binary); picks the first subprotocol offered; with
//                          close_after, closes with code C (1000) after N echoes
//   GET  /stats            {"served", "connections", "paths", "methods",
//                           "ws": {"opened", "messages", "bytes", "closed"}}
//   POST /stats/reset      zeroes the counters
#include "target_server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <charconv>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

namespace loads::examples {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using boost::system::error_code;
using Request = http::request<http::string_body>;
using Reply = http::response<http::string_body>;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);

constexpr std::string_view kHomePage =
    "<!DOCTYPE html>\n<html><head><title>loads target</title></head>\n"
    "<body><h1>loads target</h1>\n<form action=\"/echo\"><input name=\"q\">"
    "<button>Search</button></form>\n</body></html>\n";

constexpr std::string_view kStaticBody = "Hello from the loads target server.\n";

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::string urlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      int value = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out += static_cast<char>(value);
        i += 2;
      } else {
        out += '%';
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parsePairs(std::string_view s, char sep) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    std::string_view item = s.substr(0, s.find(sep));
    s.remove_prefix(std::min(s.size(), item.size() + 1));
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (sep == '&') {
      out.emplace_back(urlDecode(item.substr(0, eq)),
                       eq == std::string_view::npos ? "" : urlDecode(item.substr(eq + 1)));
    } else {
      out.emplace_back(std::string(item.substr(0, eq)),
                       eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1)));
    }
  }
  return out;
}

std::string queryValue(std::string_view query, std::string_view name) {
  for (auto& [k, v] : parsePairs(query, '&'))
    if (k == name) return v;
  return {};
}

int toInt(std::string_view s, int fallback) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() ? v : fallback;
}

enum class After { kKeep, kClose, kReset };

}  // namespace

struct TargetServer::Impl {
  explicit Impl(TargetOptions o) : options(std::move(o)) {}

  // Counters: one lock so that /stats is always a consistent snapshot.
  struct Stats {
    std::uint64_t served = 0;
    std::map<std::string, std::uint64_t, std::less<>> paths;
    std::map<std::string, std::uint64_t, std::less<>> methods;
    std::uint64_t wsOpened = 0;    // WebSocket upgrades accepted on /ws/echo
    std::uint64_t wsMessages = 0;  // messages echoed back (written)
    std::uint64_t wsBytes = 0;     // payload bytes echoed back
    std::uint64_t wsClosed = 0;    // WebSocket sessions ended
  };

  void accept(asio::yield_context yield);
  template <class Stream>
  void serve(Stream& stream, asio::yield_context yield);
  template <class Stream>
  void echoWebSocket(Stream&& stream, const Request& req, asio::yield_context yield);
  After handle(const Request& req, Reply& res, const asio::any_io_executor& ex,
               asio::yield_context yield);
  void count(std::string_view path, std::string_view method);
  void stall(const asio::any_io_executor& ex, asio::yield_context yield);
  std::string statsJson();
  void resetStats();

  // Declared before io: unfinished connection coroutines are unwound when io is
  // destroyed, and may still touch these.
  TargetOptions options;
  std::unique_ptr<ssl::context> tls;
  unsigned short port = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  mutable std::mutex statsMutex;
  Stats stats;
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> comments{0};

  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
};

void TargetServer::Impl::count(std::string_view path, std::string_view method) {
  std::lock_guard lock(statsMutex);
  ++stats.served;
  auto p = stats.paths.find(path);
  if (p == stats.paths.end()) p = stats.paths.emplace(std::string(path), 0).first;
  ++p->second;
  auto m = stats.methods.find(method);
  if (m == stats.methods.end()) m = stats.methods.emplace(std::string(method), 0).first;
  ++m->second;
}

std::string TargetServer::Impl::statsJson() {
  std::lock_guard lock(statsMutex);
  nlohmann::json j;
  j["served"] = stats.served;
  j["connections"] = connections.load();
  j["paths"] = nlohmann::json::object();
  for (auto& [k, v] : stats.paths) j["paths"][k] = v;
  j["methods"] = nlohmann::json::object();
  for (auto& [k, v] : stats.methods) j["methods"][k] = v;
  j["ws"] = {{"opened", stats.wsOpened},
             {"messages", stats.wsMessages},
             {"bytes", stats.wsBytes},
             {"closed", stats.wsClosed}};
  return j.dump();
}

void TargetServer::Impl::resetStats() {
  std::lock_guard lock(statsMutex);
  stats = Stats{};
  connections = 0;
}

// With --stall-every/--stall-for the last stallFor of every period holds all replies.
void TargetServer::Impl::stall(const asio::any_io_executor& ex, asio::yield_context yield) {
  if (options.stallEvery.count() <= 0 || options.stallFor.count() <= 0) return;
  auto now = std::chrono::steady_clock::now();
  auto phase = (now - started) % options.stallEvery;
  auto stallStart = options.stallEvery - options.stallFor;
  if (phase < stallStart) return;
  asio::steady_timer timer(ex, options.stallEvery - phase);
  error_code ec;
  timer.async_wait(yield[ec]);
}

After TargetServer::Impl::handle(const Request& req, Reply& res, const asio::any_io_executor& ex,
                                 asio::yield_context yield) {
  std::string_view target = sv(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : "";
  res.result(http::status::ok);
  res.set(http::field::content_type, "application/json");
  auto jsonReply = [&](const nlohmann::json& j) { res.body() = j.dump(); };

  if (path == "/") {
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.body() = kHomePage;
  } else if (path == "/static") {
    res.set(http::field::content_type, "text/plain");
    res.body() = kStaticBody;
  } else if (path.starts_with("/hit/")) {
    res.set(http::field::content_type, "text/plain");
    res.body() = "hit";
  } else if (path == "/delay") {
    int ms = std::max(0, toInt(queryValue(query, "ms"), 0));
    asio::steady_timer timer(ex, std::chrono::milliseconds(ms));
    error_code ec;
    timer.async_wait(yield[ec]);
    jsonReply({{"delayed_ms", ms}});
  } else if (path.starts_with("/status/")) {
    int status = toInt(path.substr(8), 0);
    if (status < 200 || status > 599) {
      res.result(http::status::bad_request);
      jsonReply({{"error", "status must be 200..599"}});
    } else {
      res.result(static_cast<unsigned>(status));
      if (status != 204 && status != 304) jsonReply({{"status", status}});
    }
  } else if (path == "/echo") {
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& f : req)
      headers[std::string(sv(f.name_string()))] = std::string(sv(f.value()));
    nlohmann::json args = nlohmann::json::object();
    for (auto& [k, v] : parsePairs(query, '&')) args[k] = v;
    jsonReply({{"method", std::string(sv(req.method_string()))},
               {"target", std::string(target)},
               {"path", std::string(path)},
               {"args", args},
               {"headers", headers},
               {"body", req.body()}});
  } else if (path == "/redirect") {
    int n = toInt(queryValue(query, "n"), 1);
    if (n < 1) {
      res.result(http::status::bad_request);
      jsonReply({{"error", "n must be at least 1"}});
    } else {
      res.result(http::status::found);
      res.set(http::field::location, n == 1 ? "/" : "/redirect?n=" + std::to_string(n - 1));
    }
  } else if (path == "/redirect-to") {
    int status = toInt(queryValue(query, "status"), 302);
    res.result(status >= 300 && status < 400 ? static_cast<unsigned>(status) : 302u);
    res.set(http::field::location, queryValue(query, "url"));
  } else if (path == "/cookies/set" || path == "/cookies/delete") {
    bool remove = path == "/cookies/delete";
    nlohmann::json set = nlohmann::json::object();
    for (auto& [k, v] : parsePairs(query, '&')) {
      res.insert(http::field::set_cookie,
                 remove ? k + "=; Max-Age=0; Path=/" : k + "=" + v + "; Path=/");
      set[k] = remove ? "" : v;
    }
    jsonReply(set);
  } else if (path == "/cookies") {
    nlohmann::json cookies = nlohmann::json::object();
    for (auto& [k, v] : parsePairs(sv(req[http::field::cookie]), ';')) cookies[k] = v;
    jsonReply(cookies);
  } else if (path == "/comments") {
    auto body = nlohmann::json::parse(req.body(), nullptr, false);
    if (req.method() != http::verb::post) {
      res.result(http::status::method_not_allowed);
      jsonReply({{"error", "POST a JSON object"}});
    } else if (!body.is_object()) {
      res.result(http::status::bad_request);
      jsonReply({{"error", "the body must be a JSON object"}});
    } else {
      res.result(http::status::created);
      body["id"] = ++comments;
      jsonReply(body);
    }
  } else if (path == "/close") {
    res.keep_alive(false);
    jsonReply({{"closing", true}});
    return After::kClose;
  } else if (path == "/reset") {
    return After::kReset;
  } else if (path == "/stats" && req.method() == http::verb::get) {
    res.body() = statsJson();
    return After::kKeep;
  } else if (path == "/stats/reset" && req.method() == http::verb::post) {
    resetStats();
    jsonReply({{"reset", true}});
    return After::kKeep;
  } else {
    res.result(http::status::not_found);
    jsonReply({{"error", "no such endpoint"}});
  }
  count(path, sv(req.method_string()));
  return After::kKeep;
}

template <class Stream>
void TargetServer::Impl::serve(Stream& stream, asio::yield_context yield) {
  auto& socket = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  for (;;) {
    error_code ec;
    http::request_parser<http::string_body> parser;
    parser.body_limit(16u << 20);
    socket.expires_after(kIdleTimeout);
    http::async_read(stream, buffer, parser, yield[ec]);
    if (ec) return;
    const Request& req = parser.get();
    if (websocket::is_upgrade(req) && sv(req.target()).substr(0, 8) == "/ws/echo" &&
        (req.target().size() == 8 || req.target()[8] == '?')) {
      count("/ws/echo", sv(req.method_string()));
      echoWebSocket(std::move(stream), req, yield);
      return;
    }
    Reply res{http::status::ok, req.version()};
    res.set(http::field::server, "loads-target");
    res.keep_alive(req.keep_alive());
    stall(socket.get_executor(), yield);
    After after = handle(req, res, socket.get_executor(), yield);
    if (after == After::kReset) {
      socket.socket().set_option(asio::socket_base::linger(true, 0), ec);
      socket.close();
      return;
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();  // keeps Content-Length
    http::async_write(stream, res, yield[ec]);
    if (ec || after == After::kClose || !res.keep_alive()) break;
  }
  error_code ignored;
  socket.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// Takes over the connection after an upgrade request; echoes until either side closes.
template <class Stream>
void TargetServer::Impl::echoWebSocket(Stream&& stream, const Request& req,
                                       asio::yield_context yield) {
  beast::get_lowest_layer(stream).expires_never();  // the WebSocket has its own timeouts
  websocket::stream<std::decay_t<Stream>> ws(std::move(stream));
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  std::string protocol(sv(req[http::field::sec_websocket_protocol]));
  protocol = protocol.substr(0, protocol.find(','));
  ws.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
    res.set(http::field::server, "loads-target");
    if (!protocol.empty()) res.set(http::field::sec_websocket_protocol, protocol);
  }));
  std::string_view target = sv(req.target());
  std::string_view query = target.find('?') == std::string_view::npos
                               ? std::string_view{}
                               : target.substr(target.find('?') + 1);
  int closeAfter = toInt(queryValue(query, "close_after"), -1);
  int closeCode = toInt(queryValue(query, "code"), 1000);
  error_code ec;
  ws.async_accept(req, yield[ec]);
  if (ec) return;
  {
    std::lock_guard lock(statsMutex);
    ++stats.wsOpened;
  }
  beast::flat_buffer buffer;
  for (int echoed = 0;; ++echoed) {
    if (echoed == closeAfter) {
      ws.async_close(websocket::close_reason(static_cast<websocket::close_code>(closeCode), "bye"),
                     yield[ec]);
      break;
    }
    ws.async_read(buffer, yield[ec]);
    if (ec) break;
    ws.text(ws.got_text());
    std::size_t size = buffer.size();
    ws.async_write(buffer.data(), yield[ec]);
    if (ec) break;
    buffer.consume(size);
    std::lock_guard lock(statsMutex);
    ++stats.wsMessages;
    stats.wsBytes += size;
  }
  std::lock_guard lock(statsMutex);
  ++stats.wsClosed;
}

void TargetServer::Impl::accept(asio::yield_context yield) {
  for (;;) {
    error_code ec;
    tcp::socket socket(asio::make_strand(io));
    acceptor.async_accept(socket, yield[ec]);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) continue;  // e.g. EMFILE: keep serving the connections we have
    ++connections;
    socket.set_option(tcp::no_delay(true), ec);
    auto executor = socket.get_executor();
    asio::spawn(executor, [this, s = std::move(socket)](asio::yield_context y) mutable {
      if (tls) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(s), *tls);
        error_code ec;
        beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
        stream.async_handshake(ssl::stream_base::server, y[ec]);
        if (!ec) serve(stream, y);
      } else {
        beast::tcp_stream stream(std::move(s));
        serve(stream, y);
      }
    });
  }
}

TargetServer::TargetServer(TargetOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

TargetServer::~TargetServer() { stop(); }

void TargetServer::start() {
  Impl& s = *impl_;
  if (!s.options.tlsCert.empty() || !s.options.tlsKey.empty()) {
    s.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    error_code ec;
    s.tls->use_certificate_chain_file(s.options.tlsCert, ec);
    if (!ec) s.tls->use_private_key_file(s.options.tlsKey, ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error("cannot load the TLS certificate " + s.options.tlsCert +
                               " and key " + s.options.tlsKey + ": " + ec.message());
    }
  }
  error_code ec;
  auto address = asio::ip::make_address(s.options.host, ec);
  if (ec) throw std::runtime_error("--host " + s.options.host + " is not an IP address");
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + s.options.host + ":" +
                             std::to_string(s.options.port) + ": " + ec.message());
  }
  s.port = s.acceptor.local_endpoint().port();
  s.started = std::chrono::steady_clock::now();
  asio::spawn(s.acceptor.get_executor(), [&s](asio::yield_context y) { s.accept(y); });
  for (int i = 0; i < std::max(1, s.options.threads); ++i)
    s.threads.emplace_back([&s] { s.io.run(); });
}

void TargetServer::stop() {
  Impl& s = *impl_;
  if (s.threads.empty()) return;
  // Stopping the io_context drops open connections too (their coroutines are unwound
  // when it is destroyed): a target server has nothing to flush.
  s.io.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  error_code ignored;
  s.acceptor.close(ignored);
}

unsigned short TargetServer::port() const { return impl_->port; }

std::string TargetServer::url() const {
  return std::string(impl_->tls ? "https" : "http") + "://" + impl_->options.host + ":" +
         std::to_string(impl_->port);
}

std::uint64_t TargetServer::served() const {
  std::lock_guard lock(impl_->statsMutex);
  return impl_->stats.served;
}

std::uint64_t TargetServer::connections() const { return impl_->connections.load(); }

}  // namespace loads::examples
