#include "stats/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace loads {
namespace {

template <class T>
std::uint64_t load(const unsigned char* p) {
  T c;
  std::memcpy(&c, p, sizeof c);
  return c;
}

template <class T>
void store(unsigned char* p, std::uint64_t value) {
  const auto c = static_cast<T>(value);
  std::memcpy(p, &c, sizeof c);
}

// Calls f.template operator()<T>() with T the unsigned type `1 << shift` bytes wide.
template <class F>
decltype(auto) withWidth(unsigned shift, F&& f) {
  switch (shift) {
    case 0:
      return f.template operator()<std::uint8_t>();
    case 1:
      return f.template operator()<std::uint16_t>();
    case 2:
      return f.template operator()<std::uint32_t>();
    default:
      return f.template operator()<std::uint64_t>();
  }
}

// The smallest width (as a shift) whose counts hold `value`.
unsigned shiftFor(std::uint64_t value) {
  if (value <= 0xff) return 0;
  if (value <= 0xffff) return 1;
  if (value <= 0xffffffffu) return 2;
  return 3;
}

}  // namespace

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
  indexCount_ = static_cast<std::uint32_t>((bucketCount + 1) * subBucketHalfCount_);
  sparse_ = indexCount_ <= 65536;
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

// The window grows by a quarter of its span beyond what is asked (at least 8 counts), so
// values that creep outwards one bucket at a time re-allocate O(log) times.
std::uint32_t Histogram::cover(std::uint32_t lo, std::uint32_t hi) {
  if (span_ != 0 && lo >= base_ && hi - base_ < span_) return hi - base_;
  const std::uint32_t asked = hi;
  if (span_ != 0) {
    lo = std::min(lo, base_);
    hi = std::max(hi, base_ + span_ - 1);
  }
  const std::uint32_t slack = std::max<std::uint32_t>(8, (hi - lo + 1) / 4);
  std::uint32_t newBase = lo, newEnd = hi + 1;
  if (span_ != 0 && lo < base_) newBase = lo > slack ? lo - slack : 0;
  if (span_ != 0 && hi >= base_ + span_) newEnd = std::min(indexCount_, hi + 1 + slack);
  if (span_ == 0) {  // first value: a small window around it
    newBase = lo > 4 ? lo - 4 : 0;
    newEnd = std::min(indexCount_, hi + 5);
  }
  std::vector<unsigned char> grown(std::size_t{newEnd - newBase} << widthShift_, 0);
  if (span_ != 0) {
    std::memcpy(grown.data() + (std::size_t{base_ - newBase} << widthShift_), counts_.data(),
                std::size_t{span_} << widthShift_);
  }
  counts_.swap(grown);
  base_ = newBase;
  span_ = newEnd - newBase;
  return asked - base_;
}

namespace {
constexpr std::uint32_t kMaxSparse = 1024;  // entries; 3 KiB
constexpr std::size_t kEntry = 3;
constexpr std::uint32_t kJudgeAfter = 32;  // entries before sparse may turn dense
std::uint32_t entryIndex(const unsigned char* e) { return e[0] | (std::uint32_t{e[1]} << 8); }
}  // namespace

void Histogram::addOutside(std::uint32_t index, std::uint64_t count) {
  if (sparse_ && addSparse(index, count)) return;
  addAt(cover(index, index), count);
}

