// Histogram: a log-linear latency histogram (HdrHistogram's bucketing scheme), compact.
//
// Values are integers (microseconds in loads) from 1 to `highest` at `significantDigits`
// decimal digits of precision: every value is counted in a bucket whose width is at most
// 10^-digits of the value, so a percentile is off by at most that relative error. 0 is
// recorded exactly; negative values count as 0; values above `highest` are clamped to it
// and counted in clampedCount(). Histograms with the same layout merge exactly, so
// percentiles of merged data are exact to the precision, never averages of percentiles.
//
// Memory grows with the buckets in use, not with the range: a histogram starts as a
// sorted list of (bucket, count) entries, 3 bytes each, and turns into a dense window of
// counts between the lowest and highest bucket seen (plus a little slack), each count 1,
// 2, 4 or 8 bytes wide and widened when one would overflow, once that costs no more. An
// empty histogram holds no heap memory; 1,000 distinct latencies cost at most 4 KiB
// where the full 1 µs..1 h layout costs 184 KiB (bench/RESULTS.md). record() allocates
// only when a value falls outside the window or a count outgrows its width, so a dense
// histogram that was reset() and reused in the same range never allocates.
//
// Thread-safety: none; callers serialise access (one histogram per shard).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace loads {

class Histogram {
 public:
  static constexpr std::int64_t kDefaultHighest = 3'600'000'000;  // 1 hour in µs
  static constexpr int kDefaultDigits = 3;

  Histogram() : Histogram(kDefaultHighest, kDefaultDigits) {}
  // Throws std::invalid_argument unless 1 <= significantDigits <= 5 and highest >= 2.
  explicit Histogram(std::int64_t highest, int significantDigits = kDefaultDigits);

  void record(std::int64_t value, std::uint64_t count = 1) {
    if (count == 0) return;
    if (value < 0) value = 0;
    if (value > highest_) [[unlikely]] {
      value = highest_;
      clamped_ += count;
    }
    const std::uint32_t index = indexOf(value);
    std::uint32_t offset = index - base_;
    if (offset < span_) [[likely]] {
      addAt(offset, count);
    } else {
      addOutside(index, count);
    }
    if (total_ == 0) {
      min_ = max_ = value;
    } else {
      min_ = value < min_ ? value : min_;
      max_ = value > max_ ? value : max_;
    }
    total_ += count;
    sum_ += value * static_cast<std::int64_t>(count);
  }
  // Adds every value of `other`; both must have the same highest and digits.
  void merge(const Histogram& other);
  // Empties the histogram; keeps its window, so refilling the same range never allocates.
  void reset();

  std::uint64_t count() const { return total_; }
  std::uint64_t clampedCount() const { return clamped_; }
  // Exact smallest / largest recorded value (after clamping); 0 when empty.
  std::int64_t min() const { return total_ ? min_ : 0; }
  std::int64_t max() const { return total_ ? max_ : 0; }
  // Exact mean of the recorded (clamped) values; 0 when empty.
  double mean() const { return total_ ? static_cast<double>(sum_) / total_ : 0.0; }
  // Exact sum of the recorded (clamped) values.
  std::int64_t sum() const { return sum_; }
  // The value at or below which q percent (0..100) of the recorded values fall: the
  // highest value equivalent to the bucket holding the ceil-rank (HdrHistogram
  // semantics: rank = max(1, round(q/100 * count))), clamped to [min(), max()].
  // 0 when empty.
  std::int64_t percentile(double q) const;
  // How many recorded values fall in buckets that start at or below `value` (a
  // cumulative bucket of an exported histogram, exact to the precision). 0 when empty.
  std::uint64_t countAtOrBelow(std::int64_t value) const;

  std::int64_t highest() const { return highest_; }
  int significantDigits() const { return digits_; }
  bool sameLayout(const Histogram& other) const {
    return highest_ == other.highest_ && digits_ == other.digits_;
  }
  // The histogram as plain numbers, for the wire (proto/summary.hpp): the non-zero counts
  // by bucket index, ascending, and the exact totals. fromParts() rebuilds it exactly.
  struct Parts {
    std::vector<std::uint64_t> counts;  // index, count, index, count, ...; indices ascending
    std::uint64_t clamped = 0;          // clampedCount()
    std::int64_t min = 0, max = 0, sum = 0;
  };
  Parts parts() const;
  // A histogram of the default layout holding `parts`; nullopt when they cannot be one
  // (an index outside the layout or not ascending, a zero count, a total that overflows,
  // min > max, values outside [0, highest]). Never throws on bad input.
  static std::optional<Histogram> fromParts(const Parts& parts);

