// TestMix: which of the selected tests user k (or arrival n) of a run runs, by its
// global number, so that every split over agents runs the local run's mix
// (PROTOCOL.md §5.1 "User mix", docs/data.md "Weighted tests").
//
// Each test has a weight (LOADS_WEIGHTED in the registration, or --test Class.method:W);
// the weights make one cycle of W = the sum of the weights slots, dealt out by smooth
// weighted round robin (the heaviest test first, the others spread between its turns,
// as nginx balances upstreams): number k runs the test of slot k mod W. With every
// weight 1 this is test k mod T (user mix 1).
//
// Thread-safety: immutable once built; read from any thread.
#pragma once

#include <cstdint>
#include <vector>

namespace loads {

// Weights sum to at most this (one slot per unit of weight).
inline constexpr std::uint64_t kMaxWeightSum = 1'000'000;

class TestMix {
 public:
  // One weight per selected test, each at least 1; throws std::invalid_argument when
  // they sum to more than kMaxWeightSum or one is 0.
  explicit TestMix(const std::vector<std::uint32_t>& weights);
  // The index (into the selected tests) of the test that number `k` runs.
  std::size_t testOf(std::uint64_t k) const { return slots_[k % slots_.size()]; }
  // True when a weight is not 1: a run that needs user mix 2.
  bool weighted() const { return weighted_; }

 private:
  std::vector<std::uint32_t> slots_;
  bool weighted_ = false;
};

}  // namespace loads
