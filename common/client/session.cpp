// Session: the HTTP/1.1 client of a virtual user, on Beast and the user's coroutine.
//
// The only translation unit of libloads that includes Beast and Asio's SSL stream
// (they dominate compile time). Everything else the client needs (URLs, cookies, DNS)
// lives in small files next to it.
#include "loads/session.hpp"

#include <strings.h>

#include <algorithm>
#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <type_traits>

#include "client/connect.hpp"
#include "client/cookie_jar.hpp"
#include "client/deadlines.hpp"
#include "client/response_reader.hpp"
#include "client/simple_response.hpp"
#include "client/url.hpp"
#include "loads/version.hpp"
#include "run/user_context.hpp"

namespace loads {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using boost::system::error_code;
using detail::CancelGuard;
using detail::classify;
using detail::isResetError;
using detail::ResponseReader;
using detail::Stage;
using detail::TcpStream;
using detail::TlsStream;
using detail::Url;
using detail::UserContext;

namespace {

constexpr std::uint64_t kBodyLimit = 256ull << 20;  // a larger response is a protocol error
constexpr std::uint32_t kHeaderLimit = 64u << 10;

// One keep-alive connection to an origin: plain TCP or TLS, and its read buffer.
struct Connection {
  bool tls = false;
  std::string host;
  std::string port;
  std::optional<TcpStream> plain;
  std::unique_ptr<TlsStream> secure;
  beast::flat_buffer buffer;
  bool reused = false;  // has already carried a complete exchange

  TcpStream& lowest() { return tls ? beast::get_lowest_layer(*secure) : *plain; }
  bool serves(const Url& u) const { return tls == u.tls && port == u.port && host == u.host; }
};

// A parsed URL with the strings every hit to it needs, built once per URL: a user that
// requests the same URL hit after hit (the common case) builds none of them again.
struct Target {
  Url url;
  std::shared_ptr<const std::string> text;  // url.str(): the hit's url and Response::url()
  std::string requestLine;  // what follows the method: " /path HTTP/1.1\r\nHost: host\r\n"
  std::string namePath;     // what follows it in a hit's default name: " /path"

  void set(Url u) {
    url = std::move(u);
    text = std::make_shared<const std::string>(url.str());
    requestLine = " " + url.target + " HTTP/1.1\r\nHost: " + url.hostHeader() + "\r\n";
    namePath = " " + std::string(url.path());
  }
};

constexpr std::string_view kUserAgentLine = "User-Agent: loads/" LOADS_VERSION "\r\n";
constexpr std::string_view kCrLf = "\r\n";

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

// ---- Session::Impl ------------------------------------------------------------------

struct Session::Impl {
  explicit Impl(UserContext& u) : user(u) {}

  // What one hop needs besides the URL; the session fills it once per call.
  struct Call {
    std::string_view method;
    const Body* body;
    const Headers* defaults;
    const Headers* extra;
    std::chrono::milliseconds timeout;
    std::string_view name;  // empty: "METHOD /path"
  };

  Response perform(const Call& call, const Target& target);
  const Target* parseTarget(std::string_view url, const RequestOptions& options);

  std::unique_ptr<Connection> take(const Url& url);
  error_code connect(const Url& url, std::chrono::milliseconds timeout,
                     std::unique_ptr<Connection>& c);
  void buildRequest(const Call& call, const Target& target);
  // How the response of an exchange was read.
  struct Exchange {
    std::size_t bytes = 0;   // of the response
    bool simple = false;     // by readSimple(), not Beast's parser
    bool keepAlive = false;  // readSimple(): the connection may carry the next request
    bool gotSome = false;    // readSimple() read bytes of it (as the parser's got_some())
    bool setCookie = false;  // readSimple(): the head has a Set-Cookie field
  };
  template <class Stream>
  error_code exchange(Stream& stream, Connection& c, const Call& call, ResponseReader& parser,
                      Response& r, Exchange& x);
  template <class Stream>
  error_code readSimple(Stream& stream, Connection& c, Response& r, Exchange& x);
  // Sends the request whole; reads what a read may fill into `buffer` (`first`: the
  // response's first read).
  template <class Stream, class Buffers>
  error_code send(Stream& stream, const Buffers& buffers);
  template <class Stream>
  std::size_t readSome(Stream& stream, asio::mutable_buffer buffer, bool first, error_code& ec);
  // Returns the hit's end.
  std::chrono::steady_clock::time_point recordHit(const Call& call, const Target& target,
                                                  int status, ErrorKind error,
                                                  std::int64_t startedUs,
                                                  std::chrono::steady_clock::time_point t0,
                                                  std::uint64_t bytes, bool phased = false);

