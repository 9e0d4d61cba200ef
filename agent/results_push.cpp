#include "agent/results_push.hpp"

#include <spdlog/spdlog.h>

#include "security/curve.hpp"

namespace loads::agent {

void connectResultsPush(zmq::socket_t& socket, const std::string& endpoint,
                        const proto::ResultsCurve& curve, int highWaterMark,
                        std::chrono::milliseconds linger) {
  socket.set(zmq::sockopt::sndhwm, highWaterMark);
  socket.set(zmq::sockopt::sndtimeo, 100);
  socket.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
  if (!curve.empty()) {
    security::makeCurveClient(socket, {curve.clientPublic, curve.clientSecret}, curve.serverKey);
  }
  socket.connect(endpoint);
}

bool sendResults(zmq::socket_t& socket, const std::string& message, const std::string& endpoint,
                 std::chrono::milliseconds patience) {
  const auto giveUp = std::chrono::steady_clock::now() + patience;
  for (;;) {
    try {
      if (socket.send(zmq::buffer(message), zmq::send_flags::none)) return true;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) {
        spdlog::warn("results to {}: {}", endpoint, e.what());
        return false;
      }
    }
    if (std::chrono::steady_clock::now() >= giveUp) {
      spdlog::warn("results to {}: no progress for {} ms, a batch is dropped", endpoint,
                   patience.count());
      return false;
    }
  }
}

}  // namespace loads::agent
