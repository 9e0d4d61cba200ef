#include "agent/ringed_slave.hpp"

#include <signal.h>

#include <thread>

#include "agent/crash_report.hpp"
#include "agent/event_ring.hpp"

namespace loads::agent {

RingedSlave::RingedSlave(RingedSlaveOptions options) : options_(std::move(options)) {
  const std::uint32_t threads =
      options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  // A slot per runner thread, and two for the threads around them (the run's start and stop).
  ring_ = EventRing::create(threads + 2);
  const int fd = ring_->fd();
  if (!options_.forward.endpoint.empty()) {
    forwarder_ = std::make_unique<RingForwarder>(options_.forward, ring_->share());
  }
  std::vector<std::string> argv = options_.argv;
  argv.insert(argv.end(), {"--ring-fd", std::to_string(kRingFd)});
  process_ = std::make_unique<SlaveProcess>(argv, options_.environment, fd);
}

RingedSlave::~RingedSlave() {
  process_.reset();  // kills and reaps a slave still running
  if (forwarder_ && !finished_) forwarder_->finishAfterDeath(crash_);
}

std::optional<SlaveExit> RingedSlave::poll() {
  auto exit = process_->poll();
  if (!exit || finished_) return exit;
  finished_ = true;
  // A signal the parent sent (STOP: SIGTERM, SIGKILL after the grace) is no crash.
  const bool sentByParent =
      process_->stopping() && (exit->signal == SIGTERM || process_->killedAfterGrace());
  if (exit->signal != 0 && !sentByParent) {
    crash_ = describeCrash(*ring_, exit->signal, options_.argv.at(0), options_.names);
  }
  if (forwarder_) forwarder_->finishAfterDeath(crash_);
  return exit;
}

}  // namespace loads::agent
