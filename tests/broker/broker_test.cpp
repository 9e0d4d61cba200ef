// An in-process Broker on loopback, driven by fake agents and a fake master.
#include "broker/broker.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <random>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "proto/messages.hpp"
#include "security/curve.hpp"

using namespace loads;
using namespace loads::broker;
using namespace std::chrono_literals;
using proto::MessageType;

namespace {

// A DEALER playing a master or an agent.
class Peer {
 public:
  // With `key`, a CURVE client that expects the server's public key `serverKey`.
  Peer(zmq::context_t& context, const std::string& endpoint, const security::KeyPair& key = {},
       const std::string& serverKey = "")
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    if (!key.empty()) security::makeCurveClient(socket_, key, serverKey);
    socket_.connect(endpoint);
  }
  template <class T>
  void send(const T& message) {
    sendRaw(proto::encode(message));
  }
  void sendRaw(const std::string& bytes) {
    socket_.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
  void sendFrames(const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      socket_.send(zmq::buffer(frames[i]),
                   i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  // The next message that is not a HEARTBEAT, or nothing within `timeout`.
  std::optional<proto::Envelope> next(std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 20ms);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t message;
      (void)socket_.recv(message);
      auto envelope = proto::decodeEnvelope({message.data<char>(), message.size()});
      REQUIRE(envelope.ok());
      if (envelope->type != MessageType::kHeartbeat) return std::move(envelope.value());
    }
    return std::nullopt;
  }
  template <class T>
  T expect(std::chrono::milliseconds timeout = 3000ms) {
    auto envelope = next(timeout);
    REQUIRE(envelope);
    INFO("got " << envelope->typeName);
    if (envelope->type == MessageType::kError) {
      INFO("error: " << proto::decodeBody<proto::Error>(*envelope)->text);
      REQUIRE(envelope->type == T::kType);
    }
    REQUIRE(envelope->type == T::kType);
    auto body = proto::decodeBody<T>(*envelope);
    REQUIRE(body.ok());
    return body.value();
  }

 private:
  zmq::socket_t socket_;
};

BrokerOptions testOptions(Duration heartbeat = 100ms, std::uint32_t liveness = 30) {
  BrokerOptions options;
  options.frontend = "tcp://127.0.0.1:*";
  options.backend = "tcp://127.0.0.1:*";
  options.heartbeatInterval = heartbeat;
  options.liveness = liveness;
  options.maxMessageSize = 64 * 1024;
  return options;
}

proto::Run runRequest(std::uint32_t agents, std::uint32_t waitMs = 0) {
  proto::Run run;
  run.agents = agents;
  run.waitAgentsMs = waitMs;
  run.libraryName = "libtest.so";
  run.library = proto::Bytes{'E', 'L', 'F', '!'};
  run.librarySha256 = proto::sha256Hex(run.library);
  run.options.users = 10;
  run.options.hits = 5;
  run.resultsEndpoint = "tcp://127.0.0.1:5555";
  run.masterHost = "laptop";
  return run;
}

// A fake agent that has said HELLO and got WELCOME.
std::unique_ptr<Peer> agent(zmq::context_t& context, Broker& broker, const std::string& id,
                            const std::string& host) {
  auto peer = std::make_unique<Peer>(context, broker.backendEndpoint());
  proto::Hello hello;
  hello.agentId = id;
  hello.host = host;
  hello.cores = 2;
  hello.version = "test";
  peer->send(hello);
  peer->expect<proto::Welcome>();
  return peer;
}

proto::Pong ping(zmq::context_t& context, Broker& broker) {
  Peer control(context, broker.frontendEndpoint());
  control.send(proto::Ping{});
  return control.expect<proto::Pong>();
}

// PING until `done` holds, bounded: a message sent on another socket may not have been
// handled yet when the PING is. `between` runs between two PINGs (e.g. to stay alive).
template <class Done>
proto::Pong pingUntil(
    zmq::context_t& context, Broker& broker, Done done,
    const std::function<void()>& between = [] { std::this_thread::sleep_for(20ms); }) {
  auto pong = ping(context, broker);
  for (int i = 0; i < 100 && !done(pong); ++i) {
    between();
    pong = ping(context, broker);
  }
  return pong;
}

}  // namespace

