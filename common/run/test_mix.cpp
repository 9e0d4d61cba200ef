#include "run/test_mix.hpp"

#include <stdexcept>
#include <string>

namespace loads {

TestMix::TestMix(const std::vector<std::uint32_t>& weights) {
  std::uint64_t total = 0;
  for (std::uint32_t w : weights) {
    if (w == 0) throw std::invalid_argument("a test weight must be at least 1");
    total += w;
    weighted_ = weighted_ || w != 1;
  }
  if (weights.empty()) total = 1;  // no test: one slot, never used
  if (total > kMaxWeightSum) {
    throw std::invalid_argument("the test weights sum to " + std::to_string(total) +
                                ", above the " + std::to_string(kMaxWeightSum) +
                                " this version takes: use smaller weights");
  }
  // Smooth weighted round robin: each slot adds every weight to its test's credit and
  // gives the slot to the highest credit (the first on a tie), which then pays `total`.
  std::vector<std::int64_t> credit(weights.size(), 0);
  slots_.reserve(total);
  for (std::uint64_t slot = 0; slot < total && !weights.empty(); ++slot) {
    std::size_t best = 0;
    for (std::size_t t = 0; t < weights.size(); ++t) {
      credit[t] += weights[t];
      if (credit[t] > credit[best]) best = t;
    }
    credit[best] -= static_cast<std::int64_t>(total);
    slots_.push_back(static_cast<std::uint32_t>(best));
  }
  if (slots_.empty()) slots_.push_back(0);
}

}  // namespace loads
