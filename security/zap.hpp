// ZapAuthenticator: the ZAP handler (ZeroMQ RFC 27, inproc://zeromq.zap.01) of one
// ZeroMQ context. It allows a CURVE client when its public key is in the allowed set of
// the socket's ZAP domain, and refuses it otherwise: one warn line with the key in Z85,
// and a count (PROTOCOL.md §9.1).
//
// Thread-safety: the constructor binds the handler's socket in `context` and starts its
// thread, which alone touches that socket. allow(), refusals() may be called from any
// thread. The context must outlive the authenticator; the destructor stops the thread.
// Create it before binding the CURVE server sockets of that context.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <zmq.hpp>

namespace loads::security {

class ZapAuthenticator {
 public:
  explicit ZapAuthenticator(zmq::context_t& context);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  // Adds Z85 public keys to the keys allowed under `domain`.
  void allow(const std::string& domain, const std::set<std::string>& publicKeys);
  std::uint64_t refusals() const { return refusals_.load(); }

 private:
  void run();
  void answer(std::vector<zmq::message_t>& request);
  bool allowed(const std::string& domain, const std::string& publicKey);

  zmq::socket_t handler_;
  zmq::socket_t pipeIn_, pipeOut_;  // stop pipe: the destructor writes, run() reads
  std::mutex mutex_;                // guards allowed_
  std::map<std::string, std::set<std::string>> allowed_;
  std::atomic<std::uint64_t> refusals_{0};
  std::thread thread_;
};

}  // namespace loads::security