TEST_CASE("a run goes from RUN to the last AGENT-DONE", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  auto a2 = agent(context, broker, "a2", "h2");
  Peer master(context, broker.frontendEndpoint());
  master.send(runRequest(2));
  auto accepted = master.expect<proto::RunAccepted>();
  REQUIRE(accepted.agents.size() == 2);
  auto job1 = a1->expect<proto::Job>();
  auto job2 = a2->expect<proto::Job>();
  CHECK(job1.runId == accepted.runId);
  CHECK(job1.library == runRequest(2).library);
  CHECK(job1.resultsEndpoint == "tcp://127.0.0.1:5555");
  CHECK(job1.count == 2);
  CHECK(job1.index + job2.index == 1);
  CHECK(job1.agentId == "a1");

  auto pong = ping(context, broker);
  REQUIRE(pong.runs.size() == 1);
  CHECK(pong.runs[0].state == "running");
  CHECK(pong.agents.at(0).state == "busy");

  a1->send(proto::JobEnded{accepted.runId, 0, 0, ""});
  a2->send(proto::JobEnded{accepted.runId, -1, 11, "killed by SIGSEGV"});
  auto done1 = master.expect<proto::AgentDone>();
  auto done2 = master.expect<proto::AgentDone>();
  CHECK(done1.agentId == "a1");
  CHECK(done2.agentId == "a2");
  CHECK(done2.signal == 11);

  pong = ping(context, broker);
  CHECK(pong.runs.empty());
  CHECK(pong.agents.at(0).state == "idle");
  CHECK(pong.agents.at(1).state == "idle");

  SECTION("a second run does not ship a library the agent already has") {
    master.send(runRequest(1));
    master.expect<proto::RunAccepted>();
    auto job = a1->next(500ms);
    if (!job) job = a2->next();
    REQUIRE(job);
    CHECK(proto::decodeBody<proto::Job>(*job)->library.empty());
  }
}

TEST_CASE("too few idle agents: the master is told how many there are", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  Peer master(context, broker.frontendEndpoint());
  master.send(runRequest(3));
  auto refused = master.expect<proto::RunRefused>();
  CHECK(refused.code == 503);
  CHECK(refused.text == "asked for 3 agents, 1 are idle (1 registered)");
  CHECK(refused.idle == 1);
  CHECK(ping(context, broker).runs.empty());
  CHECK_FALSE(a1->next(200ms));  // no JOB went out
}

TEST_CASE("a run may wait for agents to register", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  Peer master(context, broker.frontendEndpoint());
  master.send(runRequest(2, 5000));
  CHECK_FALSE(master.next(300ms));
  auto pong = pingUntil(context, broker, [](const proto::Pong& p) { return !p.runs.empty(); });
  REQUIRE(pong.runs.size() == 1);
  CHECK(pong.runs[0].state == "waiting");
  auto a2 = agent(context, broker, "a2", "h2");
  CHECK(master.expect<proto::RunAccepted>().agents.size() == 2);

  SECTION("and is refused when the wait expires") {
    Peer other(context, broker.frontendEndpoint());
    other.send(runRequest(1, 300));
    auto refused = other.expect<proto::RunRefused>();
    CHECK_THAT(refused.text, Catch::Contains("after waiting 300 ms"));
  }
}

// Issue 12: HELLO's strings are kept per agent and copied into every PONG, its library
// list was kept unchecked; each cap answers with an ERROR that names it.
TEST_CASE("a HELLO past a cap is refused with an ERROR that names the cap", "[broker]") {
  zmq::context_t context;
  auto options = testOptions();
  options.maxMessageSize = 1 << 20;  // 1,025 sha256s take 67 KB
  Broker broker(options);
  broker.start();
  const auto refusal = [&](const std::function<void(proto::Hello&)>& change) {
    Peer peer(context, broker.backendEndpoint());
    proto::Hello hello;
    hello.agentId = "a1";
    hello.host = "h1";
    change(hello);
    peer.send(hello);
    return peer.expect<proto::Error>();
  };
  auto error = refusal(
      [](auto& h) { h.libraries.assign(proto::kMaxHelloLibraries + 1, std::string(64, 'a')); });
  CHECK(error.code == 413);
  CHECK_THAT(error.text, Catch::Contains("cap on libraries per HELLO is 1024"));
  error = refusal([](auto& h) { h.libraries = {std::string(64, 'a'), "../../etc/passwd"}; });
  CHECK(error.code == 400);
  CHECK_THAT(error.text, Catch::Contains("not a sha256"));
  for (const auto& [field, name] : std::vector<std::pair<std::string proto::Hello::*, std::string>>{
           {&proto::Hello::agentId, "agent id"},
           {&proto::Hello::host, "host"},
           {&proto::Hello::version, "version"},
           {&proto::Hello::runId, "run id"}}) {
    error = refusal(
        [field = field](auto& h) { h.*field = std::string(proto::kMaxHelloString + 1, 'x'); });
    CHECK(error.code == 413);
    CHECK_THAT(error.text, Catch::Contains("HELLO with a " + name + " of 257 bytes") &&
                               Catch::Contains("cap on HELLO strings is 256 bytes"));
  }
  CHECK(ping(context, broker).agents.empty());
  // At the caps, it registers.
  Peer peer(context, broker.backendEndpoint());
  proto::Hello hello;
  hello.agentId = std::string(proto::kMaxHelloString, 'a');
  hello.host = std::string(proto::kMaxHelloString, 'h');
  hello.libraries.assign(proto::kMaxHelloLibraries, std::string(64, 'f'));
  peer.send(hello);
  peer.expect<proto::Welcome>();
}

