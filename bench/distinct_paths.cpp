// A REST-style test whose every hit asks for another path (issue #11): /hit/u/0, /hit/u/1,
// ... on loads-target, which counts each under its own path. bench/distinct_paths.sh.
#include <atomic>
#include <loads/loads.hpp>
#include <string>

class Distinct : public loads::TestCase {
 public:
  void test_distinct() {
    session().get(serverUrl() + "/hit/u/" + std::to_string(next_.fetch_add(1)));
  }

 private:
  static inline std::atomic<std::uint64_t> next_{0};
};

LOADS_TEST_CASE(Distinct, test_distinct);
