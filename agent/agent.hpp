// Agent: the loads-agent daemon as a library class (PROTOCOL.md §5.2, §6, §8.2).
//
// It registers with the broker (HELLO), heartbeats, reconnects with backoff when the
// broker goes silent or away, receives JOBs (library cached by sha256), runs each in a
// child slave runner process, stops it on STOP (SIGTERM, then SIGKILL after a grace
// period) and reports how it ended (JOB-ENDED).
//
// Thread-safety: run() blocks the calling thread, which alone owns the socket and the
// slave; stop() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "security/curve.hpp"

namespace loads::agent {

struct AgentOptions {
  std::string broker = "tcp://127.0.0.1:7781";  // the broker's backend endpoint
  std::string id;                               // agent id; "" = "<host>-<pid>"
  std::string cacheDir;  // library cache; "" = LibraryCache::defaultDirectory()
  std::chrono::milliseconds heartbeat{1000};  // until WELCOME gives the broker's (1 s)
  std::uint32_t liveness = 5;  // silent intervals before the broker counts as gone (5)
  std::string slaveBinary;     // "" = loads-slave next to this executable
  std::chrono::milliseconds stopGrace{10000};   // SIGTERM → SIGKILL delay on STOP (10 s)
  std::chrono::milliseconds maxBackoff{30000};  // reconnect delay doubles from 1 s up to this
  security::KeyPair key;                        // --key: CURVE to the broker; none = plain TCP
  std::string brokerKey;  // --broker-key: the broker's Z85 public key; "" with no key
};

class Agent {
 public:
  // Throws std::runtime_error when the cache directory cannot be created.
  explicit Agent(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Serves until stop(); returns the exit code (0, or 3 when the broker speaks another
  // protocol version). On stop, a running slave is stopped and reported first.
  int run();
  void stop();

  const std::string& id() const;

  class Loop;  // the state behind run() (agent.cpp)

 private:
  std::unique_ptr<Loop> loop_;
};

}  // namespace loads::agent
