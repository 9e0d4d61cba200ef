// Histogram cost: record and merge ns/op, and heap bytes per histogram by distinct values.
//   loads-histogram-bench [mode=all] [ops=20000000]
// mode: all | record | merge | memory. Under `valgrind --tool=callgrind` (instruction
// counts do not depend on the machine's load), run a mode at two op counts: the
// difference over the added ops is instructions per op, set-up excluded
// (bench/histogram.sh does). Latencies are log-normal around 2 ms (a web service's shape).
#include <malloc.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "stats/histogram.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::int64_t> latencies(std::size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(2000.0), 0.6);
  std::vector<std::int64_t> out(n);
  for (auto& v : out) v = static_cast<std::int64_t>(d(rng));
  return out;
}

double nsPerOp(Clock::time_point start, std::uint64_t ops) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / ops;
}

// Records `ops` values cycling over 64Ki pre-drawn latencies into one histogram.
void benchRecord(std::uint64_t ops) {
  const auto values = latencies(1 << 16, 1);
  loads::Histogram h;
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < ops; ++i) h.record(values[i & ((1 << 16) - 1)]);
  const double ns = nsPerOp(start, ops);
  std::printf("record: %.2f ns/op (%llu ops, p99 %lld us)\n", ns,
              static_cast<unsigned long long>(ops), static_cast<long long>(h.percentile(99)));
}

// Merges histograms of 1,000 latencies each (a second of one request name) into one.
void benchMerge(std::uint64_t ops) {
  std::vector<loads::Histogram> parts(64);
  const auto values = latencies(64 * 1000, 2);
  for (std::size_t i = 0; i < values.size(); ++i) parts[i % parts.size()].record(values[i]);
  loads::Histogram total;
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < ops; ++i) total.merge(parts[i % parts.size()]);
  const double ns = nsPerOp(start, ops);
  std::printf("merge: %.1f ns/op (%llu ops, count %llu)\n", ns,
              static_cast<unsigned long long>(ops), static_cast<unsigned long long>(total.count()));
}

std::size_t heapInUse() { return mallinfo2().uordblks; }

// Heap bytes of one histogram holding `distinct` distinct values, each recorded once;
// "spread" draws them from 1 us .. 1 h log-uniformly, "clustered" takes 1000, 1001, ...
void benchMemory(std::size_t distinct, bool spread) {
  constexpr int kCopies = 100;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> logValue(0, std::log(3.6e9));
  const std::size_t before = heapInUse();
  auto hs = std::make_unique<loads::Histogram[]>(kCopies);
  for (int c = 0; c < kCopies; ++c) {
    for (std::size_t i = 0; i < distinct; ++i) {
      hs[c].record(spread ? static_cast<std::int64_t>(std::exp(logValue(rng)))
                          : static_cast<std::int64_t>(1000 + i));
    }
  }
  const std::size_t bytes = (heapInUse() - before) / kCopies + sizeof(loads::Histogram);
  std::printf("memory: %zu distinct values (%s): %zu bytes per histogram\n", distinct,
              spread ? "spread 1 us..1 h" : "clustered", bytes);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "all";
  const std::uint64_t ops = argc > 2 ? std::stoull(argv[2]) : 20'000'000;
  if (mode == "all" || mode == "record") benchRecord(ops);
  if (mode == "all" || mode == "merge") benchMerge(ops / 100);
  if (mode == "all" || mode == "memory") {
    for (std::size_t n : {1, 100, 1000, 10000}) {
      benchMemory(n, false);
      benchMemory(n, true);
    }
  }
  return 0;
}