  // Phase boundaries of the exchange in flight (Hit::phaseUs): one clock read each.
  struct Marks {
    std::chrono::steady_clock::time_point start, resolved, connected, handshaken, sent, firstByte;
    bool fresh = false;  // a new connection: DNS, connect and TLS are its own
  };
  void fillPhases(Hit& hit, std::chrono::steady_clock::time_point end) const;

  UserContext& user;
  Marks marks;
  detail::CookieJar cookies;
  std::vector<std::unique_ptr<Connection>> idle;  // at most one per origin
  std::string wire;         // the request head being sent; reused so it rarely allocates
  std::string defaultName;  // "METHOD /path" of the last hit; reused likewise
  std::string lastUrl;      // the URL text the last request was given ...
  Target last;              // ... and its parse, reused while the text repeats
  bool lastValid = false;
  Stage stage = Stage::kConnect;  // where the last failure happened
};

std::unique_ptr<Connection> Session::Impl::take(const Url& url) {
  for (auto it = idle.begin(); it != idle.end(); ++it) {
    if ((*it)->serves(url)) {
      auto c = std::move(*it);
      idle.erase(it);
      return c;
    }
  }
  return nullptr;
}

// Resolves, connects and (for https) handshakes a new connection into `c`; `c` is set
// before any I/O so that the canceller can close it. DNS failures throw RequestError.
error_code Session::Impl::connect(const Url& url, std::chrono::milliseconds timeout,
                                  std::unique_ptr<Connection>& c) {
  stage = Stage::kResolve;
  auto endpoints = user.dns.resolve(url.host, url.port, user);
  marks.resolved = std::chrono::steady_clock::now();
  c = std::make_unique<Connection>();
  c->tls = url.tls;
  c->host = url.host;
  c->port = url.port;
  error_code ec = detail::connectStream(user, url, endpoints, timeout, c->plain, c->secure, stage,
                                        &marks.connected);
  marks.handshaken = url.tls ? std::chrono::steady_clock::now() : marks.connected;
  if (!ec && c->plain) c->plain->socket().non_blocking(true, ec);  // for send() and readSome()
  marks.fresh = true;
  return ec;
}

// Splits start..end at the marks; the phases add up to the hit's elapsed time (to the µs
// each is truncated to).
void Session::Impl::fillPhases(Hit& hit, std::chrono::steady_clock::time_point end) const {
  auto us = [](auto from, auto to) {
    return std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::microseconds>(to - from).count());
  };
  hit.phased = true;
  auto& p = hit.phaseUs;
  p[static_cast<int>(Phase::kDns)] = marks.fresh ? us(marks.start, marks.resolved) : 0;
  p[static_cast<int>(Phase::kConnecting)] = marks.fresh ? us(marks.resolved, marks.connected) : 0;
  p[static_cast<int>(Phase::kTls)] = marks.fresh ? us(marks.connected, marks.handshaken) : 0;
  p[static_cast<int>(Phase::kSending)] =
      us(marks.fresh ? marks.handshaken : marks.start, marks.sent);
  p[static_cast<int>(Phase::kWaiting)] = us(marks.sent, marks.firstByte);
  p[static_cast<int>(Phase::kReceiving)] = us(marks.firstByte, end);
}

// Serialises the request head into `wire` by hand: one contiguous buffer is much
// cheaper to send than Beast's per-field buffer sequence.
void Session::Impl::buildRequest(const Call& call, const Target& target) {
  const Url& url = target.url;
  wire.clear();  // clear and append: assign() takes _M_replace, twice the instructions
  wire.append(call.method).append(target.requestLine);
  bool userAgent = false, contentType = false, cookie = false, contentLength = false;
  auto add = [&](const std::string& name, const std::string& value) {
    wire.append(name).append(": ").append(value).append(kCrLf);
    userAgent = userAgent || equalsNoCase(name, "user-agent");
    contentType = contentType || equalsNoCase(name, "content-type");
    cookie = cookie || equalsNoCase(name, "cookie");
    contentLength = contentLength || equalsNoCase(name, "content-length");
  };
  for (const auto& [name, value] : *call.defaults) {
    bool overridden = false;  // per-request headers replace defaults of the same name
    for (const auto& extra : *call.extra)
      overridden = overridden || equalsNoCase(extra.first, name);
    if (!overridden) add(name, value);
  }
  for (const auto& [name, value] : *call.extra) add(name, value);
  if (!userAgent) wire.append(kUserAgentLine);
  if (!cookie && !cookies.empty()) {
    std::size_t mark = wire.size();
    wire.append("Cookie: ");
    if (cookies.header(url, wire)) {
      wire.append(kCrLf);
    } else {
      wire.resize(mark);
    }
  }
  if (call.body) {
    if (!contentType && !call.body->contentType.empty())
      wire.append("Content-Type: ").append(call.body->contentType).append(kCrLf);
    if (!contentLength)
      wire.append("Content-Length: ").append(std::to_string(call.body->data.size())).append(kCrLf);
  }
  wire.append(kCrLf);
}

template <class Stream>
error_code Session::Impl::exchange(Stream& stream, Connection& c, const Call& call,
                                   ResponseReader& parser, Response& r, Exchange& x) {
  error_code ec;
  std::array<asio::const_buffer, 2> buffers{asio::buffer(wire), asio::const_buffer()};
  if (call.body) buffers[1] = asio::buffer(call.body->data);
  ec = send(stream, buffers);
  if (ec) return ec;
  marks.sent = std::chrono::steady_clock::now();
  if (call.method != "HEAD") {
    ec = readSimple(stream, c, r, x);
    if (ec || x.simple) return ec;
  }
  // Beast's parser, from the bytes readSimple() left in the buffer. 12 fields (768 bytes)
  // cover a typical response and stay in glibc's small bins: a request of 1 KiB or more
  // makes malloc consolidate its fast bins first.
  r.headers_.reserve(12);
  x.bytes = http::async_read_header(stream, c.buffer, parser, (*user.yield)[ec]);
  marks.firstByte = std::chrono::steady_clock::now();
  if (ec || parser.is_done()) return ec;
  x.bytes += http::async_read(stream, c.buffer, parser, (*user.yield)[ec]);
  return ec;
}

namespace {
std::string_view contents(const beast::flat_buffer& b) {
  return {static_cast<const char*>(b.data().data()), b.size()};
}
// End of file from the server: what Beast's read reports for it.
error_code endOfFile(error_code ec, bool gotSome) {
  if (ec != asio::error::eof) return ec;
  return gotSome ? http::error::partial_message : http::error::end_of_stream;
}
// What a read may fill, as Beast's reads size it: at least 512 bytes, else what the buffer
// already holds, at most 64 KiB. A connection's buffer so stays as small as its messages
// (prepare(64 KiB) each read cost ~3 KiB of RSS per idle user at 10,000 users).
std::size_t readSize(const beast::flat_buffer& b) { return beast::read_size(b, 64 * 1024); }
}  // namespace

// Plain TCP goes to the socket itself (its timeouts are the thread's Deadlines, not the
// stream's timer), in non-blocking mode (set at connect); TLS to Asio's composed
// operations. A request the socket takes whole is sent without leaving the coroutine,
// where an asynchronous write would post its completion and switch away and back.
template <class Stream, class Buffers>
error_code Session::Impl::send(Stream& stream, const Buffers& buffers) {
  error_code ec;
  if constexpr (std::is_same_v<Stream, TcpStream>) {
    const std::size_t n = stream.socket().write_some(buffers, ec);
    if (ec && ec != asio::error::would_block) return ec;
    if (n == asio::buffer_size(buffers)) return {};
    beast::buffers_suffix<Buffers> rest(buffers);
    rest.consume(n);
    asio::async_write(stream.socket(), rest, (*user.yield)[ec]);
  } else {
    asio::async_write(stream, buffers, (*user.yield)[ec]);
  }
  return ec;
}

// Plain TCP, on the socket itself. The first read of a response is Asio's: tried at once
// (it finds nothing, the request has only just left), then queued until the reactor
// sees the socket readable. Waiting for readability first costs more: Asio then re-arms
// the socket in epoll (epoll_ctl) every hit, dearer than the failed read (bench/RESULTS.md).
// Later reads are tried first and wait only when nothing is there, so a response that
// is already in the socket is read without leaving the coroutine.
template <class Stream>
std::size_t Session::Impl::readSome(Stream& stream, asio::mutable_buffer buffer, bool first,
                                    error_code& ec) {
  if constexpr (std::is_same_v<Stream, TcpStream>) {
    auto& socket = stream.socket();
    if (first) return socket.async_read_some(buffer, (*user.yield)[ec]);
    for (;;) {
      const std::size_t n = socket.read_some(buffer, ec);
      if (ec != asio::error::would_block) return n;
      socket.async_wait(asio::socket_base::wait_read, (*user.yield)[ec]);
      if (ec) return 0;
    }
  } else {
    return stream.async_read_some(buffer, (*user.yield)[ec]);
  }
}

// The common response (simple_response.hpp) without Beast's parser. Leaves x.simple false
// and the bytes read in the buffer when the head is of another kind.
template <class Stream>
error_code Session::Impl::readSimple(Stream& stream, Connection& c, Response& r, Exchange& x) {
  error_code ec;
  x.gotSome = c.buffer.size() > 0;
  std::size_t searched = 0, end = 0;
  for (;;) {
    const std::string_view data = contents(c.buffer);
    const std::size_t from = searched > 3 ? searched - 3 : 0;
    if (const std::size_t found = detail::headEnd(data.substr(from))) {
      end = from + found;
      break;
    }
    if (data.size() >= kHeaderLimit) return ec;  // Beast's parser says what is wrong
    searched = data.size();
    const std::size_t n = readSome(stream, c.buffer.prepare(readSize(c.buffer)), !x.gotSome, ec);
    if (ec) return endOfFile(ec, x.gotSome);
    c.buffer.commit(n);
    x.gotSome = true;
  }
  marks.firstByte = std::chrono::steady_clock::now();
  detail::SimpleHead head;
  if (!detail::parseSimpleHead(contents(c.buffer), end, kBodyLimit, head)) return ec;
  r.fields_.assign(contents(c.buffer).substr(head.fieldsAt, head.fieldsBytes));
  c.buffer.consume(end);
  r.body_.reserve(static_cast<std::size_t>(head.contentLength));
  for (std::uint64_t left = head.contentLength;;) {
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(left, c.buffer.size()));
    r.body_.append(static_cast<const char*>(c.buffer.data().data()), take);
    c.buffer.consume(take);
    left -= take;
    if (left == 0) break;
    const std::size_t n = readSome(stream,
                                   c.buffer.prepare(static_cast<std::size_t>(
                                       std::min<std::uint64_t>(left, readSize(c.buffer)))),
                                   false, ec);
    if (ec) return endOfFile(ec, true);
    c.buffer.commit(n);
  }
  r.status_ = head.status;
  x.bytes = end + static_cast<std::size_t>(head.contentLength);
  x.keepAlive = head.keepAlive;
  x.setCookie = head.setCookie;
  x.simple = true;
  return ec;
}

