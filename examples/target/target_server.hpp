// TargetServer: a small HTTP/1.1 server for demos, end-to-end tests and benchmarks.
//
// Serves a fixed set of endpoints (see README in main.cpp's --help and endpoints in
// target_server.cpp) and counts every request it answers, so tests can compare what a
// load test reported with what the server saw. Runs on its own threads; start() and
// stop() are called from one controlling thread; counters are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace loads::examples {

struct TargetOptions {
  std::string host = "127.0.0.1";           // address to bind
  unsigned short port = 0;                  // 0: an ephemeral port (see TargetServer::port())
  int threads = 1;                          // threads running the server
  std::string tlsCert;                      // PEM certificate chain; with tlsKey: serve HTTPS
  std::string tlsKey;                       // PEM private key
  std::chrono::milliseconds stallEvery{0};  // 0: never stall; else a stall per period
  std::chrono::milliseconds stallFor{0};    // how long each stall holds every response
};

class TargetServer {
 public:
  explicit TargetServer(TargetOptions options = {});
  ~TargetServer();  // stops the server
  TargetServer(const TargetServer&) = delete;
  TargetServer& operator=(const TargetServer&) = delete;

  // Binds and starts serving; throws std::runtime_error when it cannot bind or load the
  // TLS files.
  void start();
  // Stops accepting, drops open connections and joins the threads. Idempotent.
  void stop();

  unsigned short port() const;  // the bound port, after start()
  std::string url() const;      // "http://127.0.0.1:PORT" (https with TLS)

  std::uint64_t served() const;       // responses written (not counting /stats*)
  std::uint64_t connections() const;  // connections accepted since start or reset

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loads::examples
