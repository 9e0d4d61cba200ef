// PROTOCOL.md appendix A: every example message decodes with proto/ and re-encodes to
// the same bytes, so the spec's examples and the code cannot drift apart.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "proto/messages.hpp"
#include "proto/results.hpp"
#include "proto/summary.hpp"

using namespace loads;
using namespace loads::proto;

namespace {

struct Example {
  std::string title;  // "A.3 HELLO"
  std::string bytes;
};

std::string fromHex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// The "#### A.n TYPE" headings of appendix A and the ```hex block under each.
std::vector<Example> appendixExamples() {
  std::ifstream in(std::string(LOADS_SOURCE_DIR) + "/proto/PROTOCOL.md");
  std::vector<Example> examples;
  bool inAppendix = false, inHex = false;
  std::string hex;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## Appendix A", 0) == 0) inAppendix = true;
    if (!inAppendix) continue;
    if (line.rfind("#### A.", 0) == 0) examples.push_back({line.substr(5), ""});
    if (line == "```hex") {
      inHex = true;
      hex.clear();
    } else if (inHex && line == "```") {
      inHex = false;
      REQUIRE(!examples.empty());
      examples.back().bytes = fromHex(hex);
    } else if (inHex) {
      hex += line;
    }
  }
  return examples;
}

template <class T>
std::string reencode(const std::string& bytes) {
  auto decoded = decode<T>(bytes);
  INFO(decoded.reason());
  REQUIRE(decoded.ok());
  return encode(decoded.value());
}

// Replays a results message into an EventBuffer, keeping run times as sent.
void replay(const std::string& bytes, EventBuffer& events) {
  auto batch = decodeResultsBatch(bytes, events, {}, nullptr, [&](EventKind kind, std::int64_t at) {
    if (kind == EventKind::kStartTestRun) {
      events.startTestRunAt(at);
    } else {
      events.stopTestRunAt(at);
    }
  });
  REQUIRE(batch.ok());
  CHECK(batch->skipped == 0);
}

}  // namespace

TEST_CASE("every example of PROTOCOL.md appendix A decodes and re-encodes byte for byte",
          "[proto]") {
  const auto examples = appendixExamples();
  REQUIRE(examples.size() >= 12);
  std::string results;  // RESULTS is re-encoded with the STOP-TEST-RUN that follows it
  for (const auto& example : examples) {
    INFO(example.title);
    REQUIRE(!example.bytes.empty());
    auto envelope = decodeEnvelope(example.bytes);
    REQUIRE(envelope.ok());
    std::string again;
    switch (envelope->type) {
      case MessageType::kHeartbeat:
        again = reencode<Heartbeat>(example.bytes);
        break;
      case MessageType::kError:
        again = reencode<Error>(example.bytes);
        break;
      case MessageType::kHello:
        again = reencode<Hello>(example.bytes);
        break;
      case MessageType::kWelcome:
        again = reencode<Welcome>(example.bytes);
        break;
      case MessageType::kRun:
        again = reencode<Run>(example.bytes);
        break;
      case MessageType::kRunAccepted:
        again = reencode<RunAccepted>(example.bytes);
        break;
      case MessageType::kJob:
        again = reencode<Job>(example.bytes);
        break;
      case MessageType::kJobEnded:
        again = reencode<JobEnded>(example.bytes);
        break;
      case MessageType::kAgentDone:
        again = reencode<AgentDone>(example.bytes);
        break;
      case MessageType::kResults:
        results = example.bytes;
        continue;
      case MessageType::kStopTestRun: {
        REQUIRE(!results.empty());
        EventBuffer first, last;
        replay(results, first);
        replay(example.bytes, last);
        ResultsEncoder encoder("r1", "a2");
        CHECK(encoder.batch(first) == results);
        again = encoder.finalBatch(last);
        break;
      }
      case MessageType::kSummary: {
        auto batch = decodeSummaryBatch(example.bytes);
        INFO(batch.reason());
        REQUIRE(batch.ok());
        ResultsEncoder encoder(batch->info.runId, batch->info.agentId);
        again = encodeSummary(encoder, batch->summary);
        break;
      }
      default:
        FAIL("no re-encoding for " << envelope->typeName);
    }
    CHECK(again == example.bytes);
  }
}
