// The smallest useful test library: one GET of a small static file per hit. The
// benchmarks use it (bench/local_vs_wrk.sh), and so does the quick start.
#include <loads/loads.hpp>

class Static : public loads::TestCase {
 public:
  void test_static() {
    auto res = session().get(serverUrl() + "/static");
    if (res.status() != 200) fail("unexpected status " + std::to_string(res.status()));
  }
};

// A user that keeps its connection open and thinks between hits (memory benchmark).
class Idle : public loads::TestCase {
 public:
  void test_idle() {
    session().get(serverUrl() + "/static");
    sleep(std::chrono::seconds(1));
  }
};

LOADS_TEST_CASE(Static, test_static);
LOADS_TEST_CASE(Idle, test_idle);
