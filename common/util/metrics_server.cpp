#include "util/metrics_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>  // before Asio (design.md §7)

namespace loads {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxConnections = 64;       // more are closed at once
constexpr std::chrono::seconds kIdleTimeout{60};  // an idle keep-alive is closed
constexpr std::size_t kRequestLimit = 8 * 1024;   // a larger request is dropped

struct Shared {
  std::string contentType;
  MetricsServer::BodyFn body;
  std::size_t connections = 0;  // io thread only
};

// One HTTP connection, reading requests and answering them in turn.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket&& socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {
    ++shared_.connections;
  }
  ~Connection() { --shared_.connections; }

  void doRead() {
    parser_.emplace();
    parser_->body_limit(kRequestLimit);
    parser_->header_limit(kRequestLimit);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->onRead();
                     });
  }

 private:
  void onRead() {
    const auto& req = parser_->get();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->keep_alive(req.keep_alive());
    res->set(http::field::server, "loads");
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    const beast::string_view path = req.target().substr(0, req.target().find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res->result(http::status::method_not_allowed);
      res->body() = "GET only\n";
    } else if (path != "/metrics") {
      res->result(http::status::not_found);
      res->body() = "not found: the metrics are at /metrics\n";
    } else {
      res->result(http::status::ok);
      res->set(http::field::content_type, shared_.contentType);
      try {
        res->body() = shared_.body();
      } catch (const std::exception& e) {
        res->result(http::status::internal_server_error);
        res->set(http::field::content_type, "text/plain; charset=utf-8");
        res->body() = std::string("cannot build the metrics: ") + e.what() + "\n";
      }
    }
    res->prepare_payload();
    if (req.method() == http::verb::head) res->body().clear();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        if (res->need_eof()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->doRead();
                      });
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

class MetricsServer::Impl {
 public:
  Impl(const ListenAddress& where, std::string contentType, BodyFn body, std::string_view option)
      : host_(where.host) {
    shared_.contentType = std::move(contentType);
    shared_.body = std::move(body);
    boost::system::error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address(where.host, ec), where.port);
    if (!ec) acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("cannot serve the metrics on " + where.host + ":" +
                               std::to_string(where.port) + " (" + std::string(option) +
                               "): " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    doAccept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Impl() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const {
    const std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
    return "http://" + host + ":" + std::to_string(port_) + "/metrics";
  }

 private:
  void doAccept() {
    acceptor_.async_accept(ioc_, [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec && shared_.connections < kMaxConnections) {
        std::make_shared<Connection>(std::move(socket), shared_)->doRead();
      }
      doAccept();
    });
  }

  std::string host_;
  std::uint16_t port_ = 0;
  Shared shared_;  // before ioc_: pending handlers hold connections that touch it
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
};

MetricsServer::MetricsServer(const ListenAddress& address, std::string contentType, BodyFn body,
                             std::string_view option)
    : impl_(std::make_unique<Impl>(address, std::move(contentType), std::move(body), option)) {}

MetricsServer::~MetricsServer() = default;

std::string MetricsServer::url() const { return impl_->url(); }

bool ListenAddress::loopback() const {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

ListenAddress parseListenAddress(const std::string& text, std::string_view option) {
  const std::string name(option);
  ListenAddress where;
  std::string port = text;
  if (auto colon = text.rfind(':'); colon != std::string::npos) {
    std::string host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host == "localhost") host = "127.0.0.1";
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    if (ec) {
      throw std::invalid_argument(name + " " + text +
                                  ": HOST must be an IP address (127.0.0.1:8089, 0.0.0.0:8089, "
                                  "[::1]:8089)");
    }
    where.host = host;
  }
  const bool digits = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoul(port) > 65535) {
    throw std::invalid_argument(
        name + " " + text + ": expected [HOST:]PORT with PORT from 0 to 65535 (0: any free port)");
  }
  where.port = static_cast<std::uint16_t>(std::stoul(port));
  return where;
}

}  // namespace loads
