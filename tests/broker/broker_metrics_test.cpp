// loads-broker --metrics: the exposition of BrokerStats, served by a running Broker, and
// docs/metrics.md as its contract.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "broker/broker.hpp"
#include "support/process.hpp"

using namespace loads;

namespace {

std::set<std::string> samples(const std::string& text) {
  std::set<std::string> out;
  std::regex name("^(loads_broker[a-z_]*)[ {]");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, name)) out.insert(m[1]);
  }
  return out;
}

}  // namespace

TEST_CASE("broker metrics: every family is documented, and a running broker serves them") {
  broker::BrokerStats stats;
  stats.messagesFrontend = 7;
  stats.malformedBackend = 3;
  stats.agentsBusy = 2;
  const std::string text = broker::brokerMetricsText(stats);
  REQUIRE(text.ends_with("# EOF\n"));
  CHECK(text.find("loads_broker_messages_total{socket=\"frontend\"} 7\n") != std::string::npos);
  CHECK(text.find("loads_broker_malformed_messages_total{socket=\"backend\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("loads_broker_agents{state=\"busy\"} 2\n") != std::string::npos);

  std::ifstream in(LOADS_SOURCE_DIR "/docs/metrics.md");
  std::stringstream docs;
  docs << in.rdbuf();
  std::set<std::string> documented;
  std::regex row("^\\| `(loads_broker[a-z_]*)`");
  std::istringstream lines(docs.str());
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) documented.insert(m[1]);
  }
  CHECK(samples(text) == documented);

  broker::BrokerOptions options;
  options.frontend = "tcp://127.0.0.1:*";
  options.backend = "tcp://127.0.0.1:*";
  options.metrics = ListenAddress{};
  broker::Broker running(options);
  running.start();
  const std::string url = running.metricsUrl();
  REQUIRE(url.ends_with("/metrics"));
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  const std::string served = testing::httpRequest(port, "GET", "/metrics");
  CHECK(samples(served) == documented);
  CHECK(served.find("loads_broker_runs_accepted_total 0\n") != std::string::npos);
}