  // Bytes this histogram holds: the object plus its heap block.
  std::size_t memoryBytes() const { return sizeof(*this) + counts_.capacity(); }

 private:
  std::uint32_t indexOf(std::int64_t value) const {
    const auto v = static_cast<std::uint64_t>(value);
    const int bucket = leadingZeroCountBase_ - __builtin_clzll(v | subBucketMask_);
    const std::int64_t subBucket = value >> bucket;
    return static_cast<std::uint32_t>(((bucket + 1) << subBucketHalfCountMagnitude_) +
                                      (subBucket - subBucketHalfCount_));
  }
  std::int64_t lowestEquivalent(std::size_t index) const;
  std::int64_t highestEquivalent(std::size_t index) const;
  // Grows the window to hold indices lo..hi (with slack); returns hi's offset.
  std::uint32_t cover(std::uint32_t lo, std::uint32_t hi);
  // Adds `count` at `index` outside the dense window: in the sparse list while the
  // histogram is sparse (converting it when dense gets as cheap), else growing the window.
  void addOutside(std::uint32_t index, std::uint64_t count);
  bool addSparse(std::uint32_t index, std::uint64_t count);  // false: now dense, not added
  void toDense();
  void mergeTotals(const Histogram& other);  // count, min, max, sum, clamped
  // Re-packs the counts `bytes` wide (1, 2, 4 or 8).
  void widen(unsigned bytes);
  std::uint64_t countAt(std::uint32_t offset) const;
  // Adds to one count; the width check is the only cost over a plain array.
  void addAt(std::uint32_t offset, std::uint64_t count) {
    unsigned char* p = counts_.data() + (std::size_t{offset} << widthShift_);
    switch (widthShift_) {
      case 0:
        if (addIfFits<std::uint8_t>(p, count)) [[likely]]
          return;
        break;
      case 1:
        if (addIfFits<std::uint16_t>(p, count)) [[likely]]
          return;
        break;
      case 2:
        if (addIfFits<std::uint32_t>(p, count)) [[likely]]
          return;
        break;
      default:
        addIfFits<std::uint64_t>(p, count);
        return;
    }
    addWidening(offset, count);
  }
  template <class T>
  static bool addIfFits(unsigned char* p, std::uint64_t count) {
    T c;
    std::memcpy(&c, p, sizeof c);
    const std::uint64_t sum = c + count;
    if (sum > static_cast<T>(-1)) return false;
    c = static_cast<T>(sum);
    std::memcpy(p, &c, sizeof c);
    return true;
  }
  void addWidening(std::uint32_t offset, std::uint64_t count);
  template <class F>
  void forEachCount(F&& f) const;

  std::int64_t highest_;
  int digits_;
  int subBucketHalfCountMagnitude_;
  int leadingZeroCountBase_;
  unsigned widthShift_ = 0;  // counts are 1 << widthShift_ bytes wide
  // Sparse: counts_ holds sparseEntries_ entries of 3 bytes (bucket index, 16 bits, then
  // a count of at most 255), sorted by index, and the window is empty. A histogram starts
  // sparse when its layout has at most 65,536 indices (the default has 23,552) and turns
  // dense for good once the dense window costs no more, a count passes 255, or it holds
  // kMaxSparse entries.
  bool sparse_ = false;
  std::uint32_t sparseEntries_ = 0;
  std::int64_t subBucketHalfCount_;
  std::int64_t subBucketMask_;
  std::uint32_t indexCount_;  // indices of the full layout
  std::uint32_t base_ = 0;    // index of the window's first count
  std::uint32_t span_ = 0;    // counts in the window
  // The window's counts, packed; aligned for every width by the allocator.
  std::vector<unsigned char> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t clamped_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  // Sum of values for the mean: 2^63 µs is ~290,000 years of latency, no overflow.
  std::int64_t sum_ = 0;
};

}  // namespace loads
