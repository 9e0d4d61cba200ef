// InboundGuard on a real PULL socket on loopback: a backlog of complete messages is never
// cut, an unfinished message past the bound is, and libzmq drops it.
#include "security/inbound_guard.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <zmq.hpp>

#include "support/raw_zmtp.hpp"

using namespace loads::security;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMaxHeld = 1 << 20;

struct Receiver {
  zmq::context_t context;
  zmq::socket_t pull{context, zmq::socket_type::pull};
  InboundGuard guard{context, pull, kMaxHeld, false, "test"};
  Receiver() {
    pull.set(zmq::sockopt::linger, 0);
    pull.bind("tcp://127.0.0.1:*");
  }
  int port() const {
    const std::string endpoint = pull.get(zmq::sockopt::last_endpoint);
    return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  }
  // Polls and checks, without receiving, until `done` holds or 10 s pass.
  template <class Done>
  bool checkUntil(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(InboundGuard::kCheckInterval);
      guard.check();
    }
    return done();
  }
};

}  // namespace

TEST_CASE("a backlog of complete messages larger than the bound is never cut", "[guard]") {
  Receiver receiver;
  zmq::socket_t push(receiver.context, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.connect(receiver.pull.get(zmq::sockopt::last_endpoint));
  const std::string body(256 * 1024, 'x');
  constexpr int kMessages = 40;  // 10 MiB queued: ten times the bound
  for (int i = 0; i < kMessages; ++i) push.send(zmq::buffer(body), zmq::send_flags::none);
  // The backlog is ten times the bound, but every check finds the reader took a message.
  int received = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (received < kMessages && std::chrono::steady_clock::now() < deadline) {
    zmq::message_t message;
    if (receiver.pull.recv(message, zmq::recv_flags::dontwait)) {
      receiver.guard.delivered(message);
      ++received;
    }
    // A slow reader: one message per check interval, so the backlog stays above the bound.
    std::this_thread::sleep_for(InboundGuard::kCheckInterval);
    receiver.guard.check();
  }
  CHECK(received == kMessages);
  CHECK(receiver.guard.connectionsCut() == 0);
}

TEST_CASE("an unfinished message past the bound is cut and its frames are dropped", "[guard]") {
  Receiver receiver;
  loads::testing::RawZmtpPeer peer(receiver.port(), "PUSH");
  const std::string frame(64 * 1024, 'y');
  bool open = true;
  for (int i = 0; i < 64 && open; ++i) open = peer.sendFrame(frame, true);  // 4 MiB, never ended
  CHECK(receiver.checkUntil([&] { return receiver.guard.connectionsCut() == 1; }));
  CHECK(receiver.checkUntil([&] { return receiver.guard.connections() == 0; }));
  // The connection is gone: the peer's next frames fail.
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) refused = !peer.sendFrame(frame, true);
  CHECK(refused);
  zmq::message_t message;
  CHECK_FALSE(receiver.pull.recv(message, zmq::recv_flags::dontwait));
}
