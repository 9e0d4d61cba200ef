// Child processes for end-to-end tests: start a real binary, read its output with
// timeouts, wait for it with a timeout, kill it. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace loads::testing {

// Path of a binary or library built in this tree, e.g. binary("master/loads-master").
std::string built(const std::string& relative);

class Process {
 public:
  // Starts argv[0] with its stdout and stderr captured. Throws on failure to start.
  explicit Process(std::vector<std::string> argv);
  ~Process();  // kills the process if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Next line of stdout, or nullopt on EOF or timeout.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  // Waits for exit; returns the exit code (128+signal when killed), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig);
  // Everything read from stdout / stderr so far (wait() drains both).
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  void pump(int timeoutMs);
  pid_t pid_ = -1;
  int outFd_ = -1, errFd_ = -1;
  std::string out_, err_;
  std::size_t lineStart_ = 0;
  std::optional<int> status_;
};

// Runs a command to completion (bounded by timeout); returns {exit code, stdout, stderr}.
struct Completed {
  int code;
  std::string out;
  std::string err;
};
Completed runCommand(std::vector<std::string> argv,
                     std::chrono::milliseconds timeout = std::chrono::seconds(120));

// A blocking HTTP/1.1 GET or POST on 127.0.0.1:port (for reading a target's /stats).
std::string httpRequest(int port, const std::string& method, const std::string& target);

}  // namespace loads::testing
