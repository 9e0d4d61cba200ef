#include "master/web_dashboard.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "report/metrics_text.hpp"
#include "util/metrics_server.hpp"

namespace loads::master {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Message = std::shared_ptr<const std::string>;
using Request = http::request<http::string_body>;

namespace {
class PageSocket;
}  // namespace

// Owns the io_context, its thread, the acceptor and the set of open pages. Every member
// below the constructor is touched only on the io thread, except where noted.
class DashboardServer {
 public:
  DashboardServer(DashboardOptions options, WebDashboard::StateFn state,
                  std::function<void()> onStop);
  ~DashboardServer();
  std::uint16_t port() const { return port_; }  // set before the thread starts
  const DashboardOptions& options() const { return options_; }
  void finish(std::string finalState, std::chrono::milliseconds grace);  // owner thread

  // io thread
  bool hostAllowed(const Request& req) const;
  bool originAllowed(const Request& req) const;
  bool admitConnection() { return connections_ < options_.maxConnections; }
  void connectionOpened() { ++connections_; }
  void connectionClosed() { --connections_; }
  void pageOpened(PageSocket* page);
  void pageClosed(PageSocket* page);
  void stopRequested();

 private:
  void doAccept();
  void scheduleTick();
  Message freshState();

  DashboardOptions options_;
  WebDashboard::StateFn state_;
  std::function<void()> onStop_;
  std::uint16_t port_ = 0;
  std::size_t connections_ = 0;
  std::set<PageSocket*> pages_;
  bool stopSent_ = false;
  Message final_;  // set by finish(): the run is over
  std::promise<void> pagesClosed_;
  bool pagesClosedSet_ = false;
  bool stateErrorLogged_ = false;
  // Declared after what sessions touch in their destructors: the io_context destroys
  // pending handlers (and the sessions they hold) when it goes.
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  asio::steady_timer timer_{ioc_};
  std::thread thread_;
};

namespace {

// Counts a connection for DashboardOptions::maxConnections while it lives.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(DashboardServer& server) : server_(server) { server_.connectionOpened(); }
  ~ConnectionSlot() { server_.connectionClosed(); }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

 private:
  DashboardServer& server_;
};

constexpr const char* kSecurityPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

http::response<http::string_body> makeResponse(const Request& req, http::status status,
                                               std::string body, const char* type) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "loads-master");
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.set("Content-Security-Policy", kSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// One page's WebSocket: pushes states (at most one waiting behind the one being
// written: each state replaces the previous, so a slow page never queues up), reads
// the page's Stop requests.
class PageSocket : public std::enable_shared_from_this<PageSocket> {
 public:
  PageSocket(tcp::socket&& socket, DashboardServer& server)
      : ws_(std::move(socket)), server_(server), slot_(server) {}
  ~PageSocket() { server_.pageClosed(this); }

  void run(Request req) {
    req_ = std::move(req);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "loads-master"); }));
    ws_.read_message_max(server_.options().messageLimit);
    ws_.async_accept(req_, [self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->onAccepted();
    });
  }

  void send(Message message) {
    if (closing_) return;
    if (queue_.size() >= 2) {
      queue_.back() = std::move(message);  // replaces a state nobody saw yet
    } else {
      queue_.push_back(std::move(message));
    }
    if (!writing_) doWrite();
  }

  // Closes once what is queued has been written.
  void closeWhenSent() {
    closeWanted_ = true;
    if (!writing_ && queue_.empty()) doClose();
  }

 private:
  void onAccepted() {
    server_.pageOpened(this);
    doRead();
  }

  void doRead() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->onRead();
    });
  }

  void onRead() {
    auto text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    auto message = nlohmann::json::parse(text, nullptr, false);
    if (message.is_object() && message.value("type", "") == "stop") server_.stopRequested();
    doRead();
  }

  void doWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(
        asio::buffer(*queue_.front()),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onWritten(ec); });
  }

  void onWritten(beast::error_code ec) {
    writing_ = false;
    if (ec) return;
    queue_.pop_front();
    if (!queue_.empty()) {
      doWrite();
    } else if (closeWanted_) {
      doClose();
    }
  }

  void doClose() {
    if (closing_) return;
    closing_ = true;
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) {});
  }

  websocket::stream<beast::tcp_stream> ws_;
  DashboardServer& server_;
  ConnectionSlot slot_;
  Request req_;
  beast::flat_buffer buffer_;
  std::deque<Message> queue_;  // front is being written while writing_
  bool writing_ = false;
  bool closeWanted_ = false;
  bool closing_ = false;
};

