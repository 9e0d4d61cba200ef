// The test-data suite's library (tests/e2e/data_test.cpp): rows of an included CSV, run
// parameters, and weighted tests.
//
// Rows.test_row takes the next row of rows.csv from a unique feeder and asks the target
// for serverUrl() + "/row/<id>", so the target counts each row id it saw under its own
// path. --param exhausted=skip picks the feeder that skips hits once the rows are used
// up; by default the run ends; --param pause-ms=N paces each user (N ms after each row).
// --param crash-at-row=N aborts the slave that deals row N.
// Params.test_echo asks for /param/<value of "tenant">.
// Weighted.test_heavy and test_light are registered with weights 3 and 1.
#include <loads/loads.hpp>

namespace {

loads::CsvFeeder endingRows("rows.csv", {.mode = loads::FeedMode::kUnique});
loads::CsvFeeder skippingRows("rows.csv", {.mode = loads::FeedMode::kUnique,
                                           .whenRowsRunOut = loads::WhenRowsRunOut::kSkipHit});

}  // namespace

class Rows : public loads::TestCase {
 public:
  void test_row() {
    loads::CsvFeeder& rows = loads::config().get("exhausted") == "skip" ? skippingRows : endingRows;
    const loads::CsvRow row = rows.next();
    if (static_cast<std::int64_t>(row.number()) == loads::config().getInt("crash-at-row", -1)) {
      std::abort();  // test code that crashes, before asking for its row
    }
    auto res = session().get(serverUrl() + "/row/" + row["id"], {.name = "GET /row/{id}"});
    assertEqual(res.status(), 200);
    if (const auto pause = loads::config().getInt("pause-ms", 0)) {
      sleep(std::chrono::milliseconds(pause));
    }
  }
};

class Params : public loads::TestCase {
 public:
  void test_echo() {
    const std::string tenant = loads::config().get("tenant", "none");
    incrCounter("repeat", loads::config().getInt("repeat", 1));
    session().get(serverUrl() + "/param/" + tenant);
  }
};

class Weighted : public loads::TestCase {
 public:
  void test_heavy() { session().get(serverUrl() + "/heavy"); }
  void test_light() { session().get(serverUrl() + "/light"); }
};

LOADS_TEST_CASE(Rows, test_row);
LOADS_TEST_CASE(Params, test_echo);
LOADS_TEST_CASE(Weighted, LOADS_WEIGHTED(test_heavy, 3), test_light);
