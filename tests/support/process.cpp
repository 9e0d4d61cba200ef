#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace loads::testing {

std::string built(const std::string& relative) {
  return std::string(LOADS_BINARY_DIR) + "/" + relative;
}

Process::Process(std::vector<std::string> argv) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    // Unblock what a test runner may have blocked, so signals behave as in a shell.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, nullptr);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  outFd_ = out[0];
  errFd_ = err[0];
}

Process::~Process() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
  if (outFd_ >= 0) ::close(outFd_);
  if (errFd_ >= 0) ::close(errFd_);
}

void Process::pump(int timeoutMs) {
  pollfd fds[2] = {{outFd_, POLLIN, 0}, {errFd_, POLLIN, 0}};
  if (::poll(fds, 2, timeoutMs) <= 0) return;
  char buf[65536];
  for (auto& f : fds) {
    if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    std::string& sink = f.fd == outFd_ ? out_ : err_;
    if (n > 0) {
      sink.append(buf, static_cast<std::size_t>(n));
    } else {
      ::close(f.fd);
      (f.fd == outFd_ ? outFd_ : errFd_) = -1;
    }
  }
}

std::optional<std::string> Process::readLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::size_t nl = out_.find('\n', lineStart_);
    if (nl != std::string::npos) {
      std::string line = out_.substr(lineStart_, nl - lineStart_);
      lineStart_ = nl + 1;
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || outFd_ < 0) return std::nullopt;
    pump(static_cast<int>(left.count()));
  }
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    if (outFd_ >= 0 || errFd_ >= 0) {
      pump(20);
    } else {
      ::usleep(5000);  // pipes closed, child not yet reaped: poll waitpid
    }
  }
  while (outFd_ >= 0 || errFd_ >= 0) pump(1000);
  return status_;
}

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

Completed runCommand(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  Process p(std::move(argv));
  auto code = p.wait(timeout);
  if (!code) {
    p.signal(SIGKILL);
    p.wait(std::chrono::seconds(10));
    return {-1, p.out(), p.err() + "\n[timed out]"};
  }
  return {*code, p.out(), p.err()};
}

}  // namespace loads::testing
