// An example loads test library: a visitor reading the home page and posting comments.
//
//   loads-master ./libblog.so -u 50 -d 30s --server-url http://127.0.0.1:8080
#include <loads/loads.hpp>

class Blog : public loads::TestCase {
 public:
  void test_home() {
    auto res = session().get(serverUrl() + "/");
    assertEqual(res.status(), 200);
    assertIn("Search", res.body());
    incrCounter("home-visits");
  }

  void test_post() {
    auto res = session().post(serverUrl() + "/comments", loads::json({{"text", "hi"}}));
    assertTrue(res.ok(), "posting a comment failed");
    sleep(std::chrono::milliseconds(50));  // think time: yields, never blocks a thread
  }
};

LOADS_TEST_CASE(Blog, test_home, test_post);
