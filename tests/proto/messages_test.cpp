// LOADS messages: round trips for every message, and hostile input.
#include "proto/messages.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace loads::proto;

namespace {

Bytes bytesOf(std::string_view s) { return Bytes(s.begin(), s.end()); }

Run sampleRun() {
  Run run;
  run.agents = 20;
  run.waitAgentsMs = 30000;
  run.libraryName = "libblog.so";
  run.library =
      bytesOf(std::string("\x7f"
                          "ELF\0\1\2 binary",
                          15));
  run.librarySha256 = sha256Hex(run.library);
  run.options = {"Blog.test_read", 2000, 0, 600000, "https://staging.example", 4,
                 {"--think", "1s"}};
  run.resultsEndpoint = "tcp://10.0.0.5:41234";
  run.masterHost = "laptop";
  return run;
}

// Decoding then re-encoding gives the same bytes: every field survived.
template <class T>
T roundTrip(const T& message) {
  const std::string wire = encode(message);
  auto decoded = decode<T>(wire);
  INFO(decoded.reason());
  REQUIRE(decoded.ok());
  CHECK(encode(decoded.value()) == wire);
  return decoded.value();
}

// An envelope with a hand-made body, to send what a correct encoder never would.
template <class Body>
std::string envelopeWith(std::string_view protocol, std::uint32_t version, std::string_view type,
                         const Body& body) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(4);
  packer.pack(protocol);
  packer.pack(version);
  packer.pack(type);
  packer.pack(body);
  return std::string(buffer.data(), buffer.size());
}

}  // namespace

TEST_CASE("every master-broker message survives a round trip", "[proto]") {
  const Run run = roundTrip(sampleRun());
  CHECK(run.agents == 20);
  CHECK(run.library == sampleRun().library);
  CHECK(run.options.args == std::vector<std::string>{"--think", "1s"});
  roundTrip(RunAccepted{"r1-1", {{"a1", "host1", 0}, {"a2", "host2", 1}}});
  const RunRefused refused =
      roundTrip(RunRefused{503, "asked for 20 agents, 12 are idle (30 registered)", 20, 12, 30});
  CHECK(refused.text == "asked for 20 agents, 12 are idle (30 registered)");
  CHECK(roundTrip(AgentDone{"r1-1", "a1", "host1", -1, 9, "killed by SIGKILL"}).signal == 9);
  roundTrip(AgentLost{"r1-1", "a2", "host2", "no heartbeat for 5000 ms"});
  roundTrip(Stop{"r1-1"});
  roundTrip(Stopped{"r1-1", 2});
  roundTrip(Purge{});
  roundTrip(Purged{3});
  roundTrip(Ping{});
  Pong pong{1234,
            "0.1.0",
            kProtocolVersion,
            99,
            {{"a1", "host1", 8, "busy", "r1-1", 120, "0.1.0"}},
            {{"r1-1", "running", 1, {"a1"}, 5000, "laptop", "libblog.so", 0}}};
  CHECK(roundTrip(pong).agents.at(0).state == "busy");
  roundTrip(Heartbeat{});
  roundTrip(Disconnect{"broker shutting down"});
  roundTrip(Error{426, "version mismatch"});
}

TEST_CASE("every broker-agent message survives a round trip", "[proto]") {
  roundTrip(Hello{"host1-42", "host1", 8, "0.1.0", {std::string(64, 'a')}, "", 42});
  roundTrip(Welcome{250, 3, "0.1.0"});
  const Run run = sampleRun();
  Job job{"r1-1",
          1,
          2,
          run.libraryName,
          run.librarySha256,
          run.library,
          run.options,
          run.resultsEndpoint,
          "host1-42"};
  CHECK(roundTrip(job).library == run.library);
  job.library.clear();
  CHECK(roundTrip(job).library.empty());
  job.resultsCurve = {std::string(40, 'k'), std::string(40, 'p'), std::string(40, 's')};
  CHECK(roundTrip(job).resultsCurve.clientSecret == std::string(40, 's'));
  roundTrip(NeedLibrary{"r1-1", run.librarySha256});
  roundTrip(JobEnded{"r1-1", 0, 0, ""});
}

TEST_CASE("the envelope names the protocol, the version and the type", "[proto]") {
  auto envelope = decodeEnvelope(encode(Ping{}));
  REQUIRE(envelope.ok());
  CHECK(envelope->type == MessageType::kPing);
  CHECK(envelope->typeName == "PING");
  CHECK(envelope->version == kProtocolVersion);
  const std::string wire = encode(Stop{"x"});
  CHECK(wire.find("LOADS") != std::string::npos);
}

TEST_CASE("fields appended by a newer sender are ignored, missing ones get defaults", "[proto]") {
  // A newer Stopped with one more field, and an older one without `agents`.
  auto newer = decode<Stopped>(
      envelopeWith("LOADS", kProtocolVersion, "STOPPED", std::make_tuple("r1", 4, "new field")));
  REQUIRE(newer.ok());
  CHECK(newer->agents == 4);
  auto older =
      decode<Stopped>(envelopeWith("LOADS", kProtocolVersion, "STOPPED", std::make_tuple("r1")));
  REQUIRE(older.ok());
  CHECK(older->runId == "r1");
  CHECK(older->agents == 0);
  // A RUN from before results-curve (PROTOCOL.md §9.3) is a plain-TCP run.
  const Run run = sampleRun();
  auto plain = decode<Run>(
      envelopeWith("LOADS", kProtocolVersion, "RUN",
                   std::make_tuple(run.agents, run.waitAgentsMs, run.libraryName, run.librarySha256,
                                   run.library, run.options, run.resultsEndpoint, run.masterHost)));
  REQUIRE(plain.ok());
  CHECK(plain->resultsCurve.empty());
  CHECK(plain->masterHost == "laptop");
}

