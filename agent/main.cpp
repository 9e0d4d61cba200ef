// loads-agent: parse options, build the Agent, run it until SIGINT or SIGTERM.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "agent/agent.hpp"
#include "agent/options.hpp"

int main(int argc, char** argv) {
  auto parsed = loads::agent::parseOptions(argc, argv);
  if (!parsed.options) return parsed.exitCode;
  auto& options = *parsed.options;
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
