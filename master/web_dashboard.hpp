// WebDashboard: the HTTP + WebSocket server behind loads-master --web.
//
// It serves one self-contained page at "/" (and /metrics when given) and pushes the run's state to
// every open page over a WebSocket ("/ws") once per push interval; a page's Stop button sends
// {"type":"stop"} back, which calls onStop (once per run). It knows nothing about
// runs: the owner gives it a function that returns the state as compact JSON.
//
// Thread-safety: the server runs on its own thread (one io_context, so its handlers never
// run concurrently). `state` and `onStop` are called on that thread and must be
// thread-safe with respect to the owner's threads. finish() and the destructor are
// called by the owner thread. Reads of the run go through `state` only: the server never
// touches the hit path.
//
// Safety: bound to 127.0.0.1 unless told otherwise. A WebSocket or page request whose
// Host is not this loopback address (DNS rebinding), or whose Origin is another site
// (cross-site WebSocket hijacking), is refused.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace loads::master {

class DashboardServer;

// Where --web listens: "[HOST:]PORT".
struct WebAddress {
  std::string host = "127.0.0.1";  // an IP address; "0.0.0.0" or "::" only when asked for
  std::uint16_t port = 0;          // 0 = an ephemeral port
  bool loopback() const;
};

// Parses "8089", "127.0.0.1:8089", "0.0.0.0:0", "[::1]:8089". Throws
// std::invalid_argument with one sentence on anything else.
WebAddress parseWebAddress(const std::string& text);

struct DashboardOptions {
  WebAddress address;                            // where to listen; 127.0.0.1, ephemeral
  std::chrono::milliseconds pushInterval{1000};  // state pushed to pages this often; 1 s
  std::size_t maxConnections = 64;               // HTTP + WebSocket; more are closed; 64
  std::size_t bodyLimit = 8 * 1024;              // largest HTTP request accepted; 8 KiB
  std::size_t messageLimit = 4 * 1024;           // largest WebSocket message from a page; 4 KiB
  std::chrono::seconds httpTimeout{30};          // an idle HTTP connection is closed; 30 s
  // GET /metrics serves what this returns (OpenMetrics text, called on the server's
  // thread; docs/metrics.md); none = 404.
  std::function<std::string()> metrics;
};

class WebDashboard {
 public:
  // Returns the state to push, as compact JSON text.
  using StateFn = std::function<std::string()>;

  // Binds and starts serving. Throws std::runtime_error (one sentence) when it cannot.
  WebDashboard(DashboardOptions options, StateFn state, std::function<void()> onStop);
  ~WebDashboard();
  WebDashboard(const WebDashboard&) = delete;
  WebDashboard& operator=(const WebDashboard&) = delete;

  // The page's address, e.g. "http://127.0.0.1:43817/".
  std::string url() const;
  // Pushes `finalState` to every page, closes their WebSockets, and waits up to `grace`
  // for that to reach them. Later pages get `finalState` too until destruction.
  void finish(std::string finalState, std::chrono::milliseconds grace);

 private:
  std::unique_ptr<DashboardServer> server_;
};

// The page served at "/" (dashboard_page.cpp).
const std::string& dashboardPage();

}  // namespace loads::master