TEST_CASE("runs waiting for agents are capped and the one past the cap is told why", "[broker]") {
  zmq::context_t context;
  auto options = testOptions();
  options.maxWaitingRuns = 2;
  Broker broker(options);
  broker.start();
  std::vector<std::unique_ptr<Peer>> masters;
  for (std::size_t i = 1; i <= 2; ++i) {  // one after the other: the first is the oldest
    masters.push_back(std::make_unique<Peer>(context, broker.frontendEndpoint()));
    masters.back()->send(runRequest(1, 10000));
    pingUntil(context, broker, [i](const proto::Pong& p) { return p.runs.size() == i; });
  }
  Peer third(context, broker.frontendEndpoint());
  third.send(runRequest(1, 10000));
  auto refused = third.expect<proto::RunRefused>();
  CHECK(refused.code == 503);
  CHECK_THAT(refused.text,
             Catch::Contains("2 runs waiting for agents, its cap (--max-waiting-runs)"));
  // The waiting ones still start when an agent comes.
  auto a1 = agent(context, broker, "a1", "h1");
  CHECK(masters[0]->expect<proto::RunAccepted>().agents.size() == 1);
}

TEST_CASE("a run asking for 10000 agents does not hold up the runs behind it", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  auto a2 = agent(context, broker, "a2", "h2");
  Peer first(context, broker.frontendEndpoint());
  first.send(runRequest(1));
  const std::string firstRun = first.expect<proto::RunAccepted>().runId;
  auto& busy = a1->next(1000ms) ? a1 : a2;  // the one that got the JOB
  Peer huge(context, broker.frontendEndpoint());
  huge.send(runRequest(proto::kMaxAgentsPerRun, 10000));
  pingUntil(context, broker, [](const proto::Pong& p) { return p.runs.size() == 2; });
  Peer small(context, broker.frontendEndpoint());
  small.send(runRequest(2, 10000));  // one agent is idle: it waits, behind the huge one
  pingUntil(context, broker, [](const proto::Pong& p) { return p.runs.size() == 3; });
  busy->send(proto::JobEnded{firstRun, 0, 0, ""});
  CHECK(small.expect<proto::RunAccepted>().agents.size() == 2);
  CHECK_FALSE(huge.next(200ms));  // still waiting, until its own deadline
}

TEST_CASE("a silent agent is lost and its master told at once", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions(50ms, 4));
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  auto a2 = agent(context, broker, "a2", "h2");
  Peer master(context, broker.frontendEndpoint());
  master.send(runRequest(2));
  master.expect<proto::RunAccepted>();
  std::optional<proto::Envelope> lost;
  for (int i = 0; i < 100 && !lost; ++i) {  // a1 and the master keep heartbeating
    a1->send(proto::Heartbeat{});
    master.send(proto::Heartbeat{});
    lost = master.next(20ms);
  }
  REQUIRE(lost);
  REQUIRE(lost->type == MessageType::kAgentLost);
  auto body = proto::decodeBody<proto::AgentLost>(*lost);
  CHECK(body->agentId == "a2");
  CHECK_THAT(body->reason, Catch::Contains("no heartbeat"));
  CHECK(broker.stats().agentsLost == 1);
  // The lost agent speaks again: it is told to register anew.
  a2->expect<proto::Job>();  // sent before it went silent
  a2->send(proto::Heartbeat{});
  auto error = a2->expect<proto::Error>();
  CHECK(error.code == 407);
}