std::chrono::steady_clock::time_point Session::Impl::recordHit(
    const Call& call, const Target& target, int status, ErrorKind error, std::int64_t startedUs,
    std::chrono::steady_clock::time_point t0, std::uint64_t bytes, bool phased) {
  std::string_view name = call.name;
  if (name.empty()) {
    defaultName.clear();
    defaultName.append(call.method).append(target.namePath);
    name = defaultName;
  }
  Hit hit;
  hit.name = name;
  hit.url = *target.text;
  hit.method = call.method;
  hit.status = status;
  hit.error = error;
  hit.startedUs = startedUs;
  const auto end = std::chrono::steady_clock::now();
  hit.elapsedUs = std::chrono::duration_cast<std::chrono::microseconds>(end - t0).count();
  if (phased) fillPhases(hit, end);
  hit.bytes = bytes;
  hit.plannedStartUs = std::exchange(user.plannedStartUs, 0);
  user.result.addHit(hit, user.status);
  return end;
}

// One request/response exchange (no redirects). Reports the hit; throws RequestError
// when no response arrived.
Response Session::Impl::perform(const Call& call, const Target& target) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t startedUs = detail::wallClockUsAt(t0);
  const Url& url = target.url;
  marks = {};
  marks.start = t0;
  auto fail = [&](ErrorKind kind, const std::string& reason) -> RequestError {
    recordHit(call, target, 0, kind, startedUs, t0, 0);
    return RequestError(kind, std::string(call.method) + " " + *target.text + " failed: " + reason);
  };
  if (user.cancelled) throw fail(ErrorKind::kCancelled, "cancelled: the run stopped");

  buildRequest(call, target);

  std::unique_ptr<Connection> c = take(url);
  CancelGuard guard(user, [&c] {
    if (c) c->lowest().close();
  });

  for (int attempt = 0;; ++attempt) {
    auto budgetStart = t0;  // the timeout counts from here: the request, or its connect
    if (!c) {
      budgetStart = std::chrono::steady_clock::now();
      error_code ec;
      try {
        ec = connect(url, call.timeout, c);
      } catch (const RequestError& e) {
        throw fail(e.kind(), e.what());
      }
      if (ec) {
        auto f = classify(ec, stage, user.cancelled, call.timeout);
        throw fail(f.kind, f.reason);
      }
    }
    // The exchange's timeout is the thread's Deadlines entry, not the stream's own timer
    // (armed and cancelled around every read and write).
    c->lowest().expires_never();
    detail::Deadlines::Entry deadline;
    deadline.deadline = budgetStart + call.timeout;
    deadline.expire = [](void* connection) {
      static_cast<Connection*>(connection)->lowest().close();
    };
    deadline.arg = c.get();
    detail::Deadlines::Scope timing(detail::Deadlines::of(user.io), deadline);

    Response r;
    ResponseReader parser(r.status_, r.headers_, r.body_);
    parser.body_limit(kBodyLimit);
    parser.header_limit(kHeaderLimit);
    if (call.method == "HEAD") parser.skip(true);
    Exchange x;
    error_code ec = c->tls ? exchange(*c->secure, *c, call, parser, r, x)
                           : exchange(*c->plain, *c, call, parser, r, x);
    if (ec && deadline.expired) ec = beast::error::timeout;
    if (ec) {
      // A kept connection the server closed while idle: retry once on a fresh one.
      bool stale = c->reused && attempt == 0 && !x.gotSome && !parser.got_some() &&
                   !user.cancelled && isResetError(ec);
      c.reset();
      if (stale) continue;
      auto f = classify(ec, Stage::kExchange, user.cancelled, call.timeout);
      throw fail(f.kind, f.reason);
    }

    auto setCookie = [&](std::string_view name, std::string_view value) {
      if (equalsNoCase(name, "set-cookie")) cookies.store(url, value);
      return true;
    };
    if (!x.simple) {
      for (const auto& [name, value] : r.headers_) setCookie(name, value);
    } else if (x.setCookie) {
      detail::forEachField(r.fields_, setCookie);
    }
    const auto end =
        recordHit(call, target, r.status_, ErrorKind::kNone, startedUs, t0, x.bytes, true);
    r.elapsed_ = std::chrono::duration_cast<std::chrono::microseconds>(end - t0);
    r.url_ = target.text;
    // A deadline that fired as the response completed has closed the socket: the response
    // counts, the connection is gone (kept, its next request would fail with EBADF).
    if ((x.simple ? x.keepAlive : parser.keep_alive()) && !deadline.expired) {
      c->reused = true;
      idle.push_back(std::move(c));
    }
    return r;
  }
}

