// Agent (agent/agent.cpp) against a scripted broker: a ROUTER socket in the test speaks
// PROTOCOL.md §5.2 to a real Agent in a thread. The slave is /bin/true, so a JOB ends at
// once with a JOB-ENDED; what matters here is what the agent says and when.
#include "agent/agent.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <thread>
#include <zmq.hpp>

#include "loads/version.hpp"
#include "proto/messages.hpp"

using namespace loads;
using namespace std::chrono_literals;

namespace {

// The broker's side of the conversation, with every receive bounded.
class ScriptedBroker {
 public:
  ScriptedBroker() {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }
  const std::string& endpoint() const { return endpoint_; }

  // The next message of type T from the agent (others, e.g. heartbeats, are skipped);
  // its routing id goes to `from`.
  template <typename T>
  std::optional<T> expect(std::string* from = nullptr, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 50ms);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t id, body;
      (void)socket_.recv(id);
      (void)socket_.recv(body);
      auto envelope = proto::decodeEnvelope(body.to_string());
      if (!envelope || envelope->type != T::kType) continue;
      if (from) *from = id.to_string();
      auto decoded = proto::decodeBody<T>(envelope.value());
      if (decoded) return decoded.value();
    }
    return std::nullopt;
  }
  template <typename T>
  void send(const std::string& to, const T& message) {
    socket_.send(zmq::buffer(to), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(proto::encode(message)));
  }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::router};
  std::string endpoint_;
};

struct RunningAgent {
  explicit RunningAgent(const std::string& broker)
      : cache(std::filesystem::temp_directory_path() /
              ("loads-agent-test-" + std::to_string(::getpid()))),
        agent([&] {
          agent::AgentOptions o;
          o.broker = broker;
          o.id = "agent-under-test";
          o.cacheDir = cache.string();
          o.heartbeat = 100ms;
          o.liveness = 3;
          o.slaveBinary = "/bin/true";
          return o;
        }()),
        thread([this] { agent.run(); }) {}
  ~RunningAgent() {
    agent.stop();
    thread.join();
    std::filesystem::remove_all(cache);
  }
  std::filesystem::path cache;
  agent::Agent agent;
  std::thread thread;
};

proto::Job jobFor(const std::string& runId) {
  proto::Job job;
  job.runId = runId;
  job.libraryName = "libnothing.so";
  job.library = proto::Bytes{'x'};
  job.librarySha256 = proto::sha256Hex(job.library);
  job.resultsEndpoint = "tcp://127.0.0.1:1";
  job.agentId = "agent-under-test";
  return job;
}

}  // namespace

TEST_CASE("a JOB-ENDED the broker may not have read is said again after a reconnect") {
  ScriptedBroker broker;
  RunningAgent running(broker.endpoint());
  std::string agentId;
  auto hello = broker.expect<proto::Hello>(&agentId);
  REQUIRE(hello);
  CHECK(hello->runId.empty());
  broker.send(agentId, proto::Welcome{100, 3, LOADS_VERSION});
  broker.send(agentId, jobFor("run-1"));
  auto ended = broker.expect<proto::JobEnded>();
  REQUIRE(ended);
  CHECK(ended->runId == "run-1");

  SECTION("the broker went silent right after it: the JOB-ENDED may be lost with the socket") {
    // Nothing more from the broker: the agent gives up on this connection and says HELLO
    // again, naming the run it still owes an ending for, and says JOB-ENDED once welcome.
    auto again = broker.expect<proto::Hello>(&agentId);
    REQUIRE(again);
    CHECK(again->runId == "run-1");
    broker.send(agentId, proto::Welcome{100, 3, LOADS_VERSION});
    auto resent = broker.expect<proto::JobEnded>();
    REQUIRE(resent);
    CHECK(resent->runId == "run-1");
  }
  SECTION("the broker spoke after it: the JOB-ENDED was read, a reconnect owes nothing") {
    broker.send(agentId, proto::Heartbeat{});
    auto again = broker.expect<proto::Hello>(&agentId);
    REQUIRE(again);
    CHECK(again->runId.empty());
  }
}
