#include "agent/ring_forwarder.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <zmq.hpp>

#include "agent/event_ring.hpp"
#include "agent/results_push.hpp"
#include "proto/summary.hpp"
#include "stats/summary_builder.hpp"

namespace loads::agent {

using Clock = std::chrono::steady_clock;

struct RingForwarder::Transport {
  explicit Transport(const ForwarderOptions& o)
      : context(1),
        socket(context, zmq::socket_type::push),
        encoder(o.runId, o.agentId),
        builder([this] { return runTimeUs ? runTimeUs : wallClockUs(); }) {}
  // Test events carry no time of their own: the coarse clock picks their second, as the
  // master's AggregateResult::eventNow() does for raw events (three reads a hit).
  static std::int64_t wallClockUs() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
  }
  zmq::context_t context;
  zmq::socket_t socket;
  proto::ResultsEncoder encoder;
  proto::EventBuffer pending;
  SummaryBuilder builder;      // summaries: folds one batch's records
  std::int64_t runTimeUs = 0;  // the time of the startTestRun/stopTestRun being folded
};

RingForwarder::RingForwarder(ForwarderOptions options, std::unique_ptr<EventRing> ring)
    : options_(std::move(options)),
      ring_(std::move(ring)),
      transport_(std::make_unique<Transport>(options_)) {
  if (options_.summaryBytes == 0 || options_.summaryBytes > ring_->slotBytes() / 8) {
    options_.summaryBytes = ring_->slotBytes() / 8;
  }
  // A short queue: the ring retains kRetained batches, more than the socket can hold.
  static_assert(EventRing::kRetained >= 8 + 2);
  connectResultsPush(transport_->socket, options_.endpoint, options_.curve, 8,
                     options_.finishTimeout);
}

RingForwarder::~RingForwarder() {
  {
    std::lock_guard lock(mutex_);
    finishing_ = true;
  }
  wake_.notify_one();
  join();
  close();
}

void RingForwarder::join() {
  if (thread_.joinable()) thread_.join();
}

// Ending the context waits (up to finishTimeout, the linger) until what is queued is
// delivered.
void RingForwarder::close() { transport_.reset(); }

// ---------------------------------------------------------------- live, in the slave

void RingForwarder::startLive() {
  thread_ = std::thread([this] { liveLoop(); });
  ::pthread_setname_np(thread_.native_handle(), "loads-forward");  // for top, perf and benches
}

void RingForwarder::liveLoop() {
  auto flushAt = Clock::now() + options_.flushInterval;
  for (;;) {
    bool finishing = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.pollInterval, [&] { return finishing_; });
      finishing = finishing_;
    }
    const bool flush = finishing || Clock::now() >= flushAt;
    if (flush) {
      flushAt =
          Clock::now() + (options_.summaries ? options_.summaryInterval : options_.flushInterval);
    }
    for (std::uint32_t i = 0; i < ring_->slotsUsed(); ++i) {
      if (options_.summaries) {
        sendSummary(i, flush);
      } else {
        sendSlot(i, flush);
      }
    }
    if (finishing) return;
  }
}

void RingForwarder::sendSlot(std::uint32_t slot, bool all) {
  Transport& t = *transport_;
  for (;;) {
    const std::uint64_t from = ring_->sentTo(slot);
    const std::uint64_t head = ring_->head(slot);
    if (head == from || (!all && head - from < options_.batchBytes)) return;
    const std::uint64_t to = ring_->read(slot, from, options_.batchBytes,
                                         [&](std::string_view packed, std::uint32_t events) {
                                           t.pending.appendPacked(packed, events);
                                         });
    if (to == from) return;
    const std::uint64_t events = t.pending.events();
    const std::string message = t.encoder.batch(t.pending);  // clears pending
    ring_->noteBatch({t.encoder.batchesSent(), slot, from, to, events, t.encoder.eventsSent()});
    if (!send(message)) ++dropped_;
  }
}

