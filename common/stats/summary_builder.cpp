#include "stats/summary_builder.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "stats/counting.hpp"

namespace loads {
namespace {

using NameIndex = counting::StringMap<std::uint32_t>;
using counting::secondOf;

// The entry of `name` in `list` (appended at its first call), through `index`.
template <class Entry, class OnNew>
Entry& entryOf(std::vector<Entry>& list, NameIndex& index, std::string_view name, std::uint32_t* at,
               OnNew&& onNew) {
  auto it = index.find(name);
  if (it == index.end()) {
    it = index.emplace(std::string(name), static_cast<std::uint32_t>(list.size())).first;
    list.emplace_back().name = std::string(name);
    onNew(list.back());
  }
  if (at) *at = it->second;
  return list[it->second];
}
template <class Entry>
Entry& entryOf(std::vector<Entry>& list, NameIndex& index, std::string_view name,
               std::uint32_t* at = nullptr) {
  return entryOf(list, index, name, at, [](Entry&) {});
}

}  // namespace

struct SummaryBuilder::Index {
  NameIndex tests, requests, counters, errors;
  std::unordered_map<std::uint64_t, std::uint32_t> statuses;  // request << 32 | status
  std::unordered_map<std::int64_t, std::uint32_t> seconds;
  std::string key;  // reused to build counter and error keys
  // The entries the last calls used: a runner thread's calls repeat the same test, request,
  // status and second hit after hit, and a string compare is cheaper than a hash lookup.
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};
  std::uint32_t lastTest = kNone, lastRequest = kNone, lastStatus = kNone, lastSecond = kNone;
  std::uint64_t lastStatusKey = 0;
  std::size_t entries() const {
    return tests.size() + requests.size() + counters.size() + errors.size() + statuses.size() +
           seconds.size();
  }
};

// Recycled histograms, emptied: a request's and a test's by name, a second's for any
// second (the seconds of a run have alike latencies). Only the last recycled summary's are
// kept, so this holds at most what one summary held.
struct SummaryBuilder::Spare {
  counting::StringMap<RequestSummary> requests;  // only their histograms are reused
  counting::StringMap<Histogram> tests;
  std::vector<Histogram> seconds;

  static void take(Histogram& to, Histogram& from) {
    to = std::move(from);
    to.reset();
  }
  void reuse(IntervalSummary::Request& r) {
    auto it = requests.find(r.name);
    if (it == requests.end()) return;
    take(r.counts.latency, it->second.latency);
    take(r.counts.latencyCorrected, it->second.latencyCorrected);
    for (std::size_t i = 0; i < kPhaseCount; ++i) take(r.counts.phases[i], it->second.phases[i]);
    requests.erase(it);
  }
  void reuse(IntervalSummary::Test& t) {
    auto it = tests.find(t.name);
    if (it == tests.end()) return;
    take(t.counts.hitTime, it->second);
    tests.erase(it);
  }
  void reuse(IntervalSummary::Second& s) {
    if (seconds.empty()) return;
    take(s.latency, seconds.back());
    seconds.pop_back();
  }
};

SummaryBuilder::SummaryBuilder(std::function<std::int64_t()> clock, std::size_t maxEntries)
    : clock_(std::move(clock)),
      maxEntries_(std::max<std::size_t>(1, maxEntries)),
      index_(std::make_unique<Index>()),
      spare_(std::make_unique<Spare>()) {}

SummaryBuilder::~SummaryBuilder() = default;

std::uint64_t SummaryBuilder::events() const { return summary_.events; }
bool SummaryBuilder::full() const { return index_->entries() >= maxEntries_; }