TEST_CASE("a master that vanishes gets its run stopped on its agents", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions(50ms, 4));
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  auto master = std::make_unique<Peer>(context, broker.frontendEndpoint());
  master->send(runRequest(1));
  auto accepted = master->expect<proto::RunAccepted>();
  master.reset();  // silent from now on
  std::optional<proto::Envelope> stop;
  for (int i = 0; i < 100 && !stop; ++i) {
    a1->send(proto::Heartbeat{});
    stop = a1->next(20ms);
    if (stop && stop->type == MessageType::kJob) stop.reset();
  }
  REQUIRE(stop);
  CHECK(stop->type == MessageType::kStop);
  CHECK(proto::decodeBody<proto::Stop>(*stop)->runId == accepted.runId);
  a1->send(proto::JobEnded{accepted.runId, -1, 15, "stopped"});
  // The run is gone as soon as the broker gives up on its master; the agent stays busy
  // until its JOB-ENDED, which arrives on the backend while PING comes on the frontend.
  auto pong = pingUntil(
      context, broker,
      [](const proto::Pong& p) { return !p.agents.empty() && p.agents[0].state == "idle"; },
      [&] {
        a1->send(proto::Heartbeat{});
        a1->next(20ms);
      });
  CHECK(pong.runs.empty());
  CHECK(pong.agents.at(0).state == "idle");
}

TEST_CASE("STOP reaches the run's agents and each ends with AGENT-DONE", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  Peer master(context, broker.frontendEndpoint());
  master.send(runRequest(1));
  auto accepted = master.expect<proto::RunAccepted>();
  a1->expect<proto::Job>();
  Peer control(context, broker.frontendEndpoint());
  control.send(proto::Stop{accepted.runId});
  CHECK(control.expect<proto::Stopped>().agents == 1);
  CHECK(a1->expect<proto::Stop>().runId == accepted.runId);
  a1->send(proto::JobEnded{accepted.runId, -1, 15, "stopped"});
  CHECK(master.expect<proto::AgentDone>().reason == "stopped");
  control.send(proto::Stop{"no-such-run"});
  CHECK(control.expect<proto::Error>().code == 404);
}

TEST_CASE("messages out of place get ERROR 405 or 407", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  Peer master(context, broker.frontendEndpoint());
  master.send(proto::JobEnded{"r", 0, 0, ""});
  CHECK(master.expect<proto::Error>().code == 405);
  Peer stranger(context, broker.backendEndpoint());
  stranger.send(proto::Heartbeat{});
  CHECK(stranger.expect<proto::Error>().code == 407);
  auto a1 = agent(context, broker, "a1", "h1");
  a1->send(proto::JobEnded{"r", 0, 0, ""});  // idle agents have no job to end
  CHECK(a1->expect<proto::Error>().code == 405);
  master.send(runRequest(1));
  master.expect<proto::RunAccepted>();
  master.send(runRequest(1));
  CHECK(master.expect<proto::Error>().code == 405);
}

TEST_CASE("malformed frames on both sockets are counted and dropped, the broker keeps serving",
          "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  std::mt19937 random(99);
  for (const std::string& endpoint : {broker.frontendEndpoint(), broker.backendEndpoint()}) {
    Peer peer(context, endpoint);
    for (int i = 0; i < 50; ++i) {
      std::string noise(random() % 200 + 1, '\0');
      for (char& c : noise) c = static_cast<char>(random());
      peer.sendRaw(noise);
    }
    const std::string run = proto::encode(runRequest(1));
    peer.sendRaw(run.substr(0, run.size() / 2));          // truncated
    peer.sendFrames({"", proto::encode(proto::Ping{})});  // REQ-style delimiter
    peer.sendRaw(std::string(100 * 1024, '\x90'));        // over the 64 KiB limit
    msgpack::sbuffer wrongVersion;
    msgpack::pack(wrongVersion, std::make_tuple("LOADS", 7, "PING", std::make_tuple()));
    peer.sendRaw({wrongVersion.data(), wrongVersion.size()});
    auto error = peer.expect<proto::Error>();
    CHECK(error.code == 426);
    CHECK_THAT(error.text, Catch::Contains("version 7"));
    msgpack::sbuffer unknown;
    msgpack::pack(unknown, std::make_tuple("LOADS", 1, "FROBNICATE", std::make_tuple()));
    peer.sendRaw({unknown.data(), unknown.size()});
    CHECK(peer.expect<proto::Error>().code == 501);
    msgpack::sbuffer wrongTypes;
    msgpack::pack(
        wrongTypes,
        std::make_tuple("LOADS", 1, endpoint == broker.frontendEndpoint() ? "RUN" : "HELLO",
                        std::make_tuple(true, true)));
    peer.sendRaw({wrongTypes.data(), wrongTypes.size()});
    CHECK(peer.expect<proto::Error>().code == 400);
  }
  const BrokerStats stats = broker.stats();
  CHECK(stats.malformedFrontend >= 55);
  CHECK(stats.malformedBackend >= 55);
  // Still serving both sockets.
  auto a1 = agent(context, broker, "a1", "h1");
  CHECK(ping(context, broker).agents.size() == 1);
}

