// RingRecorder: the slave runner's TestResult. Every call is packed as one event
// (proto::EventBuffer's encoding) and appended at once to the calling thread's slot of
// the EventRing, so an event recorded is an event the parent can forward, even when the
// slave dies the next instant (PROTOCOL.md §10). It also keeps, per thread, the test and
// the LoadsStatus of the thread's last event for the crash handler (crash_handler.hpp).
//
// Thread-safety: every TestResult method may be called concurrently from any thread; the
// hot path takes only the thread's slot lock (uncontended). `ring` must outlive it.
#pragma once

#include <cstdint>

#include "loads/test_result.hpp"

namespace loads::agent {

class EventRing;

class RingRecorder final : public TestResult {
 public:
  explicit RingRecorder(EventRing& ring);
  ~RingRecorder() override;
  RingRecorder(const RingRecorder&) = delete;
  RingRecorder& operator=(const RingRecorder&) = delete;

  void startTestRun() override;
  void stopTestRun() override;
  void startTest(std::string_view test, const LoadsStatus& s) override;
  void stopTest(std::string_view test, std::chrono::microseconds elapsed,
                const LoadsStatus& s) override;
  void addSuccess(std::string_view test, const LoadsStatus& s) override;
  void addFailure(std::string_view test, const Failure& f, const LoadsStatus& s) override;
  void addError(std::string_view test, const Failure& f, const LoadsStatus& s) override;
  void addSkip(std::string_view test, std::string_view reason, const LoadsStatus& s) override;
  void addCancelled(std::string_view test, const LoadsStatus& s) override;
  void addHit(const Hit& hit, const LoadsStatus& s) override;
  void addDropped(std::string_view test, std::int64_t plannedStartUs,
                  const LoadsStatus& s) override;
  void incrCounter(std::string_view test, std::string_view name, std::int64_t value,
                   const LoadsStatus& s) override;
  void socketOpen(std::string_view url, const LoadsStatus& s) override;
  void socketMessage(std::string_view url, Direction direction, std::uint64_t size,
                     const LoadsStatus& s) override;
  void socketClose(std::string_view url, const SocketClose& close, const LoadsStatus& s) override;
  void claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo, bool exact) override;

 private:
  struct Local;
  Local& local();
  template <class Pack>
  void record(const LoadsStatus* status, Pack&& pack);

  EventRing& ring_;
  const std::uint64_t instanceId_;
};

}  // namespace loads::agent