// The request's URL (a path joins --server-url) with the query parameters added; nullptr
// when it is not an http(s) URL. Repeating the last URL without parameters reuses its
// parse; the result lives until the next call.
const Target* Session::Impl::parseTarget(std::string_view text, const RequestOptions& options) {
  const bool plain = options.params.empty();
  if (plain && lastValid && text == lastUrl) return &last;
  lastValid = false;
  Url url;
  bool parsed;
  if (text.starts_with('/') && !user.settings.serverUrl.empty()) {
    std::string_view base = user.settings.serverUrl;
    if (base.ends_with('/')) base.remove_suffix(1);
    parsed = detail::parseUrl(std::string(base) + std::string(text), url);
  } else {
    parsed = detail::parseUrl(text, url);
  }
  if (!parsed) return nullptr;
  if (!plain) {
    url.target += url.target.find('?') == std::string::npos ? '?' : '&';
    detail::appendEncodedPairs(options.params, url.target);
  }
  last.set(std::move(url));
  lastUrl.assign(text);
  lastValid = plain;
  return &last;
}

// ---- Session --------------------------------------------------------------------------

Session::Session(detail::UserContext& user)
    : impl_(std::make_unique<Impl>(user)), timeout_(user.settings.requestTimeout) {}

Session::~Session() = default;

