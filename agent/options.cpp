#include "agent/options.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "loads/version.hpp"
#include "proto/messages.hpp"
#include "run/runner.hpp"
#include "security/cli.hpp"
#include "util/parse.hpp"

namespace loads::agent {

ParseResult parseOptions(int argc, const char* const* argv) {
  AgentOptions options;
  std::string heartbeat = "1s", stopGrace = "10s", cacheMax = "2GiB";
  CLI::App app{"loads-agent: runs loads jobs from a broker, each in a slave runner process"};
  app.set_version_flag("--version", LOADS_VERSION);
  app.add_option("--broker", options.broker, "the broker's agent endpoint")->capture_default_str();
  app.add_option("--id", options.id, "agent id, unique in the fleet (default: host-pid)");
  app.add_option(
      "--cache-dir", options.cacheDir,
      "where received test libraries are kept, by sha256 (default ~/.cache/loads/libraries)");
  app.add_option("--cache-max", cacheMax,
                 "size of the library cache beyond which the least recently used libraries are "
                 "evicted: 512MiB, 2GiB, ... (a bare number is bytes)")
      ->capture_default_str();
  app.add_option("--heartbeat", heartbeat,
                 "heartbeat interval until the broker sets its own: 250ms, 1s, ... (a bare number "
                 "is seconds)")
      ->capture_default_str();
  app.add_option("--stop-grace", stopGrace, "time a stopped slave gets before SIGKILL")
      ->capture_default_str();
  app.add_option("--slave-binary", options.slaveBinary,
                 "the slave runner (default: loads-slave next to loads-agent)");
  security::ClientKeyFiles keys;
  keys.addOptions(app);
  try {
    app.parse(argc, argv);
    options.heartbeat = parseDuration(heartbeat);
    if (options.heartbeat.count() <= 0)
      throw std::invalid_argument("--heartbeat must be longer than 0s");
    options.stopGrace = parseDuration(stopGrace);
    if (options.id.size() > proto::kMaxHelloString) {
      throw std::invalid_argument("--id is " + std::to_string(options.id.size()) +
                                  " bytes long: brokers accept agent ids of up to " +
                                  std::to_string(proto::kMaxHelloString));
    }
    options.cacheMax = parseSize(cacheMax);
    keys.load("loads-agent", options.broker, options.key, options.brokerKey);
    runnerPolicy();  // LOADS_RUNNER_POLICY, which its slaves read: refused here
  } catch (const CLI::ParseError& e) {
    return {std::nullopt, app.exit(e) == 0 ? 0 : 2};
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "loads-agent: %s\n", e.what());
    return {std::nullopt, 2};
  }
  return {std::move(options), 0};
}

}  // namespace loads::agent
