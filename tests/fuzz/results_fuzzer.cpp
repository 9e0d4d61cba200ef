// libFuzzer harness: the master's results decoder. Every input is replayed by
// decodeResultsBatch into a real aggregating TestResult (AggregateResult), tagged with a
// source as the master's ResultsReceiver does, and the aggregate is then read
// (snapshot), so the statistics code meets every value the wire can carry.
// Seed corpus: tests/fuzz/corpus/results (written by generate_corpus).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proto/results.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  AggregateResult sink;
  auto batch = proto::decodeResultsBatch(bytes, sink, {}, [&](const proto::BatchInfo& info) {
    sink.setSource(static_cast<std::uint32_t>(info.agentId.size() % 4));
  });
  if (!batch) {
    if (batch.error() == proto::ErrorCode::kNone || batch.reason().empty()) {
      std::fprintf(stderr, "decodeResultsBatch failed without an error code and reason\n");
      std::abort();
    }
    return 0;
  }
  (void)sink.snapshot();
  return 0;
}
