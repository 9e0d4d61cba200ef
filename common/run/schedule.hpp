// Load schedules: stages ("30s:100,2m:100,30s:0": linear ramps to a target), the open
// model's arrival schedule (planned start of every hit) and the closed model's target
// users. They are pure functions of an offset from the run's start: they read no clock,
// so the Runner feeds them steady_clock offsets and tests feed them any time they like.
//
// Splitting is exact and deterministic, so that agents of a distributed run each follow
// their share of one global schedule without talking to each other:
// - arrivals: global arrival k (0-based) is planned at the time the rate's integral
//   reaches k; share `index` of `count` takes k = index, index + count, index + 2·count…
//   Shares compose: runner thread t of T inside agent i of n is share i + n·t of n·T.
// - users: the global target floor(users(t)) is split as proto::usersForAgent does.
//
// Thread-safety: value types; a const object may be read from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loads {

using Micros = std::chrono::microseconds;

struct Stage {
  std::chrono::milliseconds duration{0};  // length of the linear ramp
  double target = 0;                      // value reached at its end
};

// Parses "30s:100,2m:100,30s:0" (duration:target, comma-separated). Throws
// std::invalid_argument with one sentence naming `option`.
std::vector<Stage> parseStages(std::string_view text, std::string_view option);
// The same text back ("30000ms:100,..."), for the report and the wire.
std::string formatStages(const std::vector<Stage>& stages);

// A piecewise linear value over [0, length): starts at `start`, then each stage ramps
// linearly to its target. Before 0 it is `start`; from length on, the last target.
class StageProfile {
 public:
  StageProfile() = default;
  StageProfile(double start, std::vector<Stage> stages);
  // `value` from 0 to `length`.
  static StageProfile constant(double value, std::chrono::milliseconds length);

  double at(Micros t) const;
  Micros length() const { return length_; }
  double maxValue() const;
  // The integral from 0 to t (for a rate in 1/s: the arrivals planned so far).
  double integral(Micros t) const;
  // The earliest t with integral(t) >= n; nullopt when that is not before length().
  std::optional<Micros> timeOfIntegral(double n) const;
  const std::vector<Stage>& stages() const { return stages_; }
  double start() const { return start_; }

 private:
  struct Segment {
    double beginS, lengthS, from, to, areaBefore;  // seconds; area = integral up to beginS
  };
  double start_ = 0;
  std::vector<Stage> stages_;
  std::vector<Segment> segments_;
  Micros length_{0};
};

// The planned starts of one share of an open-model run, in order.
class ArrivalSchedule {
 public:
  ArrivalSchedule(StageProfile rate, std::uint64_t index, std::uint64_t count);
  // Offset of the next planned start of this share; nullopt once the profile is over.
  std::optional<Micros> peek() const { return next_; }
  void pop();
  std::uint64_t issued() const { return issued_; }  // arrivals popped so far
  // Arrivals of this share over the whole profile, before any resplit.
  std::uint64_t total() const;
  // Arrivals of the whole (global) schedule over the whole profile.
  std::uint64_t globalTotal() const;
  // Re-split (a distributed run lost an agent): global arrivals k < K keep the split so
  // far, arrivals k >= K go to share `index` of `count` counted from K, where K is the
  // first arrival planned at or after `from`. Every share of the run must get the same
  // `from` and a distinct index, so that each arrival still has exactly one owner.
  void resplit(Micros from, std::uint64_t index, std::uint64_t count);
  // The first global arrival planned at or after `t`.
  std::uint64_t firstArrivalFrom(Micros t) const;

 private:
  struct Split {
    std::uint64_t from, index, count;  // arrivals from, index, count
  };
  std::optional<Micros> plannedAt(std::uint64_t global) const;
  void applyPending();
  StageProfile rate_;
  std::uint64_t index_, count_;
  std::uint64_t nextGlobal_;      // the global number of the next arrival of this share
  std::optional<Split> pending_;  // a resplit not reached yet
  std::uint64_t issued_ = 0;
  std::optional<Micros> next_;
};

// Hands the due arrivals of a schedule out: the caller's tryStart(planned) either gives
// the hit to a free user (true) or cannot (false: the hit is dropped, never delayed).
class ArrivalDispatcher {
 public:
  explicit ArrivalDispatcher(ArrivalSchedule schedule) : schedule_(std::move(schedule)) {}
  // Every arrival planned at or before `now` not yet handed out, in planned order.
  template <class TryStart>
  void dispatch(Micros now, TryStart&& tryStart) {
    while (auto planned = schedule_.peek()) {
      if (*planned > now) break;
      schedule_.pop();
      if (tryStart(*planned)) {
        ++started_;
      } else {
        ++dropped_;
      }
    }
  }
  std::optional<Micros> nextPlanned() const { return schedule_.peek(); }
  void resplit(Micros from, std::uint64_t index, std::uint64_t count) {
    schedule_.resplit(from, index, count);
  }
  std::uint64_t started() const { return started_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  ArrivalSchedule schedule_;
  std::uint64_t started_ = 0;
  std::uint64_t dropped_ = 0;
};

// Target users of one share of a closed-model run with stages.
class UserTargetSchedule {
 public:
  UserTargetSchedule(StageProfile users, std::uint32_t index, std::uint32_t count)
      : users_(std::move(users)), index_(index), count_(count) {}
  // From `from` on, this runner is share `index` of `count` (a rebalanced run); before
  // `from` the split stays as constructed.
  void resplit(Micros from, std::uint32_t index, std::uint32_t count) {
    resplit_ = {from, index, count};
  }
  std::uint32_t globalAt(Micros t) const;  // floor of the profile
  std::uint32_t at(Micros t) const;        // this share of globalAt(t)
  std::uint32_t max() const;               // the most this share ever runs
  Micros length() const { return users_.length(); }

 private:
  struct Split {
    Micros from;
    std::uint32_t index, count;
  };
  StageProfile users_;
  std::uint32_t index_, count_;
  std::optional<Split> resplit_;
};

}  // namespace loads
