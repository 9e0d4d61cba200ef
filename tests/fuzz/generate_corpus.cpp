// Writes the fuzzers' seed corpus from real encoded messages:
//   generate_corpus DIR  →  DIR/messages/<TYPE>  (one envelope per LOADS message type)
//                           DIR/results/<name>   (RESULTS and STOP-TEST-RUN batches)
// The values are those a real run sends, so the fuzzers start deep inside the decoders.
// tests/fuzz/corpus is this program's output, committed; rerun it after a wire change.
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "all_messages.hpp"
#include "proto/results.hpp"

using namespace loads;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

proto::JobOptions jobOptions() {
  proto::JobOptions o;
  o.tests = "Blog.test_read";
  o.users = 20;
  o.durationMs = 30000;
  o.serverUrl = "http://127.0.0.1:8080";
  o.threads = 2;
  o.args = {"--think", "100ms"};
  o.rateStages = "10000:50,20000:100";
  o.rateStart = 5.5;
  o.maxUsers = 200;
  o.startAtUs = 1700000000000000;
  return o;
}

const std::string kLibrary =
    "\x7f"
    "ELF fake test library bytes";

// The fields RUN and JOB share: the library, the job's options, the results endpoint.
template <class T>
void withJob(T& m) {
  m.libraryName = "libblog.so";
  m.library.assign(kLibrary.begin(), kLibrary.end());
  m.librarySha256 = proto::sha256Hex(m.library);
  m.options = jobOptions();
  m.resultsEndpoint = "tcp://10.0.0.5:7790";
}

// A filled-in value of every message type, as peers really send them.
template <class T>
T sample() {
  T m;
  if constexpr (std::is_same_v<T, proto::Run>) {
    m.agents = 3;
    m.waitAgentsMs = 5000;
    withJob(m);
    m.masterHost = "qa-laptop";
  } else if constexpr (std::is_same_v<T, proto::RunAccepted>) {
    m.runId = "run-1";
    m.agents = {{"agent-a", "host-a", 0}, {"agent-b", "host-b", 1}};
  } else if constexpr (std::is_same_v<T, proto::RunRefused>) {
    m = {503, "2 agents wanted, 1 idle", 2, 1, 4};
  } else if constexpr (std::is_same_v<T, proto::AgentDone>) {
    m = {"run-1", "agent-a", "host-a", -1, 11, "killed by SIGSEGV"};
  } else if constexpr (std::is_same_v<T, proto::AgentLost>) {
    m = {"run-1", "agent-b", "host-b", "no heartbeat for 5000 ms"};
  } else if constexpr (std::is_same_v<T, proto::Stop>) {
    m.runId = "run-1";
  } else if constexpr (std::is_same_v<T, proto::Stopped>) {
    m = {"run-1", 2};
  } else if constexpr (std::is_same_v<T, proto::Purged>) {
    m.runs = 1;
  } else if constexpr (std::is_same_v<T, proto::Pong>) {
    m.pid = 4242;
    m.version = "0.1.0";
    m.uptimeMs = 86400000;
    m.agents = {{"agent-a", "host-a", 8, "busy", "run-1", 250, "0.1.0"},
                {"agent-b", "host-b", 4, "idle", "", 900, "0.1.0"}};
    m.runs = {{"run-1", "running", 1, {"agent-a"}, 1200, "qa-laptop", "libblog.so", 0}};
  } else if constexpr (std::is_same_v<T, proto::Disconnect>) {
    m.reason = "shutting down";
  } else if constexpr (std::is_same_v<T, proto::Error>) {
    m = {static_cast<std::uint16_t>(proto::ErrorCode::kVersionMismatch), "protocol 2, this is 1"};
  } else if constexpr (std::is_same_v<T, proto::Hello>) {
    m = {"host-a-17", "host-a", 8, "0.1.0", {std::string(64, 'a')}, "", 17};
  } else if constexpr (std::is_same_v<T, proto::Welcome>) {
    m = {1000, 5, "0.1.0"};
  } else if constexpr (std::is_same_v<T, proto::Job>) {
    m.runId = "run-1";
    m.index = 1;
    m.count = 3;
    withJob(m);
    m.agentId = "host-a-17";
  } else if constexpr (std::is_same_v<T, proto::NeedLibrary>) {
    m = {"run-1", std::string(64, 'b')};
  } else if constexpr (std::is_same_v<T, proto::JobEnded>) {
    m = {"run-1", 1, 0, ""};
  }
  return m;
}