TEST_CASE("a RUN with a damaged library is refused", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  Peer master(context, broker.frontendEndpoint());
  auto run = runRequest(1);
  run.library.push_back('x');
  master.send(run);
  auto refused = master.expect<proto::RunRefused>();
  CHECK(refused.code == 400);
  CHECK_THAT(refused.text, Catch::Contains("sha256"));
}

TEST_CASE("an agent asking for the library gets the JOB again with the bytes", "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = std::make_unique<Peer>(context, broker.backendEndpoint());
  proto::Hello hello;
  hello.agentId = "a1";
  hello.host = "h1";
  hello.libraries = {runRequest(1).librarySha256};  // claims to have it cached
  a1->send(hello);
  a1->expect<proto::Welcome>();
  Peer master(context, broker.frontendEndpoint());
  master.send(runRequest(1));
  auto accepted = master.expect<proto::RunAccepted>();
  CHECK(a1->expect<proto::Job>().library.empty());
  a1->send(proto::NeedLibrary{accepted.runId, runRequest(1).librarySha256});
  CHECK(a1->expect<proto::Job>().library == runRequest(1).library);
}

TEST_CASE("an agent fetches a run's data file part by part by its sha256, and only that way",
          "[broker]") {
  zmq::context_t context;
  BrokerOptions options = testOptions();
  options.maxMessageSize = 1 << 20;  // the RUN carries the file
  Broker broker(options);
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  Peer master(context, broker.frontendEndpoint());
  proto::Run run = runRequest(1);
  proto::Bytes data(proto::kLibraryPartSize + 10, 'd');  // two parts
  run.options.files = {{"users.csv", proto::sha256Hex(data), data.size()}};
  run.files = {data};
  master.send(run);
  auto accepted = master.expect<proto::RunAccepted>();
  const proto::Job job = a1->expect<proto::Job>();
  REQUIRE(job.options.files.size() == 1);  // named, without its bytes
  CHECK(job.options.files[0].name == "users.csv");
  const std::string sha = job.options.files[0].sha256;
  a1->send(proto::NeedLibrary{accepted.runId, sha, 0, proto::kLibraryPartSize});
  auto first = a1->expect<proto::LibraryPart>();
  CHECK(first.librarySha256 == sha);
  CHECK(first.size == data.size());
  a1->send(proto::NeedLibrary{accepted.runId, sha, first.bytes.size(), proto::kLibraryPartSize});
  auto second = a1->expect<proto::LibraryPart>();
  proto::Bytes got = first.bytes;
  got.insert(got.end(), second.bytes.begin(), second.bytes.end());
  CHECK(got == data);
  // The whole file in one JOB is not a thing: data files come by parts only.
  a1->send(proto::NeedLibrary{accepted.runId, sha, 0, 0});
  CHECK(a1->expect<proto::Error>().code == 400);
  // A sha256 that is neither the library nor a file of the run.
  a1->send(proto::NeedLibrary{accepted.runId, std::string(64, 'a'), 0, 100});
  CHECK(a1->expect<proto::Error>().code == 404);
}