Response Session::get(std::string_view url, const RequestOptions& o) {
  return request("GET", url, nullptr, o);
}
Response Session::head(std::string_view url, const RequestOptions& o) {
  return request("HEAD", url, nullptr, o);
}
Response Session::options(std::string_view url, const RequestOptions& o) {
  return request("OPTIONS", url, nullptr, o);
}
Response Session::del(std::string_view url, const RequestOptions& o) {
  return request("DELETE", url, nullptr, o);
}
Response Session::post(std::string_view url, const Body& body, const RequestOptions& o) {
  return request("POST", url, &body, o);
}
Response Session::put(std::string_view url, const Body& body, const RequestOptions& o) {
  return request("PUT", url, &body, o);
}
Response Session::patch(std::string_view url, const Body& body, const RequestOptions& o) {
  return request("PATCH", url, &body, o);
}

Response Session::request(std::string_view method, std::string_view url, const Body* body,
                          const RequestOptions& options) {
  UserContext& user = impl_->user;
  if (!user.yield) {
    throw std::logic_error(
        "Session used outside a virtual user's coroutine: call it from a "
        "test method, setUp or tearDown");
  }
  const Target* target = impl_->parseTarget(url, options);
  if (!target) {
    throw std::invalid_argument(std::string(method) + " " + std::string(url) +
                                ": not an http:// or https:// URL (a path needs --server-url)");
  }

  Impl::Call call{
      method, body, &headers_, &options.headers, options.timeout.value_or(timeout_), options.name};
  const bool follow = options.followRedirects.value_or(followRedirects_);
  Target hop;  // after a redirect
  for (int hops = 0;; ++hops) {
    Response r = impl_->perform(call, *target);
    if (!follow || !isRedirect(r.status_)) return r;
    std::string location = r.header("location");
    if (location.empty()) return r;
    if (hops >= maxRedirects_) {
      throw RequestError(ErrorKind::kOther,
                         std::string(method) + " " + r.url() + " failed: more than " +
                             std::to_string(maxRedirects_) +
                             " redirects (Session::setMaxRedirects raises the limit)");
    }
    Url next;
    if (!detail::resolveLocation(target->url, location, next)) {
      throw RequestError(ErrorKind::kProtocol, std::string(method) + " " + r.url() +
                                                   " failed: unusable redirect Location '" +
                                                   location + "'");
    }
    hop.set(std::move(next));
    target = &hop;
    bool toGet = (r.status_ == 303 && call.method != "HEAD") ||
                 ((r.status_ == 301 || r.status_ == 302) && call.method == "POST");
    if (toGet) {
      call.method = "GET";
      call.body = nullptr;
    }
  }
}