void RingForwarder::sendSummary(std::uint32_t slot, bool all) {
  Transport& t = *transport_;
  // A startTestRun/stopTestRun keeps the time the slave gave it.
  const proto::RunTimeCallback runTime = [&](proto::EventKind kind, std::int64_t atUs) {
    t.runTimeUs = atUs;
    if (kind == proto::EventKind::kStartTestRun) {
      t.builder.startTestRun();
    } else {
      t.builder.stopTestRun();
    }
    t.runTimeUs = 0;
  };
  for (;;) {
    const std::uint64_t from = ring_->sentTo(slot);
    const std::uint64_t head = ring_->head(slot);
    if (head == from || (!all && head - from < options_.summaryBytes)) return;
    // At most summaryBytes a batch: the ring frees a slot's bytes batch by batch, never
    // the newest, so a batch of a whole slot would keep its writers waiting for good.
    std::uint64_t to = from;
    while (to < head && to - from < options_.summaryBytes && !t.builder.full()) {
      to = ring_->read(slot, to, 1, [&](std::string_view packed, std::uint32_t events) {
        proto::replayPacked(packed, events, t.builder, runTime);
      });
    }
    IntervalSummary summary = t.builder.take();
    const std::string message = proto::encodeSummary(t.encoder, summary);
    ring_->noteBatch(
        {t.encoder.batchesSent(), slot, from, to, summary.events, t.encoder.eventsSent()});
    t.builder.recycle(std::move(summary));
    if (!send(message)) ++dropped_;
  }
}

bool RingForwarder::finishLive() {
  {
    std::lock_guard lock(mutex_);
    finishing_ = true;
  }
  wake_.notify_one();
  join();
  countTooLarge();
  proto::EventBuffer none;
  const bool sent = send(transport_->encoder.finalBatch(none)) && dropped_ == 0;
  // Closing waits (the linger: finishTimeout) until what the socket queued has left, and
  // drops what has not by then. Only a stream that left whole is marked ended: else the
  // parent sends the retained batches again and ends the stream (finishAfterDeath), as
  // for a slave that died; a kill during the linger leaves it to the parent too.
  const auto closing = Clock::now();
  close();
  const bool left = leftBeforeLinger(Clock::now() - closing, options_.finishTimeout);
  if (sent && left) ring_->markFinalSent();
  return sent && left;
}

// ---------------------------------------------------------------- after death, in the parent

void RingForwarder::finishAfterDeath(std::optional<proto::CrashInfo> crash) {
  if (thread_.joinable() || done_) return;
  thread_ = std::thread([this, crash = std::move(crash)] {
    if (ring_->taken() && !ring_->finalSent()) afterDeath(crash);
    close();
    done_ = true;
  });
}

void RingForwarder::afterDeath(std::optional<proto::CrashInfo> crash) {
  Transport& t = *transport_;
  // What may not have left the dead slave's socket: the same batches again, marked.
  std::uint64_t seq = 0, eventsSent = 0;
  for (const SentBatch& b : ring_->retained()) {
    ring_->read(b.slot, b.from, b.to - b.from, [&](std::string_view packed, std::uint32_t events) {
      t.pending.appendPacked(packed, events);
    });
    send(t.encoder.resentBatch(t.pending, b.seq, b.eventsSent));
    t.pending.clear();
    ring_->skipTo(b.slot, b.to);  // noted, but the slave may have died before it moved on
    seq = b.seq;
    eventsSent = b.eventsSent;
  }
  // Then what it never sent, and the end of its stream.
  t.encoder.resume(seq, eventsSent);
  for (std::uint32_t i = 0; i < ring_->slotsUsed(); ++i) sendSlot(i, true);
  countTooLarge();
  const std::string last = t.encoder.finalBatch(t.pending, crash ? &*crash : nullptr);
  send(last);
}

// Events larger than a slot never entered the ring: counted as sent, so the master
// reports them as missing rather than never hearing of them.
void RingForwarder::countTooLarge() {
  const std::uint64_t lost = ring_->tooLarge();
  if (lost == 0) return;
  spdlog::warn("results of run {}: {} events larger than an event ring slot were dropped",
               options_.runId, lost);
  Transport& t = *transport_;
  t.encoder.resume(t.encoder.batchesSent(), t.encoder.eventsSent() + lost);
}

bool RingForwarder::send(const std::string& message) {
  return sendResults(transport_->socket, message, options_.endpoint, options_.finishTimeout);
}

}  // namespace loads::agent
