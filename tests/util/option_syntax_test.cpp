// One duration and size syntax for every option of every tool: the same text means the
// same thing to loads-broker, loads-agent and loads-master (common/util/parse.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "agent/options.hpp"
#include "broker/options.hpp"
#include "master/options.hpp"

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

template <typename Parse>
auto parseWith(Parse parse, std::vector<std::string> args) {
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse(static_cast<int>(argv.size()), argv.data());
}

// Every duration option of every tool, read back from its parsed options.
std::vector<milliseconds> everyToolsReading(const std::string& text) {
  std::vector<milliseconds> seen;
  auto broker = parseWith(loads::broker::parseOptions, {"loads-broker", "--heartbeat", text});
  REQUIRE(broker.options);
  seen.push_back(broker.options->heartbeatInterval);
  auto agent = parseWith(loads::agent::parseOptions,
                         {"loads-agent", "--heartbeat", text, "--stop-grace", text});
  REQUIRE(agent.options);
  seen.push_back(agent.options->heartbeat);
  seen.push_back(agent.options->stopGrace);
  auto master = parseWith(loads::master::parseOptions,
                          {"loads-master", "lib.so", "-d", text, "--ramp", text, "--timeout", text,
                           "--stop-timeout", text, "--wait-agents", text});
  REQUIRE(master.options);
  seen.push_back(*master.options->run.duration);
  seen.push_back(master.options->run.ramp);
  seen.push_back(master.options->run.user.requestTimeout);
  seen.push_back(master.options->run.stopTimeout);
  seen.push_back(master.options->waitAgents);
  return seen;
}

}  // namespace

TEST_CASE("every tool reads 250ms, a bare 2 and 1h30m the same way") {
  for (const auto& [text, meaning] : std::vector<std::pair<std::string, milliseconds>>{
           {"250ms", 250ms}, {"2", 2s}, {"1h30m", 90min}, {"1m30s500ms", 90500ms}}) {
    INFO(text);
    for (auto value : everyToolsReading(text)) CHECK(value == meaning);
  }
}

TEST_CASE("every tool refuses a malformed duration with exit 2") {
  for (const std::string bad : {"10x", "1.5s", "-1s", "1h30"}) {
    INFO(bad);
    CHECK(parseWith(loads::broker::parseOptions, {"loads-broker", "--heartbeat", bad}).exitCode ==
          2);
    CHECK(parseWith(loads::agent::parseOptions, {"loads-agent", "--heartbeat", bad}).exitCode == 2);
    CHECK(parseWith(loads::agent::parseOptions, {"loads-agent", "--stop-grace", bad}).exitCode ==
          2);
    CHECK(parseWith(loads::master::parseOptions, {"loads-master", "lib.so", "-d", bad}).exitCode ==
          2);
    CHECK(parseWith(loads::master::parseOptions, {"loads-master", "lib.so", "--timeout", bad})
              .exitCode == 2);
  }
}

TEST_CASE("the master and the agent refuse a LOADS_RUNNER_POLICY their slaves would refuse") {
  ::setenv("LOADS_RUNNER_POLICY", "fifo", 1);
  CHECK(parseWith(loads::agent::parseOptions, {"loads-agent"}).exitCode == 2);
  CHECK(parseWith(loads::master::parseOptions, {"loads-master", "lib.so"}).exitCode == 2);
  ::setenv("LOADS_RUNNER_POLICY", "normal", 1);
  CHECK(parseWith(loads::agent::parseOptions, {"loads-agent"}).options);
  CHECK(parseWith(loads::master::parseOptions, {"loads-master", "lib.so"}).options);
  ::unsetenv("LOADS_RUNNER_POLICY");
}

TEST_CASE("sizes take B, KiB, MiB and GiB, and a bare number is bytes") {
  for (const auto& [text, bytes] : std::vector<std::pair<std::string, std::size_t>>{
           {"65536", 65536}, {"512KiB", 512u << 10}, {"64MiB", 64u << 20}, {"2GiB", 2ull << 30}}) {
    INFO(text);
    auto broker =
        parseWith(loads::broker::parseOptions, {"loads-broker", "--max-message-size", text});
    REQUIRE(broker.options);
    CHECK(broker.options->maxMessageSize == bytes);
    auto agent = parseWith(loads::agent::parseOptions, {"loads-agent", "--cache-max", text});
    REQUIRE(agent.options);
    CHECK(agent.options->cacheMax == bytes);
  }
  CHECK(parseWith(loads::agent::parseOptions, {"loads-agent"}).options->cacheMax == 2ull << 30);
  CHECK(parseWith(loads::agent::parseOptions, {"loads-agent", "--cache-max", "64MB"}).exitCode ==
        2);
  for (const std::string bad : {"64MB", "3GiB", "1000", "x"}) {
    INFO(bad);
    CHECK(parseWith(loads::broker::parseOptions, {"loads-broker", "--max-message-size", bad})
              .exitCode == 2);
  }
}

TEST_CASE("every tool answers --version with the same version") {
  CHECK(parseWith(loads::broker::parseOptions, {"loads-broker", "--version"}).exitCode == 0);
  CHECK(parseWith(loads::agent::parseOptions, {"loads-agent", "--version"}).exitCode == 0);
  auto master = parseWith(loads::master::parseOptions, {"loads-master", "--version"});
  CHECK(!master.options);
  CHECK(master.exitCode == 0);
}