std::string Session::cookie(std::string_view host, std::string_view name) const {
  return impl_->cookies.value(host, name);
}

void Session::clearCookies() { impl_->cookies.clear(); }

void Session::closeConnections() { impl_->idle.clear(); }

// ---- Response and bodies ------------------------------------------------------------------

std::string Response::header(std::string_view name) const {
  if (fields_.empty()) {  // read by Beast's parser
    for (const auto& [n, v] : headers_) {
      if (equalsNoCase(n, name)) return v;
    }
    return {};
  }
  std::string found;
  detail::forEachField(fields_, [&](std::string_view n, std::string_view v) {
    if (!equalsNoCase(n, name)) return true;
    found.assign(v);
    return false;
  });
  return found;
}

const Headers& Response::headers() const {
  if (headers_.empty()) {
    detail::forEachField(fields_, [&](std::string_view n, std::string_view v) {
      headers_.emplace_back(n, v);
      return true;
    });
  }
  return headers_;
}

const std::string& Response::url() const {
  static const std::string none;
  return url_ ? *url_ : none;
}

Body raw(std::string data, std::string contentType) {
  return Body{std::move(contentType), std::move(data)};
}

Body json(const nlohmann::json& value) { return Body{"application/json", value.dump()}; }

Body form(const Params& fields) {
  Body b{"application/x-www-form-urlencoded", {}};
  detail::appendEncodedPairs(fields, b.data);
  return b;
}

}  // namespace loads