bool Histogram::addSparse(std::uint32_t index, std::uint64_t count) {
  unsigned char* entries = counts_.data();
  std::uint32_t lo = 0, hi = sparseEntries_;
  while (lo < hi) {  // first entry whose index >= index
    const std::uint32_t mid = (lo + hi) / 2;
    if (entryIndex(entries + mid * kEntry) < index)
      lo = mid + 1;
    else
      hi = mid;
  }
  unsigned char* at = entries + std::size_t{lo} * kEntry;
  const bool found = lo < sparseEntries_ && entryIndex(at) == index;
  if (found && at[2] + count <= 0xff) {
    at[2] = static_cast<unsigned char>(at[2] + count);
    return true;
  }
  if (!found && count <= 0xff && sparseEntries_ < kMaxSparse) {
    const std::uint32_t first = sparseEntries_ ? std::min(index, entryIndex(entries)) : index;
    const std::uint32_t last =
        sparseEntries_ ? std::max(index, entryIndex(entries + (sparseEntries_ - 1) * kEntry))
                       : index;
    // Sparse while it is the cheaper; dense for good is judged only past a few entries.
    if (sparseEntries_ < kJudgeAfter || last - first + 1 > kEntry * (sparseEntries_ + 1)) {
      if (counts_.size() == counts_.capacity())
        counts_.reserve(counts_.size() + counts_.size() / 4 + 4 * kEntry);
      const unsigned char entry[kEntry] = {static_cast<unsigned char>(index & 0xff),
                                           static_cast<unsigned char>(index >> 8),
                                           static_cast<unsigned char>(count)};
      counts_.insert(counts_.begin() + std::size_t{lo} * kEntry, entry, entry + kEntry);
      ++sparseEntries_;
      return true;
    }
  }
  toDense();
  return false;
}

void Histogram::toDense() {
  std::vector<unsigned char> entries;
  entries.swap(counts_);
  const std::uint32_t n = sparseEntries_;
  sparse_ = false;
  sparseEntries_ = 0;
  span_ = base_ = 0;
  widthShift_ = 0;
  if (n == 0) return;
  cover(entryIndex(entries.data()), entryIndex(entries.data() + (n - 1) * kEntry));
  for (std::uint32_t i = 0; i < n; ++i) {
    const unsigned char* e = entries.data() + std::size_t{i} * kEntry;
    addAt(entryIndex(e) - base_, e[2]);
  }
}

void Histogram::widen(unsigned bytes) {
  const unsigned shift = static_cast<unsigned>(std::countr_zero(bytes));
  if (shift <= widthShift_) return;
  std::vector<unsigned char> wide(std::size_t{span_} << shift);
  withWidth(shift, [&]<class D>() {
    withWidth(widthShift_, [&]<class S>() {
      for (std::uint32_t i = 0; i < span_; ++i) {
        store<D>(wide.data() + i * sizeof(D), load<S>(counts_.data() + i * sizeof(S)));
      }
    });
  });
  counts_.swap(wide);
  widthShift_ = shift;
}

std::uint64_t Histogram::countAt(std::uint32_t offset) const {
  const unsigned char* p = counts_.data() + (std::size_t{offset} << widthShift_);
  return withWidth(widthShift_, [&]<class T>() { return load<T>(p); });
}

void Histogram::addWidening(std::uint32_t offset, std::uint64_t count) {
  const std::uint64_t sum = countAt(offset) + count;
  widen(1u << shiftFor(sum));
  withWidth(widthShift_, [&]<class T>() {
    store<T>(counts_.data() + (std::size_t{offset} << widthShift_), sum);
  });
}

template <class F>
void Histogram::forEachCount(F&& f) const {
  if (sparse_) {
    for (std::uint32_t i = 0; i < sparseEntries_; ++i) {
      const unsigned char* e = counts_.data() + std::size_t{i} * kEntry;
      if (!f(entryIndex(e), std::uint64_t{e[2]})) return;
    }
    return;
  }
  withWidth(widthShift_, [&]<class T>() {
    const unsigned char* p = counts_.data();
    for (std::uint32_t i = 0; i < span_; ++i, p += sizeof(T)) {
      const std::uint64_t c = load<T>(p);
      if (c != 0 && !f(base_ + i, c)) return;
    }
  });
}

