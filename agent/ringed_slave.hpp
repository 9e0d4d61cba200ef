// RingedSlave: a slave runner started with an EventRing, and the parent's RingForwarder
// for what the slave leaves in it; what the agent and the local master run for a job.
// When the slave has ended without sending its STOP-TEST-RUN, poll() has the forwarder
// finish the stream on its behalf (the retained and unsent events, STOP-TEST-RUN with the
// counts) and, when a signal killed it that its parent did not send, describes the crash
// (crash_report.hpp) and sends that along. Without a forward endpoint there is no
// forwarder: the owner reads ring() itself (the local master, --results ring).
//
// Not thread-safe: one thread (the agent's loop, the master's follow loop) owns it. The
// forwarder may outlive it (releaseForwarder) to finish delivering on its own thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/ring_forwarder.hpp"
#include "agent/slave_process.hpp"

namespace loads::agent {

struct RingedSlaveOptions {
  std::vector<std::string> argv;         // the slave's command line; --ring-fd is appended
  std::vector<std::string> environment;  // added to the slave's environment; none
  std::uint32_t threads = 0;             // its runner threads (0 = one per core): ring slots
  ForwarderOptions forward;  // where its events go; endpoint "": the owner reads the ring
  std::map<std::string, std::string> names;  // paths shown under another name in a crash
};

class RingedSlave {
 public:
  // Throws std::runtime_error (no ring, no fork) or zmq::error_t (bad endpoint).
  explicit RingedSlave(RingedSlaveOptions options);
  ~RingedSlave();  // kills a slave still running; the forwarder finishes (joined)

  SlaveProcess& process() { return *process_; }
  EventRing& ring() { return *ring_; }
  // The slave's end once it has ended (then the stream is being finished); never blocks.
  std::optional<SlaveExit> poll();
  // The crash of a slave killed by a signal it was not sent by its parent; none.
  const std::optional<proto::CrashInfo>& crash() const { return crash_; }
  // The forwarder, to finish on its own after this object is gone.
  std::unique_ptr<RingForwarder> releaseForwarder() { return std::move(forwarder_); }

 private:
  RingedSlaveOptions options_;
  std::unique_ptr<EventRing> ring_;
  std::unique_ptr<RingForwarder> forwarder_;  // none when the owner reads the ring
  std::unique_ptr<SlaveProcess> process_;
  std::optional<proto::CrashInfo> crash_;
  bool finished_ = false;
};

}  // namespace loads::agent
