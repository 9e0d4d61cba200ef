// WebSocket: a virtual user's WebSocket client (ws:// and wss://), made by
// TestCase::createWs.
//
// Calls look synchronous and yield the user's coroutine while they wait. Once open, the
// socket reads in the background: each message received is reported to the TestResult,
// handed to the onMessage callback (if any), and queued for receive() unless the
// callback returned true ("consumed"). The queue is bounded (WsOptions::queueLimit):
// when it is full the socket stops reading until receive() takes a message, so nothing
// is ever dropped.
//
// Every socket reports socketOpen, socketMessage (each message, each way) and exactly
// one socketClose (code, reason, clean); the connect + handshake is a hit named
// "WS /path" (status 101, or 0 with an error kind). A failure (refused, reset, TLS,
// timeout, run stopped) raises RequestError into the test, as Session does.
//
// Thread-safety and ownership: a WebSocket belongs to one user; the TestCase that made
// it keeps it open across hits and closes it (code 1000) when the user ends. Use it from
// the user's coroutine only. The callback runs between the user's own steps, outside
// its coroutine: it must not send, receive, sleep or make requests (those throw
// std::logic_error there); it may record, count, assert (an exception it throws is
// raised again by the socket's next send, receive, ping or close).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loads/session.hpp"

namespace loads {

class WebSocket;

struct WsMessage {
  std::string data;     // the payload
  bool binary = false;  // a binary message (false: text)
};

// Called for each message received; return true when the message is consumed (not
// queued for receive()).
using WsCallback = std::function<bool(const WsMessage&)>;

struct WsOptions {
  std::vector<std::string> subprotocols;  // offered in Sec-WebSocket-Protocol; default none
  Headers headers;                        // extra handshake headers; default none
  // Connect + handshake, each send and ping, and the close handshake; also the default
  // of receive(). Default: the session's request timeout (--timeout, 30 s).
  std::optional<std::chrono::milliseconds> timeout;
  std::string name;               // hit name in the report; default "WS /path"
  std::size_t queueLimit = 1024;  // messages held for receive() before reading pauses
};

// Raised by send, sendBinary, receive and ping on a socket that is already closed; kind()
// is why it closed (kNone after a clean close).
class WebSocketClosed : public RequestError {
 public:
  WebSocketClosed(ErrorKind kind, int code, const std::string& what)
      : RequestError(kind, what), code_(code) {}
  int code() const { return code_; }  // close code; 0 when the socket failed

 private:
  int code_;
};

namespace detail {
// The sockets a TestCase made: closed (cleanly when possible) when the user ends,
// whoever still holds them.
class OwnedSockets {
 public:
  OwnedSockets() = default;
  ~OwnedSockets();
  OwnedSockets(const OwnedSockets&) = delete;
  OwnedSockets& operator=(const OwnedSockets&) = delete;
  std::vector<std::shared_ptr<WebSocket>> list;
};
}  // namespace detail

class WebSocket {
 public:
  struct Impl;
  explicit WebSocket(std::shared_ptr<Impl> impl);
  // Closes the socket (1000, clean) if it is still open; abruptly when the run was
  // cancelled or the user's coroutine is being unwound.
  ~WebSocket();
  WebSocket(const WebSocket&) = delete;
  WebSocket& operator=(const WebSocket&) = delete;

  // Sends one text / binary message; returns when it is written. Throws RequestError
  // (and the socket is closed, not cleanly) when it cannot be written.
  void send(std::string_view text);
  void sendBinary(std::string_view bytes);
  // The next message not consumed by the callback: queued ones first, else waits up to
  // `timeout` (default WsOptions::timeout). Returns nullopt on timeout (the socket stays
  // open). Throws WebSocketClosed when the socket is closed and nothing is queued.
  std::optional<WsMessage> receive(std::optional<std::chrono::milliseconds> timeout = {});
  // Sends a ping (the pong is handled in the background).
  void ping(std::string_view payload = {});
  // Close handshake with this code and reason; waits (bounded by the timeout) for the
  // peer's close. No-op when already closed.
  void close(int code = 1000, std::string_view reason = {});

  bool isOpen() const;
  const std::string& url() const;       // "ws://host:port/path"
  const std::string& protocol() const;  // subprotocol the server chose; "" if none
  std::size_t queued() const;           // messages waiting for receive()
  // Set once closed: the close code (0 when the socket failed) and reason.
  int closeCode() const;
  const std::string& closeReason() const;

 private:
  friend class detail::OwnedSockets;
  std::shared_ptr<Impl> impl_;
};

}  // namespace loads
