// loads-broker: parse options, build the Broker, run it until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "broker/broker.hpp"
#include "loads/version.hpp"
#include "security/curve.hpp"

namespace {

// "250ms", "2s", "1m", or a bare number of milliseconds.
bool parseDuration(const std::string& text, loads::broker::Duration& out) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  const std::string unit = text.substr(used);
  const long long scale = unit.empty() || unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 0;
  if (scale == 0 || value <= 0) return false;
  out = loads::broker::Duration(value * scale);
  return true;
}

struct SecurityFlags {
  std::string keyFile, allowMasters, allowAgents;  // --key, --allow-masters, --allow-agents
  bool insecure = false;                            // --insecure
};

// PROTOCOL.md §9: the key pair and the allowed keys, or plain TCP on loopback (or with
// --insecure). Throws security::ConfigError.
void applySecurity(const SecurityFlags& flags, loads::broker::BrokerOptions& options) {
  namespace security = loads::security;
  const int given = !flags.keyFile.empty() + !flags.allowMasters.empty() + !flags.allowAgents.empty();
  if (given != 0 && given != 3) {
    throw security::ConfigError("--key, --allow-masters and --allow-agents go together: the broker's "
                                "key pair and the directories of allowed *.pub keys");
  }
  if (given == 3) {
    options.key = security::loadKeyPair(flags.keyFile);
    options.allowedMasters = security::loadAllowedKeys(flags.allowMasters);
    options.allowedAgents = security::loadAllowedKeys(flags.allowAgents);
  }
  for (const auto& endpoint : {options.frontend, options.backend}) {
    security::requireKeysUnlessLoopback("loads-broker", "bind", endpoint, given == 3, flags.insecure);
  }
}

}  // namespace

int main(int argc, char** argv) {
  loads::broker::BrokerOptions options;
  std::string heartbeat = "1s";
  CLI::App app{"loads-broker: registers loads agents and dispatches masters' runs to them"};
  app.set_version_flag("--version", LOADS_VERSION);
  app.add_option("--frontend", options.frontend, "endpoint for masters (tcp://*:7780 serves a fleet)")
      ->capture_default_str();
  app.add_option("--backend", options.backend, "endpoint for agents")->capture_default_str();
  app.add_option("--heartbeat", heartbeat, "heartbeat interval (250ms, 1s, ...)")->capture_default_str();
  app.add_option("--liveness", options.liveness, "heartbeats a peer may miss before it is lost")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--max-message-size", options.maxMessageSize, "largest message accepted, in bytes")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 31));
  SecurityFlags security;
  app.add_option("--key", security.keyFile, "this broker's CURVE key pair (a .key file of loads-keys)");
  app.add_option("--allow-masters", security.allowMasters,
                 "directory whose *.pub keys may submit runs (frontend)");
  app.add_option("--allow-agents", security.allowAgents,
                 "directory whose *.pub keys may register as agents (backend)");
  app.add_flag("--insecure", security.insecure,
               "allow binding a non-loopback endpoint without keys (unauthenticated, unencrypted)");
  try {
    app.parse(argc, argv);
    applySecurity(security, options);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const loads::security::ConfigError& e) {
    std::fprintf(stderr, "loads-broker: %s\n", e.what());
    return 2;
  }
  if (!parseDuration(heartbeat, options.heartbeatInterval)) {
    std::fprintf(stderr, "loads-broker: --heartbeat %s is not a duration: use e.g. 500ms or 1s\n",
                 heartbeat.c_str());
    return 2;
  }

  // Block the stop signals in every thread; this one waits for them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  try {
    loads::broker::Broker broker(options);
    broker.start();
    int signal = 0;
    sigwait(&stopSignals, &signal);
    spdlog::info("signal {}: stopping", signal);
    broker.stop();
  } catch (const zmq::error_t& e) {
    std::fprintf(stderr, "loads-broker: cannot bind %s / %s: %s\n", options.frontend.c_str(),
                 options.backend.c_str(), e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loads-broker: %s\n", e.what());
    return 3;
  }
  return 0;
}
