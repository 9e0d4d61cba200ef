// AggregateResult::addHit cost, the master's and local mode's hot path: 100 request
// names round-robin, log-normal latencies, one thread.
//   loads-aggregate-bench [hits=2000000]
// bench/histogram.sh builds it against the working tree and against an older revision
// and reports callgrind instructions per hit for both.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "stats/aggregate_result.hpp"

int main(int argc, char** argv) {
  const std::uint64_t hits = argc > 1 ? std::stoull(argv[1]) : 2'000'000;
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("GET /api/item/" + std::to_string(i));
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> d(std::log(2000.0), 0.6);
  std::vector<std::int64_t> latencies(1 << 16);
  for (auto& v : latencies) v = static_cast<std::int64_t>(d(rng));
  loads::AggregateResult result;
  loads::LoadsStatus status;
  status.users = 10;
  loads::Hit hit;
  hit.method = "GET";
  hit.url = "http://127.0.0.1/api/item";
  hit.status = 200;
  hit.bytes = 55;
  const std::int64_t t0 = 1'700'000'000'000'000;
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < hits; ++i) {
    hit.name = names[i % names.size()];
    hit.elapsedUs = latencies[i & 0xffff];
    hit.startedUs = t0 + static_cast<std::int64_t>(i) * 20;  // 50,000 hits a second
    result.addHit(hit, status);
  }
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  std::printf("addHit: %.1f ns/op (%llu hits, %zu names)\n", ns / hits,
              static_cast<unsigned long long>(hits), result.snapshot().requests.size());
}
