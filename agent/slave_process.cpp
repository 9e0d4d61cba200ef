#include "agent/slave_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "agent/event_ring.hpp"

namespace loads::agent {

std::string signalName(int signal) {
  if (const char* abbrev = sigabbrev_np(signal)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(signal);
}

SlaveProcess::SlaveProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& environment, int ringFd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;  // built before fork: the child only calls async-signal-safe functions
  for (char** e = environ; *e; ++e) env.push_back(*e);
  for (const auto& e : environment) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  const pid_t parent = ::getpid();
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    throw std::runtime_error(std::string("cannot create the slave's control channel: ") +
                             std::strerror(errno));
  }
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(pair[0]);
    ::close(pair[1]);
    throw std::runtime_error(std::string("cannot fork a slave: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    // The ring goes out of the way of kControlFd first, then becomes kRingFd.
    const int ring = ringFd >= 0 ? ::fcntl(ringFd, F_DUPFD_CLOEXEC, kRingFd + 1) : -1;
    if (ringFd >= 0 && ring < 0) ::_exit(127);
    // The slave's end becomes kControlFd without close-on-exec (dup2 clears it).
    if (pair[1] == kControlFd) {
      ::fcntl(kControlFd, F_SETFD, 0);
    } else if (::dup2(pair[1], kControlFd) < 0) {
      ::_exit(127);
    }
    if (ring >= 0 && ::dup2(ring, kRingFd) < 0) ::_exit(127);
    // The slave starts with SIGTERM and SIGINT blocked (the mask survives exec) and takes
    // them with sigtimedwait once running: a STOP that comes while it is still loading
    // stays pending instead of killing it before it can send STOP-TEST-RUN.
    // SIG_SETMASK in one step: the agent's mask already blocks them, and unblocking them
    // even for an instant would deliver a STOP's SIGTERM that came right after fork.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_SETMASK, &stop, nullptr);
    // A group of its own: STOP and the SIGKILL after the grace reach whatever the test
    // library started too, and a Ctrl-C on the agent's terminal does not reach the slave.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);  // the agent died before prctl
    ::execve(args[0], args.data(), env.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // also here: a STOP right after fork must find the group
  ::close(pair[1]);
  control_ = pair[0];
}

bool SlaveProcess::control(const std::string& line) {
  if (control_ < 0 || exit_) return false;
  const std::string text = line + "\n";
  const ssize_t n = ::send(control_, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n == static_cast<ssize_t>(text.size());
}

SlaveProcess::~SlaveProcess() {
  if (control_ >= 0) ::close(control_);
  if (pid_ > 0 && !exit_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);  // in case the group was never made (setpgid failed)
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::optional<SlaveExit> SlaveProcess::poll() {
  if (exit_) return exit_;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == 0) {
    if (stopRequested_ && !killed_ && std::chrono::steady_clock::now() >= killAt_) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      killed_ = true;
    }
    return std::nullopt;
  }
  // What the slave started and left behind ends with it. Its group id cannot have been
  // reused: Linux hands out no pid that is still some group's id.
  ::kill(-pid_, SIGKILL);
  SlaveExit e;
  if (done < 0) {
    e = {-1, 0, std::string("lost track of the slave: ") + std::strerror(errno)};
  } else if (WIFSIGNALED(status)) {
    e.exitCode = -1;
    e.signal = WTERMSIG(status);
    e.reason = killed_                                 ? "stopped, killed after the grace period"
               : stopRequested_ && e.signal == SIGTERM ? "stopped by SIGTERM"
                                                       : "killed by " + signalName(e.signal);
  } else {
    e.exitCode = WEXITSTATUS(status);
    if (stopRequested_) {
      e.reason = "stopped";
    } else if (e.exitCode == 127) {
      e.reason = "the slave binary could not be started (exit code 127): check --slave-binary";
    } else if (e.exitCode != 0) {
      e.reason = "exited with code " + std::to_string(e.exitCode);
    }
  }
  exit_ = e;
  return exit_;
}

void SlaveProcess::stop(std::chrono::milliseconds grace) {
  if (exit_ || stopRequested_) return;
  stopRequested_ = true;
  killAt_ = std::chrono::steady_clock::now() + grace;
  // One SIGTERM (the slave takes a second as "cancel now"): to the group, which holds the
  // slave, or to the slave alone when the group was never made.
  if (::kill(-pid_, SIGTERM) != 0) ::kill(pid_, SIGTERM);
}

}  // namespace loads::agent
