// A test that starts a child process and then never returns, deaf to stop requests: what
// a slave must still get rid of (tests/e2e/slave_group_test.cpp). The child's pid is
// written to $LOADS_STUCK_PIDFILE.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <loads/loads.hpp>

class Stuck : public loads::TestCase {
 public:
  void test_spawn_and_hang() {
    const pid_t child = ::fork();
    if (child == 0) {
      for (;;) ::pause();  // the grandchild of the agent: sleeps until killed
    }
    if (const char* file = std::getenv("LOADS_STUCK_PIDFILE")) {
      std::ofstream(std::string(file) + ".tmp") << child << "\n";
      ::rename((std::string(file) + ".tmp").c_str(), file);
    }
    for (;;) ::pause();  // never yields: stop() cannot end this user
  }
};

LOADS_TEST_CASE(Stuck, test_spawn_and_hang);
