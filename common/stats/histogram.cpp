#include "stats/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <stdexcept>

namespace loads {

// Layout (HdrHistogram with a unit of 1): bucket 0 counts values 0..2*half-1 one by
// one; bucket b > 0 counts values in [half << b, half << (b+1)) in `half` sub-buckets of
// width 2^b. With half >= 10^digits / 2 every sub-bucket is narrower than value/10^digits.
Histogram::Histogram(std::int64_t highest, int significantDigits)
    : highest_(highest), digits_(significantDigits) {
  if (significantDigits < 1 || significantDigits > 5 || highest < 2) {
    throw std::invalid_argument("Histogram: need 1..5 significant digits and highest >= 2");
  }
  const double largestSingleUnitResolution = 2.0 * std::pow(10.0, significantDigits);
  const int subBucketCountMagnitude =
      static_cast<int>(std::ceil(std::log2(largestSingleUnitResolution)));
  subBucketHalfCountMagnitude_ = subBucketCountMagnitude - 1;
  subBucketHalfCount_ = std::int64_t{1} << subBucketHalfCountMagnitude_;
  const std::int64_t subBucketCount = subBucketHalfCount_ * 2;
  subBucketMask_ = subBucketCount - 1;
  leadingZeroCountBase_ = 64 - subBucketHalfCountMagnitude_ - 1;

  int bucketCount = 1;
  for (std::int64_t smallestUntrackable = subBucketCount; smallestUntrackable <= highest;
       smallestUntrackable <<= 1) {
    ++bucketCount;
  }
  counts_.assign(static_cast<std::size_t>(bucketCount + 1) * subBucketHalfCount_, 0);
}

std::size_t Histogram::indexOf(std::int64_t value) const {
  const auto v = static_cast<std::uint64_t>(value);
  const int bucket = leadingZeroCountBase_ - std::countl_zero(v | subBucketMask_);
  const std::int64_t subBucket = value >> bucket;
  return static_cast<std::size_t>(((bucket + 1) << subBucketHalfCountMagnitude_) +
                                  (subBucket - subBucketHalfCount_));
}

std::int64_t Histogram::lowestEquivalent(std::size_t index) const {
  int bucket = static_cast<int>(index >> subBucketHalfCountMagnitude_) - 1;
  std::int64_t subBucket =
      static_cast<std::int64_t>(index & (subBucketHalfCount_ - 1)) + subBucketHalfCount_;
  if (bucket < 0) {
    subBucket -= subBucketHalfCount_;
    bucket = 0;
  }
  return subBucket << bucket;
}

std::int64_t Histogram::highestEquivalent(std::size_t index) const {
  int bucket = std::max(0, static_cast<int>(index >> subBucketHalfCountMagnitude_) - 1);
  return lowestEquivalent(index) + (std::int64_t{1} << bucket) - 1;
}

void Histogram::record(std::int64_t value, std::uint64_t count) {
  if (count == 0) return;
  if (value < 0) value = 0;
  if (value > highest_) {
    value = highest_;
    clamped_ += count;
  }
  const std::size_t index = indexOf(value);
  assert(index < counts_.size());
  counts_[index] += count;
  if (total_ == 0) {
    min_ = max_ = value;
    minIndex_ = maxIndex_ = index;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    minIndex_ = std::min(minIndex_, index);
    maxIndex_ = std::max(maxIndex_, index);
  }
  total_ += count;
  sum_ += value * static_cast<std::int64_t>(count);
}

void Histogram::merge(const Histogram& other) {
  if (!sameLayout(other)) throw std::invalid_argument("Histogram::merge: different layouts");
  if (other.total_ == 0) return;
  for (std::size_t i = other.minIndex_; i <= other.maxIndex_; ++i) counts_[i] += other.counts_[i];
  if (total_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
    minIndex_ = other.minIndex_;
    maxIndex_ = other.maxIndex_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    minIndex_ = std::min(minIndex_, other.minIndex_);
    maxIndex_ = std::max(maxIndex_, other.maxIndex_);
  }
  total_ += other.total_;
  clamped_ += other.clamped_;
  sum_ += other.sum_;
}

void Histogram::reset() {
  if (total_ != 0) {
    std::fill(counts_.begin() + minIndex_, counts_.begin() + maxIndex_ + 1, 0);
  }
  total_ = clamped_ = 0;
  min_ = max_ = sum_ = 0;
  minIndex_ = maxIndex_ = 0;
}

std::int64_t Histogram::percentile(double q) const {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(q / 100.0 * static_cast<double>(total_) + 0.5));
  std::uint64_t seen = 0;
  for (std::size_t i = minIndex_; i <= maxIndex_; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highestEquivalent(i), min_, max_);
  }
  return max_;
}

}  // namespace loads
