// One GET of serverUrl() + "/<user id>" per hit. With --server-url http://target/hit/TAG
// the target counts each user's requests under its own path, so a test can tell which
// agent sent them (user ids are unique over a distributed run, split in agent order).
#include <loads/loads.hpp>
#include <string>

class Tagged : public loads::TestCase {
 public:
  void test_hit() {
    auto res = session().get(serverUrl() + "/" + std::to_string(loadsStatus().currentUser));
    if (res.status() != 200) fail("unexpected status " + std::to_string(res.status()));
  }
};

LOADS_TEST_CASE(Tagged, test_hit);
