// WebSocket: the WebSocket client of a virtual user, on Beast and the user's coroutine.
//
// The only translation unit besides session.cpp that includes Beast (connect.hpp).
// A socket reads in the background with a plain completion-handler chain (no coroutine
// of its own); everything else runs in the user's coroutine. Both run on the user's
// runner thread, so the socket's state needs no lock. The read handler holds the Impl
// alive and does nothing once the socket is closed, so the user and the TestCase may be
// gone by the time a last completion arrives.
#include "loads/websocket.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <exception>

#include "client/connect.hpp"
#include "client/websocket_client.hpp"
#include "loads/test_case.hpp"
#include "loads/version.hpp"

namespace loads {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;
using detail::UserContext;

namespace {

using PlainWs = websocket::stream<detail::TcpStream>;
using SecureWs = websocket::stream<detail::TlsStream>;

constexpr std::string_view kTimeoutHint = "WsOptions::timeout";

bool isWebSocketError(const error_code& ec) {
  return ec.category() == websocket::make_error_code(websocket::error::closed).category();
}

// Turns "ws(s)://", "http(s)://" or a path (against the server URL) into a Url.
bool parseWsUrl(std::string_view text, const std::string& serverUrl, detail::Url& out) {
  std::string http;
  if (text.starts_with("ws://")) {
    http = "http://" + std::string(text.substr(5));
  } else if (text.starts_with("wss://")) {
    http = "https://" + std::string(text.substr(6));
  } else if (text.starts_with('/') && !serverUrl.empty()) {
    std::string_view base = serverUrl;
    if (base.ends_with('/')) base.remove_suffix(1);
    return parseWsUrl(std::string(base) + std::string(text), "", out);
  } else {
    http = std::string(text);
  }
  return detail::parseUrl(http, out);
}

// The size of a handshake response head, as it was on the wire.
std::uint64_t headSize(const websocket::response_type& res) {
  std::uint64_t n = 9 + 3 + 1 + res.reason().size() + 2;  // "HTTP/1.1 101 Reason\r\n"
  for (const auto& f : res) n += f.name_string().size() + 2 + f.value().size() + 2;
  return n + 2;
}

// A timer that closes the socket when an operation takes too long. Its handler may run
// after the guard is gone: it shares only the flags, and the socket through a weak_ptr.
template <class Impl>
class Deadline {
 public:
  Deadline(const std::shared_ptr<Impl>& impl, std::chrono::milliseconds timeout)
      : timer_(impl->user.io, timeout), flags_(std::make_shared<Flags>()) {
    timer_.async_wait([flags = flags_, weak = std::weak_ptr<Impl>(impl)](error_code ec) {
      if (ec || flags->done) return;
      flags->expired = true;
      if (auto impl = weak.lock()) impl->closeTransport();
    });
  }
  ~Deadline() {
    flags_->done = true;
    timer_.cancel();
  }
  bool expired() const { return flags_->expired; }

 private:
  struct Flags {
    bool done = false;
    bool expired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<Flags> flags_;
};

}  // namespace

struct WebSocket::Impl : std::enable_shared_from_this<WebSocket::Impl> {
  enum class State { kOpen, kClosing, kClosed };

  Impl(UserContext& u, WsCallback callback, const WsOptions& o)
      : user(u),
        onMessage(std::move(callback)),
        timeout(o.timeout.value_or(u.settings.requestTimeout)),
        queueLimit(std::max<std::size_t>(1, o.queueLimit)) {}

  // Calls f with the Beast stream, whichever kind it is.
  template <class F>
  decltype(auto) visit(F&& f) {
    return secure ? f(*secure) : f(*plain);
  }
  detail::TcpStream& lowest() {
    return visit([](auto& ws) -> detail::TcpStream& { return beast::get_lowest_layer(ws); });
  }
  void closeTransport() {
    if (plain || secure) lowest().close();
  }

