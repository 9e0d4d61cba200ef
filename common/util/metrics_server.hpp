// MetricsServer: a small HTTP server for GET /metrics (loads-broker --metrics and
// loads-master --metrics). It serves whatever `body` returns, with `contentType`; any
// other path is 404, any other method 405. Keep-alive, as Prometheus scrapes.
//
// Thread-safety: the server runs on its own thread (one io_context); `body` is called
// on it and must be thread-safe with respect to the owner's threads. The destructor
// stops the thread; the owner constructs and destroys it on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace loads {

// Where a server listens: "[HOST:]PORT" (--web, --metrics).
struct ListenAddress {
  std::string host = "127.0.0.1";  // an IP address; "0.0.0.0" or "::" only when asked for
  std::uint16_t port = 0;          // 0 = an ephemeral port
  bool loopback() const;
};

// Parses "8089", "127.0.0.1:8089", "0.0.0.0:0", "[::1]:8089", "localhost:8089".
// Throws std::invalid_argument with one sentence naming `option` on anything else.
ListenAddress parseListenAddress(const std::string& text, std::string_view option);

class MetricsServer {
 public:
  using BodyFn = std::function<std::string()>;
  // Binds and starts serving. Throws std::runtime_error (one sentence naming `option`)
  // when it cannot bind.
  MetricsServer(const ListenAddress& address, std::string contentType, BodyFn body,
                std::string_view option = "--metrics");
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "http://127.0.0.1:9464/metrics" with the bound port.
  std::string url() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loads
