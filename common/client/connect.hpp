// What the HTTP Session and the WebSocket client share: opening a TCP or TLS connection
// from a user's coroutine (DNS cache, timeout, SNI and certificate verification per
// --insecure-skip-tls-verify), classifying failures into ErrorKinds, and cancellation guards.
//
// Included only by session.cpp and websocket.cpp (it pulls in Beast and Asio's SSL).
// Everything here runs on the user's thread, from its coroutine.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "client/url.hpp"
#include "loads/status.hpp"
#include "run/user_context.hpp"

namespace loads::detail {

// The concrete io_context executor spares a type-erased call per operation.
using TcpStream =
    boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using TlsStream = boost::beast::ssl_stream<TcpStream>;

// Where a connection attempt or exchange failed.
enum class Stage { kResolve, kConnect, kHandshake, kExchange };

struct ConnectFailure {
  ErrorKind kind;
  std::string reason;
};

inline bool isResetError(const boost::system::error_code& ec) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::ssl::error::stream_truncated;
}

// timeoutHint names the setting that changes the timeout, for the message.
inline ConnectFailure classify(const boost::system::error_code& ec, Stage stage, bool cancelled,
                               std::chrono::milliseconds timeout,
                               std::string_view timeoutHint = "RequestOptions::timeout") {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  if (cancelled) return {ErrorKind::kCancelled, "cancelled: the run stopped"};
  if (ec == boost::beast::error::timeout)
    return {ErrorKind::kTimeout, "no response within " + std::to_string(timeout.count()) +
                                     " ms (set the timeout with " + std::string(timeoutHint) + ")"};
  if (ec == asio::error::connection_refused) return {ErrorKind::kRefused, "connection refused"};
  if (stage == Stage::kHandshake) {
    std::string reason = "TLS handshake failed: " + ec.message();
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      reason +=
          " (the server's certificate is not trusted; --insecure-skip-tls-verify skips "
          "verification)";
    }
    return {ErrorKind::kTls, std::move(reason)};
  }
  if (isResetError(ec))
    return {ErrorKind::kReset,
            "the server closed the connection before a complete response (" + ec.message() + ")"};
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() ||
      ec == http::error::body_limit)
    return {ErrorKind::kProtocol, "the response is not valid HTTP: " + ec.message()};
  if (ec.category() == asio::error::get_ssl_category())
    return {ErrorKind::kTls, "TLS error: " + ec.message()};
  return {ErrorKind::kOther, ec.message()};
}

inline std::int64_t wallClockUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The wall clock (µs since the epoch) at `t`, a steady-clock time of this thread's latest:
// one system_clock read a second per thread instead of one a hit. The two clocks advance
// at the same (NTP-slewed) rate and differ only by steps of the wall clock, which this
// takes up within the second. An earlier `t` is converted with the same offset.
inline std::int64_t wallClockUsAt(std::chrono::steady_clock::time_point t) {
  using namespace std::chrono;
  thread_local steady_clock::time_point base{};
  thread_local std::int64_t baseWallNs = 0;
  if (t - base >= seconds(1)) {
    base = t;
    baseWallNs = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  }
  return (baseWallNs + duration_cast<nanoseconds>(t - base).count()) / 1000;
}

// Registers a canceller for the duration of a scope.
class CancelGuard {
 public:
  CancelGuard(UserContext& user, std::function<void()> canceller)
      : user_(user), id_(user.onCancel(std::move(canceller))) {}
  ~CancelGuard() { user_.removeOnCancel(id_); }
  CancelGuard(const CancelGuard&) = delete;
  CancelGuard& operator=(const CancelGuard&) = delete;

 private:
  UserContext& user_;
  std::size_t id_;
};

// Connects to the resolved endpoints and (for TLS) handshakes, yielding. Exactly one of
// plain / secure is set before any I/O, so that a canceller can close it meanwhile;
// `stage` says how far it got. The timeout is left armed on the stream. `connectedAt`,
// when given, gets the time the TCP connection was established (before the handshake).
inline boost::system::error_code connectStream(
    UserContext& user, const Url& url, const DnsCache::Endpoints& endpoints,
    std::chrono::milliseconds timeout, std::optional<TcpStream>& plain,
    std::unique_ptr<TlsStream>& secure, Stage& stage,
    std::chrono::steady_clock::time_point* connectedAt = nullptr) {
  namespace asio = boost::asio;
  namespace ssl = asio::ssl;
  if (url.tls) {
    secure = std::make_unique<TlsStream>(user.io.get_executor(), user.tls);
    boost::system::error_code notAnAddress;
    asio::ip::make_address(url.host, notAnAddress);
    if (notAnAddress) SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str());
    if (user.settings.insecure) {
      secure->set_verify_mode(ssl::verify_none);
    } else {
      secure->set_verify_mode(ssl::verify_peer);
      secure->set_verify_callback(ssl::host_name_verification(url.host));
    }
  } else {
    plain.emplace(user.io.get_executor());
  }
  TcpStream& lowest = secure ? boost::beast::get_lowest_layer(*secure) : *plain;
  lowest.expires_after(timeout);
  stage = Stage::kConnect;
  boost::system::error_code ec;
  lowest.async_connect(endpoints, (*user.yield)[ec]);
  if (connectedAt) *connectedAt = std::chrono::steady_clock::now();
  if (!ec && secure) {
    stage = Stage::kHandshake;
    secure->async_handshake(ssl::stream_base::client, (*user.yield)[ec]);
  }
  return ec;
}

}  // namespace loads::detail