// One of every TestResult call, as a slave runner reports a hit.
void everyCall(TestResult& r) {
  const LoadsStatus s{100, 20, 7, 3};
  r.startTestRun();
  r.startTest("Blog.test_read", s);
  r.addHit({"GET /posts", "http://127.0.0.1:8080/posts?page=2", "GET", 200, ErrorKind::kNone,
            1700000000000000, 1234, 5678, 1700000000000000 - 40},
           s);
  r.addHit({"POST /login", "http://127.0.0.1:8080/login", "POST", 0, ErrorKind::kTimeout,
            1700000000001000, 5000000, 0},
           s);
  r.incrCounter("Blog.test_read", "posts-read", 3, s);
  r.socketOpen("ws://127.0.0.1:8080/ws", s);
  r.socketMessage("ws://127.0.0.1:8080/ws", Direction::kSent, 12, s);
  r.socketMessage("ws://127.0.0.1:8080/ws", Direction::kReceived, 99, s);
  r.socketClose("ws://127.0.0.1:8080/ws", {1000, "bye", true}, s);
  r.addFailure("Blog.test_read", {"AssertionError", "r.status == 200 (404)", "blog.cpp", 42}, s);
  r.addError("Blog.test_read", {"std::runtime_error", "boom", "", 0}, s);
  r.addSkip("Blog.test_read", "not today", s);
  r.addCancelled("Blog.test_read", s);
  r.addDropped("Blog.test_read", 1700000000002000, s);
  r.addSuccess("Blog.test_read", s);
  r.stopTest("Blog.test_read", std::chrono::microseconds(1500), s);
  r.stopTestRun();
}

void writeResults(const fs::path& dir) {
  proto::ResultsEncoder encoder("run-1", "host-a-17");
  proto::EventBuffer events;
  everyCall(events);
  write(dir / "every-call", encoder.batch(events));
  for (int i = 0; i < 50; ++i) {
    events.startTest("Blog.test_home", {0, 50, std::uint64_t(i + 1), std::uint32_t(i % 50 + 1)});
    events.addHit({"GET /", "http://127.0.0.1:8080/", "GET", i % 10 ? 200 : 503, ErrorKind::kNone,
                   1700000000000000 + i * 20000, 800 + i * 37, 1024},
                  {0, 50, std::uint64_t(i + 1), std::uint32_t(i % 50 + 1)});
    events.stopTest("Blog.test_home", std::chrono::microseconds(900 + i * 37),
                    {0, 50, std::uint64_t(i + 1), std::uint32_t(i % 50 + 1)});
  }
  write(dir / "fifty-hits", encoder.batch(events));
  // Values at the edges of their types (the times are out of range: skipped).
  const LoadsStatus edge{UINT64_MAX, UINT32_MAX, UINT64_MAX, UINT32_MAX};
  events.addHit({"GET /", "http://127.0.0.1:8080/", "GET", INT32_MIN, ErrorKind::kOther,
                 INT64_MAX - 5, 100, UINT64_MAX, INT64_MIN},
                edge);
  events.incrCounter("Blog.test_read", "posts-read", INT64_MAX, edge);
  events.incrCounter("Blog.test_read", "posts-read", INT64_MAX, edge);
  events.stopTest("Blog.test_read", std::chrono::microseconds(-1), edge);
  write(dir / "edges", encoder.batch(events));
  events.addSuccess("Blog.test_home", {1, 1, 1, 1});
  write(dir / "final", encoder.finalBatch(events));
  proto::ResultsEncoder empty("run-2", "host-b-9");
  write(dir / "final-empty", empty.finalBatch(events));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: generate_corpus DIR\n");
    return 2;
  }
  const fs::path root = argv[1];
  fs::create_directories(root / "messages");
  fs::create_directories(root / "results");
  fuzz::forEachMessageType([&](auto message) {
    using T = decltype(message);
    write(root / "messages" / std::string(proto::messageTypeName(T::kType)),
          proto::encode(sample<T>()));
  });
  writeResults(root / "results");
  return 0;
}
