// spawnGuarded (common/run/guarded_spawn.hpp): a user's coroutine runs on a stack whose
// lowest page is inaccessible while it runs, so a stack overflow faults at once instead of
// writing over the memory below the stack; the page is given back when the coroutine ends.
#include "run/guarded_spawn.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace {

// Whether /proc/self/maps has an inaccessible ("---p") mapping within [low, high).
bool guardBetween(std::uintptr_t low, std::uintptr_t high) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms;
    in >> range >> perms;
    const auto dash = range.find('-');
    const auto start = std::stoull(range.substr(0, dash), nullptr, 16);
    const auto end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (perms == "---p" && start >= low && end <= high) return true;
  }
  return false;
}

[[gnu::noinline]] int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return depth < (1 << 30) ? recurse(depth + 1) + frame[0] : frame[0];
}

}  // namespace

TEST_CASE("a guarded coroutine's stack has an inaccessible page below it, given back at its end") {
  boost::asio::io_context io;
  std::uintptr_t frame = 0;
  bool guarded = false;
  loads::detail::spawnGuarded(io, [&](auto) {
    char here = 0;
    frame = reinterpret_cast<std::uintptr_t>(&here);
    guarded = guardBetween(frame - loads::detail::kCoroutineStackBytes, frame);
  });
  io.run();
  CHECK(guarded);
  CHECK_FALSE(guardBetween(frame - loads::detail::kCoroutineStackBytes, frame));
}

TEST_CASE("a coroutine that recurses without end dies of SIGSEGV on its guard page") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    boost::asio::io_context io;
    loads::detail::spawnGuarded(io, [](auto) { recurse(0); });
    io.run();
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
}
