// loads-master: runs a loads test library locally or on a fleet of agents.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "master/master.hpp"
#include "master/options.hpp"
#include "master/signals.hpp"

int main(int argc, char** argv) {
  loads::master::SignalWaiter signals;  // before any thread starts
  // Logs (refused CURVE keys) go to stderr: stdout carries the report.
  spdlog::set_default_logger(spdlog::stderr_color_mt("loads-master"));
  auto parsed = loads::master::parseOptions(argc, argv);
  if (!parsed.options) return parsed.exitCode;
  try {
    loads::master::Master master(std::move(*parsed.options), signals);
    return master.run();
  } catch (const std::exception& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return 3;
  }
}
