// A test library whose every test has a known outcome, for the end-to-end tests.
#include <loads/loads.hpp>
#include <stdexcept>

class Outcomes : public loads::TestCase {
 public:
  void test_ok() {
    auto res = session().get(serverUrl() + "/");
    assertEqual(res.status(), 200);
    incrCounter("ok-visits");
  }
  void test_fail() {
    auto res = session().get(serverUrl() + "/status/404");
    assertEqual(res.status(), 200, "the page should exist");
  }
  void test_error() {
    session().get(serverUrl() + "/");
    throw std::runtime_error("boom");
  }
  void test_skip() { skipTest("not today"); }
  void test_counter() {
    incrCounter("apples", 2);
    incrCounter("pears");
  }
  void test_slow() { session().get(serverUrl() + "/delay?ms=10000"); }
  void test_think() {
    session().get(serverUrl() + "/");
    sleep(std::chrono::milliseconds(20));
  }
};

LOADS_TEST_CASE(Outcomes, test_ok, test_fail, test_error, test_skip, test_counter, test_slow,
                test_think);
