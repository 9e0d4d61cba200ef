#include "stats/aggregate_result.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <ctime>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "stats/counting.hpp"
#include "stats/interval_summary.hpp"

namespace loads {
namespace {

using counting::addToCounter;
using counting::errorSampleKey;
using counting::secondOf;
using counting::StringHash;
using counting::StringMap;

template <class V>
V& findOrAdd(StringMap<V>& map, std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) it = map.emplace(std::string(key), V{}).first;
  return it->second;
}

constexpr std::int64_t kNoSecond = INT64_MIN;
constexpr std::size_t kRingSize = 4;  // seconds a shard keeps before handing them over

void mergeInto(TestSummary& dst, const TestSummary& src) {
  dst.started += src.started;
  dst.stopped += src.stopped;
  dst.successes += src.successes;
  dst.failures += src.failures;
  dst.errors += src.errors;
  dst.skips += src.skips;
  dst.cancelled += src.cancelled;
  dst.hitTime.merge(src.hitTime);
  for (const auto& [name, value] : src.counters) addToCounter(dst.counters[name], value);
  dst.dropped += src.dropped;
}

void mergeInto(RequestSummary& dst, const RequestSummary& src) {
  dst.count += src.count;
  dst.failures += src.failures;
  dst.bytes += src.bytes;
  for (const auto& [code, n] : src.statusCodes) dst.statusCodes[code] += n;
  for (std::size_t i = 0; i < kErrorKindCount; ++i) dst.errorKinds[i] += src.errorKinds[i];
  dst.latency.merge(src.latency);
  dst.latencyCorrected.merge(src.latencyCorrected);
  dst.planned += src.planned;
  dst.phased += src.phased;
  for (std::size_t i = 0; i < kPhaseCount; ++i) dst.phases[i].merge(src.phases[i]);
  if (src.firstStartedUs && (!dst.firstStartedUs || src.firstStartedUs < dst.firstStartedUs)) {
    dst.firstStartedUs = src.firstStartedUs;
  }
  dst.lastEndedUs = std::max(dst.lastEndedUs, src.lastEndedUs);
}

void mergeInto(SocketSummary& dst, const SocketSummary& src) {
  dst.opened += src.opened;
  dst.closed += src.closed;
  dst.failed += src.failed;
  dst.messagesSent += src.messagesSent;
  dst.messagesReceived += src.messagesReceived;
  dst.bytesSent += src.bytesSent;
  dst.bytesReceived += src.bytesReceived;
}

struct ShardCache {
  std::uint64_t owner = 0;
  void* shard = nullptr;
};
thread_local ShardCache tlsShard;
std::atomic<std::uint64_t> nextInstanceId{1};

// Adds `n` requests of `source` to a second's bySource, keeping it sorted; sources at or
// above `cap` share the kOtherSources entry.
void addSourceRequests(std::vector<SourceRequests>& bySource, std::uint32_t source, std::uint64_t n,
                       std::uint32_t cap) {
  if (n == 0) return;
  const std::uint32_t key = source < cap ? source : kOtherSources;
  auto it = std::lower_bound(bySource.begin(), bySource.end(), key,
                             [](const SourceRequests& e, std::uint32_t k) { return e.source < k; });
  if (it != bySource.end() && it->source == key) {
    it->requests += n;
  } else {
    bySource.insert(it, SourceRequests{key, n});
  }
}

}  // namespace

// Everything one wall-clock second collected (in a shard's ring or in the live window).
struct AggregateResult::SecondData {
  // One source's share of the second: its most active users and its requests.
  struct PerSource {
    std::uint32_t source = 0;
    std::uint32_t users = 0;
    std::uint64_t requests = 0;
    void noteUsers(std::uint32_t n) { users = std::max(users, n); }
  };

  std::int64_t second = kNoSecond;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t testFailures = 0;
  std::uint64_t dropped = 0;
  Histogram latency;
  std::vector<PerSource> sources;  // one per source seen in this second, unsorted

  SecondData() { sources.reserve(4); }

