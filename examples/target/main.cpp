// loads-target: the example HTTP server of the quick start, e2e tests and benchmarks.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "target_server.hpp"

int main(int argc, char** argv) {
  loads::examples::TargetOptions options;
  double stallEverySeconds = 0;
  int stallForMs = 0;
  CLI::App app{"loads-target: a small HTTP/1.1 server to point load tests at"};
  app.add_option("--host", options.host, "address to bind")->capture_default_str();
  app.add_option("--port", options.port, "port to listen on (0: ephemeral)")->capture_default_str();
  app.add_option("--threads", options.threads, "server threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  auto* cert = app.add_option("--tls-cert", options.tlsCert, "PEM certificate: serve HTTPS")
                   ->check(CLI::ExistingFile);
  auto* key = app.add_option("--tls-key", options.tlsKey, "PEM private key for --tls-cert")
                  ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  auto* every = app.add_option("--stall-every", stallEverySeconds,
                               "stall all replies once per this many seconds")
                    ->check(CLI::PositiveNumber);
  app.add_option("--stall-for", stallForMs, "length of each stall in milliseconds")
      ->check(CLI::PositiveNumber)
      ->needs(every);
  CLI11_PARSE(app, argc, argv);
  options.stallEvery = std::chrono::milliseconds(static_cast<long>(stallEverySeconds * 1000));
  options.stallFor = std::chrono::milliseconds(stallForMs);
  if (options.stallEvery.count() > 0 && options.stallFor >= options.stallEvery) {
    std::cerr << "loads-target: --stall-for must be shorter than --stall-every\n";
    return 2;
  }

  // Block the stop signals before the server threads start, so only sigwait sees them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  loads::examples::TargetServer server(options);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "loads-target: " << e.what() << "\n";
    return 2;
  }
  std::cout << "listening on " << server.url() << std::endl;

  int signal = 0;
  sigwait(&stopSignals, &signal);
  server.stop();
  std::cout << "stopped after serving " << server.served() << " requests" << std::endl;
  return 0;
}
