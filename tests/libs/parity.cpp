// The differential suite's library (tests/e2e/parity_test.cpp): five tests, each with its
// own outcome, request path and counters, so that a run's mix shows in every figure of the
// report. Requests go to serverUrl() + "/<test>": with --server-url http://target/hit/TAG
// the target counts each test's requests under its own path.
//
// Each test counts its users: the constructor adds 1 to the per-test counter "users"
// (one instance per user and test), so per-test user counts are in the report.
#include <chrono>
#include <loads/loads.hpp>
#include <stdexcept>

class Parity : public loads::TestCase {
 public:
  Parity() { incrCounter("users"); }

  void test_get() {
    auto res = session().get(serverUrl() + "/get");
    assertEqual(res.status(), 200);
    incrCounter("gets");
    think();
  }
  void test_post() {
    const std::string body = "body of user " + user();
    auto res = session().post(serverUrl() + "/post", loads::raw(body, "text/plain"));
    assertEqual(res.status(), 200);
    incrCounter("bytes-posted", static_cast<std::int64_t>(body.size()));
    think();
  }
  void test_fail() {
    session().get(serverUrl() + "/fail");
    think();
    fail("this test always fails");
  }
  void test_error() {
    session().get(serverUrl() + "/error");
    think();
    throw std::runtime_error("this test always errs");
  }
  void test_skip() {
    // Two requests, then a skip on every second hit of a user.
    session().get(serverUrl() + "/skip");
    session().get(serverUrl() + "/skip?again=1");
    think();
    if (loadsStatus().currentHit % 2 == 0) skipTest("every second hit");
    incrCounter("kept");
  }

 private:
  std::string user() const { return std::to_string(loadsStatus().currentUser); }
  // Think time: a timed run stays at a few tens of hits per user and second.
  void think() { sleep(std::chrono::milliseconds(30)); }
};

LOADS_TEST_CASE(Parity, test_get, test_post, test_fail, test_error, test_skip);
