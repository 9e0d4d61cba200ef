// loads-broker: parse options, build the Broker, run it until SIGINT or SIGTERM.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <zmq.hpp>

#include "broker/broker.hpp"
#include "broker/options.hpp"
#include "util/open_files.hpp"

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

  // One connection per agent and master: a fleet of 1,000 needs more than a shell's 1,024.
  if (const std::uint64_t files = loads::raiseOpenFilesLimit(); files < 4096) {
    spdlog::warn(
        "the open-files limit is {}: this broker can hold about {} agents; raise it "
        "(ulimit -n, LimitNOFILE=) for a larger fleet",
        files, files > 64 ? files - 64 : 0);
  }
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
