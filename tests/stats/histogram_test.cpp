#include "stats/histogram.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using loads::Histogram;

namespace {

// The value at HdrHistogram's rank for q: max(1, round(q/100 * n)), 1-based.
std::int64_t exactPercentile(const std::vector<std::int64_t>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(q / 100.0 * n + 0.5));
  return sorted[rank - 1];
}

void checkAccuracy(std::vector<std::int64_t> values) {
  Histogram h;
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  REQUIRE(h.count() == values.size());
  CHECK(h.min() == values.front());
  CHECK(h.max() == values.back());
  for (double q : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
    const auto exact = exactPercentile(values, q);
    const auto got = h.percentile(q);
    INFO("q=" << q << " exact=" << exact << " got=" << got);
    CHECK(got >= exact);  // the highest equivalent value never under-reports
    CHECK(std::abs(static_cast<double>(got - exact)) <= 0.001 * static_cast<double>(exact));
  }
  double sum = 0;
  for (auto v : values) sum += static_cast<double>(v);
  CHECK(h.mean() == Approx(sum / static_cast<double>(values.size())).epsilon(1e-9));
}

}  // namespace

TEST_CASE("percentiles are within 0.1% of the exact ones for several distributions") {
  std::mt19937_64 rng(42);
  const int n = 200'000;
  std::vector<std::int64_t> values(n);

  SECTION("uniform 1 us .. 10 s") {
    std::uniform_int_distribution<std::int64_t> d(1, 10'000'000);
    for (auto& v : values) v = d(rng);
    checkAccuracy(values);
  }
  SECTION("log-normal around 20 ms with a long tail") {
    std::lognormal_distribution<double> d(std::log(20'000.0), 1.0);
    for (auto& v : values) v = static_cast<std::int64_t>(d(rng)) + 1;
    checkAccuracy(values);
  }
  SECTION("exponential, mostly sub-millisecond") {
    std::exponential_distribution<double> d(1.0 / 300.0);
    for (auto& v : values) v = static_cast<std::int64_t>(d(rng));
    checkAccuracy(values);
  }
  SECTION("bimodal: cache hits at 200 us, misses at 800 ms") {
    std::normal_distribution<double> fast(200, 20), slow(800'000, 50'000);
    std::bernoulli_distribution miss(0.05);
    for (auto& v : values)
      v = std::max<std::int64_t>(1, std::llround(miss(rng) ? slow(rng) : fast(rng)));
    checkAccuracy(values);
  }
}

TEST_CASE("merging histograms equals recording everything in one") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(std::log(5'000.0), 1.5);
  Histogram all, parts[4];
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<std::int64_t>(d(rng));
    all.record(v);
    parts[i % 4].record(v);
  }
  Histogram merged;
  for (const auto& p : parts) merged.merge(p);
  CHECK(merged.count() == all.count());
  CHECK(merged.min() == all.min());
  CHECK(merged.max() == all.max());
  CHECK(merged.mean() == Approx(all.mean()));
  for (double q = 0; q <= 100.0; q += 0.5) CHECK(merged.percentile(q) == all.percentile(q));
}

TEST_CASE("an empty histogram reports zeros") {
  Histogram h;
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0.0);
  CHECK(h.percentile(50) == 0);
  Histogram other;
  h.merge(other);
  CHECK(h.count() == 0);
}

TEST_CASE("one value is every percentile, exactly") {
  Histogram h;
  h.record(123'457);
  for (double q : {0.0, 50.0, 99.9, 100.0}) CHECK(h.percentile(q) == 123'457);
  CHECK(h.mean() == 123'457.0);
}

TEST_CASE("zero and negative values are recorded as 0") {
  Histogram h;
  h.record(0);
  h.record(-5);
  h.record(1);
  CHECK(h.count() == 3);
  CHECK(h.min() == 0);
  CHECK(h.percentile(50) == 0);
  CHECK(h.percentile(100) == 1);
}

TEST_CASE("values above the range clamp to the highest trackable and are counted") {
  Histogram h;
  h.record(5);
  h.record(Histogram::kDefaultHighest * 10, 2);
  h.record(INT64_MAX);
  CHECK(h.count() == 4);
  CHECK(h.clampedCount() == 3);
  CHECK(h.max() == Histogram::kDefaultHighest);
  CHECK(h.percentile(100) == Histogram::kDefaultHighest);
  CHECK(h.percentile(25) == 5);
  // one hour itself is within range, at 3 digits
  Histogram hour;
  hour.record(Histogram::kDefaultHighest - 1);
  CHECK(hour.clampedCount() == 0);
  CHECK(hour.percentile(50) == Histogram::kDefaultHighest - 1);
}

TEST_CASE("record with a count, reset, and layouts that do not match") {
  Histogram h;
  h.record(1000, 99);
  h.record(2000, 1);
  CHECK(h.count() == 100);
  CHECK(h.percentile(99) == 1000);
  CHECK(h.percentile(100) == 2000);
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.percentile(50) == 0);
  h.record(7);
  CHECK(h.percentile(50) == 7);

  Histogram coarse(1'000'000, 2);
  CHECK_THROWS_AS(h.merge(coarse), std::invalid_argument);
  CHECK_THROWS_AS(Histogram(1000, 0), std::invalid_argument);
}

TEST_CASE("values below 2048 are exact, larger ones within one part in 1024") {
  Histogram h;
  for (std::int64_t v = 0; v < 2048; ++v) {
    h.reset();
    h.record(v);
    h.record(v + 100'000'000);  // widens the range so clamping to max does not hide errors
    REQUIRE(h.percentile(50) == v);
  }
  for (std::int64_t v : {2048LL, 4097LL, 999'999LL, 123'456'789LL, 3'599'999'999LL}) {
    h.reset();
    h.record(v);
    h.record(0);
    CHECK(h.percentile(100) == v);  // clamped to the exact max
    h.record(Histogram::kDefaultHighest);
    const auto p = h.percentile(66);  // the bucket's highest equivalent value
    CHECK(p >= v);
    CHECK(p - v < v / 1024 + 1);
  }
}

namespace {

// What the full-range layout answers, computed from every value kept exactly: the rank's
// value rounded up to the end of its bucket (1 wide below 2048, 2^b wide above).
struct ReferenceHistogram {
  std::vector<std::int64_t> values;  // every recorded value, kept exactly
  // HdrHistogram's percentile: the highest value equivalent to the rank's bucket.
  std::int64_t percentile(double q) const {
    std::vector<std::int64_t> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const auto n = static_cast<double>(sorted.size());
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(q / 100.0 * n + 0.5));
    const std::int64_t v = sorted[rank - 1];
    // Highest equivalent of v's bucket: sub-buckets are 1 wide below 2048, then 2^b wide.
    std::int64_t width = 1;
    while ((std::int64_t{2048} * width) <= v) width <<= 1;
    const std::int64_t highestEquivalent = (v / width) * width + width - 1;
    return std::min(highestEquivalent, sorted.back());
  }
};

}  // namespace

TEST_CASE("compact and merged histograms give the percentiles of a full-range reference") {
  std::mt19937_64 rng(11);
  // Several shapes in one: counts that outgrow 1 and 2 bytes, windows that grow both ways.
  std::lognormal_distribution<double> web(std::log(3'000.0), 1.2);
  std::uniform_int_distribution<std::int64_t> wide(1, Histogram::kDefaultHighest);
  std::uniform_int_distribution<int> pick(0, 9);
  ReferenceHistogram reference;
  Histogram whole, parts[7];
  for (int i = 0; i < 300'000; ++i) {
    const std::int64_t v = pick(rng) == 0  ? wide(rng)
                           : pick(rng) < 5 ? 777  // one hot bucket: its count needs 4 bytes
                                           : static_cast<std::int64_t>(web(rng));
    reference.values.push_back(v);
    whole.record(v);
    parts[(i * 31 + i / 1000) % 7].record(v);
  }
  Histogram merged;
  for (int k : {3, 0, 6, 1, 5, 2, 4}) merged.merge(parts[k]);
  for (double q :
       {0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 66.6, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
    INFO("q=" << q);
    const std::int64_t expected = reference.percentile(q);
    CHECK(whole.percentile(q) == expected);
    CHECK(merged.percentile(q) == expected);
  }
  CHECK(merged.count() == reference.values.size());
  CHECK(merged.max() == *std::max_element(reference.values.begin(), reference.values.end()));
}

TEST_CASE("a histogram's memory grows with the buckets in use, not the range") {
  Histogram empty;
  CHECK(empty.memoryBytes() == sizeof(Histogram));
  Histogram one;
  one.record(12'345);
  CHECK(one.memoryBytes() <= sizeof(Histogram) + 64);
  Histogram thousand;  // 1,000 distinct latencies, 1.000 ms .. 1.999 ms, some repeated often
  for (int rep = 0; rep < 300; ++rep) {
    for (std::int64_t v = 1000; v < 2000; v += rep < 3 ? 1 : 97) thousand.record(v);
  }
  CHECK(thousand.memoryBytes() <= 4096);
  // 1,000 distinct values over nine decades, in random order: the sparse list.
  std::vector<std::int64_t> values;
  for (int i = 0; i < 1000; ++i)
    values.push_back(static_cast<std::int64_t>(std::exp(i * 0.0216)) + i);
  std::shuffle(values.begin(), values.end(), std::mt19937_64(5));
  Histogram spread;
  for (auto v : values) spread.record(v);
  CHECK(spread.count() == 1000);
  CHECK(spread.memoryBytes() <= 4096);
  Histogram full;  // the whole range costs at most what the old fixed layout did
  for (std::int64_t v = 1; v < Histogram::kDefaultHighest; v += v / 500 + 1) full.record(v);
  CHECK(full.memoryBytes() <= 23'552 * 8 + sizeof(Histogram));
  // reset keeps the window: refilling the same range does not grow it.
  const std::size_t before = thousand.memoryBytes();
  thousand.reset();
  for (std::int64_t v = 1000; v < 2000; ++v) thousand.record(v);
  CHECK(thousand.memoryBytes() == before);
  CHECK(thousand.count() == 1000);
}

TEST_CASE(
    "sparse histograms, merged into sparse and dense ones, give the reference's percentiles") {
  std::mt19937_64 rng(23);
  std::uniform_real_distribution<double> logValue(0, std::log(3.6e9));
  ReferenceHistogram reference;
  Histogram parts[5], dense;
  for (int i = 0; i < 1000; ++i) dense.record(5000 + i % 50);  // dense: a clustered start
  for (int i = 0; i < 1000; ++i) reference.values.push_back(5000 + i % 50);
  for (int i = 0; i < 300; ++i) {
    const auto v = static_cast<std::int64_t>(std::exp(logValue(rng)));
    parts[i % 5].record(v, 1 + i % 3);
    for (int k = 0; k < 1 + i % 3; ++k) reference.values.push_back(v);
  }
  Histogram sparse;
  for (const auto& p : parts) {
    sparse.merge(p);
    dense.merge(p);
  }
  sparse.merge(Histogram());  // an empty one changes nothing
  for (int i = 0; i < 1000; ++i) sparse.record(5000 + i % 50);
  for (double q : {0.0, 1.0, 10.0, 50.0, 75.0, 90.0, 99.0, 99.9, 100.0}) {
    INFO("q=" << q);
    CHECK(sparse.percentile(q) == reference.percentile(q));
    CHECK(dense.percentile(q) == reference.percentile(q));
  }
  CHECK(sparse.count() == reference.values.size());
}
