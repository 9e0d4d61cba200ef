// loads-agent: parse options, build the Agent, run it until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "agent/agent.hpp"
#include "loads/version.hpp"
#include "parse.hpp"
#include "security/cli.hpp"

int main(int argc, char** argv) {
  loads::agent::AgentOptions options;
  std::string heartbeat = "1s", stopGrace = "10s";
  CLI::App app{"loads-agent: runs loads jobs from a broker, each in a slave runner process"};
  app.set_version_flag("--version", LOADS_VERSION);
  app.add_option("--broker", options.broker, "the broker's agent endpoint")->capture_default_str();
  app.add_option("--id", options.id, "agent id, unique in the fleet (default: host-pid)");
  app.add_option("--cache-dir", options.cacheDir,
                 "where received test libraries are kept, by sha256 (default ~/.cache/loads/libraries)");
  app.add_option("--heartbeat", heartbeat, "heartbeat interval until the broker sets its own")
      ->capture_default_str();
  app.add_option("--stop-grace", stopGrace, "time a stopped slave gets before SIGKILL")
      ->capture_default_str();
  app.add_option("--slave-binary", options.slaveBinary,
                 "the slave runner (default: loads-slave next to loads-agent)");
  loads::security::ClientKeyFiles keys;
  keys.addOptions(app);
  try {
    app.parse(argc, argv);
    options.heartbeat = loads::parseDuration(heartbeat);
    options.stopGrace = loads::parseDuration(stopGrace);
    keys.load("loads-agent", options.broker, options.key, options.brokerKey);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "loads-agent: %s\n", e.what());
    return 2;
  }
  spdlog::flush_on(spdlog::level::info);  // tests and log collectors read lines as they come

  // Block the stop signals in every thread; this one waits for them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  try {
    loads::agent::Agent agent(options);
    int code = 0;
    std::thread loop([&] {
      code = agent.run();
      kill(getpid(), SIGTERM);  // the loop ended by itself (version mismatch): wake main
    });
    int signal = 0;
    sigwait(&stopSignals, &signal);
    agent.stop();
    loop.join();
    return code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loads-agent: %s\n", e.what());
    return 3;
  }
}
