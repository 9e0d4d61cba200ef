// loads-broker: parse options, build the Broker, run it until SIGINT or SIGTERM.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <zmq.hpp>

#include "broker/broker.hpp"
#include "broker/options.hpp"

int main(int argc, char** argv) {
  auto parsed = loads::broker::parseOptions(argc, argv);
  if (!parsed.options) return parsed.exitCode;
  const auto& options = *parsed.options;

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