TEST_CASE("another protocol version is refused with a sentence naming both", "[proto]") {
  auto decoded = decode<Ping>(envelopeWith("LOADS", 2, "PING", std::make_tuple()));
  CHECK_FALSE(decoded.ok());
  CHECK(decoded.error() == ErrorCode::kVersionMismatch);
  CHECK_THAT(decoded.reason(), Catch::Contains("protocol 1") && Catch::Contains("version 2"));
}

TEST_CASE("unknown types, wrong protocol names and wrong field types are refused", "[proto]") {
  CHECK(decodeEnvelope(envelopeWith("LOADS", 1, "FROBNICATE", std::make_tuple())).error() ==
        ErrorCode::kUnknownType);
  CHECK(decodeEnvelope(envelopeWith("MDPC01", 1, "PING", std::make_tuple())).error() ==
        ErrorCode::kMalformed);
  // RUN with a string where the number of agents goes.
  auto run = decode<Run>(envelopeWith("LOADS", 1, "RUN", std::make_tuple("twenty")));
  CHECK(run.error() == ErrorCode::kMalformed);
  // A body that is not an array.
  CHECK(decodeEnvelope(envelopeWith("LOADS", 1, "STOP", 42)).error() == ErrorCode::kMalformed);
  // The right envelope for another message.
  CHECK(decode<Stop>(encode(Ping{})).error() == ErrorCode::kUnexpected);
  // Not an array at all, or too short.
  CHECK(decodeEnvelope(encode(Ping{}).substr(1)).error() == ErrorCode::kMalformed);
  msgpack::sbuffer small;
  msgpack::pack(small, std::make_tuple("LOADS", 1));
  CHECK(decodeEnvelope({small.data(), small.size()}).error() == ErrorCode::kMalformed);
}

TEST_CASE("truncated messages are malformed at every length", "[proto]") {
  const std::string wire = encode(sampleRun());
  for (std::size_t length = 0; length < wire.size(); ++length) {
    auto decoded = decode<Run>(std::string_view(wire).substr(0, length));
    INFO("length " << length);
    CHECK_FALSE(decoded.ok());
  }
  CHECK(decodeEnvelope(wire + "x").error() == ErrorCode::kMalformed);  // trailing bytes
}

TEST_CASE("random bytes never decode into a message or crash", "[proto]") {
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 300);
  int decodedAny = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string noise(length(random), '\0');
    for (char& c : noise) c = static_cast<char>(byte(random));
    const bool plausible = i % 2;  // starts like a real RUN: the body may even decode
    if (plausible) noise = encode(sampleRun()).substr(0, 40) + noise;
    auto envelope = decodeEnvelope(noise);
    if (envelope) {
      if (!plausible) ++decodedAny;
      auto run = decodeBody<Run>(envelope.value());
      if (run) CHECK(run->libraryName == "libblog.so");
    }
  }
  CHECK(decodedAny == 0);
}

TEST_CASE("oversized messages and absurd declared sizes are refused", "[proto]") {
  DecodeLimits limits;
  limits.maxMessageSize = 1024;
  Run run = sampleRun();
  run.library.assign(4096, 'x');
  CHECK(decode<Run>(encode(run), limits).error() == ErrorCode::kTooLarge);
  // An array header claiming 4 billion elements, and a str claiming 4 GB.
  const std::string hugeArray("\xdd\xff\xff\xff\xff", 5);
  CHECK(decodeEnvelope(hugeArray).error() == ErrorCode::kMalformed);
  const std::string hugeStr("\x94\xa5LOADS\x01\xdb\xff\xff\xff\xff", 12);
  CHECK(decodeEnvelope(hugeStr).error() == ErrorCode::kMalformed);
  // Deep nesting.
  std::string deep(1000, '\x91');
  deep += '\xc0';
  CHECK(decodeEnvelope(deep).error() == ErrorCode::kMalformed);
}

TEST_CASE("a RUN is checked before the broker accepts it", "[proto]") {
  Run run = sampleRun();
  CHECK(validateRun(run).empty());
  run.agents = 0;
  CHECK_FALSE(validateRun(run).empty());
  run = sampleRun();
  run.library.push_back('!');
  CHECK_THAT(validateRun(run), Catch::Contains("sha256"));
  run = sampleRun();
  run.resultsEndpoint.clear();
  CHECK_FALSE(validateRun(run).empty());
  run = sampleRun();
  run.resultsCurve = {std::string(40, 'k'), std::string(40, 'p'), std::string(40, 's')};
  CHECK(validateRun(run).empty());
  run.resultsCurve.clientSecret.clear();
  CHECK_THAT(validateRun(run), Catch::Contains("results-curve"));
  CHECK(sha256Hex(std::string_view("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("users are split as evenly as possible, the first agents taking the rest", "[proto]") {
  CHECK(usersForAgent(10, 0, 3) == 4);
  CHECK(usersForAgent(10, 1, 3) == 3);
  CHECK(usersForAgent(10, 2, 3) == 3);
  CHECK(usersForAgent(2, 2, 3) == 0);
  std::uint32_t total = 0;
  for (std::uint32_t i = 0; i < 7; ++i) total += usersForAgent(2000, i, 7);
  CHECK(total == 2000);
}