IntervalSummary SummaryBuilder::take() {
  IntervalSummary out = std::move(summary_);
  summary_ = IntervalSummary{};
  index_ = std::make_unique<Index>();
  std::sort(out.seconds.begin(), out.seconds.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  return out;
}

void SummaryBuilder::recycle(IntervalSummary&& used) {
  Spare& spare = *spare_;
  spare.requests.clear();
  spare.tests.clear();
  spare.seconds.clear();
  for (IntervalSummary::Request& r : used.requests) {
    spare.requests[std::move(r.name)] = std::move(r.counts);
  }
  for (IntervalSummary::Test& t : used.tests)
    spare.tests[std::move(t.name)] = std::move(t.counts.hitTime);
  for (IntervalSummary::Second& s : used.seconds) spare.seconds.push_back(std::move(s.latency));
}

std::int64_t SummaryBuilder::now() const {
  if (clock_) return clock_();
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

IntervalSummary::Test& SummaryBuilder::test(std::string_view name) {
  Index& x = *index_;
  if (x.lastTest != Index::kNone && summary_.tests[x.lastTest].name == name) {
    return summary_.tests[x.lastTest];
  }
  return entryOf(summary_.tests, x.tests, name, &x.lastTest,
                 [&](IntervalSummary::Test& t) { spare_->reuse(t); });
}

IntervalSummary::Second& SummaryBuilder::second(std::int64_t s) {
  Index& x = *index_;
  if (x.lastSecond != Index::kNone && summary_.seconds[x.lastSecond].second == s) {
    return summary_.seconds[x.lastSecond];
  }
  auto [it, added] = x.seconds.try_emplace(s, static_cast<std::uint32_t>(summary_.seconds.size()));
  if (added) {
    summary_.seconds.emplace_back().second = s;
    spare_->reuse(summary_.seconds.back());
  }
  x.lastSecond = it->second;
  return summary_.seconds[it->second];
}

void SummaryBuilder::noteEvent(std::int64_t fromUs, std::int64_t toUs) {
  if (!summary_.firstEventUs || fromUs < summary_.firstEventUs) summary_.firstEventUs = fromUs;
  summary_.lastEventUs = std::max(summary_.lastEventUs, toUs);
}

template <class Update>
void SummaryBuilder::testEvent(std::string_view name, const LoadsStatus& s, bool testFailure,
                               Update&& update) {
  const std::int64_t at = now();
  ++summary_.events;
  update(test(name));
  noteEvent(at, at);
  IntervalSummary::Second& sec = second(secondOf(at));
  sec.users = std::max(sec.users, s.users);
  sec.testFailures += testFailure;
}

void SummaryBuilder::startTestRun() {
  const std::int64_t at = now();
  ++summary_.events;
  if (!summary_.runStartedUs || at < summary_.runStartedUs) summary_.runStartedUs = at;
}

void SummaryBuilder::stopTestRun() {
  ++summary_.events;
  summary_.runStoppedUs = std::max(summary_.runStoppedUs, now());
}

void SummaryBuilder::startTest(std::string_view name, const LoadsStatus& s) {
  testEvent(name, s, false, [](auto& t) { ++t.counts.started; });
}

void SummaryBuilder::stopTest(std::string_view name, std::chrono::microseconds elapsed,
                              const LoadsStatus& s) {
  testEvent(name, s, false, [&](auto& t) {
    ++t.counts.stopped;
    t.counts.hitTime.record(elapsed.count());
  });
}

void SummaryBuilder::addSuccess(std::string_view name, const LoadsStatus& s) {
  testEvent(name, s, false, [](auto& t) { ++t.counts.successes; });
}

void SummaryBuilder::addFailure(std::string_view name, const Failure& f, const LoadsStatus& s) {
  testError(name, f, s, true);
}

void SummaryBuilder::addError(std::string_view name, const Failure& f, const LoadsStatus& s) {
  testError(name, f, s, false);
}

void SummaryBuilder::testError(std::string_view name, const Failure& f, const LoadsStatus& s,
                               bool failure) {
  testEvent(name, s, true, [&](auto& t) { ++(failure ? t.counts.failures : t.counts.errors); });
  std::string& key = index_->key;
  counting::errorSampleKey(key, failure, name, f);
  auto [it, added] =
      index_->errors.try_emplace(key, static_cast<std::uint32_t>(summary_.errors.size()));
  if (added) {
    summary_.errors.push_back({failure, std::string(name), std::string(f.type),
                               std::string(f.message), std::string(f.file), f.line, 0});
  }
  ++summary_.errors[it->second].count;
}

void SummaryBuilder::addSkip(std::string_view name, std::string_view, const LoadsStatus& s) {
  testEvent(name, s, false, [](auto& t) { ++t.counts.skips; });
}

void SummaryBuilder::addCancelled(std::string_view name, const LoadsStatus& s) {
  testEvent(name, s, false, [](auto& t) { ++t.counts.cancelled; });
}

// The hot path of a slave with --results summary: a few lookups and three histograms.
void SummaryBuilder::addHit(const Hit& hit, const LoadsStatus& s) {
  ++summary_.events;
  const bool failed = isFailedHit(hit);
  const std::int64_t endedUs = hit.startedUs + hit.elapsedUs;
  Index& x = *index_;
  if (x.lastRequest == Index::kNone || summary_.requests[x.lastRequest].name != hit.name) {
    entryOf(summary_.requests, x.requests, hit.name, &x.lastRequest,
            [&](IntervalSummary::Request& r) { spare_->reuse(r); });
  }
  const std::uint32_t at = x.lastRequest;
  counting::countHit(summary_.requests[at].counts, hit);
  if (hit.status != 0 || hit.error != ErrorKind::kNone) {  // not a measure() that succeeded
    const std::uint64_t statusKey =
        (std::uint64_t{at} << 32) | static_cast<std::uint32_t>(hit.status);
    if (x.lastStatus == Index::kNone || x.lastStatusKey != statusKey) {
      auto [status, added] =
          x.statuses.try_emplace(statusKey, static_cast<std::uint32_t>(summary_.statuses.size()));
      if (added) summary_.statuses.push_back({at, hit.status, 0});
      x.lastStatus = status->second;
      x.lastStatusKey = statusKey;
    }
    ++summary_.statuses[x.lastStatus].count;
  }
  noteEvent(hit.startedUs, endedUs);
  IntervalSummary::Second& sec = second(secondOf(hit.startedUs));
  ++sec.requests;
  sec.errors += failed;
  sec.latency.record(hit.elapsedUs);
  sec.users = std::max(sec.users, s.users);
}

void SummaryBuilder::addDropped(std::string_view name, std::int64_t plannedStartUs,
                                const LoadsStatus& s) {
  ++summary_.events;
  ++test(name).counts.dropped;
  noteEvent(plannedStartUs, plannedStartUs);
  IntervalSummary::Second& sec = second(secondOf(plannedStartUs));
  ++sec.dropped;
  sec.users = std::max(sec.users, s.users);
}

void SummaryBuilder::incrCounter(std::string_view testName, std::string_view name,
                                 std::int64_t value, const LoadsStatus&) {
  const std::int64_t at = now();
  ++summary_.events;
  std::int64_t testIndex = -1;
  if (!testName.empty()) {
    test(testName);
    testIndex = index_->tests.find(testName)->second;
  }
  std::string& key = index_->key;
  key = std::to_string(testIndex);
  key.push_back('\x1f');
  key.append(name);
  auto [it, added] =
      index_->counters.try_emplace(key, static_cast<std::uint32_t>(summary_.counters.size()));
  if (added) summary_.counters.push_back({testIndex, std::string(name), 0, 0});
  IntervalSummary::Counter& c = summary_.counters[it->second];
  counting::addToCounter(c.value, value);
  ++c.events;
  noteEvent(at, at);
}

void SummaryBuilder::claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo,
                               bool exact) {
  ++summary_.events;
  summary_.rows[{std::string(feed), run}].note(upTo, exact);
}

template <class Update>
void SummaryBuilder::socketEvent(Update&& update) {
  const std::int64_t at = now();
  ++summary_.events;
  update(summary_.sockets);
  noteEvent(at, at);
}

void SummaryBuilder::socketOpen(std::string_view, const LoadsStatus&) {
  socketEvent([](SocketSummary& k) { ++k.opened; });
}

void SummaryBuilder::socketMessage(std::string_view, Direction direction, std::uint64_t size,
                                   const LoadsStatus&) {
  socketEvent([&](SocketSummary& k) { counting::countSocketMessage(k, direction, size); });
}

void SummaryBuilder::socketClose(std::string_view, const SocketClose& close, const LoadsStatus&) {
  socketEvent([&](SocketSummary& k) { counting::countSocketClose(k, close); });
}

}  // namespace loads
