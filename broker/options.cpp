#include "broker/options.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "loads/version.hpp"
#include "security/curve.hpp"
#include "util/parse.hpp"

namespace loads::broker {
namespace {

struct SecurityFlags {
  std::string keyFile, allowMasters, allowAgents;  // --key, --allow-masters, --allow-agents
  bool insecure = false;                           // --insecure
};

// PROTOCOL.md §9: the key pair and the allowed keys, or plain TCP on loopback (or with
// --insecure). Throws security::ConfigError.
void applySecurity(const SecurityFlags& flags, BrokerOptions& options) {
  const int given =
      !flags.keyFile.empty() + !flags.allowMasters.empty() + !flags.allowAgents.empty();
  if (given != 0 && given != 3) {
    throw security::ConfigError(
        "--key, --allow-masters and --allow-agents go together: the broker's "
        "key pair and the directories of allowed *.pub keys");
  }
  if (given == 3) {
    options.key = security::loadKeyPair(flags.keyFile);
    options.allowedMasters = security::loadAllowedKeys(flags.allowMasters);
    options.allowedAgents = security::loadAllowedKeys(flags.allowAgents);
  }
  for (const auto& endpoint : {options.frontend, options.backend}) {
    security::requireKeysUnlessLoopback("loads-broker", "bind", endpoint, given == 3,
                                        flags.insecure);
  }
}

}  // namespace

ParseResult parseOptions(int argc, const char* const* argv) {
  BrokerOptions options;
  std::string heartbeat = "1s", maxMessageSize = "64MiB";
  CLI::App app{"loads-broker: registers loads agents and dispatches masters' runs to them"};
  app.set_version_flag("--version", LOADS_VERSION);
  app.add_option("--frontend", options.frontend,
                 "endpoint for masters (tcp://*:7780 serves a fleet)")
      ->capture_default_str();
  app.add_option("--backend", options.backend, "endpoint for agents")->capture_default_str();
  app.add_option("--heartbeat", heartbeat,
                 "heartbeat interval: 250ms, 1s, ... (a bare number is seconds)")
      ->capture_default_str();
  app.add_option("--liveness", options.liveness, "heartbeats a peer may miss before it is lost")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--max-message-size", maxMessageSize,
                 "largest message accepted: 65536, 64MiB, 2GiB (1KiB to 2GiB)")
      ->capture_default_str();
  app.add_option("--max-waiting-runs", options.maxWaitingRuns,
                 "runs that may wait for agents at once (each holds its test library)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{10000}));
  SecurityFlags security;
  app.add_option("--key", security.keyFile,
                 "this broker's CURVE key pair (a .key file of loads-keys)");
  app.add_option("--allow-masters", security.allowMasters,
                 "directory whose *.pub keys may submit runs (frontend)");
  app.add_option("--allow-agents", security.allowAgents,
                 "directory whose *.pub keys may register as agents (backend)");
  app.add_flag("--insecure", security.insecure,
               "allow binding a non-loopback endpoint without keys (unauthenticated, unencrypted)");
  std::string metrics;
  app.add_option("--metrics", metrics,
                 "serve /metrics (OpenMetrics, for Prometheus) on [HOST:]PORT; HOST defaults to "
                 "127.0.0.1 (see docs/metrics.md)");
  try {
    app.parse(argc, argv);
    if (!metrics.empty()) options.metrics = parseListenAddress(metrics, "--metrics");
    options.heartbeatInterval = parseDuration(heartbeat);
    if (options.heartbeatInterval.count() <= 0) {
      throw std::invalid_argument("--heartbeat must be longer than 0s");
    }
    const auto size = parseSize(maxMessageSize);
    if (size < 1024 || size > (std::uint64_t{1} << 31)) {
      throw std::invalid_argument("--max-message-size " + maxMessageSize +
                                  " is out of range: use 1KiB to 2GiB");
    }
    options.maxMessageSize = size;
    applySecurity(security, options);
  } catch (const CLI::ParseError& e) {
    return {std::nullopt, app.exit(e) == 0 ? 0 : 2};
  } catch (const std::invalid_argument& e) {  // also security::ConfigError
    std::fprintf(stderr, "loads-broker: %s\n", e.what());
    return {std::nullopt, 2};
  }
  return {std::move(options), 0};
}

}  // namespace loads::broker
