// Histogram: a log-linear latency histogram (HdrHistogram's bucketing scheme).
//
// Values are integers (microseconds in loads) from 1 to `highest` at `significantDigits`
// decimal digits of precision: every value is counted in a bucket whose width is at most
// 10^-digits of the value, so a percentile is off by at most that relative error. 0 is
// recorded exactly; negative values count as 0; values above `highest` are clamped to it
// and counted in clampedCount(). Memory is fixed at construction (~184 KiB for the
// default 1 µs..1 h at 3 digits); record() is O(1) and never allocates. Histograms with
// the same layout merge exactly, so percentiles of merged data are exact to the precision,
// never averages of percentiles.
//
// Thread-safety: none; callers serialise access (one histogram per shard).
#pragma once

#include <cstdint>
#include <vector>

namespace loads {

class Histogram {
 public:
  static constexpr std::int64_t kDefaultHighest = 3'600'000'000;  // 1 hour in µs
  static constexpr int kDefaultDigits = 3;

  Histogram() : Histogram(kDefaultHighest, kDefaultDigits) {}
  // Throws std::invalid_argument unless 1 <= significantDigits <= 5 and highest >= 2.
  explicit Histogram(std::int64_t highest, int significantDigits = kDefaultDigits);

  void record(std::int64_t value, std::uint64_t count = 1);
  // Adds every value of `other`; both must have the same highest and digits.
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const { return total_; }
  std::uint64_t clampedCount() const { return clamped_; }
  // Exact smallest / largest recorded value (after clamping); 0 when empty.
  std::int64_t min() const { return total_ ? min_ : 0; }
  std::int64_t max() const { return total_ ? max_ : 0; }
  // Exact mean of the recorded (clamped) values; 0 when empty.
  double mean() const { return total_ ? static_cast<double>(sum_) / total_ : 0.0; }
  // The value at or below which q percent (0..100) of the recorded values fall: the
  // highest value equivalent to the bucket holding the ceil-rank (HdrHistogram
  // semantics: rank = max(1, round(q/100 * count))), clamped to [min(), max()].
  // 0 when empty.
  std::int64_t percentile(double q) const;

  std::int64_t highest() const { return highest_; }
  int significantDigits() const { return digits_; }
  bool sameLayout(const Histogram& other) const {
    return highest_ == other.highest_ && digits_ == other.digits_;
  }

 private:
  std::size_t indexOf(std::int64_t value) const;
  std::int64_t lowestEquivalent(std::size_t index) const;
  std::int64_t highestEquivalent(std::size_t index) const;

  std::int64_t highest_;
  int digits_;
  int subBucketHalfCountMagnitude_;
  std::int64_t subBucketHalfCount_;
  std::int64_t subBucketMask_;
  int leadingZeroCountBase_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t clamped_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  // Sum of values for the mean: 2^63 µs is ~290,000 years of latency, no overflow.
  std::int64_t sum_ = 0;
  std::size_t minIndex_ = 0;  // lowest / highest non-zero counts_ index, valid when total_
  std::size_t maxIndex_ = 0;
};

}  // namespace loads
