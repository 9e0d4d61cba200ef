#include "master/ring_reader.hpp"

#include <pthread.h>

#include "agent/event_ring.hpp"
#include "proto/results.hpp"
#include "stats/aggregate_result.hpp"

namespace loads::master {

namespace {
// Read at most this much of a slot at once, so that its writers get room early.
constexpr std::size_t kReadBytes = 256 * 1024;
}  // namespace

RingReader::RingReader(std::unique_ptr<agent::EventRing> ring, AggregateResult& sink,
                       std::chrono::milliseconds pollInterval)
    : ring_(std::move(ring)), sink_(sink), pollInterval_(pollInterval) {}

RingReader::~RingReader() { finish(); }

void RingReader::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
  ::pthread_setname_np(thread_.native_handle(), "loads-results");  // as the receiver's
}

void RingReader::finish() {
  {
    std::lock_guard lock(mutex_);
    finishing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  drain();  // the slave has ended: whatever it published is there
}

std::uint64_t RingReader::tooLarge() const { return ring_->tooLarge(); }

void RingReader::loop() {
  sink_.setSource(0);
  for (;;) {
    drain();
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, pollInterval_, [&] { return finishing_; })) return;
  }
}

void RingReader::drain() {
  // The slave's start and stop carry its own clock (as the results receiver takes them).
  const proto::RunTimeCallback runTime = [this](proto::EventKind kind, std::int64_t atUs) {
    if (kind == proto::EventKind::kStartTestRun) {
      sink_.startTestRunAt(atUs);
    } else {
      sink_.stopTestRunAt(atUs);
    }
  };
  for (bool more = true; more;) {
    more = false;
    for (std::uint32_t slot = 0; slot < ring_->slotsUsed(); ++slot) {
      const std::uint64_t from = ring_->sentTo(slot);
      const std::uint64_t to =
          ring_->read(slot, from, kReadBytes, [&](std::string_view packed, std::uint32_t events) {
            events_ += events;
            replayed_ += proto::replayPacked(packed, events, sink_, runTime);
          });
      if (to == from) continue;
      ring_->release(slot, to);
      more = more || to < ring_->head(slot);
    }
  }
}

}  // namespace loads::master
