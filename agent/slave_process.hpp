// SlaveProcess: one running slave runner (fork + exec), how it ended, and how to stop it.
//
// The child starts with SIGTERM and SIGINT blocked (loads-slave takes them with
// sigtimedwait), in a process group of its own, and gets PR_SET_PDEATHSIG = SIGTERM, so an
// agent killed with -9 does not leave its slave running on its own (loads-slave kills its
// group when it still runs a stop timeout and a grace after that). stop() signals the
// whole group, and whatever is left of the group when the slave has ended is SIGKILLed:
// processes the test library started do not outlive the job. Not thread-safe: the
// agent's thread owns it.
//
// Control channel: the agent holds one end of a Unix socketpair, the child gets the other
// as file descriptor kControlFd (the agent passes --control-fd). Commands are lines of
// text (slave_runner.hpp); a write never blocks the agent and never raises SIGPIPE.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace loads::agent {

inline constexpr int kControlFd = 3;  // the slave's end of the control channel

struct SlaveExit {
  int exitCode = 0;    // the exit code; -1 when killed by a signal
  int signal = 0;      // the signal that killed it; 0 when it exited
  std::string reason;  // "", "exited with code 2", "killed by SIGSEGV", "stopped"
};

class SlaveProcess {
 public:
  // Starts argv[0] with argv; stdout and stderr are the agent's. Throws
  // std::runtime_error when fork fails (exec failures show as exit code 127).
  // `environment`: "NAME=value" entries added to this process's environment for the child.
  // `ringFd`: an EventRing's descriptor, the child's kRingFd (event_ring.hpp); -1 = none.
  explicit SlaveProcess(const std::vector<std::string>& argv,
                        const std::vector<std::string>& environment = {}, int ringFd = -1);
  ~SlaveProcess();  // kills and reaps a child still running
  SlaveProcess(const SlaveProcess&) = delete;
  SlaveProcess& operator=(const SlaveProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps the child if it ended (never blocks); its exit once it has.
  std::optional<SlaveExit> poll();
  // SIGTERM now, SIGKILL once `grace` has passed (checked by poll()).
  void stop(std::chrono::milliseconds grace);
  bool stopping() const { return stopRequested_; }
  // Whether it was the SIGKILL after the grace period that ended it (no crash then).
  bool killedAfterGrace() const { return killed_; }
  // Sends one command line ("\n" added) to the slave; false when it could not be
  // written whole (the slave is gone, or its unread commands fill the socket buffer).
  bool control(const std::string& line);

 private:
  pid_t pid_ = -1;
  int control_ = -1;  // the agent's end of the control channel
  bool stopRequested_ = false;
  std::chrono::steady_clock::time_point killAt_;
  bool killed_ = false;
  std::optional<SlaveExit> exit_;
};

// "SIGSEGV" for 11, "signal 77" for what has no name.
std::string signalName(int signal);

}  // namespace loads::agent