  void clear(std::int64_t s) {
    second = s;
    requests = errors = testFailures = dropped = 0;
    latency.reset();
    sources.clear();  // keeps its capacity: no allocation on the hot path
  }
  PerSource& of(std::uint32_t source) {
    for (auto& p : sources) {
      if (p.source == source) return p;
    }
    return sources.emplace_back(PerSource{source});
  }
  void merge(const SecondData& o) {
    requests += o.requests;
    errors += o.errors;
    testFailures += o.testFailures;
    dropped += o.dropped;
    latency.merge(o.latency);
    for (const auto& p : o.sources) {
      PerSource& mine = of(p.source);
      mine.noteUsers(p.users);
      mine.requests += p.requests;
    }
  }
  std::uint32_t totalUsers() const {
    std::uint32_t total = 0;
    for (const auto& p : sources) total += p.users;
    return total;
  }
  void addSourcesTo(SecondSample& sample, std::uint32_t cap) const {
    for (const auto& p : sources) addSourceRequests(sample.bySource, p.source, p.requests, cap);
  }
  // Adds data that arrived after its second was summarised (percentiles cannot follow).
  void addLateTo(SecondSample& sample, std::uint32_t cap) const {
    sample.requests += requests;
    sample.errors += errors;
    sample.testFailures += testFailures;
    sample.dropped += dropped;
    sample.users = std::max(sample.users, totalUsers());
    addSourcesTo(sample, cap);
    if (requests) sample.complete = false;
  }
  SecondSample summary(std::uint32_t cap) const {
    SecondSample sample{second,
                        requests,
                        errors,
                        testFailures,
                        latency.percentile(50),
                        latency.percentile(95),
                        latency.percentile(99),
                        totalUsers(),
                        true,
                        dropped};
    addSourcesTo(sample, cap);
    return sample;
  }
};

// The per-second series: a live window of full seconds, then summaries.
struct AggregateResult::Series {
  Series(int window, std::uint32_t sources, std::size_t maxSeconds)
      : window(window), sources(sources), maxSeconds(std::max<std::size_t>(1, maxSeconds)) {}

  void noteSecond(std::int64_t s) {
    std::int64_t seen = newest.load(std::memory_order_relaxed);
    while (s > seen && !newest.compare_exchange_weak(seen, s, std::memory_order_relaxed)) {
    }
  }
  // Takes a second's data from a shard (or a late event); caller holds no series lock.
  void absorb(const SecondData& d) {
    noteSecond(d.second);
    std::lock_guard lock(mu);
    if (auto it = summarized.find(d.second); it != summarized.end()) {
      d.addLateTo(it->second, sources);
      return;
    }
    auto& slot = live[d.second];
    if (!slot) {
      slot = std::make_unique<SecondData>();
      slot->clear(d.second);
    }
    slot->merge(d);
    compactLocked();
  }
  void compactLocked() {
    const std::int64_t cutoff = newest.load(std::memory_order_relaxed) - window;
    while (!live.empty() && live.begin()->first <= cutoff) {
      const SecondData& data = *live.begin()->second;
      if (summarized.size() < maxSeconds) {
        summarized[data.second] = data.summary(sources);
      } else {
        data.addLateTo(nearestSummarized(data.second), sources);
      }
      live.erase(live.begin());
    }
  }
  // Past maxSeconds distinct seconds (a run of days, or a sender making up times), a new
  // second's totals join the nearest summarised one instead of growing the series.
  SecondSample& nearestSummarized(std::int64_t s) {
    auto it = summarized.lower_bound(s);
    if (it == summarized.end() ||
        (it != summarized.begin() && it->first - s > s - std::prev(it)->first)) {
      --it;
    }
    return it->second;
  }

  const int window;
  const std::uint32_t sources;   // AggregateOptions::seriesSources
  const std::size_t maxSeconds;  // AggregateOptions::maxSeriesSeconds
  std::atomic<std::int64_t> newest{kNoSecond};
  std::mutex mu;
  std::map<std::int64_t, std::unique_ptr<SecondData>> live;
  std::map<std::int64_t, SecondSample> summarized;
};