  void startRead();
  void onRead(const error_code& ec);
  void deliver(WsMessage message);
  void finish(int code, std::string reason, bool clean, ErrorKind kind);
  void wake() {
    if (waiter) waiter->cancel();
  }
  void ensureUsable(std::string_view what);
  [[noreturn]] void throwClosed(std::string_view what);
  void write(std::string_view data, bool binary);
  void ping(std::string_view payload);
  void close(int code, std::string_view reason);
  void abandon(std::string_view reason);
  void shutdown();

  UserContext& user;
  WsCallback onMessage;
  std::chrono::milliseconds timeout;
  std::size_t queueLimit;
  std::string url;       // ws(s)://host[:port]/path
  std::string protocol;  // chosen subprotocol
  std::unique_ptr<PlainWs> plain;
  std::unique_ptr<SecureWs> secure;
  beast::flat_buffer readBuffer;
  std::deque<WsMessage> queue;
  State state = State::kOpen;
  bool reading = false;                  // a background read is pending
  bool peerClosed = false;               // the peer's close frame arrived
  asio::steady_timer* waiter = nullptr;  // the timer of a receive() that waits
  std::size_t cancelId = 0;
  int closeCode = 0;
  std::string closeReason;
  ErrorKind closeKind = ErrorKind::kNone;
  std::exception_ptr callbackError;  // first exception thrown by onMessage, not yet raised
};

void WebSocket::Impl::startRead() {
  if (state == State::kClosed || reading || queue.size() >= queueLimit) return;
  reading = true;
  visit([this](auto& ws) {
    ws.async_read(readBuffer,
                  [self = shared_from_this()](error_code ec, std::size_t) { self->onRead(ec); });
  });
}

void WebSocket::Impl::onRead(const error_code& ec) {
  reading = false;
  if (state == State::kClosed) return;  // the user may be gone: touch nothing
  if (!ec) {
    WsMessage m{beast::buffers_to_string(readBuffer.data()),
                visit([](auto& ws) { return ws.got_binary(); })};
    readBuffer.consume(readBuffer.size());
    deliver(std::move(m));
    startRead();
    return;
  }
  if (ec == websocket::error::closed) peerClosed = true;
  if (state == State::kClosing) return;  // close() reports
  if (ec == websocket::error::closed) {
    auto cr = visit([](auto& ws) { return ws.reason(); });
    finish(cr.code, std::string(cr.reason.data(), cr.reason.size()), true, ErrorKind::kNone);
    return;
  }
  auto f = detail::classify(ec, detail::Stage::kExchange, user.cancelled, timeout, kTimeoutHint);
  if (isWebSocketError(ec)) f = {ErrorKind::kProtocol, "WebSocket protocol error: " + ec.message()};
  if (f.kind == ErrorKind::kReset)
    f.reason = "the connection was closed without a close frame (" + ec.message() + ")";
  finish(0, f.reason, false, f.kind);
}

// Reports a received message, runs the callback (outside the user's coroutine: any
// yielding call from it throws) and queues the message unless consumed.
void WebSocket::Impl::deliver(WsMessage m) {
  user.result.socketMessage(url, Direction::kReceived, m.data.size(), user.status);
  bool consumed = false;
  if (onMessage) {
    auto* yield = std::exchange(user.yield, nullptr);
    try {
      consumed = onMessage(m);
    } catch (...) {
      if (!callbackError) callbackError = std::current_exception();
    }
    user.yield = yield;
  }
  if (!consumed) queue.push_back(std::move(m));
  wake();
}

void WebSocket::Impl::finish(int code, std::string reason, bool clean, ErrorKind kind) {
  if (state == State::kClosed) return;
  state = State::kClosed;
  closeCode = code;
  closeReason = std::move(reason);
  closeKind = kind;
  user.removeOnCancel(cancelId);
  if (!clean) closeTransport();
  user.result.socketClose(url, SocketClose{code, closeReason, clean}, user.status);
  wake();
}

void WebSocket::Impl::ensureUsable(std::string_view what) {
  if (!user.yield) {
    throw std::logic_error("WebSocket::" + std::string(what) + " on " + url +
                           " outside the user's coroutine (an onMessage callback must not "
                           "send, receive, ping or close)");
  }
  if (callbackError) std::rethrow_exception(std::exchange(callbackError, nullptr));
}

void WebSocket::Impl::throwClosed(std::string_view what) {
  std::string text = std::string(what) + " on " + url + ": the socket is closed";
  if (closeCode) text += " (code " + std::to_string(closeCode) + ")";
  if (!closeReason.empty()) text += ": " + closeReason;
  throw WebSocketClosed(closeKind, closeCode, text);
}

void WebSocket::Impl::write(std::string_view data, bool binary) {
  const char* what = binary ? "sendBinary" : "send";
  ensureUsable(what);
  if (state != State::kOpen) throwClosed(what);
  if (user.cancelled) throw RequestError(ErrorKind::kCancelled, "cancelled: the run stopped");
  error_code ec;
  {
    Deadline<Impl> deadline(shared_from_this(), timeout);
    visit([&](auto& ws) {
      ws.binary(binary);
      ws.async_write(asio::buffer(data.data(), data.size()), (*user.yield)[ec]);
    });
    if (ec && deadline.expired()) ec = beast::error::timeout;
  }
  if (!ec) {
    user.result.socketMessage(url, Direction::kSent, data.size(), user.status);
    return;
  }
  if (state == State::kClosed) throwClosed(what);
  auto f = detail::classify(ec, detail::Stage::kExchange, user.cancelled, timeout, kTimeoutHint);
  finish(0, f.reason, false, f.kind);
  throw RequestError(f.kind, std::string(what) + " on " + url + " failed: " + f.reason);
}

void WebSocket::Impl::ping(std::string_view payload) {
  ensureUsable("ping");
  if (state != State::kOpen) throwClosed("ping");
  if (user.cancelled) throw RequestError(ErrorKind::kCancelled, "cancelled: the run stopped");
  payload = payload.substr(0, websocket::ping_data::max_size_n);
  websocket::ping_data data(beast::string_view(payload.data(), payload.size()));
  error_code ec;
  {
    Deadline<Impl> deadline(shared_from_this(), timeout);
    visit([&](auto& ws) { ws.async_ping(data, (*user.yield)[ec]); });
    if (ec && deadline.expired()) ec = beast::error::timeout;
  }
  if (!ec) return;
  if (state == State::kClosed) throwClosed("ping");
  auto f = detail::classify(ec, detail::Stage::kExchange, user.cancelled, timeout, kTimeoutHint);
  finish(0, f.reason, false, f.kind);
  throw RequestError(f.kind, "ping on " + url + " failed: " + f.reason);
}

// Beast bounds the close handshake with the stream's handshake timeout. A close that
// fails is reported (not clean), never thrown: the socket is gone either way.
void WebSocket::Impl::close(int code, std::string_view reason) {
  if (state != State::kOpen) return;
  state = State::kClosing;
  reason = reason.substr(0, websocket::reason_string::max_size_n);
  websocket::close_reason cr(static_cast<websocket::close_code>(code),
                             beast::string_view(reason.data(), reason.size()));
  error_code ec;
  visit([&](auto& ws) { ws.async_close(cr, (*user.yield)[ec]); });
  // When the background read takes the peer's close frame, Beast ends the close
  // operation with operation_aborted although the handshake completed.
  bool clean = !ec || (ec == asio::error::operation_aborted && peerClosed && !user.cancelled);
  if (clean) {
    finish(code, std::string(reason), true, ErrorKind::kNone);
    return;
  }
  auto f = detail::classify(ec, detail::Stage::kExchange, user.cancelled, timeout, kTimeoutHint);
  if (isWebSocketError(ec)) f = {ErrorKind::kProtocol, "WebSocket protocol error: " + ec.message()};
  finish(0, "close handshake failed: " + f.reason, false, f.kind);
}

void WebSocket::Impl::abandon(std::string_view reason) {
  finish(0, std::string(reason), false, user.cancelled ? ErrorKind::kCancelled : ErrorKind::kOther);
}

// ---- WebSocket -------------------------------------------------------------------------

WebSocket::WebSocket(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

// A clean close needs the user's coroutine, which is not there (or must not yield) when
// the run was cancelled or the coroutine is being unwound.
void WebSocket::Impl::shutdown() {
  if (state == State::kClosed) return;
  if (user.yield && !user.cancelled && std::uncaught_exceptions() == 0) {
    close(1000, "");
  } else {
    abandon(user.cancelled ? "cancelled: the run stopped" : "the virtual user ended");
  }
}

WebSocket::~WebSocket() { impl_->shutdown(); }

detail::OwnedSockets::~OwnedSockets() {
  for (auto& ws : list) ws->impl_->shutdown();
}

void WebSocket::send(std::string_view text) { impl_->write(text, false); }
void WebSocket::sendBinary(std::string_view bytes) { impl_->write(bytes, true); }
void WebSocket::ping(std::string_view payload) { impl_->ping(payload); }

void WebSocket::close(int code, std::string_view reason) {
  impl_->ensureUsable("close");
  impl_->close(code, reason);
}

std::optional<WsMessage> WebSocket::receive(std::optional<std::chrono::milliseconds> timeout) {
  Impl& s = *impl_;
  s.ensureUsable("receive");
  auto pop = [&s] {
    WsMessage m = std::move(s.queue.front());
    s.queue.pop_front();
    s.startRead();  // resumes reading if a full queue had paused it
    return m;
  };
  if (!s.queue.empty()) return pop();
  if (s.state == Impl::State::kClosed) s.throwClosed("receive");
  if (s.user.cancelled) throw RequestError(ErrorKind::kCancelled, "cancelled: the run stopped");
  asio::steady_timer timer(s.user.io, timeout.value_or(s.timeout));
  s.waiter = &timer;
  {
    detail::CancelGuard guard(s.user, [&timer] { timer.cancel(); });
    error_code ec;
    timer.async_wait((*s.user.yield)[ec]);
  }
  s.waiter = nullptr;
  if (s.callbackError) std::rethrow_exception(std::exchange(s.callbackError, nullptr));
  if (!s.queue.empty()) return pop();
  if (s.state == Impl::State::kClosed) s.throwClosed("receive");
  if (s.user.cancelled) throw RequestError(ErrorKind::kCancelled, "cancelled: the run stopped");
  return std::nullopt;  // timed out
}

bool WebSocket::isOpen() const { return impl_->state == Impl::State::kOpen; }
const std::string& WebSocket::url() const { return impl_->url; }
const std::string& WebSocket::protocol() const { return impl_->protocol; }
std::size_t WebSocket::queued() const { return impl_->queue.size(); }
int WebSocket::closeCode() const { return impl_->closeCode; }
const std::string& WebSocket::closeReason() const { return impl_->closeReason; }

// ---- opening ---------------------------------------------------------------------------

namespace detail {

namespace {

// Records the handshake as a hit.
struct HandshakeHit {
  UserContext& user;
  std::string name;
  std::string url;
  std::int64_t startedUs = wallClockUs();
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();

  void record(int status, ErrorKind error, std::uint64_t bytes) {
    Hit hit;
    hit.name = name;
    hit.url = url;
    hit.method = "WS";
    hit.status = status;
    hit.error = error;
    hit.startedUs = startedUs;
    hit.elapsedUs =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    hit.bytes = bytes;
    hit.plannedStartUs = std::exchange(user.plannedStartUs, 0);
    user.result.addHit(hit, user.status);
  }
  RequestError fail(ErrorKind kind, const std::string& reason, int status = 0) {
    record(status, status ? ErrorKind::kNone : kind, 0);
    return RequestError(kind, "WS " + url + " failed: " + reason);
  }
};

template <class Ws>
void decorate(Ws& ws, const WsOptions& options) {
  ws.set_option(websocket::stream_base::decorator([&options](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "loads/" LOADS_VERSION);
    std::string offered;
    for (const auto& p : options.subprotocols) offered += (offered.empty() ? "" : ", ") + p;
    if (!offered.empty()) req.set(beast::http::field::sec_websocket_protocol, offered);
    for (const auto& [name, value] : options.headers) req.set(name, value);
  }));
}

}  // namespace

std::shared_ptr<WebSocket> openWebSocket(UserContext& user, std::string_view text,
                                         WsCallback onMessage, const WsOptions& options) {
  if (!user.yield) {
    throw std::logic_error(
        "createWs used outside a virtual user's coroutine: call it from a "
        "test method, setUp, tearDown or the constructor");
  }
  Url target;
  if (!parseWsUrl(text, user.settings.serverUrl, target)) {
    throw std::invalid_argument("WS " + std::string(text) +
                                ": not a ws:// or wss:// URL (a path needs --server-url)");
  }
  auto impl = std::make_shared<WebSocket::Impl>(user, std::move(onMessage), options);
  impl->url = (target.tls ? "wss://" : "ws://") + target.hostHeader() + target.target;
  HandshakeHit hit{user, options.name.empty() ? "WS " + std::string(target.path()) : options.name,
                   impl->url};
  if (user.cancelled) throw hit.fail(ErrorKind::kCancelled, "cancelled: the run stopped");

  Stage stage = Stage::kResolve;
  DnsCache::Endpoints endpoints;
  try {
    endpoints = user.dns.resolve(target.host, target.port, user);
  } catch (const RequestError& e) {
    throw hit.fail(e.kind(), e.what());
  }
  std::optional<TcpStream> plain;
  std::unique_ptr<TlsStream> secure;
  CancelGuard guard(user, [&] {
    if (impl->plain || impl->secure) {
      impl->closeTransport();
    } else if (plain) {
      plain->close();
    } else if (secure) {
      beast::get_lowest_layer(*secure).close();
    }
  });
  error_code ec = connectStream(user, target, endpoints, impl->timeout, plain, secure, stage);
  if (ec) {
    auto f = classify(ec, stage, user.cancelled, impl->timeout, kTimeoutHint);
    throw hit.fail(f.kind, f.reason);
  }
  // The connect timeout stays armed on the TCP stream for the upgrade too.
  if (secure) {
    impl->secure = std::make_unique<SecureWs>(std::move(*secure));
  } else {
    impl->plain = std::make_unique<PlainWs>(std::move(*plain));
  }
  websocket::response_type res;
  impl->visit([&](auto& ws) {
    decorate(ws, options);
    ws.async_handshake(res, target.hostHeader(), target.target, (*user.yield)[ec]);
  });
  if (ec) {
    if (ec == websocket::error::upgrade_declined) {
      throw hit.fail(ErrorKind::kProtocol,
                     "the server answered " + std::to_string(res.result_int()) +
                         " instead of 101 Switching Protocols",
                     static_cast<int>(res.result_int()));
    }
    auto f = classify(ec, Stage::kExchange, user.cancelled, impl->timeout, kTimeoutHint);
    if (isWebSocketError(ec))
      f = {ErrorKind::kProtocol, "the WebSocket handshake failed: " + ec.message()};
    throw hit.fail(f.kind, f.reason);
  }
  impl->lowest().expires_never();
  impl->visit([&](auto& ws) {
    websocket::stream_base::timeout t;
    t.handshake_timeout = impl->timeout;  // bounds the close handshake
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
  });
  auto chosen = res[beast::http::field::sec_websocket_protocol];
  impl->protocol.assign(chosen.data(), chosen.size());
  hit.record(101, ErrorKind::kNone, headSize(res));

  impl->cancelId = user.onCancel([weak = std::weak_ptr<WebSocket::Impl>(impl)] {
    if (auto s = weak.lock()) s->closeTransport();
  });
  user.result.socketOpen(impl->url, user.status);
  impl->startRead();
  return std::make_shared<WebSocket>(impl);
}

}  // namespace detail

// ---- TestCase --------------------------------------------------------------------------

std::shared_ptr<WebSocket> TestCase::createWs(std::string_view url, WsCallback onMessage,
                                              const WsOptions& options) {
  // Forget sockets that are closed and no longer held by the test.
  auto& list = sockets_.list;
  std::erase_if(list, [](const auto& ws) { return ws.use_count() == 1 && !ws->isOpen(); });
  auto ws = detail::openWebSocket(user_, url, std::move(onMessage), options);
  list.push_back(ws);
  return ws;
}

}  // namespace loads