TEST_CASE("a RUN whose data file does not match its sha256 or has no plain name is refused",
          "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  Peer master(context, broker.frontendEndpoint());
  const proto::Bytes data{'i', 'd'};
  for (const auto& [name, bytes, expected] :
       std::vector<std::tuple<std::string, proto::Bytes, std::string>>{
           {"users.csv", proto::Bytes{'x'}, "do not match its size and sha256"},
           {"../users.csv", data, "is not a plain file name"},
           {"", data, "is not a plain file name"}}) {
    proto::Run run = runRequest(1);
    run.options.files = {{name, proto::sha256Hex(data), data.size()}};
    run.files = {bytes};
    master.send(run);
    auto refused = master.expect<proto::RunRefused>();
    CHECK(refused.code == 400);
    CHECK_THAT(refused.text, Catch::Contains(expected));
  }
}

TEST_CASE("a broker that stops tells its agents, which can register with the next one",
          "[broker]") {
  zmq::context_t context;
  auto options = testOptions();
  auto broker = std::make_unique<Broker>(options);
  broker->start();
  const std::string backend = broker->backendEndpoint();
  auto a1 = agent(context, *broker, "a1", "h1");
  broker->stop();
  CHECK(a1->expect<proto::Disconnect>().reason == "broker shutting down");
  broker.reset();
  options.backend = backend;  // the same port, as after a restart
  Broker restarted(options);
  restarted.start();
  a1->send(proto::Heartbeat{});  // the DEALER reconnects by itself
  CHECK(a1->expect<proto::Error>(5000ms).code == 407);
  proto::Hello hello;
  hello.agentId = "a1";
  hello.host = "h1";
  a1->send(hello);
  a1->expect<proto::Welcome>();
  CHECK(ping(context, restarted).agents.size() == 1);
}

TEST_CASE("REBALANCE from a run's master reaches its running agents, and only valid ones do",
          "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  auto a1 = agent(context, broker, "a1", "h1");
  auto a2 = agent(context, broker, "a2", "h2");
  auto a3 = agent(context, broker, "a3", "h3");
  auto idle = agent(context, broker, "a4", "h4");
  Peer master(context, broker.frontendEndpoint());
  master.send(runRequest(3));
  auto accepted = master.expect<proto::RunAccepted>();
  std::map<std::string, std::uint32_t> index;
  for (const auto& a : accepted.agents) index[a.agentId] = a.index;
  std::vector<Peer*> inRun;
  for (auto* peer : {a1.get(), a2.get(), a3.get(), idle.get()}) {
    if (peer->next(200ms)) inRun.push_back(peer);  // its JOB
  }
  REQUIRE(inRun.size() == 3);
  const std::string lost = accepted.agents[2].agentId;

  proto::Rebalance rebalance;
  rebalance.runId = accepted.runId;
  rebalance.count = 2;
  rebalance.shares = {{accepted.agents[0].agentId, 0}, {accepted.agents[1].agentId, 1}};
  rebalance.fromMs = 4200;
  rebalance.lost = lost;
  SECTION("forwarded as sent to each listed agent, not to the others") {
    master.send(rebalance);
    std::size_t told = 0;
    for (Peer* peer : inRun) {
      auto envelope = peer->next(500ms);
      if (!envelope) continue;
      REQUIRE(envelope->type == MessageType::kRebalance);
      auto got = proto::decodeBody<proto::Rebalance>(*envelope);
      REQUIRE(got.ok());
      CHECK(got->runId == accepted.runId);
      CHECK(got->count == 2);
      CHECK(got->fromMs == 4200);
      CHECK(got->lost == lost);
      CHECK(got->shares.size() == 2);
      ++told;
    }
    CHECK(told == 2);
    CHECK(!idle->next(100ms));
    CHECK(!master.next(100ms));  // no answer to a valid REBALANCE
  }
  SECTION("an index given twice is ERROR 400 and reaches no agent") {
    rebalance.shares[1].index = 0;
    master.send(rebalance);
    CHECK(master.expect<proto::Error>().code == 400);
    for (Peer* peer : inRun) CHECK(!peer->next(100ms));
  }
  SECTION("an agent that is not in the run is ERROR 400") {
    rebalance.shares[1].agentId = "a-stranger";
    master.send(rebalance);
    CHECK(master.expect<proto::Error>().code == 400);
  }
  SECTION("another run's id is ERROR 404, and a master without a run gets 405") {
    rebalance.runId = "r-other";
    master.send(rebalance);
    CHECK(master.expect<proto::Error>().code == 404);
    Peer stranger(context, broker.frontendEndpoint());
    stranger.send(rebalance);
    CHECK(stranger.expect<proto::Error>().code == 405);
  }
}