// The names admitted under each cap, shared by every shard. A shard asks only for a name
// its own map lacks: once per admitted name, and for every event of a name past the cap
// (those are never stored, so they cannot grow a shard), which keeps the lock off the hot
// path of admitted names.
struct AggregateResult::NameCaps {
  enum Kind { kRequests, kTests, kCounters, kStatusCodes, kKinds };
  struct Cap {
    std::unordered_set<std::string, StringHash, std::equal_to<>> admitted;
    NameOverflow overflow;
  };

  explicit NameCaps(const AggregateOptions& o) {
    caps[kRequests].overflow = {"request names", o.maxNames};
    caps[kTests].overflow = {"test names", o.maxTests};
    caps[kCounters].overflow = {"counter names", o.maxCounters};
    caps[kStatusCodes].overflow = {"status codes", o.maxStatusCodes};
  }
  // true: `name` has its own entry; false: its `events` count under the (other) entry.
  bool admit(Kind kind, std::string_view name, std::uint64_t events = 1) {
    std::lock_guard lock(mu);
    Cap& cap = caps[kind];
    if (cap.admitted.find(name) != cap.admitted.end()) return true;
    if (cap.admitted.size() < cap.overflow.cap) {
      cap.admitted.emplace(name);
      return true;
    }
    cap.overflow.events += events;
    auto& first = cap.overflow.firstNames;
    if (first.size() < kFirstNames) {
      std::string shown(name.substr(0, kShownLength));
      if (std::find(first.begin(), first.end(), shown) == first.end())
        first.push_back(std::move(shown));
    }
    return false;
  }
  std::vector<NameOverflow> overflows() {
    std::lock_guard lock(mu);
    std::vector<NameOverflow> out;
    for (const Cap& cap : caps) {
      if (cap.overflow.events) out.push_back(cap.overflow);
    }
    return out;
  }

  static constexpr std::size_t kFirstNames = 3;     // names quoted in the sentence
  static constexpr std::size_t kShownLength = 120;  // bytes of each quoted name
  std::mutex mu;
  std::array<Cap, kKinds> caps;
};

struct AggregateResult::Shard {
  std::thread::id thread;
  std::mutex mu;
  std::uint32_t source = 0;
  std::uint64_t* sourceRequests = nullptr;  // requestsBySource[source]
  StringMap<TestSummary> tests;
  StringMap<RequestSummary> requests;
  std::map<std::string, std::int64_t, std::less<>> looseCounters;  // incrCounter without test
  SocketSummary sockets;
  StringMap<ErrorSample> errors;
  std::uint64_t errorsDropped = 0;
  std::string errorKey;  // reused to build error keys without allocating
  std::map<std::uint32_t, std::uint64_t> requestsBySource;
  std::int64_t firstEventUs = 0;
  std::int64_t lastEventUs = 0;
  std::array<SecondData, kRingSize> ring;
  SecondData late;  // a late event's second on its way to the series; reused, not rebuilt
  // The test name of the last test event and its entry: a shard's test events are mostly
  // of one test, and this spares hashing the name for each (entries never move).
  std::string lastTest;
  TestSummary* lastTestSummary = nullptr;

  Shard() { sourceRequests = &requestsBySource[0]; }

  void noteEvent(std::int64_t fromUs, std::int64_t toUs) {
    if (!firstEventUs || fromUs < firstEventUs) firstEventUs = fromUs;
    lastEventUs = std::max(lastEventUs, toUs);
  }
  // This shard's data for second `s`, handing an older second in the same ring slot over
  // to the series; nullptr when `s` is older than the slot's (a late event).
  SecondData* second(std::int64_t s, Series& series) {
    SecondData& slot = ring[static_cast<std::uint64_t>(s) % kRingSize];
    if (slot.second == s) return &slot;
    if (slot.second > s) return nullptr;
    if (slot.second != kNoSecond) series.absorb(slot);
    slot.clear(s);
    series.noteSecond(s);
    return &slot;
  }
  // The entry of `key` in `map`, or of kOtherName when `key` is new and past its cap.
  // `events`: the calls this stands for (a summary's entry folds many).
  template <class V>
  V& capped(StringMap<V>& map, std::string_view key, NameCaps& caps, NameCaps::Kind kind,
            std::uint64_t events = 1) {
    if (auto it = map.find(key); it != map.end()) return it->second;
    return findOrAdd(map, caps.admit(kind, key, events) ? key : kOtherName);
  }
  // Runs `update` on this shard's data for second `s`, or, for a late event, on a
  // second of its own that goes straight to the series.
  template <class Update>
  void inSecond(std::int64_t s, Series& series, Update&& update) {
    if (SecondData* sec = second(s, series)) {
      update(*sec);
      return;
    }
    late.clear(s);
    update(late);
    series.absorb(late);
  }
};

