// BrokerLink: the master's DEALER to the broker's frontend (PROTOCOL.md §5.1, §6), used
// by the broker commands (--ping, --stop, --purge) and by a distributed run. Malformed
// replies are counted and dropped; a peer of another protocol version is an exception.
//
// Not thread-safe: one thread (the master's main thread) owns it.
#pragma once

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "proto/messages.hpp"
#include "security/curve.hpp"

namespace loads::master {

// A command or RUN unanswered this long: no broker.
inline constexpr auto kBrokerAnswer = std::chrono::seconds(5);
// How often the master heartbeats (and answers the broker's) at least.
inline constexpr auto kHeartbeat = std::chrono::seconds(1);
inline constexpr int kInfraError = 3;  // the exit code of an infrastructure error

class BrokerLink {
 public:
  using Clock = std::chrono::steady_clock;

  BrokerLink(const std::string& endpoint, const security::KeyPair& key,
             const std::string& brokerKey);
  template <class T>
  void send(const T& message) {
    socket_.send(zmq::buffer(proto::encode(message)), zmq::send_flags::dontwait);
    lastSent_ = Clock::now();
  }
  // The next valid envelope within `timeout`, or nullopt. Throws std::runtime_error when
  // the broker speaks another protocol version.
  std::optional<proto::Envelope> receive(Clock::duration timeout);
  // Keeps the broker from declaring this master gone (PROTOCOL.md §6).
  void heartbeatIfDue();
  Clock::duration silentFor() const { return Clock::now() - lastHeard_; }
  const std::string& endpoint() const { return endpoint_; }
  // The sentence for a broker that does not answer.
  std::string noAnswer() const;

 private:
  std::string endpoint_;
  bool secured_;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  Clock::time_point lastSent_ = Clock::now();
  Clock::time_point lastHeard_ = Clock::now();
};

// "the broker answered ERROR code: text".
std::string errorText(const proto::Envelope& envelope);

// Prints an ERROR from the broker; a version mismatch or other error is exit 3.
int reportError(const proto::Envelope& envelope);

// One request, one answer of type T (control commands). On failure returns nullopt with
// `code` set after printing why.
template <class T, class Request>
std::optional<T> ask(BrokerLink& link, const Request& request, int& code) {
  using Clock = BrokerLink::Clock;
  link.send(request);
  const auto deadline = Clock::now() + kBrokerAnswer;
  while (Clock::now() < deadline) {
    auto envelope = link.receive(deadline - Clock::now());
    if (!envelope) break;
    if (envelope->type == proto::MessageType::kError) {
      code = reportError(*envelope);
      return std::nullopt;
    }
    if (envelope->type != T::kType) continue;  // e.g. a HEARTBEAT
    auto answer = proto::decodeBody<T>(*envelope);
    if (answer) return std::move(answer.value());
    std::cerr << "loads-master: bad answer from the broker: " << answer.reason() << std::endl;
    code = kInfraError;
    return std::nullopt;
  }
  std::cerr << "loads-master: " << link.noAnswer() << std::endl;
  code = kInfraError;
  return std::nullopt;
}

}  // namespace loads::master
