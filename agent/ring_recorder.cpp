#include "agent/ring_recorder.hpp"

#include <atomic>
#include <cstring>

#include "agent/crash_handler.hpp"
#include "agent/event_ring.hpp"
#include "proto/results.hpp"

namespace loads::agent {

using proto::EventBuffer;

// A thread's slot and its packing buffer (reused: it holds one event at a time).
struct RingRecorder::Local {
  std::uint64_t instanceId = 0;
  std::uint32_t slot = 0;
  EventBuffer buffer;
};

namespace {
std::atomic<std::uint64_t> nextInstanceId{1};
}

RingRecorder::RingRecorder(EventRing& ring) : ring_(ring), instanceId_(nextInstanceId++) {}
RingRecorder::~RingRecorder() = default;

RingRecorder::Local& RingRecorder::local() {
  thread_local Local local;
  if (local.instanceId != instanceId_) {
    local.instanceId = instanceId_;
    local.slot = ring_.claimSlot();
    prepareThreadForCrash();  // this thread runs test code: it gets an alternate signal stack
  }
  return local;
}

template <class Pack>
void RingRecorder::record(const LoadsStatus* status, Pack&& pack) {
  Local& l = local();
  if (status) {
    ThreadActivity& a = threadActivity();
    a.user = status->currentUser;
    a.hit = status->currentHit;
  }
  pack(l.buffer);
  ring_.append(l.slot, l.buffer.data(), static_cast<std::uint32_t>(l.buffer.events()));
  l.buffer.clear();
}

void RingRecorder::startTestRun() {
  record(nullptr, [&](EventBuffer& b) { b.startTestRun(); });
}
void RingRecorder::stopTestRun() {
  record(nullptr, [&](EventBuffer& b) { b.stopTestRun(); });
}
void RingRecorder::startTest(std::string_view test, const LoadsStatus& s) {
  ThreadActivity& a = threadActivity();
  const std::size_t n = std::min(test.size(), sizeof a.test - 1);
  std::memcpy(a.test, test.data(), n);
  a.test[n] = '\0';
  record(&s, [&](EventBuffer& b) { b.startTest(test, s); });
}
void RingRecorder::stopTest(std::string_view test, std::chrono::microseconds elapsed,
                            const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.stopTest(test, elapsed, s); });
}
void RingRecorder::addSuccess(std::string_view test, const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.addSuccess(test, s); });
}
void RingRecorder::addFailure(std::string_view test, const Failure& f, const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.addFailure(test, f, s); });
}
void RingRecorder::addError(std::string_view test, const Failure& f, const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.addError(test, f, s); });
}
void RingRecorder::addSkip(std::string_view test, std::string_view reason, const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.addSkip(test, reason, s); });
}
void RingRecorder::addCancelled(std::string_view test, const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.addCancelled(test, s); });
}
void RingRecorder::addHit(const Hit& hit, const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.addHit(hit, s); });
}
void RingRecorder::addDropped(std::string_view test, std::int64_t plannedStartUs,
                              const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.addDropped(test, plannedStartUs, s); });
}
void RingRecorder::incrCounter(std::string_view test, std::string_view name, std::int64_t value,
                               const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.incrCounter(test, name, value, s); });
}
void RingRecorder::socketOpen(std::string_view url, const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.socketOpen(url, s); });
}
void RingRecorder::socketMessage(std::string_view url, Direction direction, std::uint64_t size,
                                 const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.socketMessage(url, direction, size, s); });
}
void RingRecorder::socketClose(std::string_view url, const SocketClose& close,
                               const LoadsStatus& s) {
  record(&s, [&](EventBuffer& b) { b.socketClose(url, close, s); });
}

void RingRecorder::claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo,
                             bool exact) {
  record(nullptr, [&](EventBuffer& b) { b.claimRows(feed, run, upTo, exact); });
}

}  // namespace loads::agent