AggregateResult::AggregateResult(AggregateOptions options)
    : options_(std::move(options)),
      instanceId_(nextInstanceId.fetch_add(1)),
      series_(std::make_unique<Series>(std::max(1, options_.liveWindowSeconds),
                                       options_.seriesSources, options_.maxSeriesSeconds)),
      caps_(std::make_unique<NameCaps>(options_)) {}

AggregateResult::~AggregateResult() = default;

void AggregateResult::addObserver(TestResult& observer) { observers_.push_back(&observer); }

std::int64_t AggregateResult::now() const {
  if (options_.clock) return options_.clock();
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// Test, counter and socket events carry no time of their own: they only pick a second
// and widen the event span. The kernel's coarse clock (a few ms behind, at a fraction of
// the cost) does; three such events per hit made clock reads a visible share of a hit.
std::int64_t AggregateResult::eventNow() const {
  if (options_.clock) return options_.clock();
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

AggregateResult::Shard& AggregateResult::shard() {
  if (tlsShard.owner == instanceId_) return *static_cast<Shard*>(tlsShard.shard);
  std::lock_guard lock(shardsMutex_);
  const auto self = std::this_thread::get_id();
  Shard* found = nullptr;
  for (auto& s : shards_) {
    if (s->thread == self) found = s.get();
  }
  if (!found) {
    shards_.push_back(std::make_unique<Shard>());
    found = shards_.back().get();
    found->thread = self;
  }
  tlsShard = {instanceId_, found};
  return *found;
}

void AggregateResult::setSource(std::uint32_t source) {
  Shard& s = shard();
  std::lock_guard lock(s.mu);
  s.source = source;
  s.sourceRequests = &s.requestsBySource[source];
}

void AggregateResult::startTestRun() { startTestRunAt(now()); }
void AggregateResult::stopTestRun() { stopTestRunAt(now()); }

void AggregateResult::startTestRunAt(std::int64_t epochUs) {
  {
    std::lock_guard lock(shardsMutex_);
    if (runStartedUs_ == 0 || epochUs < runStartedUs_) runStartedUs_ = epochUs;
  }
  for (TestResult* o : observers_) o->startTestRun();
}

void AggregateResult::stopTestRunAt(std::int64_t epochUs) {
  {
    std::lock_guard lock(shardsMutex_);
    runStoppedUs_ = std::max(runStoppedUs_, epochUs);
  }
  for (TestResult* o : observers_) o->stopTestRun();
}

// A test event carries no time of its own: it is counted in the second of now().
template <class Update>
void AggregateResult::countTestEvent(std::string_view test, const LoadsStatus& status,
                                     bool testFailure, Update&& update) {
  const std::int64_t at = eventNow();
  Shard& s = shard();
  std::lock_guard lock(s.mu);
  if (s.lastTestSummary && test == s.lastTest) {
    update(*s.lastTestSummary);
  } else {
    TestSummary& entry = s.capped(s.tests, test, *caps_, NameCaps::kTests);
    update(entry);
    // Only a name with its own entry: each event of a name past the cap must reach admit().
    if (auto it = s.tests.find(test); it != s.tests.end() && &it->second == &entry) {
      s.lastTestSummary = &entry;
      s.lastTest.assign(test);
    }
  }
  s.noteEvent(at, at);
  s.inSecond(secondOf(at), *series_, [&](SecondData& sec) {
    sec.of(s.source).noteUsers(status.users);
    sec.testFailures += testFailure;
  });
}

void AggregateResult::startTest(std::string_view test, const LoadsStatus& status) {
  countTestEvent(test, status, false, [](TestSummary& t) { ++t.started; });
  for (TestResult* o : observers_) o->startTest(test, status);
}

void AggregateResult::stopTest(std::string_view test, std::chrono::microseconds elapsed,
                               const LoadsStatus& status) {
  countTestEvent(test, status, false, [&](TestSummary& t) {
    ++t.stopped;
    t.hitTime.record(elapsed.count());
  });
  for (TestResult* o : observers_) o->stopTest(test, elapsed, status);
}

void AggregateResult::addSuccess(std::string_view test, const LoadsStatus& status) {
  countTestEvent(test, status, false, [](TestSummary& t) { ++t.successes; });
  for (TestResult* o : observers_) o->addSuccess(test, status);
}

void AggregateResult::addFailure(std::string_view test, const Failure& failure,
                                 const LoadsStatus& status) {
  addTestError(test, failure, status, true);
  for (TestResult* o : observers_) o->addFailure(test, failure, status);
}

void AggregateResult::addError(std::string_view test, const Failure& failure,
                               const LoadsStatus& status) {
  addTestError(test, failure, status, false);
  for (TestResult* o : observers_) o->addError(test, failure, status);
}

void AggregateResult::addTestError(std::string_view test, const Failure& f,
                                   const LoadsStatus& status, bool failure) {
  countTestEvent(test, status, true, [&](TestSummary& t) { ++(failure ? t.failures : t.errors); });
  Shard& s = shard();
  std::lock_guard lock(s.mu);
  std::string& key = s.errorKey;
  errorSampleKey(key, failure, test, f);
  if (auto it = s.errors.find(std::string_view(key)); it != s.errors.end()) {
    ++it->second.count;
  } else if (s.errors.size() < options_.maxErrorSamples) {
    s.errors.emplace(key, ErrorSample{failure, std::string(test), std::string(f.type),
                                      std::string(f.message), std::string(f.file), f.line, 1});
  } else {
    ++s.errorsDropped;
  }
}

void AggregateResult::addSkip(std::string_view test, std::string_view reason,
                              const LoadsStatus& status) {
  countTestEvent(test, status, false, [](TestSummary& t) { ++t.skips; });
  for (TestResult* o : observers_) o->addSkip(test, reason, status);
}

void AggregateResult::addCancelled(std::string_view test, const LoadsStatus& status) {
  countTestEvent(test, status, false, [](TestSummary& t) { ++t.cancelled; });
  for (TestResult* o : observers_) o->addCancelled(test, status);
}

// The hot path: 100,000+ calls a second per thread. No allocation once a request name
// and status code have been seen.
void AggregateResult::addHit(const Hit& hit, const LoadsStatus& status) {
  const std::int64_t endedUs = hit.startedUs + hit.elapsedUs;
  {
    Shard& s = shard();
    std::lock_guard lock(s.mu);
    RequestSummary& r = s.capped(s.requests, hit.name, *caps_, NameCaps::kRequests);
    counting::countHit(r, hit);
    if (hit.status == 0 && hit.error == ErrorKind::kNone) {
      // a measure() call that succeeded: no status code
    } else if (auto code = r.statusCodes.find(hit.status); code != r.statusCodes.end()) {
      ++code->second;
    } else {
      const bool own = caps_->admit(NameCaps::kStatusCodes, std::to_string(hit.status));
      ++r.statusCodes[own ? hit.status : kOtherStatus];
    }
    s.noteEvent(hit.startedUs, endedUs);
    ++*s.sourceRequests;

    s.inSecond(secondOf(hit.startedUs), *series_, [&](SecondData& sec) {
      ++sec.requests;
      sec.errors += isFailedHit(hit);
      sec.latency.record(hit.elapsedUs);
      SecondData::PerSource& source = sec.of(s.source);
      source.noteUsers(status.users);
      ++source.requests;
    });
  }
  for (TestResult* o : observers_) o->addHit(hit, status);
}

void AggregateResult::incrCounter(std::string_view test, std::string_view name, std::int64_t value,
                                  const LoadsStatus& status) {
  const std::int64_t at = eventNow();
  {
    Shard& s = shard();
    std::lock_guard lock(s.mu);
    auto& counters =
        test.empty() ? s.looseCounters : s.capped(s.tests, test, *caps_, NameCaps::kTests).counters;
    auto it = counters.find(name);
    if (it == counters.end()) {
      const std::string_view key = caps_->admit(NameCaps::kCounters, name) ? name : kOtherName;
      it = counters.find(key);
      if (it == counters.end()) it = counters.emplace(std::string(key), 0).first;
    }
    addToCounter(it->second, value);
    s.noteEvent(at, at);
  }
  for (TestResult* o : observers_) o->incrCounter(test, name, value, status);
}

template <class Update>
void AggregateResult::countSocketEvent(Update&& update) {
  const std::int64_t at = eventNow();
  Shard& s = shard();
  std::lock_guard lock(s.mu);
  update(s.sockets);
  s.noteEvent(at, at);
}

void AggregateResult::socketOpen(std::string_view url, const LoadsStatus& status) {
  countSocketEvent([](SocketSummary& k) { ++k.opened; });
  for (TestResult* o : observers_) o->socketOpen(url, status);
}

void AggregateResult::socketMessage(std::string_view url, Direction direction, std::uint64_t size,
                                    const LoadsStatus& status) {
  countSocketEvent([&](SocketSummary& k) { counting::countSocketMessage(k, direction, size); });
  for (TestResult* o : observers_) o->socketMessage(url, direction, size, status);
}

void AggregateResult::socketClose(std::string_view url, const SocketClose& close,
                                  const LoadsStatus& status) {
  countSocketEvent([&](SocketSummary& k) { counting::countSocketClose(k, close); });
  for (TestResult* o : observers_) o->socketClose(url, close, status);
}

// Counted in the second it was planned in, like a hit in the second it started in.
void AggregateResult::addDropped(std::string_view test, std::int64_t plannedStartUs,
                                 const LoadsStatus& status) {
  {
    Shard& s = shard();
    std::lock_guard lock(s.mu);
    ++s.capped(s.tests, test, *caps_, NameCaps::kTests).dropped;
    s.noteEvent(plannedStartUs, plannedStartUs);
    s.inSecond(secondOf(plannedStartUs), *series_, [&](SecondData& sec) {
      ++sec.dropped;
      sec.of(s.source).noteUsers(status.users);
    });
  }
  for (TestResult* o : observers_) o->addDropped(test, plannedStartUs, status);
}

// Each list of the summary is in the order its calls first named the entries, and each
// entry says how many calls it folds: the caps admit and count exactly as for the calls.
void AggregateResult::claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo,
                                bool exact) {
  const std::uint32_t source = shard().source;
  std::lock_guard lock(claimsMutex_);
  claims_[source][{std::string(feed), run}].note(upTo, exact);
}

RowClaims AggregateResult::rowClaims(std::uint32_t source) const {
  std::lock_guard lock(claimsMutex_);
  auto it = claims_.find(source);
  return it == claims_.end() ? RowClaims{} : it->second;
}

void AggregateResult::forgetRowClaims() {
  std::lock_guard lock(claimsMutex_);
  claims_.clear();
}

void AggregateResult::mergeSummary(const IntervalSummary& m) {
  if (!m.rows.empty()) {
    const std::uint32_t source = shard().source;
    std::lock_guard lock(claimsMutex_);
    for (const auto& [key, claim] : m.rows) claims_[source][key].note(claim.upTo, claim.exact);
  }
  {
    Shard& s = shard();
    std::lock_guard lock(s.mu);
    mergeSummaryCounts(s, m);
    if (m.lastEventUs) s.noteEvent(m.firstEventUs, m.lastEventUs);
    for (const IntervalSummary::Second& sec : m.seconds) {
      s.inSecond(sec.second, *series_, [&](SecondData& d) {
        d.requests += sec.requests;
        d.errors += sec.errors;
        d.testFailures += sec.testFailures;
        d.dropped += sec.dropped;
        d.latency.merge(sec.latency);
        SecondData::PerSource& source = d.of(s.source);
        source.noteUsers(sec.users);
        source.requests += sec.requests;
      });
    }
  }
  if (m.runStartedUs) startTestRunAt(m.runStartedUs);
  if (m.runStoppedUs) stopTestRunAt(m.runStoppedUs);
}

void AggregateResult::mergeSummaryCounts(Shard& s, const IntervalSummary& m) {
  for (const IntervalSummary::Test& t : m.tests) {
    mergeInto(s.capped(s.tests, t.name, *caps_, NameCaps::kTests, t.calls()), t.counts);
  }
  std::vector<RequestSummary*> requests;
  requests.reserve(m.requests.size());
  for (const IntervalSummary::Request& r : m.requests) {
    RequestSummary& dst = s.capped(s.requests, r.name, *caps_, NameCaps::kRequests, r.counts.count);
    mergeInto(dst, r.counts);
    *s.sourceRequests += r.counts.count;
    requests.push_back(&dst);
  }
  for (const IntervalSummary::Status& st : m.statuses) {
    if (st.request >= requests.size()) continue;  // the decoder refuses these
    auto& codes = requests[st.request]->statusCodes;
    if (auto code = codes.find(st.status); code != codes.end()) {
      code->second += st.count;
    } else {
      const bool own = caps_->admit(NameCaps::kStatusCodes, std::to_string(st.status), st.count);
      codes[own ? st.status : kOtherStatus] += st.count;
    }
  }
  for (const IntervalSummary::Counter& c : m.counters) {
    const bool loose = c.test < 0 || static_cast<std::size_t>(c.test) >= m.tests.size();
    auto& counters =
        loose
            ? s.looseCounters
            : s.capped(s.tests, m.tests[c.test].name, *caps_, NameCaps::kTests, c.events).counters;
    auto it = counters.find(c.name);
    if (it == counters.end()) {
      const std::string_view key = caps_->admit(NameCaps::kCounters, c.name, c.events)
                                       ? std::string_view(c.name)
                                       : kOtherName;
      it = counters.find(key);
      if (it == counters.end()) it = counters.emplace(std::string(key), 0).first;
    }
    addToCounter(it->second, c.value);
  }
  mergeInto(s.sockets, m.sockets);
  for (const IntervalSummary::Error& e : m.errors) {
    std::string& key = s.errorKey;
    errorSampleKey(key, e.failure, e.test, Failure{e.type, e.message, e.file, e.line});
    if (auto it = s.errors.find(std::string_view(key)); it != s.errors.end()) {
      it->second.count += e.count;
    } else if (s.errors.size() < options_.maxErrorSamples) {
      s.errors.emplace(key,
                       ErrorSample{e.failure, e.test, e.type, e.message, e.file, e.line, e.count});
    } else {
      s.errorsDropped += e.count;
    }
  }
}

void AggregateResult::setTarget(std::string kind, TargetFunction target) {
  targetKind_ = std::move(kind);
  target_ = std::move(target);
}

// Merges every shard into a plain copy. Seconds older than the newest complete one are
// handed from the shards' rings to the series on the way, so an idle thread's data
// does not wait for that thread's next event.
Snapshot AggregateResult::snapshot() const {
  Snapshot snap;
  std::map<std::string, ErrorSample, std::less<>> errors;  // by dedup key
  std::map<std::int64_t, SecondData> pending;              // seconds still in shard rings
  {
    std::lock_guard lock(shardsMutex_);
    snap.runStartedUs = runStartedUs_;
    snap.runStoppedUs = runStoppedUs_;
    for (const auto& shard : shards_) mergeShard(*shard, snap, errors, pending);
  }
  for (const auto& [name, t] : snap.tests) {
    for (const auto& [counter, value] : t.counters) addToCounter(snap.counters[counter], value);
    snap.droppedHits += t.dropped;
  }
  for (auto& [key, e] : errors) snap.errors.push_back(std::move(e));
  std::stable_sort(snap.errors.begin(), snap.errors.end(),
                   [](const ErrorSample& a, const ErrorSample& b) { return a.count > b.count; });
  snap.seconds = mergedSeconds(pending);
  snap.overflows = caps_->overflows();
  for (const SecondSample& sample : snap.seconds) {
    snap.maxUsers = std::max(snap.maxUsers, sample.users);
    if (sample.users) snap.currentUsers = sample.users;
  }
  if (target_) {
    snap.targetKind = targetKind_;
    for (SecondSample& sample : snap.seconds) sample.target = target_(sample.second * 1'000'000);
    snap.currentTarget = target_(now());
  }
  return snap;
}

void AggregateResult::mergeShard(Shard& s, Snapshot& snap,
                                 std::map<std::string, ErrorSample, std::less<>>& errors,
                                 std::map<std::int64_t, SecondData>& pending) const {
  std::lock_guard lock(s.mu);
  for (const auto& [name, t] : s.tests) mergeInto(snap.tests[name], t);
  for (const auto& [name, r] : s.requests) {
    mergeInto(snap.requests[name], r);
    mergeInto(snap.allRequests, r);
  }
  for (const auto& [name, value] : s.looseCounters) addToCounter(snap.counters[name], value);
  mergeInto(snap.sockets, s.sockets);
  for (const auto& [key, e] : s.errors) {
    if (auto it = errors.find(key); it != errors.end()) {
      it->second.count += e.count;
    } else if (errors.size() < options_.maxErrorSamples) {
      errors.emplace(key, e);
    } else {
      snap.errorsDropped += e.count;
    }
  }
  snap.errorsDropped += s.errorsDropped;
  for (const auto& [source, n] : s.requestsBySource) {
    if (n) snap.requestsBySource[source] += n;
  }
  if (s.firstEventUs && (!snap.firstEventUs || s.firstEventUs < snap.firstEventUs)) {
    snap.firstEventUs = s.firstEventUs;
  }
  snap.lastEventUs = std::max(snap.lastEventUs, s.lastEventUs);

  const std::int64_t newest = series_->newest.load(std::memory_order_relaxed);
  for (SecondData& slot : s.ring) {
    if (slot.second == kNoSecond) continue;
    if (slot.second < newest - 1) {
      series_->absorb(slot);
      slot.clear(kNoSecond);
    } else {
      auto [it, added] = pending.try_emplace(slot.second);
      if (added) it->second.clear(slot.second);
      it->second.merge(slot);
    }
  }
}

std::vector<SecondSample> AggregateResult::mergedSeconds(
    std::map<std::int64_t, SecondData>& pending) const {
  std::map<std::int64_t, SecondSample> out;
  {
    std::lock_guard lock(series_->mu);
    out = series_->summarized;
    for (const auto& [second, data] : series_->live) {
      auto [it, added] = pending.try_emplace(second);
      if (added) it->second.clear(second);
      it->second.merge(*data);
    }
  }
  for (const auto& [second, data] : pending) {
    if (auto it = out.find(second); it != out.end()) {
      data.addLateTo(it->second, options_.seriesSources);
    } else {
      out.emplace(second, data.summary(options_.seriesSources));
    }
  }
  std::vector<SecondSample> series;
  series.reserve(out.size());
  for (const auto& [second, sample] : out) series.push_back(sample);
  return series;
}

std::string overflowSentence(const NameOverflow& o) {
  std::string names;
  for (const std::string& name : o.firstNames) {
    names += names.empty() ? "" : ", ";
    names += "\"" + name + "\"";
  }
  const std::string cap = std::to_string(o.cap);
  const std::string events = std::to_string(o.events);
  if (o.what == "request names") {
    return "More than " + cap + " distinct request names (--max-names " + cap + "): " + events +
           " requests of further names, first " + names + ", are counted as \"(other)\"; give " +
           "requests that differ only by an id one name with the request option .name, e.g. " +
           "session().get(url, {.name = \"GET /u/{id}\"}).";
  }
  if (o.what == "status codes") {
    return "More than " + cap + " distinct status codes: " + events +
           " responses with further codes, first " + names + ", are counted as status \"(other)\".";
  }
  const std::string what = o.what == "test names" ? "test events" : "counter increments";
  return "More than " + cap + " distinct " + o.what + ": " + events + " " + what +
         " of further names, first " + names + ", are counted as \"(other)\".";
}

}  // namespace loads
