#include "agent/test_result_proxy.hpp"

#include <spdlog/spdlog.h>

#include <deque>
#include <zmq.hpp>

#include "agent/results_push.hpp"
#include "proto/summary.hpp"
#include "stats/summary_builder.hpp"

namespace loads::agent {

using Clock = std::chrono::steady_clock;
using proto::EventBuffer;

struct TestResultProxy::Shard {
  std::mutex mutex;
  std::condition_variable drained;  // the sender took full buffers
  std::unique_ptr<EventBuffer> current = std::make_unique<EventBuffer>();
  std::deque<std::unique_ptr<EventBuffer>> full;  // in call order
  std::vector<std::unique_ptr<EventBuffer>> spare;
  std::unique_ptr<SummaryBuilder> builder;    // --results summary only
  std::deque<IntervalSummary> fullSummaries;  // builders that reached their bound
};

struct TestResultProxy::Transport {
  Transport(const ProxyOptions& o)
      : context(1), socket(context, zmq::socket_type::push), encoder(o.runId, o.agentId) {}
  zmq::context_t context;
  zmq::socket_t socket;
  proto::ResultsEncoder encoder;
};

namespace {
std::atomic<std::uint64_t> nextInstanceId{1};
}

TestResultProxy::TestResultProxy(ProxyOptions options)
    : options_(std::move(options)),
      instanceId_(nextInstanceId++),
      transport_(std::make_unique<Transport>(options_)) {
  connectResultsPush(transport_->socket, options_.endpoint, options_.curve,
                     options_.sendHighWaterMark, options_.finishTimeout);
  sender_ = std::thread([this] { sendLoop(); });
}

TestResultProxy::~TestResultProxy() { finish(); }

TestResultProxy::Shard& TestResultProxy::shard() {
  // One shard per (thread, proxy); the id tells this proxy from one at a reused address.
  thread_local std::uint64_t cachedId = 0;
  thread_local Shard* cached = nullptr;
  if (cachedId == instanceId_) return *cached;
  std::lock_guard lock(shardsMutex_);
  shards_.push_back(std::make_unique<Shard>());
  if (options_.summaries) shards_.back()->builder = std::make_unique<SummaryBuilder>();
  cachedId = instanceId_;
  cached = shards_.back().get();
  return *cached;
}

template <class Pack>
void TestResultProxy::record(Pack&& pack) {
  Shard& s = shard();
  std::unique_lock lock(s.mutex);
  if (s.builder) {
    pack(*s.builder);
    if (s.builder->full()) handOverSummary(s, lock);
    return;
  }
  pack(*s.current);
  if (s.current->bytes() >= options_.batchBytes) handOver(s, lock);
}

void TestResultProxy::handOverSummary(Shard& s, std::unique_lock<std::mutex>& lock) {
  s.drained.wait(lock, [&] { return s.fullSummaries.size() < options_.maxQueuedBuffers; });
  s.fullSummaries.push_back(s.builder->take());
  lock.unlock();
  wakeSender();
}

void TestResultProxy::wakeSender() {
  {
    std::lock_guard wakeLock(wakeMutex_);
    fullPending_ = true;
  }
  wake_.notify_one();
}

void TestResultProxy::handOver(Shard& s, std::unique_lock<std::mutex>& lock) {
  // Bounded queue: a runner thread far ahead of the network waits for the sender.
  s.drained.wait(lock, [&] { return s.full.size() < options_.maxQueuedBuffers; });
  s.full.push_back(std::move(s.current));
  if (!s.spare.empty()) {
    s.current = std::move(s.spare.back());
    s.spare.pop_back();
  } else {
    s.current = std::make_unique<EventBuffer>();
  }
  lock.unlock();
  wakeSender();
}

// ---------------------------------------------------------------- sender thread

void TestResultProxy::sendLoop() {
  const auto interval = options_.summaries ? options_.summaryInterval : options_.flushInterval;
  auto nextPartial = Clock::now() + interval;
  for (;;) {
    bool finishing = false;
    {
      std::unique_lock lock(wakeMutex_);
      wake_.wait_until(lock, nextPartial, [&] { return fullPending_ || finishing_; });
      fullPending_ = false;
      finishing = finishing_;
    }
    const bool partial = finishing || Clock::now() >= nextPartial;
    if (partial) nextPartial = Clock::now() + interval;
    collectAndSend(partial);
    if (finishing) break;
  }
  EventBuffer none;
  const bool delivered = send(transport_->encoder.finalBatch(none));
  std::lock_guard lock(finishMutex_);
  stats_.eventsSent = transport_->encoder.eventsSent();
  stats_.batchesSent = transport_->encoder.batchesSent();
  stats_.delivered = delivered && dropped_ == 0;
}

void TestResultProxy::collectAndSend(bool partial) {
  std::vector<Shard*> shards;
  {
    std::lock_guard lock(shardsMutex_);
    for (auto& s : shards_) shards.push_back(s.get());
  }
  std::vector<std::unique_ptr<EventBuffer>> taken;
  std::vector<IntervalSummary> summaries;
  for (Shard* s : shards) {
    taken.clear();
    summaries.clear();
    {
      std::lock_guard lock(s->mutex);
      for (; !s->fullSummaries.empty(); s->fullSummaries.pop_front()) {
        summaries.push_back(std::move(s->fullSummaries.front()));
      }
      if (partial && s->builder && !s->builder->empty()) summaries.push_back(s->builder->take());
      while (!s->full.empty()) {
        taken.push_back(std::move(s->full.front()));
        s->full.pop_front();
      }
      if (partial && !s->current->empty()) {
        taken.push_back(std::move(s->current));
        if (!s->spare.empty()) {
          s->current = std::move(s->spare.back());
          s->spare.pop_back();
        } else {
          s->current = std::make_unique<EventBuffer>();
        }
      }
    }
    s->drained.notify_all();
    for (const IntervalSummary& summary : summaries) {
      if (!send(proto::encodeSummary(transport_->encoder, summary))) ++dropped_;
    }
    for (auto& buffer : taken) {
      if (!send(transport_->encoder.batch(*buffer))) ++dropped_;  // batch() clears it
    }
    std::lock_guard lock(s->mutex);
    for (auto& buffer : taken) s->spare.push_back(std::move(buffer));
  }
}

bool TestResultProxy::send(const std::string& message) {
  return sendResults(transport_->socket, message, options_.endpoint, options_.finishTimeout);
}

ProxyStats TestResultProxy::finish() {
  {
    std::lock_guard lock(finishMutex_);
    if (finished_) return stats_;
    finished_ = true;
  }
  {
    std::lock_guard lock(wakeMutex_);
    finishing_ = true;
  }
  wake_.notify_one();
  if (sender_.joinable()) sender_.join();
  // Ending the context waits (the linger: finishTimeout) until what the socket queued has
  // left, and drops what has not by then: delivered only if it returned before that.
  transport_->socket.close();
  const auto closing = std::chrono::steady_clock::now();
  transport_->context.close();
  const bool left =
      leftBeforeLinger(std::chrono::steady_clock::now() - closing, options_.finishTimeout);
  std::lock_guard lock(finishMutex_);
  stats_.delivered = stats_.delivered && left;
  return stats_;
}

// ---------------------------------------------------------------- TestResult

void TestResultProxy::startTestRun() {
  record([&](auto& b) { b.startTestRun(); });
}
void TestResultProxy::stopTestRun() {
  record([&](auto& b) { b.stopTestRun(); });
}
void TestResultProxy::startTest(std::string_view test, const LoadsStatus& s) {
  record([&](auto& b) { b.startTest(test, s); });
}
void TestResultProxy::stopTest(std::string_view test, std::chrono::microseconds elapsed,
                               const LoadsStatus& s) {
  record([&](auto& b) { b.stopTest(test, elapsed, s); });
}
void TestResultProxy::addSuccess(std::string_view test, const LoadsStatus& s) {
  record([&](auto& b) { b.addSuccess(test, s); });
}
void TestResultProxy::addFailure(std::string_view test, const Failure& f, const LoadsStatus& s) {
  record([&](auto& b) { b.addFailure(test, f, s); });
}
void TestResultProxy::addError(std::string_view test, const Failure& f, const LoadsStatus& s) {
  record([&](auto& b) { b.addError(test, f, s); });
}
void TestResultProxy::addSkip(std::string_view test, std::string_view reason,
                              const LoadsStatus& s) {
  record([&](auto& b) { b.addSkip(test, reason, s); });
}
void TestResultProxy::addCancelled(std::string_view test, const LoadsStatus& s) {
  record([&](auto& b) { b.addCancelled(test, s); });
}
void TestResultProxy::addHit(const Hit& hit, const LoadsStatus& s) {
  record([&](auto& b) { b.addHit(hit, s); });
}
void TestResultProxy::addDropped(std::string_view test, std::int64_t plannedStartUs,
                                 const LoadsStatus& s) {
  record([&](auto& b) { b.addDropped(test, plannedStartUs, s); });
}
void TestResultProxy::incrCounter(std::string_view test, std::string_view name, std::int64_t value,
                                  const LoadsStatus& s) {
  record([&](auto& b) { b.incrCounter(test, name, value, s); });
}
void TestResultProxy::socketOpen(std::string_view url, const LoadsStatus& s) {
  record([&](auto& b) { b.socketOpen(url, s); });
}
void TestResultProxy::socketMessage(std::string_view url, Direction direction, std::uint64_t size,
                                    const LoadsStatus& s) {
  record([&](auto& b) { b.socketMessage(url, direction, size, s); });
}
void TestResultProxy::socketClose(std::string_view url, const SocketClose& close,
                                  const LoadsStatus& s) {
  record([&](auto& b) { b.socketClose(url, close, s); });
}

void TestResultProxy::claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo,
                                bool exact) {
  record([&](auto& b) { b.claimRows(feed, run, upTo, exact); });
}

}  // namespace loads::agent
