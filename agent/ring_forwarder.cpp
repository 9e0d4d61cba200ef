#include "agent/ring_forwarder.hpp"

#include <spdlog/spdlog.h>

#include <zmq.hpp>

#include "agent/event_ring.hpp"
#include "security/curve.hpp"

namespace loads::agent {

using Clock = std::chrono::steady_clock;

struct RingForwarder::Transport {
  explicit Transport(const ForwarderOptions& o)
      : context(1), socket(context, zmq::socket_type::push), encoder(o.runId, o.agentId) {}
  zmq::context_t context;
  zmq::socket_t socket;
  proto::ResultsEncoder encoder;
};

RingForwarder::RingForwarder(ForwarderOptions options, std::unique_ptr<EventRing> ring)
    : options_(std::move(options)),
      ring_(std::move(ring)),
      transport_(std::make_unique<Transport>(options_)) {
  zmq::socket_t& socket = transport_->socket;
  socket.set(zmq::sockopt::sndhwm, 1000);
  socket.set(zmq::sockopt::sndtimeo, 100);
  socket.set(zmq::sockopt::linger, static_cast<int>(options_.finishTimeout.count()));
  if (!options_.curve.empty()) {
    security::makeCurveClient(socket, {options_.curve.clientPublic, options_.curve.clientSecret},
                              options_.curve.serverKey);
  }
  socket.connect(options_.endpoint);
  thread_ = std::thread([this] { loop(); });
}

RingForwarder::~RingForwarder() {
  finish(std::nullopt);
  join();
}

void RingForwarder::finish(std::optional<proto::CrashInfo> crash) {
  {
    std::lock_guard lock(mutex_);
    if (finishing_) return;
    finishing_ = true;
    crash_ = std::move(crash);
  }
  wake_.notify_one();
}

void RingForwarder::join() {
  if (thread_.joinable()) thread_.join();
}

void RingForwarder::loop() {
  proto::EventBuffer pending;
  auto flushAt = Clock::now() + options_.flushInterval;
  auto sendPending = [&] {
    if (pending.empty()) return;
    const std::uint64_t events = pending.events();
    if (send(transport_->encoder.batch(pending))) eventsSent_ += events;  // batch() clears it
  };
  auto drain = [&] {
    ring_->drain([&](std::string_view packed, std::uint32_t events) {
      pending.appendPacked(packed, events);
      if (pending.bytes() >= options_.batchBytes) sendPending();
    });
  };
  for (;;) {
    bool finishing = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.drainInterval, [&] { return finishing_; });
      finishing = finishing_;
    }
    // Only a ring a slave took is forwarded: an external runner sends its own results.
    if (!ring_->taken()) {
      if (finishing) break;
      continue;
    }
    drain();
    if (finishing) {
      std::optional<proto::CrashInfo> crash;
      {
        std::lock_guard lock(mutex_);
        crash = crash_;
      }
      const std::uint64_t events = pending.events();
      const std::string last = transport_->encoder.finalBatch(pending, crash ? &*crash : nullptr);
      if (send(last)) eventsSent_ += events;
      if (ring_->tooLarge() > 0) {
        spdlog::warn("results of run {}: {} events larger than the event ring's slot were dropped",
                     options_.runId, ring_->tooLarge());
      }
      break;
    }
    if (pending.bytes() > 0 && Clock::now() >= flushAt) {
      sendPending();
      flushAt = Clock::now() + options_.flushInterval;
    }
  }
  // Ending the context waits (up to finishTimeout, the linger) until what is queued is
  // delivered: on this thread, never on the agent's.
  transport_.reset();
  done_ = true;
}

bool RingForwarder::send(const std::string& message) {
  const auto giveUp = Clock::now() + options_.finishTimeout;
  for (;;) {
    try {
      if (transport_->socket.send(zmq::buffer(message), zmq::send_flags::none)) return true;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) {
        spdlog::warn("results to {}: {}", options_.endpoint, e.what());
        return false;
      }
    }
    if (Clock::now() >= giveUp) {
      spdlog::warn("results to {}: no progress for {} ms, a batch is dropped", options_.endpoint,
                   options_.finishTimeout.count());
      return false;
    }
  }
}

}  // namespace loads::agent