// One HTTP connection: serves the page, or hands the socket to a PageSocket on upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, DashboardServer& server)
      : stream_(std::move(socket)), server_(server), slot_(server) {}

  void doRead() {
    parser_.emplace();
    parser_->body_limit(server_.options().bodyLimit);
    parser_->header_limit(8 * 1024);
    stream_.expires_after(server_.options().httpTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

 private:
  void onRead(beast::error_code ec) {
    if (ec) return;  // closed, timed out or malformed: drop the connection
    Request req = parser_->release();
    if (!server_.hostAllowed(req)) {
      return respond(makeResponse(req, http::status::forbidden, "unknown Host\n", "text/plain"));
    }
    if (websocket::is_upgrade(req)) {
      if (req.target() != "/ws" || !server_.originAllowed(req)) {
        return respond(makeResponse(req, http::status::forbidden, "refused\n", "text/plain"));
      }
      stream_.expires_never();
      std::make_shared<PageSocket>(stream_.release_socket(), server_)->run(std::move(req));
      return;
    }
    if (req.method() != http::verb::get) {
      return respond(
          makeResponse(req, http::status::method_not_allowed, "GET only\n", "text/plain"));
    }
    if (req.target() == "/" || req.target() == "/index.html") {
      return respond(
          makeResponse(req, http::status::ok, dashboardPage(), "text/html; charset=utf-8"));
    }
    if (req.target() == "/metrics" && server_.options().metrics) {
      return respond(makeResponse(req, http::status::ok, server_.options().metrics(),
                                  kOpenMetricsContentType));
    }
    respond(makeResponse(req, http::status::not_found, "not found\n", "text/plain"));
  }

  void respond(http::response<http::string_body> res) {
    auto shared = std::make_shared<http::response<http::string_body>>(std::move(res));
    http::async_write(stream_, *shared,
                      [self = shared_from_this(), shared](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        if (shared->need_eof()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->doRead();
                      });
  }

  beast::tcp_stream stream_;
  DashboardServer& server_;
  ConnectionSlot slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

// ---------------------------------------------------------------- DashboardServer

DashboardServer::DashboardServer(DashboardOptions options, WebDashboard::StateFn state,
                                 std::function<void()> onStop)
    : options_(std::move(options)), state_(std::move(state)), onStop_(std::move(onStop)) {
  const WebAddress& where = options_.address;
  const std::string shown = where.host + ":" + std::to_string(where.port);
  boost::system::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(where.host, ec), where.port);
  if (!ec) acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot serve the dashboard on " + shown +
                             " (--web): " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  doAccept();
  scheduleTick();
  thread_ = std::thread([this] { ioc_.run(); });
}

DashboardServer::~DashboardServer() {
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

void DashboardServer::doAccept() {
  acceptor_.async_accept(ioc_, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec && admitConnection()) {
      std::make_shared<HttpSession>(std::move(socket), *this)->doRead();
    }  // else: the socket closes as it goes out of scope
    doAccept();
  });
}

void DashboardServer::scheduleTick() {
  timer_.expires_after(options_.pushInterval);
  timer_.async_wait([this](beast::error_code ec) {
    if (ec || final_) return;
    if (!pages_.empty()) {
      Message state = freshState();
      if (state) {
        for (PageSocket* page : pages_) page->send(state);
      }
    }
    scheduleTick();
  });
}

Message DashboardServer::freshState() {
  try {
    return std::make_shared<const std::string>(state_());
  } catch (const std::exception& e) {
    if (!stateErrorLogged_) {
      std::cerr << "loads-master: dashboard: cannot build the state: " << e.what() << std::endl;
      stateErrorLogged_ = true;
    }
    return nullptr;
  }
}

bool DashboardServer::hostAllowed(const Request& req) const {
  if (!options_.address.loopback()) return true;  // exposure the user asked for
  const std::string port = ":" + std::to_string(port_);
  const auto host = req[http::field::host];
  return host == "127.0.0.1" + port || host == "localhost" + port || host == "[::1]" + port ||
         host == options_.address.host + port;
}

bool DashboardServer::originAllowed(const Request& req) const {
  auto origin = req.find(http::field::origin);
  if (origin == req.end()) return true;  // not a browser
  return origin->value() == "http://" + std::string(req[http::field::host]);
}

void DashboardServer::pageOpened(PageSocket* page) {
  pages_.insert(page);
  if (final_) {
    page->send(final_);
    page->closeWhenSent();
    return;
  }
  if (Message state = freshState()) page->send(state);
}

void DashboardServer::pageClosed(PageSocket* page) {
  pages_.erase(page);
  if (final_ && pages_.empty() && !pagesClosedSet_) {
    pagesClosedSet_ = true;
    pagesClosed_.set_value();
  }
}

void DashboardServer::stopRequested() {
  if (stopSent_ || final_) return;  // the first Stop acts; the run is stopping already
  stopSent_ = true;
  onStop_();
}

void DashboardServer::finish(std::string finalState, std::chrono::milliseconds grace) {
  auto closed = pagesClosed_.get_future();
  asio::post(ioc_, [this, state = std::make_shared<const std::string>(std::move(finalState))] {
    final_ = state;
    timer_.cancel();
    for (PageSocket* page : pages_) {
      page->send(final_);
      page->closeWhenSent();
    }
    if (pages_.empty() && !pagesClosedSet_) {
      pagesClosedSet_ = true;
      pagesClosed_.set_value();
    }
  });
  closed.wait_for(grace);
}

// ---------------------------------------------------------------- WebDashboard

WebDashboard::WebDashboard(DashboardOptions options, StateFn state, std::function<void()> onStop)
    : server_(std::make_unique<DashboardServer>(std::move(options), std::move(state),
                                                std::move(onStop))) {}

WebDashboard::~WebDashboard() = default;

std::string WebDashboard::url() const {
  std::string host = server_->options().address.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(server_->port()) + "/";
}

void WebDashboard::finish(std::string finalState, std::chrono::milliseconds grace) {
  server_->finish(std::move(finalState), grace);
}

// ---------------------------------------------------------------- --web

bool WebAddress::loopback() const { return ListenAddress{host, port}.loopback(); }

WebAddress parseWebAddress(const std::string& text) {
  const ListenAddress where = parseListenAddress(text, "--web");
  return WebAddress{where.host, where.port};
}

}  // namespace loads::master