void Histogram::merge(const Histogram& other) {
  if (!sameLayout(other)) throw std::invalid_argument("Histogram::merge: different layouts");
  if (other.total_ == 0) return;
  if (other.sparse_) {
    other.forEachCount([&](std::uint32_t index, std::uint64_t c) {
      const std::uint32_t offset = index - base_;
      if (offset < span_) {
        addAt(offset, c);
      } else {
        addOutside(index, c);
      }
      return true;
    });
    mergeTotals(other);
    return;
  }
  if (sparse_) toDense();
  cover(other.base_, other.base_ + other.span_ - 1);
  // No single count can exceed the sum of both totals: widen once for that, then add
  // without checks (the loop vectorises).
  widen(std::max(1u << shiftFor(total_ + other.total_), 1u << other.widthShift_));
  withWidth(widthShift_, [&]<class D>() {
    withWidth(other.widthShift_, [&]<class S>() {
      if constexpr (sizeof(S) <= sizeof(D)) {
        using DstCount [[gnu::may_alias]] = D;
        using SrcCount [[gnu::may_alias]] = const S;
        auto* __restrict dst = reinterpret_cast<DstCount*>(counts_.data()) + (other.base_ - base_);
        auto* __restrict src = reinterpret_cast<SrcCount*>(other.counts_.data());
        const std::uint32_t n = other.span_;
        for (std::uint32_t i = 0; i < n; ++i) dst[i] = static_cast<D>(dst[i] + src[i]);
      }
    });
  });
  mergeTotals(other);
}

void Histogram::mergeTotals(const Histogram& other) {
  if (total_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  total_ += other.total_;
  clamped_ += other.clamped_;
  sum_ += other.sum_;
}

void Histogram::reset() {
  if (sparse_) {
    counts_.clear();  // keeps its capacity
    sparseEntries_ = 0;
  } else if (total_ != 0) {
    std::fill(counts_.begin(), counts_.end(), 0);
  }
  total_ = clamped_ = 0;
  min_ = max_ = sum_ = 0;
}

std::int64_t Histogram::percentile(double q) const {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(q / 100.0 * static_cast<double>(total_) + 0.5));
  std::uint64_t seen = 0;
  std::int64_t found = max_;
  forEachCount([&](std::uint32_t index, std::uint64_t c) {
    seen += c;
    if (seen < rank) return true;
    found = std::clamp(highestEquivalent(index), min_, max_);
    return false;
  });
  return found;
}

Histogram::Parts Histogram::parts() const {
  Parts p;
  forEachCount([&](std::uint32_t index, std::uint64_t c) {
    p.counts.push_back(index);
    p.counts.push_back(c);
    return true;
  });
  p.clamped = clamped_;
  p.min = min();
  p.max = max();
  p.sum = sum_;
  return p;
}

std::optional<Histogram> Histogram::fromParts(const Parts& p) {
  Histogram h;
  if (p.counts.size() % 2 != 0) return std::nullopt;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < p.counts.size(); i += 2) {
    const std::uint64_t index = p.counts[i], count = p.counts[i + 1];
    if (index >= h.indexCount_ || count == 0 || (i > 0 && index <= p.counts[i - 2]) ||
        __builtin_add_overflow(total, count, &total)) {
      return std::nullopt;
    }
    const auto at = static_cast<std::uint32_t>(index);
    const std::uint32_t offset = at - h.base_;
    if (offset < h.span_) {
      h.addAt(offset, count);
    } else {
      h.addOutside(at, count);
    }
  }
  if (total == 0) {
    if (p.clamped || p.min || p.max || p.sum) return std::nullopt;
    return h;
  }
  if (p.min < 0 || p.min > p.max || p.max > h.highest_ || p.clamped > total) return std::nullopt;
  h.total_ = total;
  h.clamped_ = p.clamped;
  h.min_ = p.min;
  h.max_ = p.max;
  h.sum_ = p.sum;
  return h;
}

std::uint64_t Histogram::countAtOrBelow(std::int64_t value) const {
  if (total_ == 0 || value < min_) return 0;
  if (value >= max_) return total_;
  std::uint64_t seen = 0;
  forEachCount([&](std::uint32_t index, std::uint64_t c) {
    if (lowestEquivalent(index) > value) return false;
    seen += c;
    return true;
  });
  return seen;
}

}  // namespace loads
