// SummaryBuilder: a TestResult that folds every call into an IntervalSummary instead of
// keeping it (--results summary, docs/distributed.md). take() hands over the summary of
// the calls so far and starts the next one; merged into an AggregateResult, the summaries
// give exactly what the calls replayed one by one would have.
//
// Bounded: full() says the summary holds `maxEntries` distinct entries (names, status
// pairs, counters, error samples, seconds); the owner takes it then, so memory grows with
// the calls of one interval at most, never with the run, and no entry is ever dropped
// (dropping one would make the master's caps count differently).
//
// Thread-safety: none; one owner (TestResultProxy keeps one per runner thread). The clock
// dates the calls that carry no time of their own, as AggregateResult's does on the master.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "loads/test_result.hpp"
#include "stats/interval_summary.hpp"

namespace loads {

class SummaryBuilder final : public TestResult {
 public:
  static constexpr std::size_t kDefaultMaxEntries = 4096;

  // `clock`: wall clock in µs since the epoch (default: std::chrono::system_clock).
  explicit SummaryBuilder(std::function<std::int64_t()> clock = nullptr,
                          std::size_t maxEntries = kDefaultMaxEntries);
  ~SummaryBuilder() override;
  SummaryBuilder(const SummaryBuilder&) = delete;
  SummaryBuilder& operator=(const SummaryBuilder&) = delete;

  std::uint64_t events() const;  // calls folded since the last take()
  bool empty() const { return events() == 0; }
  bool full() const;  // maxEntries distinct entries: take() before the next call
  // The summary of the calls since the last take() (seconds ascending); starts afresh.
  IntervalSummary take();
  // Gives back a summary take() returned, once it is sent: its histograms, emptied, serve
  // the next summary's entries of the same names and seconds. A summary holds a thousand
  // hits or so (a forwarder's batch), and a fresh histogram takes sparse inserts and
  // window growth for most of them; one that served the same name already has its window.
  void recycle(IntervalSummary&& used);

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
  void claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo, bool exact) override;
  void incrCounter(std::string_view test, std::string_view name, std::int64_t value,
                   const LoadsStatus& s) override;
  void socketOpen(std::string_view url, const LoadsStatus& s) override;
  void socketMessage(std::string_view url, Direction direction, std::uint64_t size,
                     const LoadsStatus& s) override;
  void socketClose(std::string_view url, const SocketClose& close, const LoadsStatus& s) override;

 private:
  struct Index;  // name → entry lookups of the current summary
  std::int64_t now() const;
  IntervalSummary::Test& test(std::string_view name);
  IntervalSummary::Second& second(std::int64_t s);
  void noteEvent(std::int64_t fromUs, std::int64_t toUs);
  // A test event at now(): counted in its test and in the second of now().
  template <class Update>
  void testEvent(std::string_view name, const LoadsStatus& s, bool testFailure, Update&& update);
  void testError(std::string_view name, const Failure& f, const LoadsStatus& s, bool failure);
  template <class Update>
  void socketEvent(Update&& update);

  struct Spare;  // histograms of recycled summaries, by the entry they served
  std::function<std::int64_t()> clock_;
  const std::size_t maxEntries_;
  IntervalSummary summary_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<Spare> spare_;
};

}  // namespace loads