TEST_CASE("a broker with keys serves allowed keys and refuses and counts the others per socket") {
  const security::KeyPair brokerKey = security::generateKeyPair(),
                          master = security::generateKeyPair(), agent = security::generateKeyPair(),
                          stranger = security::generateKeyPair();
  BrokerOptions options = testOptions();
  options.key = brokerKey;
  options.allowedMasters = {master.publicKey};
  options.allowedAgents = {agent.publicKey};
  Broker broker(options);
  broker.start();
  zmq::context_t context(1);
  const std::string front = broker.frontendEndpoint(), back = broker.backendEndpoint();

  Peer allowedMaster(context, front, master, brokerKey.publicKey);
  allowedMaster.send(proto::Ping{});
  allowedMaster.expect<proto::Pong>();
  Peer allowedAgent(context, back, agent, brokerKey.publicKey);
  allowedAgent.send(proto::Hello{"a1", "host", 1, "v", {}, "", 1});
  allowedAgent.expect<proto::Welcome>();

  Peer unknown(context, front, stranger, brokerKey.publicKey);
  Peer agentAsMaster(context, front, agent, brokerKey.publicKey);
  Peer masterAsAgent(context, back, master, brokerKey.publicKey);
  Peer noKey(context, front);
  for (Peer* peer : {&unknown, &agentAsMaster, &noKey}) peer->send(proto::Ping{});
  masterAsAgent.send(proto::Hello{"a2", "host", 1, "v", {}, "", 2});
  for (Peer* peer : {&unknown, &agentAsMaster, &masterAsAgent, &noKey}) {
    CHECK_FALSE(peer->next(300ms));
  }
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (broker.stats().keysRefused < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // polling the ZAP handler's count, bounded
  }
  CHECK(broker.stats().keysRefused == 3);  // no key is no ZAP request: the mechanisms differ
  allowedMaster.send(proto::Ping{});
  CHECK(allowedMaster.expect<proto::Pong>().agents.size() == 1);
}

namespace {

proto::Hello helloFrom(const std::string& id, const std::string& host, std::uint32_t pid,
                       const std::string& runId = "") {
  proto::Hello hello;
  hello.agentId = id;
  hello.host = host;
  hello.cores = 1;
  hello.version = "test";
  hello.runId = runId;
  hello.pid = pid;
  return hello;
}

}  // namespace

TEST_CASE("a HELLO with the id of a live agent is ERROR 409 and the live agent keeps its place",
          "[broker]") {
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  Peer first(context, broker.backendEndpoint());
  first.send(helloFrom("twin", "h1", 100));
  first.expect<proto::Welcome>();
  Peer second(context, broker.backendEndpoint());
  second.send(helloFrom("twin", "h2", 200));
  const auto refused = second.expect<proto::Error>();
  CHECK(refused.code == 409);
  CHECK_THAT(refused.text, Catch::Contains("\"twin\"") && Catch::Contains("h1"));
  // The live one is not disturbed: no 407 to its next message, and PING still shows it.
  first.send(proto::Heartbeat{});
  CHECK_FALSE(first.next(300ms));
  auto pong = ping(context, broker);
  REQUIRE(pong.agents.size() == 1);
  CHECK(pong.agents[0].host == "h1");
  CHECK(pong.agents[0].state == "idle");

  SECTION("the same process on a new socket (same host and pid) is a reconnect, not a twin") {
    Peer again(context, broker.backendEndpoint());
    again.send(helloFrom("twin", "h1", 100));
    again.expect<proto::Welcome>();
    first.send(proto::Heartbeat{});
    CHECK(first.expect<proto::Error>().code == 407);  // the old socket is forgotten
  }
  SECTION("a holder silent for 3 heartbeat intervals gives the id over (a restart after a crash)") {
    first.send(proto::Heartbeat{});
    const auto lastHeard = std::chrono::steady_clock::now();
    Peer restarted(context, broker.backendEndpoint());
    std::optional<proto::Envelope> answer;
    for (int i = 0; i < 30; ++i) {  // the agent's retry: one HELLO per interval, bounded
      restarted.send(helloFrom("twin", "h1", 300));
      answer = restarted.next();
      if (!answer || answer->type != MessageType::kError) break;
      std::this_thread::sleep_for(100ms);
    }
    REQUIRE(answer);
    CHECK(answer->type == MessageType::kWelcome);
    CHECK(std::chrono::steady_clock::now() - lastHeard >= 300ms);  // 3 x the 100 ms interval
    first.send(proto::Heartbeat{});
    CHECK(first.expect<proto::Error>().code == 407);
  }
}

TEST_CASE("after a broker restart a job that ended meanwhile is reported and the agent is idle",
          "[broker]") {
  // PROTOCOL.md §6: HELLO names a run this broker does not know; the broker sends STOP, keeps
  // the agent busy until its JOB-ENDED, which has nobody to be told and gets no answer.
  zmq::context_t context;
  Broker broker(testOptions());
  broker.start();
  Peer agentPeer(context, broker.backendEndpoint());
  agentPeer.send(helloFrom("orphan", "h1", 7, "r-before-restart"));
  agentPeer.expect<proto::Welcome>();
  CHECK(agentPeer.expect<proto::Stop>().runId == "r-before-restart");
  CHECK(ping(context, broker).agents.at(0).state == "busy");  // no JOB while its slave may run
  agentPeer.send(proto::JobEnded{"r-before-restart", 0, 0, ""});
  CHECK_FALSE(agentPeer.next(300ms));
  auto pong = pingUntil(context, broker,
                        [](const proto::Pong& p) { return p.agents.at(0).state == "idle"; });
  CHECK(pong.agents.at(0).state == "idle");
  CHECK(pong.agents.at(0).runId.empty());
  // Now idle: a second JOB-ENDED is out of place.
  agentPeer.send(proto::JobEnded{"r-before-restart", 0, 0, ""});
  CHECK(agentPeer.expect<proto::Error>().code == 405);
}

TEST_CASE(
    "an agent id belongs to the key that registered it: another agent key cannot take its slot") {
  const security::KeyPair brokerKey = security::generateKeyPair(),
                          honest = security::generateKeyPair(), thief = security::generateKeyPair(),
                          master = security::generateKeyPair();
  BrokerOptions options = testOptions();
  options.key = brokerKey;
  options.allowedMasters = {master.publicKey};
  options.allowedAgents = {honest.publicKey, thief.publicKey};
  Broker broker(options);
  broker.start();
  zmq::context_t context(1);
  const std::string front = broker.frontendEndpoint(), back = broker.backendEndpoint();

  Peer agent(context, back, honest, brokerKey.publicKey);
  agent.send(proto::Hello{"a1", "honest-host", 1, "v", {}, "", 1});
  agent.expect<proto::Welcome>();
  Peer owner(context, front, master, brokerKey.publicKey);
  owner.send(runRequest(1));
  const auto accepted = owner.expect<proto::RunAccepted>();
  CHECK(agent.expect<proto::Job>().runId == accepted.runId);

  // The thief holds an allowed agent key and claims a1's id and run, as after a reconnect.
  Peer impostor(context, back, thief, brokerKey.publicKey);
  impostor.send(proto::Hello{"a1", "thief-host", 1, "v", {}, accepted.runId, 2});
  const auto refused = impostor.expect<proto::Error>();
  CHECK(refused.code == 409);
  CHECK_THAT(refused.text, Catch::Contains("agent id \"a1\" is registered with another key"));
  impostor.send(proto::NeedLibrary{accepted.runId, runRequest(1).librarySha256});
  CHECK(impostor.expect<proto::Error>().code == 407);  // not registered: no library for it
  CHECK(broker.stats().agentIdsRefused == 1);

  Peer control(context, front, master, brokerKey.publicKey);
  control.send(proto::Ping{});
  const auto pong = control.expect<proto::Pong>();
  REQUIRE(pong.agents.size() == 1);
  CHECK(pong.agents[0].host == "honest-host");
  CHECK(pong.agents[0].state == "busy");

  // The honest agent, reconnecting with a new socket and its own key, keeps its id and run.
  Peer again(context, back, honest, brokerKey.publicKey);
  again.send(proto::Hello{"a1", "honest-host", 1, "v", {}, accepted.runId, 1});
  again.expect<proto::Welcome>();
  again.send(proto::JobEnded{accepted.runId, 0, 0, ""});
  CHECK(owner.expect<proto::AgentDone>().agentId == "a1");
}
